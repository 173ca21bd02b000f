import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { SendMailOptions } from 'nodemailer';
import { buildReferences, composeAutoReply, MAX_REFERENCES } from '../src/notify/compose';
import {
  deriveMessageIdSecret,
  isOwnMessageId,
  makeMessageId,
  parseOwnMessageId,
} from '../src/notify/message-id';
import { replySubject, sanitizeSubject } from '../src/notify/subject';
import { testCase, testConfig } from './notify-fixtures';

const cfg = testConfig();
const SECRET = 'test-secret';

async function roundTrip(mail: SendMailOptions): Promise<{ raw: string; parsed: Awaited<ReturnType<typeof simpleParser>> }> {
  const raw = await new MailComposer(mail as never).compile().build();
  return { raw: raw.toString('utf8'), parsed: await simpleParser(raw) };
}

function headerNames(raw: string): string[] {
  const head = raw.split(/\r\n\r\n/)[0] as string;
  return head
    .split(/\r\n/)
    .filter((l) => !/^[ \t]/.test(l))
    .map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

describe('replySubject', () => {
  it.each([
    ['XSS in login', 'Re: XSS in login [SEC-2026-0001]'],
    ['Re: XSS in login', 'Re: XSS in login [SEC-2026-0001]'],
    ['RE: re: Re: XSS', 'Re: XSS [SEC-2026-0001]'],
    ['Aw: AW: Fehler', 'Re: Fehler [SEC-2026-0001]'],
    ['Re[2]: XSS', 'Re: XSS [SEC-2026-0001]'],
    ['Re(3): XSS', 'Re: XSS [SEC-2026-0001]'],
    ['回复: 漏洞', 'Re: 漏洞 [SEC-2026-0001]'],
    ['回复：漏洞', 'Re: 漏洞 [SEC-2026-0001]'],
    ['SV: Antw: Odp: bug', 'Re: bug [SEC-2026-0001]'],
    ['Re: XSS [SEC-2026-0001]', 'Re: XSS [SEC-2026-0001]'],
    ['[SEC-2026-0001] Re: XSS', 'Re: XSS [SEC-2026-0001]'],
    ['Re: [sec-2026-0001] XSS [SEC-2026-0001]', 'Re: XSS [SEC-2026-0001]'],
    ['Fwd: XSS', 'Re: Fwd: XSS [SEC-2026-0001]'],
    ['Regarding: XSS', 'Re: Regarding: XSS [SEC-2026-0001]'],
    ['', 'Re: [SEC-2026-0001]'],
    ['Re:', 'Re: [SEC-2026-0001]'],
  ])('%j → %j', (theirs, want) => {
    expect(replySubject(theirs, 'SEC-2026-0001')).toBe(want);
  });

  it('keeps another case tag (it is their text), adds ours once', () => {
    expect(replySubject('Re: dup of [SEC-2025-0042]', 'SEC-2026-0001')).toBe('Re: dup of [SEC-2025-0042] [SEC-2026-0001]');
  });

  it('tag only for PGP outer subjects', () => {
    expect(replySubject('Re: secret stuff', 'SEC-2026-0001', { tagOnly: true })).toBe('[SEC-2026-0001]');
  });

  it('bounds the length on code points', () => {
    const s = replySubject('😀'.repeat(1000), 'SEC-2026-0001');
    expect(Array.from(s).length).toBeLessThan(230);
    expect(s).toMatch(/^Re: (😀)+… \[SEC-2026-0001\]$/u);
  });
});

describe('sanitizeSubject', () => {
  it('raw CR, LF, NUL and tabs become single spaces', () => {
    expect(sanitizeSubject('hi\r\nBcc: victim@x\0\tthere')).toBe('hi Bcc: victim@x there');
  });

  it('decodes encoded-words, including ones that decode to CRLF', () => {
    expect(sanitizeSubject(`=?UTF-8?B?${b64('hi\r\nBcc: victim@x')}?=`)).toBe('hi Bcc: victim@x');
    expect(sanitizeSubject('=?ISO-8859-1?Q?caf=E9_=0D=0ABcc:_v@x?=')).toBe('café Bcc: v@x');
  });

  it('a word that decodes to another encoded-word is decoded too, and leftovers are broken up', () => {
    const inner = `=?UTF-8?B?${b64('a\r\nBcc: v@x')}?=`;
    expect(sanitizeSubject(`=?UTF-8?B?${b64(inner)}?=`)).toBe('a Bcc: v@x');
    let deep = 'x\r\nBcc: v@x';
    for (let i = 0; i < 8; i++) deep = `=?UTF-8?B?${b64(deep)}?=`;
    const out = sanitizeSubject(deep);
    expect(out).not.toContain('=?');
    expect(out).not.toMatch(/[\r\n]/);
  });

  it('strips bidi overrides that could disguise text', () => {
    expect(sanitizeSubject('invoice\u202Efdp.exe')).toBe('invoice fdp.exe');
  });
});

describe('Message-IDs', () => {
  it('are deterministic per case and purpose, and differ across them', () => {
    const a = makeMessageId({ caseId: 'SEC-2026-0001', purpose: 'ack' }, 'example.test', SECRET);
    expect(makeMessageId({ caseId: 'SEC-2026-0001', purpose: 'ack' }, 'example.test', SECRET)).toBe(a);
    expect(a).toMatch(/^<secdesk\.SEC-2026-0001\.ack\.[0-9a-f]{20}@example\.test>$/);
    const others = [
      makeMessageId({ caseId: 'SEC-2026-0002', purpose: 'ack' }, 'example.test', SECRET),
      makeMessageId({ caseId: 'SEC-2026-0001', purpose: 'resolution' }, 'example.test', SECRET),
      makeMessageId({ caseId: 'SEC-2026-0001', purpose: 'chaser_reply', seq: 1 }, 'example.test', SECRET),
      makeMessageId({ caseId: 'SEC-2026-0001', purpose: 'chaser_reply', seq: 2 }, 'example.test', SECRET),
      makeMessageId({ caseId: 'SEC-2026-0001', purpose: 'ack' }, 'example.test', 'another-secret'),
    ];
    expect(new Set([a, ...others]).size).toBe(6);
  });

  it('recognise ours; only the right secret verifies the MAC', () => {
    const id = makeMessageId({ caseId: 'SEC-2026-0007', purpose: 'chaser_reply', seq: 3 }, 'example.test', SECRET);
    expect(parseOwnMessageId(id)).toMatchObject({ caseId: 'SEC-2026-0007', purpose: 'chaser_reply', seq: 3, domain: 'example.test' });
    expect(isOwnMessageId(id, 'example.test')).toBe(true);
    expect(isOwnMessageId(id, 'EXAMPLE.test', SECRET)).toBe(true);
    expect(isOwnMessageId(id, 'example.test', 'guess')).toBe(false);
    expect(isOwnMessageId(id, 'other.example')).toBe(false);
    // a stranger who knows the format and the case ID still cannot forge one
    const forged = id.replace(/\.[0-9a-f]{20}@/, `.${'0'.repeat(20)}@`);
    expect(isOwnMessageId(forged, 'example.test')).toBe(true);
    expect(isOwnMessageId(forged, 'example.test', SECRET)).toBe(false);
    expect(isOwnMessageId('<abc@example.test>', 'example.test')).toBe(false);
    expect(isOwnMessageId(null, 'example.test')).toBe(false);
  });

  it('refuse hostile parts', () => {
    expect(() => makeMessageId({ caseId: 'SEC-2026-0001>\r\nBcc: x', purpose: 'ack' }, 'example.test', SECRET)).toThrow(/case ID/);
    expect(() => makeMessageId({ caseId: 'SEC-2026-0001', purpose: 'ack@x' }, 'example.test', SECRET)).toThrow(/purpose/);
  });

  it('the derived secret is stable and depends on the credentials', () => {
    expect(deriveMessageIdSecret(cfg).equals(deriveMessageIdSecret(testConfig()))).toBe(true);
    const other = testConfig({ imap: { url: 'imap://u:other@127.0.0.1:1143' } });
    expect(deriveMessageIdSecret(cfg).equals(deriveMessageIdSecret(other))).toBe(false);
  });
});

describe('buildReferences', () => {
  it('appends their Message-ID, drops junk and duplicates', () => {
    expect(buildReferences(['<a@x>', 'b@x', '<a@x>', '<bad id@x>', '<x\r\nBcc: v@x>'], '<m@x>')).toEqual(['<a@x>', '<b@x>', '<m@x>']);
  });

  it('keeps the root and the latest when too long', () => {
    const refs = Array.from({ length: 100 }, (_, i) => `<r${i}@x>`);
    const out = buildReferences(refs, '<m@x>');
    expect(out).toHaveLength(MAX_REFERENCES);
    expect(out[0]).toBe('<r0@x>');
    expect(out[out.length - 1]).toBe('<m@x>');
    expect(out[out.length - 2]).toBe('<r99@x>');
  });
});

describe('composeAutoReply', () => {
  const inbound = { messageId: '<abc123@reporter.example>', references: ['<root@reporter.example>'], subject: 'Re: XSS in login form' };

  it('threads, tags, marks as automatic and goes to reply_to only', async () => {
    const c = testCase({ reply_to: 'rita-replies@reporter.example', participants: ['rita@reporter.example', 'cc@else.example'] });
    const mail = composeAutoReply('ack', c, inbound, { text: 'hello\n', html: '<p>hello</p>' }, cfg, SECRET);
    const { raw, parsed } = await roundTrip(mail);
    const ackId = makeMessageId({ caseId: 'SEC-2026-0001', purpose: 'ack' }, 'example.test', SECRET);
    expect(parsed.messageId).toBe(ackId);
    expect(parsed.inReplyTo).toBe('<abc123@reporter.example>');
    expect(parsed.references).toEqual(['<root@reporter.example>', '<abc123@reporter.example>']);
    expect(parsed.subject).toBe('Re: XSS in login form [SEC-2026-0001]');
    expect(parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(parsed.headers.get('x-secdesk-case')).toBe('SEC-2026-0001');
    expect(parsed.replyTo?.value.map((a) => a.address)).toEqual(['security@example.test']);
    expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value.map((a) => a.address) : null).toEqual(['rita-replies@reporter.example']);
    expect(parsed.cc).toBeUndefined();
    expect(headerNames(raw)).not.toContain('cc');
    expect(headerNames(raw)).not.toContain('bcc');
    expect(mail.envelope).toEqual({ from: 'security@example.test', to: ['rita-replies@reporter.example'] });
    expect(parsed.text?.trim()).toBe('hello');
    expect(parsed.html).toContain('<p>hello</p>');
  });

  it('gives the same Message-ID on every call (a retried send is the same mail)', () => {
    const a = composeAutoReply('ack', testCase(), inbound, { text: 'x' }, cfg, SECRET);
    const b = composeAutoReply('ack', testCase(), { ...inbound, subject: 'other' }, { text: 'y' }, cfg, SECRET);
    expect(a.messageId).toBe(b.messageId);
  });

  it('repeatable purposes need a sequence; one-off ones refuse it', () => {
    expect(() => composeAutoReply('chaser_reply', testCase(), inbound, { text: 'x' }, cfg, SECRET)).toThrow(/sequence/);
    expect(() => composeAutoReply('ack', testCase(), inbound, { text: 'x' }, cfg, SECRET, { seq: 1 })).toThrow(/once/);
    const one = composeAutoReply('chaser_reply', testCase(), inbound, { text: 'x' }, cfg, SECRET, { seq: 1 });
    const two = composeAutoReply('chaser_reply', testCase(), inbound, { text: 'x' }, cfg, SECRET, { seq: 2 });
    expect(one.messageId).not.toBe(two.messageId);
  });

  it('refuses a reply_to that is not a bare address', () => {
    const c = testCase({ reply_to: 'rita@reporter.example\r\nBcc: victim@x.example' });
    expect(() => composeAutoReply('ack', c, inbound, { text: 'x' }, cfg, SECRET)).toThrow(/recipient/);
  });

  it('works without an inbound Message-ID', async () => {
    const mail = composeAutoReply('ack', testCase(), { messageId: null, references: [], subject: 'x' }, { text: 'x' }, cfg, SECRET);
    const { parsed } = await roundTrip(mail);
    expect(parsed.inReplyTo).toBeUndefined();
    expect(parsed.references).toBeUndefined();
  });

  const hostile: [string, string][] = [
    ['encoded CRLF (B)', `=?UTF-8?B?${b64('hi\r\nBcc: victim@x')}?=`],
    ['encoded CRLF (Q)', '=?UTF-8?Q?hi=0D=0ABcc:_victim@x?='],
    ['raw CRLF', 'hi\r\nBcc: victim@x'],
    ['bare LF and NUL', 'hi\nBcc: victim@x\0\nX-Evil: 1'],
    ['double-encoded', `=?UTF-8?B?${b64(`=?UTF-8?B?${b64('hi\r\nBcc: victim@x')}?=`)}?=`],
    ['CRLF then body separator', 'hi\r\n\r\nInjected body'],
  ];

  it.each(hostile)('a hostile subject (%s) cannot inject a header', async (_name, subject) => {
    const mail = composeAutoReply(
      'ack',
      testCase(),
      { messageId: '<abc@x>\r\nBcc: victim@x', references: ['<r@x>\r\nX-Evil: 1'], subject },
      { text: 'body' },
      cfg,
      SECRET,
    );
    const { raw, parsed } = await roundTrip(mail);
    const names = headerNames(raw);
    expect(names).not.toContain('bcc');
    expect(names).not.toContain('x-evil');
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.headers.has('bcc')).toBe(false);
    expect(parsed.headers.has('x-evil')).toBe(false);
    expect(parsed.subject).not.toMatch(/[\r\n\0]/);
    expect(parsed.subject).toMatch(/^Re: hi.* \[SEC-2026-0001\]$/);
    expect(parsed.text?.trim()).toBe('body');
    expect(parsed.inReplyTo).toBeUndefined(); // the hostile Message-ID is dropped, not echoed
    expect(mail.envelope).toEqual({ from: 'security@example.test', to: ['rita@reporter.example'] });
  });
});
