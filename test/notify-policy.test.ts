import { buildConfig, type Config } from '../src/config';
import { mayAutoReply, type AutoReplyContext } from '../src/notify/auto-reply-policy';
import { makeMessageId } from '../src/notify/message-id';
import type { ParsedMessage } from '../src/types';

const cfg: Config = buildConfig({
  address: 'security@example.test',
  aliases: ['secure@example.test', 'psirt@example.test'],
  imap: { url: 'imap://u:p@127.0.0.1:1143' },
  smtp: { url: 'smtp://127.0.0.1:2525', from: 'Example Security <security-team@example.test>' },
  maintainers: ['alice@example.test', 'bob@example.org'],
  trust: { authserv_id: ['mx.example.test'] },
});

function msg(over: Partial<ParsedMessage> = {}): ParsedMessage {
  return {
    messageId: '<abc123@reporter.example>',
    contentHash: 'x',
    inReplyTo: [],
    references: [],
    subject: 'XSS in login form',
    from: 'reporter@reporter.example',
    fromName: 'Rita Reporter',
    replyTo: null,
    to: ['security@example.test'],
    cc: [],
    date: null,
    headers: {},
    text: 'details',
    html: null,
    attachments: [],
    returnPath: 'reporter@reporter.example',
    bouncedMessageIds: [],
    isDsn: false,
    warnings: [],
    ...over,
  };
}

const ctx: AutoReplyContext = { cfg };

function denied(m: ParsedMessage, c: AutoReplyContext = ctx): { code: string; reason: string } {
  const d = mayAutoReply(m, c);
  if (d.allowed) throw new Error(`expected a refusal, got allowed to ${d.to}`);
  return d;
}

describe('mayAutoReply: who gets the reply (RFC 3834 §4)', () => {
  it('a genuine report is answered at its From', () => {
    expect(mayAutoReply(msg(), ctx)).toEqual({ allowed: true, to: 'reporter@reporter.example' });
  });

  it('Reply-To wins over From', () => {
    expect(mayAutoReply(msg({ replyTo: 'Rita@Home.Example' }), ctx)).toEqual({ allowed: true, to: 'rita@home.example' });
  });

  it('never anyone in Cc', () => {
    const d = mayAutoReply(msg({ cc: ['victim@else.example', 'other@else.example'] }), ctx);
    expect(d).toEqual({ allowed: true, to: 'reporter@reporter.example' });
  });

  it('Auto-Submitted: no is a human and is answered', () => {
    expect(mayAutoReply(msg({ headers: { 'auto-submitted': ['no'] } }), ctx).allowed).toBe(true);
  });

  it('a Return-Path that was not recorded (null) does not block', () => {
    expect(mayAutoReply(msg({ returnPath: null }), ctx).allowed).toBe(true);
  });
});

describe('mayAutoReply: robots and lists', () => {
  it.each([
    ['auto-generated'],
    ['auto-replied'],
    ['auto-notified; owner-email="x@y"'],
    ['Auto-Replied'],
    ['something-new'],
  ])('Auto-Submitted: %s', (v) => {
    const d = denied(msg({ headers: { 'auto-submitted': [v] } }));
    expect(d.code).toBe('auto_submitted');
    expect(d.reason).toMatch(/Auto-Submitted/);
  });

  it.each(['bulk', 'junk', 'list', ' Bulk '])('Precedence: %s', (v) => {
    const d = denied(msg({ headers: { precedence: [v] } }));
    expect(d.code).toBe('precedence');
    expect(d.reason).toContain(v.trim().toLowerCase());
  });

  it('Precedence: first-class is answered', () => {
    expect(mayAutoReply(msg({ headers: { precedence: ['first-class'] } }), ctx).allowed).toBe(true);
  });

  it('List-Id', () => {
    const d = denied(msg({ headers: { 'list-id': ['<dev.lists.example>'] } }));
    expect(d).toMatchObject({ code: 'mailing_list', reason: expect.stringContaining('List-Id') });
  });

  it('List-Unsubscribe', () => {
    const d = denied(msg({ headers: { 'list-unsubscribe': ['<mailto:leave@lists.example>'] } }));
    expect(d).toMatchObject({ code: 'mailing_list', reason: expect.stringContaining('List-Unsubscribe') });
  });

  it('X-Auto-Response-Suppress: All (Exchange out-of-office)', () => {
    expect(denied(msg({ headers: { 'x-auto-response-suppress': ['All'] } })).code).toBe('auto_response_suppress');
  });

  it('a DSN', () => {
    expect(denied(msg({ isDsn: true })).code).toBe('dsn');
  });

  it.each(['', '<>', ' <> '])('null return path %j', (rp) => {
    const d = denied(msg({ returnPath: rp }));
    expect(d.code).toBe('null_return_path');
    expect(d.reason).toMatch(/null return path/);
  });

  it.each([
    ['MAILER-DAEMON@mx.reporter.example', 'mailer-daemon'],
    ['postmaster@reporter.example', 'postmaster'],
    ['noreply@reporter.example', 'noreply'],
    ['bounces+123@lists.example', 'bounce handler'],
  ])('robot return path %s', (rp, kind) => {
    const d = denied(msg({ returnPath: rp }));
    expect(d.code).toBe('robot_return_path');
    expect(d.reason).toContain(kind);
  });

  it.each([
    ['mailer-daemon@reporter.example', 'mailer-daemon'],
    ['Postmaster@reporter.example', 'postmaster'],
    ['no-reply@github.example', 'noreply'],
    ['notifications-noreply@service.example', 'noreply'],
    ['do_not_reply@bank.example', 'noreply'],
    ['donotreply+x@bank.example', 'noreply'],
    ['dev-request@lists.example', 'mailing-list manager'],
  ])('robot From %s', (from, kind) => {
    const d = denied(msg({ from, returnPath: null }));
    expect(d.code).toBe('robot_sender');
    expect(d.reason).toContain(kind);
  });

  it('a noreply Reply-To', () => {
    const d = denied(msg({ replyTo: 'noreply@reporter.example' }));
    expect(d.code).toBe('robot_sender');
    expect(d.reason).toMatch(/Reply-To/);
  });

  it('no From at all', () => {
    expect(denied(msg({ from: null })).code).toBe('no_sender');
  });

  it('a recipient that is not a bare address (header injection attempt)', () => {
    const d = denied(msg({ replyTo: 'a@b.example\r\nBcc: victim@x.example' }));
    expect(d.code).toBe('invalid_recipient');
    expect(d.reason).not.toMatch(/[\r\n]/);
  });
});

describe('mayAutoReply: loops through ourselves', () => {
  it.each(['security@example.test', 'SECURE@example.test', 'psirt@example.test', 'security-team@example.test'])(
    'From our own address, smtp.from or an alias: %s',
    (from) => {
      expect(denied(msg({ from, returnPath: null })).code).toBe('own_address');
    },
  );

  it('From our own address', () => {
    expect(denied(msg({ from: 'security@example.test' })).code).toBe('own_address');
  });

  it('Reply-To pointing at an alias', () => {
    expect(denied(msg({ replyTo: 'psirt@example.test' })).code).toBe('own_address');
  });

  it('From a maintainer', () => {
    expect(denied(msg({ from: 'Alice@Example.test' })).code).toBe('maintainer');
  });

  it('Reply-To a maintainer', () => {
    expect(denied(msg({ replyTo: 'bob@example.org' })).code).toBe('maintainer');
  });

  it('a message secdesk sent, recognised by its Message-ID format and domain', () => {
    const id = makeMessageId({ caseId: 'SEC-2026-0001', purpose: 'ack' }, 'example.test', 'k');
    const d = denied(msg({ messageId: id }));
    expect(d.code).toBe('own_message');
  });

  it('our Message-ID format at another domain is not ours', () => {
    const id = makeMessageId({ caseId: 'SEC-2026-0001', purpose: 'ack' }, 'elsewhere.example', 'k');
    expect(mayAutoReply(msg({ messageId: id }), ctx).allowed).toBe(true);
  });

  it('a Message-ID the caller knows as ours (set or predicate)', () => {
    const id = '<legacy-1@example.test>';
    expect(denied(msg({ messageId: id }), { cfg, ownMessageIds: new Set([id]) }).code).toBe('own_message');
    expect(denied(msg({ messageId: id }), { cfg, ownMessageIds: (x) => x === id }).code).toBe('own_message');
    expect(mayAutoReply(msg({ messageId: id }), { cfg, ownMessageIds: new Set(['<other@x>']) }).allowed).toBe(true);
  });
});

describe('mayAutoReply: forged senders (Authentication-Results)', () => {
  const failing = { authservId: 'mx.example.test', spf: 'fail', dkim: 'none', dmarc: 'fail' };

  it('SPF and DMARC both failed at a trusted authserv → suppressed, reason says so', () => {
    const d = denied(msg(), { cfg, authResults: failing });
    expect(d.code).toBe('auth_failed');
    expect(d.reason).toMatch(/SPF fail and DMARC fail/);
  });

  it('softfail SPF with DMARC fail counts as failed', () => {
    expect(denied(msg(), { cfg, authResults: { ...failing, spf: 'softfail (domain does not designate)' } }).code).toBe('auth_failed');
  });

  it('only one of them failing is not enough', () => {
    expect(mayAutoReply(msg(), { cfg, authResults: { ...failing, dmarc: 'pass' } }).allowed).toBe(true);
    expect(mayAutoReply(msg(), { cfg, authResults: { ...failing, spf: 'pass' } }).allowed).toBe(true);
  });

  it('an untrusted authserv-id is ignored', () => {
    expect(mayAutoReply(msg(), { cfg, authResults: { ...failing, authservId: 'mx.attacker.example' } }).allowed).toBe(true);
  });

  it('suppress_on_auth_fail: false answers anyway', () => {
    const lax = { ...cfg, suppress_on_auth_fail: false };
    expect(mayAutoReply(msg(), { cfg: lax, authResults: failing }).allowed).toBe(true);
  });
});
