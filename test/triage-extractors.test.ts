import { scoreVector, findCvss } from '../src/triage/cvss';
import { attachmentRole, flow, normalizeText } from '../src/triage/document';
import { htmlToText } from '../src/triage/html-text';
import { classifyIssue, writtenCwes } from '../src/triage/issue-type';
import { detectLanguage } from '../src/triage/language';
import { extractPaths } from '../src/triage/paths';
import { extractRefs, isSourceUrl } from '../src/triage/refs';
import { findSection, splitSections } from '../src/triage/sections';
import { findUrls } from '../src/triage/urls';
import { extractVersions, versionFacts } from '../src/triage/versions';

const policy = { supported: ['0.8.x', '0.7.x'], unsupported: ['<0.6'] };

const issue = (subject: string, text: string) => classifyIssue(subject, text, splitSections(text));
const paths = (text: string, exclude: string[] = []) => extractPaths(text, findUrls(text), exclude);
const refs = (text: string) => extractRefs(text, findUrls(text), splitSections(text));
const versions = (text: string) => extractVersions(text, findUrls(text));

describe('classifyIssue', () => {
  it.each([
    ['SQL injection in search', '', 'sql-injection'],
    ['Sicherheitslücke: SQL-Injection in der Alias-Verwaltung', '', 'sql-injection'],
    ['Pufferüberlauf im MIME-Parser?', '', 'buffer-overflow'],
    ['Desbordamiento de búfer en base64', '', 'buffer-overflow'],
    ['堆溢出：src/mime/charset.c', '', 'buffer-overflow'],
    ['路径遍历问题', '', 'path-traversal'],
    ['Falsificación de petición en sitios cruzados', 'una falsificación de petición en sitios cruzados (CSRF)', 'csrf'],
    ['SSRF en la vista previa', '', 'ssrf'],
    ['XXE in WebDAV', '', 'xxe'],
    ['Open redirect in login', '', 'open-redirect'],
    ['Umgehung der Authentifizierung bei ManageSieve', '', 'auth-bypass'],
    ['Divulgación de información en mensajes de error', '', 'info-disclosure'],
    ['Weak password hashing for app passwords', '', 'crypto'],
    ['Vulnerability Report: Clickjacking', '', 'other'],
    ['拒绝服务漏洞', '', 'dos'],
  ])('%s → %s', (subject, text, expected) => {
    expect(issue(subject, text).issue_type).toBe(expected);
  });

  it('prefers a "Type of issue" answer over the subject, and the first class named in the body', () => {
    expect(issue('Security report', 'Type of issue: SQL injection\n\nThis leads to remote code execution.').issue_type).toBe('sql-injection');
    expect(issue('Bug', 'A heap buffer overflow, likely exploitable for code execution.').issue_type).toBe('buffer-overflow');
  });

  it('uses symptoms only when no class is named, and a CWE when nothing else', () => {
    expect(issue('server hangs on huge header', 'it eats 100% CPU').issue_type).toBe('dos');
    expect(issue('hmm', 'see CWE-78').issue_type).toBe('rce');
    expect(issue('hmm', 'see CWE-78').named).toBe(false);
  });

  it('gives the written CWEs, else the canonical one, else none', () => {
    expect(issue('ReDoS', 'regular expression denial of service (CWE-1333)').cwe).toEqual(['CWE-1333']);
    expect(issue('XSS', 'stored xss').cwe).toEqual(['CWE-79']);
    expect(issue('Urgent: vulnerability in your website', 'please pay').issue_type).toBeNull();
    expect(writtenCwes('cwe 89, CWE-89 and CWE-0079')).toEqual(['CWE-89', 'CWE-79']);
  });

  it('does not read "stack overflow through recursion" as a buffer overflow', () => {
    expect(issue('Dienstverweigerung (DoS)', 'Stack-Überlauf durch Rekursion').issue_type).toBe('dos');
  });
});

describe('extractPaths', () => {
  it('finds source paths, strips line numbers, reads code-host links', () => {
    const t = [
      'The decoder in src/mime/decode.c trusts the soft line break.',
      '    #0 0x4f5a21 in qp_decode src/mime/decode.c:211:17',
      'See https://github.com/larkspur-mail/larkspur/blob/main/crates/auth/src/oidc/callback.rs#L142',
      '受影响文件:crates/admin/src/handlers/domains.rs',
    ].join('\n');
    expect(paths(t)).toEqual(['crates/auth/src/oidc/callback.rs', 'src/mime/decode.c', 'crates/admin/src/handlers/domains.rs']);
  });

  it('leaves out system paths, endpoints, payloads, URLs and attachments', () => {
    const t = "curl 'http://127.0.0.1:8080/static/..%2f..%2fetc/passwd' reads /etc/larkspur/config.toml; GET /api/blob/{id}/{name}; folder ../../../../etc/cron.d/x; run ./build/mime_fuzzer crash.eml; attached poc.py; Node.js; document.cookie; text/plain";
    expect(paths(t, ['poc.py'])).toEqual([]);
  });

  it('keeps a bare source file name unless its directory form is also named', () => {
    expect(paths('the bug is in session.c')).toEqual(['session.c']);
    expect(paths('session.c (src/imap/session.c)')).toEqual(['src/imap/session.c']);
  });
});

describe('extractRefs', () => {
  it('reads hashes, branches, tags and source URLs', () => {
    expect(refs('reproduced on the main branch at commit 4f1c2a9e7b3d')).toEqual(['4f1c2a9e7b3d', 'main']);
    expect(refs('Checked on branch main, commit 9d8e7f6a.')).toEqual(['9d8e7f6a', 'main']);
    expect(refs('también en la rama main; 0.7.9 和 0.8.3，main 分支同样存在')).toEqual(['main']);
    expect(refs('Tested against tag v0.7.4 (release 0.7.4), Tag v0.8.1, etiqueta v0.8.3')).toEqual(['v0.7.4', 'v0.8.1', 'v0.8.3']);
    expect(refs('introduced in https://github.com/larkspur-mail/larkspur/commit/3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f')).toEqual([
      'https://github.com/larkspur-mail/larkspur/commit/3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f',
    ]);
    expect(refs('Affected URL: https://demo.larkspur.test/debug/vars')).toEqual(['https://demo.larkspur.test/debug/vars']);
  });

  it('ignores reference links, prose branches and hex that is not a hash', () => {
    expect(refs('PoC at https://gist.github.com/x/5c0ffee8d1e2f3a4b5c6, see https://cwe.mitre.org/data/definitions/287.html and https://github.com/o/r/issues/12')).toEqual([]);
    expect(refs('on the default branch; ASAN at 0x602000000131; commit deadbeef')).toEqual([]);
    expect(isSourceUrl('https://github.com/larkspur-mail/larkspur')).toBe(true);
    expect(isSourceUrl('https://gist.github.com/a/b')).toBe(false);
  });
});

describe('extractVersions', () => {
  it('reads the ways people write versions', () => {
    expect(versions('Larkspur v0.8.0 (Docker image larkspur/larkspur:0.8.0), also 0.7.6 and version 0.5, 0.8.0 至 0.8.3, all 0.6.x')).toEqual(['0.8.0', '0.7.6', '0.5', '0.8.3', '0.6.x']);
    expect(versions('v0.5.1 版本')).toEqual(['0.5.1']);
  });

  it('leaves out other software, IPs, dates, attributes and URLs', () => {
    const t = 'Ubuntu 22.04, Python 3.11.4, TLS 1.2, rustc 1.70, CVSS:3.1/AV:N, CVSS v3.1, <?xml version="1.0"?>, 169.254.169.254, 10.04.2026, 2.45 BTC, https://x.example/v1.2.3/a, HTTP/1.1';
    expect(versions(t)).toEqual([]);
  });

  it('applies the versions policy: unknown stays null', () => {
    expect(versionFacts(['0.5.9'], policy)).toEqual({ versions: ['0.5.9'], supported: false, unsupported_versions: ['0.5.9'] });
    expect(versionFacts(['0.5.9', '0.8.1'], policy).supported).toBe(true);
    expect(versionFacts(['0.6.2'], policy).supported).toBeNull();
    expect(versionFacts([], policy).supported).toBeNull();
  });
});

describe('CVSS', () => {
  it('validates and scores 3.0, 3.1 and 4.0 vectors with the library', () => {
    expect(scoreVector('CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N')).toMatchObject({ version: '3.1', valid: true, score: 6.5, severity: 'MEDIUM' });
    expect(scoreVector('CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toMatchObject({ version: '3.0', valid: true, score: 9.8, severity: 'CRITICAL' });
    expect(scoreVector('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N')).toMatchObject({ version: '4.0', valid: true, score: 8.7, severity: 'HIGH' });
  });

  it('marks incomplete, unknown and repeated metrics invalid, with a reason', () => {
    expect(scoreVector('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N')).toMatchObject({ valid: false, score: null, error: expect.stringMatching(/incomplete/) });
    expect(scoreVector('CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toMatchObject({ valid: false, error: expect.stringMatching(/Q/) });
    expect(scoreVector('CVSS:3.1/AV:N/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toMatchObject({ valid: false, error: 'metric AV given twice' });
    expect(scoreVector('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:A/VC:L/VI:L/VA:N')?.valid).toBe(false);
  });

  it('finds the first vector in text', () => {
    expect(findCvss('Severity: CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N (my estimate)')?.vector).toBe('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N');
    expect(findCvss('CVSS 9.8, critical!')).toBeNull();
  });
});

describe('detectLanguage', () => {
  it.each([
    ['The webmail shows the display name of the sender without escaping, and this is bad.', 'en'],
    ['Der Dateiname eines Anhangs wird ungefiltert in die Vorschau eingefügt, das ist nicht gut.', 'de'],
    ['Cuando falla la conexión a la base de datos, la API devuelve el mensaje de error.', 'es'],
    ['我们在用 AFL++ 对 MIME 库做模糊测试时发现 src/mime/charset.c 中的字符集转换存在堆溢出', 'zh'],
    ['', 'und'],
    ['メールサーバーに脆弱性があります。ご確認ください。', 'und'],
  ])('%s → %s', (text, lang) => {
    expect(detectLanguage('', text)).toBe(lang);
  });
});

describe('splitSections', () => {
  it('recognises markdown, label, numbered, bracket and bare headings', () => {
    const t = ['## Impact', 'bad', '3. Special configuration', 'None, default install.', '【复现步骤】', '1. 登录', 'Reproduction steps', 'x', 'PoC: curl x', '', 'trailing prose'].join('\n');
    const s = splitSections(t);
    expect(s.map((x) => x.id)).toEqual(['impact', 'configuration', 'reproduction', 'reproduction', 'poc', null]);
    expect(findSection(s, 'configuration', true)?.body).toBe('None, default install.');
  });

  it('does not take a step or a URL for a heading, nor a "none" answer for content', () => {
    const s = splitSections('1. Log in to the admin panel\nhttps://x.example: y\nPoC: none');
    expect(s.map((x) => x.id)).toEqual([null, 'poc']);
    expect(findSection(s, 'poc')).toBeNull();
  });
});

describe('htmlToText', () => {
  it('keeps table rows, pre blocks, code, lists, entities and link targets', () => {
    const html =
      '<html><head><style>p{}</style></head><body><h3>Steps</h3><ol><li>One</li><li>Two &amp; three</li></ol>' +
      '<table><tr><td><b>Type</b></td><td>SSRF</td></tr></table><pre>a &lt; b\n  c</pre><p>use <code>x = 1</code> <a href="https://gist.github.com/a/b">my PoC</a></p></body></html>';
    const t = htmlToText(html);
    expect(t).toContain('## Steps');
    expect(t).toContain('1. One\n2. Two & three');
    expect(t).toContain('Type: SSRF');
    expect(t).toContain('```\na < b\n  c\n```');
    expect(t).toContain('use `x = 1` my PoC <https://gist.github.com/a/b>');
    expect(t).not.toContain('p{}');
  });
});

describe('document helpers', () => {
  it('classifies attachments: PoC, write-up, neither', () => {
    expect(attachmentRole({ filename: 'exploit.py', contentType: 'text/x-python' })).toBe('poc');
    expect(attachmentRole({ filename: 'payload.txt', contentType: 'text/plain' })).toBe('poc');
    expect(attachmentRole({ filename: 'report.md', contentType: 'text/markdown' })).toBe('document');
    expect(attachmentRole({ filename: 'screenshot.png', contentType: 'image/png' })).toBe('other');
    expect(attachmentRole({ filename: 'signature.asc', contentType: 'application/pgp-signature' })).toBe('other');
  });

  it('normalises full-width punctuation and strips invisible characters', () => {
    expect(normalizeText('版本：v0.8.2（tag）\u200bSQL\u202einjection')).toBe('版本:v0.8.2(tag)SQLinjection');
    expect(flow('in clear\n  text.\n\nNext')).toBe('in clear text.\n\nNext');
  });
});
