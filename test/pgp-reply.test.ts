/**
 * encryptReply(): the encrypted acknowledgement opens with real `gpg --decrypt` run as the reporter,
 * verifies as signed by the team key, carries the real subject only in its protected headers, and
 * shows nothing of the subject or the body outside the encryption.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import type { StructuredHeader } from 'mailparser';
import { composeAutoReply } from '../src/notify/compose';
import { replySubject } from '../src/notify/subject';
import { encryptReply } from '../src/pgp/encrypt-reply';
import { openPgp } from '../src/pgp/open-message';
import { testCase, testConfig } from './notify-fixtures';
import { FIXTURES, fingerprints, loadFixtureKeys } from './pgp-helpers';
import type { FixtureKeys } from './pgp-helpers';

const SECRET = 'test-secret';
const BODY_MARKER = 'BODY-MARKER-4471';
const REAL_THEIRS = 'Heap overflow in header parser';
const cfg = testConfig();
const kase = testCase({ reporter: 'rita@reporter.test', reply_to: 'rita@reporter.test', subject: REAL_THEIRS });
const inbound = { messageId: '<pm-es@fixtures.example.test>', references: ['<root@fixtures.example.test>'], subject: REAL_THEIRS };

let k: FixtureKeys;
let home: string;

function gpg(args: string[], input?: Buffer): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync('gpg', ['--homedir', home, '--batch', '--no-tty', ...args], { input, maxBuffer: 16 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

beforeAll(async () => {
  k = await loadFixtureKeys();
  home = mkdtempSync(path.join(tmpdir(), 'secdesk-gpg-reply-'));
  for (const f of ['reporter.sec.asc', 'team.pub.asc']) {
    const r = gpg(['--import', path.join(FIXTURES, f)]);
    if (r.status !== 0) throw new Error(`gpg --import ${f}: ${r.stderr}`);
  }
});

afterAll(() => {
  // Importing a secret key starts a gpg-agent for this home; it must not outlive the test.
  spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
  rmSync(home, { recursive: true, force: true });
});

function composeAck(rendered: { text: string; html?: string }, tagOnly = true) {
  return composeAutoReply('ack', kase, inbound, rendered, cfg, SECRET, { subjectTagOnly: tagOnly });
}

/** The armored payload of part 2, taken out with mailparser (both parts are "attachments" to it). */
async function payloadOf(raw: Buffer): Promise<Buffer> {
  const parsed = await simpleParser(raw);
  const part = parsed.attachments.find((a) => a.contentType === 'application/octet-stream');
  if (!part) throw new Error('no application/octet-stream part');
  return part.content;
}

describe('encryptReply', () => {
  test('gpg --decrypt as the reporter opens and verifies it; the real subject is only in protected headers', async () => {
    const mail = composeAck({ text: `We received your report.\n${BODY_MARKER}\n` });
    const realSubject = replySubject(REAL_THEIRS, kase.id);
    const { raw, envelope } = await encryptReply(mail, { to: k.reporter, signWith: k.team[0]!, realSubject });

    expect(envelope).toEqual({ from: 'security@example.test', to: ['rita@reporter.test'] });

    // Outside: threading and auto-reply headers, the tag, nothing else.
    const text = raw.toString('latin1');
    expect(text).not.toContain(REAL_THEIRS);
    expect(text).not.toContain('Heap overflow');
    expect(text).not.toContain(BODY_MARKER);
    expect(text).not.toContain('We received');
    const outer = await simpleParser(raw);
    expect(outer.subject).toBe('[SEC-2026-0001]');
    expect(outer.messageId).toBe(mail.messageId);
    expect(outer.inReplyTo).toBe('<pm-es@fixtures.example.test>');
    expect(outer.references).toEqual(['<root@fixtures.example.test>', '<pm-es@fixtures.example.test>']);
    expect(outer.headers.get('auto-submitted')).toBe('auto-replied');
    expect(outer.replyTo?.value[0]?.address).toBe('security@example.test');
    const ct = outer.headers.get('content-type') as StructuredHeader;
    expect(ct.value).toBe('multipart/encrypted');
    expect(ct.params.protocol).toBe('application/pgp-encrypted');

    const r = gpg(['--status-fd', '2', '--decrypt'], await payloadOf(raw));
    expect(r.status).toBe(0);
    const status = r.stderr.split('\n').filter((l) => l.startsWith('[GNUPG:] '));
    expect(status).toContain('[GNUPG:] DECRYPTION_OKAY');
    expect(status.some((l) => l.startsWith('[GNUPG:] GOODSIG ') && fingerprints.team.endsWith(l.split(' ')[2] as string))).toBe(true);
    const validsig = status.find((l) => l.startsWith('[GNUPG:] VALIDSIG '));
    expect(validsig?.split(' ').pop()).toBe(fingerprints.team);
    expect(status.some((l) => / (BADSIG|ERRSIG|DECRYPTION_FAILED) /.test(`${l} `))).toBe(false);

    const inner = await simpleParser(r.stdout);
    expect(inner.subject).toBe(realSubject);
    expect(inner.subject).toContain(REAL_THEIRS);
    expect(inner.text).toContain(BODY_MARKER);
    expect(inner.messageId).toBe(mail.messageId);
    expect(inner.from?.value[0]?.address).toBe('security@example.test');
    expect(inner.to && !Array.isArray(inner.to) ? inner.to.value[0]?.address : null).toBe('rita@reporter.test');
    expect(inner.date?.toISOString()).toBe(outer.date?.toISOString());
    const innerCt = inner.headers.get('content-type') as StructuredHeader;
    expect(innerCt.value).toBe('text/plain');
    expect(innerCt.params['protected-headers']).toBe('v1');
  });

  test('the team can read its own sent copy: openPgp decrypts it and finds the team signature', async () => {
    const mail = composeAck({ text: `Plain part ${BODY_MARKER}\n`, html: `<p>HTML part ${BODY_MARKER}</p>` });
    const realSubject = replySubject(REAL_THEIRS, kase.id);
    const { raw } = await encryptReply(mail, { to: k.reporter, signWith: k.team[0]!, realSubject });
    expect(raw.toString('latin1')).not.toContain(BODY_MARKER);

    const opened = await openPgp(
      raw,
      { decryptionKeys: k.team, verificationKeys: () => [{ key: k.team[0]!.toPublic(), source: 'configured' }] },
      { timeoutMs: 10_000, maxBytes: 1024 * 1024 },
    );
    expect(opened).toMatchObject({ encrypted: true, error: null, subject: realSubject });
    expect(opened.signature).toMatchObject({ status: 'valid', fingerprint: fingerprints.team, covers: 'message' });
    const inner = await simpleParser(opened.decrypted as Buffer);
    expect(inner.text).toContain(`Plain part ${BODY_MARKER}`);
    expect(inner.html).toContain(`HTML part ${BODY_MARKER}`);
    expect((inner.headers.get('content-type') as StructuredHeader).params['protected-headers']).toBe('v1');
  });

  test('refuses a reply whose outer Subject would carry the real subject', async () => {
    const mail = composeAck({ text: BODY_MARKER }, false);
    await expect(encryptReply(mail, { to: k.reporter, signWith: k.team[0]!, realSubject: 'x' })).rejects.toMatchObject({ code: 'EPgpReply' });
  });

  test('a key that cannot encrypt is a permanent error, not a plaintext fallback', async () => {
    const mail = composeAck({ text: BODY_MARKER });
    // A key with no encryption subkey (the team key's public half without its subkeys).
    const signOnly = k.team[0]!.toPublic();
    signOnly.subkeys = [];
    await expect(encryptReply(mail, { to: signOnly, signWith: k.team[0]!, realSubject: 'x' })).rejects.toMatchObject({ code: 'EPgpEncrypt' });
  });
});
