import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMessage } from '../src/parse/parse-message';
import { CHECKLIST_IDS } from '../src/policy/policy-types';
import { classifyKind } from '../src/triage/classify-kind';
import { CHECKLIST_LABELS, relatedKeys, triage } from '../src/triage';
import type { ParsedMessage } from '../src/types';

const corpus = join(__dirname, 'fixtures', 'corpus');
const ctx = { versions: { supported: ['0.8.x', '0.7.x'], unsupported: ['<0.6'] } };

function msg(over: Partial<ParsedMessage>): ParsedMessage {
  return {
    messageId: '<t@x>',
    contentHash: '0'.repeat(64),
    inReplyTo: [],
    references: [],
    subject: '',
    from: 'r@x.example',
    fromName: null,
    replyTo: null,
    to: ['security@larkspur.test'],
    cc: [],
    date: null,
    headers: {},
    text: '',
    html: null,
    attachments: [],
    returnPath: null,
    bouncedMessageIds: [],
    isDsn: false,
    warnings: [],
    ...over,
  };
}

const load = async (name: string): Promise<ParsedMessage> => parseMessage(readFileSync(join(corpus, name)));

describe('triage', () => {
  it('reads a complete report and finds nothing missing', async () => {
    const r = triage(await load('en-report-sqli-complete.eml'), ctx);
    expect(r.kind).toBe('report');
    expect(r.fields).toMatchObject({
      issue_type: 'sql-injection',
      cwe: ['CWE-89'],
      paths: ['crates/admin/src/handlers/search.rs'],
      versions: ['0.8.1'],
      supported: true,
      missing: [],
      language: 'en',
      cvss: { version: '3.1', valid: true, score: 6.5, severity: 'MEDIUM' },
    });
    for (const k of ['configuration', 'reproduction', 'poc', 'impact'] as const) {
      expect(r.fields[k].present).toBe(true);
      expect((r.fields[k].excerpt ?? '').length).toBeLessThanOrEqual(200);
    }
  });

  it('lists what an incomplete report lacks, in checklist order, and notes unsupported versions', async () => {
    const r = triage(await load('de-report-overflow-incomplete.eml'), ctx);
    expect(r.fields.missing).toEqual(['configuration', 'reproduction', 'poc', 'impact']);
    expect(r.fields.supported).toBe(false);
    expect(r.fields.unsupported_versions).toEqual(['0.5.3']);
    const subset = triage(await load('de-report-overflow-incomplete.eml'), { ...ctx, checklist: ['impact', 'poc'] });
    expect(subset.fields.missing).toEqual(['poc', 'impact']);
  });

  it('names an attached PoC as the evidence and reads an attached write-up as the report', async () => {
    const r = triage(await load('en-report-rce-attachment-only.eml'), ctx);
    expect(r.fields.poc).toEqual({ present: true, excerpt: 'attachment: exploit.py' });
    expect(r.fields.paths).toEqual(['crates/sieve/src/ext/vacation.rs']);
    expect(r.fields.configuration.present).toBe(true);
  });

  it('is a pure function: same input, same output, input untouched', async () => {
    const m = await load('zh-report-auth-bypass-cvss.eml');
    const before = JSON.stringify(m);
    expect(triage(m, ctx)).toEqual(triage(m, ctx));
    expect(JSON.stringify(m)).toBe(before);
  });
});

describe('relatedKeys', () => {
  it('keys on issue type with sorted paths, and on PoC attachment hashes', () => {
    const sha = 'ab'.repeat(32);
    const m = msg({ attachments: [{ filename: 'poc.py', contentType: 'text/x-python', size: 3, sha256: sha, content: null }, { filename: 'shot.png', contentType: 'image/png', size: 3, sha256: 'cd'.repeat(32), content: null }] });
    const fields = triage(msg({ text: 'SQL injection in src/b.rs and src/a.rs' }), ctx).fields;
    expect(relatedKeys(fields, m)).toEqual(['type-paths:sql-injection|src/a.rs,src/b.rs', `poc-sha256:${sha}`]);
    expect(relatedKeys(triage(msg({ text: 'hello' }), ctx).fields, msg({}))).toEqual([]);
  });
});

describe('CHECKLIST_LABELS', () => {
  it('labels every checklist id', () => {
    expect(Object.keys(CHECKLIST_LABELS).sort()).toEqual([...CHECKLIST_IDS].sort());
  });
});

describe('classifyKind', () => {
  const base = { subject: '', text: '', namedIssue: null, cvss: false, cwe: false, pocAttachment: false };
  it.each([
    ['I found a vulnerability in your website. Do you pay bounties?', 'report'],
    ['Our certified ethical hackers find vulnerabilities before attackers do. 30% off, book a free call. Unsubscribe', 'spam'],
    ['Congratulations! Your wallet has been credited with 2 BTC, pay the activation fee', 'spam'],
    ['How do I configure TLS for IMAP? Thanks', 'support'],
    ['Wie kann ich STARTTLS erzwingen?', 'support'],
    ['¿Cómo configuro DKIM?', 'support'],
    ['请问如何配置SPF检查？', 'support'],
    ['How do I report a security vulnerability?', 'report'],
    ['', 'report'],
    ['the server hangs when I send a 10 MB header', 'report'],
  ])('%s → %s', (text, kind) => {
    expect(classifyKind({ ...base, text }).kind).toBe(kind);
  });

  it('calls anything naming a class, a CVSS vector or a CWE a report, whatever else it says', () => {
    expect(classifyKind({ ...base, text: 'How do I fix this? SEO discount unsubscribe', namedIssue: 'xss' }).kind).toBe('report');
    expect(classifyKind({ ...base, text: 'how do I', cvss: true }).kind).toBe('report');
  });
});

describe('forwarded reports', () => {
  it('reads a plain-text report forwarded as an attachment', () => {
    const inner = 'From: a@b.example\r\nSubject: SQL injection in search\r\n\r\nThe search in crates/store/src/query/fts.rs is injectable on 0.8.1.\r\n';
    const m = msg({
      text: 'Forwarding this from a customer.',
      attachments: [{ filename: 'original.eml', contentType: 'message/rfc822', size: inner.length, sha256: 'ef'.repeat(32), content: Buffer.from(inner) }],
    });
    const r = triage(m, ctx);
    expect(r.fields).toMatchObject({ issue_type: 'sql-injection', paths: ['crates/store/src/query/fts.rs'], versions: ['0.8.1'] });
    expect(r.fields.poc.present).toBe(false);
  });
});
