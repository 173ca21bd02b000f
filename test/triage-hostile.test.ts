import { performance } from 'node:perf_hooks';
import { parseMessage } from '../src/parse/parse-message';
import { htmlToText } from '../src/triage/html-text';
import { triage } from '../src/triage';
import type { ParsedMessage } from '../src/types';

const ctx = { versions: { supported: ['0.8.x'], unsupported: ['<0.6'] } };

function msg(over: Partial<ParsedMessage>): ParsedMessage {
  return {
    messageId: null,
    contentHash: '0'.repeat(64),
    inReplyTo: [],
    references: [],
    subject: '',
    from: null,
    fromName: null,
    replyTo: null,
    to: [],
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

/** Triage must stay fast on input built to make regexes backtrack; a second is generous. */
function timed(m: ParsedMessage): { ms: number; result: ReturnType<typeof triage> } {
  const start = performance.now();
  const result = triage(m, ctx);
  return { ms: performance.now() - start, result };
}

const MAX_TEXT = 256 * 1024; // parseMessage's default max_text_chars

describe('hostile input', () => {
  it.each([
    ['one long word', 'a'.repeat(MAX_TEXT)],
    ['slashes and dots', 'a/'.repeat(MAX_TEXT / 2)],
    ['dotted words', 'a.'.repeat(MAX_TEXT / 2)],
    ['traversal payloads', '../'.repeat(MAX_TEXT / 3)],
    ['version-like digits', '1.'.repeat(MAX_TEXT / 2)],
    ['hex', 'commit ' + 'ab12'.repeat(MAX_TEXT / 4)],
    ['many URLs', 'https://github.com/a/b/blob/main/x.rs '.repeat(MAX_TEXT / 40)],
    ['many headings', 'Impact: x\n'.repeat(MAX_TEXT / 10)],
    ['quote markers', '> '.repeat(MAX_TEXT / 2)],
    ['spaces', ' '.repeat(MAX_TEXT)],
    ['attacker phrases', 'an attacker '.repeat(MAX_TEXT / 12)],
    ['unclosed fences', '```\n'.repeat(MAX_TEXT / 4)],
    ['CJK', '漏洞'.repeat(MAX_TEXT / 2)],
    ['digits', '1'.repeat(MAX_TEXT)],
    ['a keyword then spaces', `tag${' '.repeat(MAX_TEXT)}`],
    ['a newline per space', ' \n'.repeat(MAX_TEXT / 2)],
    // Each directory name may start a path (after a `+`), and each retry used to run to the end.
    ['plus-led directory names', '+a/'.repeat(MAX_TEXT / 3)],
    ['one plus-joined name before a slash', `${'a+'.repeat(MAX_TEXT / 2)}/`],
    ['long words, then a slash', `${'a'.repeat(1000)} `.repeat(MAX_TEXT / 1001) + '/'],
    ['tokens that look like paths', 'x.y/'.repeat(MAX_TEXT / 4)],
    ['stopwords', 'the und de '.repeat(MAX_TEXT / 11)],
  ])('%s: completes quickly and stays bounded', (_name, text) => {
    const { ms, result } = timed(msg({ subject: 'x', text }));
    expect(ms).toBeLessThan(1500);
    for (const k of ['configuration', 'reproduction', 'poc', 'impact'] as const) {
      expect((result.fields[k].excerpt ?? '').length).toBeLessThanOrEqual(200);
    }
    expect(result.fields.paths.length).toBeLessThanOrEqual(1000);
  });

  it('handles deeply nested and unclosed HTML', () => {
    const html = '<div><table><tr><td>'.repeat(20000) + 'SQL injection' + '<pre>'.repeat(1000);
    const start = performance.now();
    const r = triage(msg({ html, text: '' }), ctx);
    expect(performance.now() - start).toBeLessThan(1500);
    expect(r.fields.issue_type).toBe('sql-injection');
    expect(htmlToText('<a href="javascript:alert(1)">x</a><!-- <p>hidden</p> -->')).toBe('x');
  });

  it.each([
    ['unclosed tags', '<a'.repeat(300_000)],
    ['unclosed comments', '<!--'.repeat(150_000)],
    ['a tag full of spaces', `<a href${' '.repeat(600_000)}`],
  ])('converts hostile HTML (%s) in linear time', (_name, html) => {
    const start = performance.now();
    triage(msg({ html }), ctx);
    expect(performance.now() - start).toBeLessThan(1500);
  });

  it('sees through invisible characters and full-width forms', () => {
    const r = triage(msg({ subject: 'S\u200bQ\u200dL injection', text: '受影响版本：ｖ0.8.2\u202e' }), ctx);
    expect(r.fields.issue_type).toBe('sql-injection');
    expect(r.fields.versions).toEqual(['0.8.2']);
  });

  it('cuts excerpts on code point boundaries', () => {
    const r = triage(msg({ text: `Impact: ${'😀'.repeat(300)}` }), ctx);
    const ex = r.fields.impact.excerpt ?? '';
    expect(ex.length).toBeLessThanOrEqual(200);
    expect(/[\ud800-\udbff](?![\udc00-\udfff])/.test(ex)).toBe(false);
  });

  it('treats a message with no body as a report that is missing everything', () => {
    const r = triage(msg({}), ctx);
    expect(r.kind).toBe('report');
    expect(r.fields.missing).toEqual(['issue_type', 'paths', 'affected_ref', 'configuration', 'reproduction', 'poc', 'impact', 'versions']);
    expect(r.fields.language).toBe('und');
    expect(r.fields.cvss).toBeNull();
  });

  it('reads a parsed message with only an attachment and garbage headers', async () => {
    const raw = Buffer.from(
      [
        'From: =?utf-8?b?8J+Ygg==?= <x@y.example>',
        'Subject: =?utf-8?q?=E2=80=AE?=',
        'Content-Type: multipart/mixed; boundary=b',
        '',
        '--b',
        'Content-Type: application/x-sh; name=poc.sh',
        'Content-Disposition: attachment; filename=poc.sh',
        '',
        'curl -s http://x/../../etc/passwd',
        '--b--',
        '',
      ].join('\r\n'),
    );
    const r = triage(await parseMessage(raw), ctx);
    expect(r.kind).toBe('report');
    expect(r.fields.poc).toEqual({ present: true, excerpt: 'attachment: poc.sh' });
  });
});
