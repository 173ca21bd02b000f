/**
 * openPgp() on every gpg-made fixture: encrypted / signature / error, the decrypted entity, and
 * hostile input that must end as an `error`, never a throw or a hang.
 */
import { simpleParser } from 'mailparser';
import { openPgp } from '../src/pgp/open-message';
import type { OpenPgpKeys, SourcedKey } from '../src/pgp/open-message';
import { fingerprints, fixture, loadFixtureKeys } from './pgp-helpers';
import type { FixtureKeys } from './pgp-helpers';

const LIMITS = { timeoutMs: 10_000, maxBytes: 5 * 1024 * 1024 };
let k: FixtureKeys;

beforeAll(async () => {
  k = await loadFixtureKeys();
});

/** Keys as the ingest side would give them: the reporter's configured key for their address. */
function keys(opts: { configured?: boolean; decryption?: 'both' | 'current' } = {}): OpenPgpKeys {
  return {
    decryptionKeys: opts.decryption === 'current' ? k.team.slice(0, 1) : k.team,
    verificationKeys: (address): SourcedKey[] =>
      opts.configured === false ? [] : address === 'rita@reporter.test' ? [{ key: k.reporter, source: 'configured' }] : [],
  };
}

async function decryptedText(buf: Buffer | null): Promise<string> {
  expect(buf).not.toBeNull();
  const parsed = await simpleParser(buf as Buffer);
  return parsed.text ?? '';
}

describe('openPgp on gpg fixtures', () => {
  test('PGP/MIME encrypted+signed with protected Subject', async () => {
    const r = await openPgp(fixture('pgpmime-encrypted-signed.eml'), keys(), LIMITS);
    expect(r.error).toBeNull();
    expect(r.encrypted).toBe(true);
    expect(r.subject).toBe('Heap overflow in header parser');
    expect(r.signature).toMatchObject({ status: 'valid', fingerprint: fingerprints.reporter, source: 'configured', covers: 'message', address_match: true });
    expect(r.signature.user_id).toBe('Rita Reporter <rita@reporter.test>');
    const parsed = await simpleParser(r.decrypted as Buffer);
    expect(parsed.subject).toBe('Heap overflow in header parser');
    expect(parsed.text).toContain('SECRET-MARKER-7731');
    expect(parsed.attachments.map((a) => a.filename)).toEqual(['poc.py']);
  });

  test('PGP/MIME encrypted only: no signature, no protected Subject', async () => {
    const r = await openPgp(fixture('pgpmime-encrypted.eml'), keys(), LIMITS);
    expect(r).toMatchObject({ encrypted: true, error: null, subject: null, signature: { status: 'none' } });
    expect(await decryptedText(r.decrypted)).toContain('SECRET-MARKER-7731');
  });

  test('Thunderbird-style protected headers, multipart/signed inside the encryption', async () => {
    const r = await openPgp(fixture('protected-headers.eml'), keys(), LIMITS);
    expect(r.error).toBeNull();
    expect(r.subject).toBe('Auth bypass in admin login');
    expect(r.signature).toMatchObject({ status: 'valid', fingerprint: fingerprints.reporter, covers: 'message' });
    expect(await decryptedText(r.decrypted)).toContain('empty password');
  });

  test('inline armored body: decrypted and its signature verified', async () => {
    const r = await openPgp(fixture('inline-encrypted.eml'), keys(), LIMITS);
    expect(r).toMatchObject({ encrypted: true, error: null, subject: null });
    // The greeting and the sign-off around the armor are not signed.
    expect(r.signature).toMatchObject({ status: 'valid', fingerprint: fingerprints.reporter, covers: 'part' });
    expect(await decryptedText(r.decrypted)).toContain('SECRET-MARKER-7731');
  });

  test('clear-signed text', async () => {
    const r = await openPgp(fixture('clear-signed.eml'), keys(), LIMITS);
    expect(r).toMatchObject({ encrypted: false, decrypted: null, error: null });
    expect(r.signature).toMatchObject({ status: 'valid', fingerprint: fingerprints.reporter, covers: 'message' });
  });

  test('multipart/signed verified over the raw signed part; a changed byte makes it invalid', async () => {
    const ok = await openPgp(fixture('multipart-signed.eml'), keys(), LIMITS);
    expect(ok.signature).toMatchObject({ status: 'valid', fingerprint: fingerprints.reporter, covers: 'message' });
    const bad = await openPgp(fixture('multipart-signed-tampered.eml'), keys(), LIMITS);
    expect(bad.signature).toMatchObject({ status: 'invalid', fingerprint: fingerprints.reporter });
  });

  test('multipart/signed still verifies after the message was stored with bare LF line endings', async () => {
    const lf = Buffer.from(fixture('multipart-signed.eml').toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    const r = await openPgp(lf, keys(), LIMITS);
    expect(r.signature.status).toBe('valid');
  });

  test('signed by an unknown key', async () => {
    const r = await openPgp(fixture('unknown-signer.eml'), keys(), LIMITS);
    expect(r.signature).toEqual({ status: 'unknown_key', key_id: fingerprints.unknown.slice(-16), covers: 'message' });
    expect(r.error).toBeNull();
  });

  test('a key known for one address does not make a stranger’s signature valid', async () => {
    const r = await openPgp(fixture('multipart-signed.eml'), keys({ configured: false }), LIMITS);
    expect(r.signature.status).toBe('unknown_key');
  });

  test('encrypted to another key: the error names our key', async () => {
    const r = await openPgp(fixture('encrypted-to-other.eml'), keys(), LIMITS);
    expect(r.encrypted).toBe(true);
    expect(r.decrypted).toBeNull();
    expect(r.error).toContain(`not encrypted to our key: use ${fingerprints.team}`);
  });

  test('key rotation: the previous team key still decrypts', async () => {
    const r = await openPgp(fixture('encrypted-old-key.eml'), keys(), LIMITS);
    expect(r.error).toBeNull();
    expect(await decryptedText(r.decrypted)).toContain('SECRET-MARKER-7731');
    const without = await openPgp(fixture('encrypted-old-key.eml'), keys({ decryption: 'current' }), LIMITS);
    expect(without.error).toContain('not encrypted to our key');
  });

  test('corrupt armor', async () => {
    const r = await openPgp(fixture('corrupt-armor.eml'), keys(), LIMITS);
    expect(r.encrypted).toBe(true);
    expect(r.decrypted).toBeNull();
    expect(r.error).toMatch(/^corrupt armor: /);
  });

  test('attached key: signature valid with source "attached", key returned for pinning', async () => {
    const r = await openPgp(fixture('attached-key.eml'), keys({ configured: false }), LIMITS);
    expect(r.signature).toMatchObject({ status: 'valid', fingerprint: fingerprints.reporter, source: 'attached', covers: 'part' });
    expect(r.attachedKeys.map((x) => x.getFingerprint().toUpperCase())).toEqual([fingerprints.reporter]);
    const configured = await openPgp(fixture('attached-key.eml'), keys(), LIMITS);
    expect(configured.signature.source).toBe('configured');
  });

  test('a different key for an address with a configured key: valid only as "attached", returned for pinning', async () => {
    const r = await openPgp(fixture('attached-new-key.eml'), keys(), LIMITS);
    expect(r.signature).toMatchObject({ status: 'valid', fingerprint: fingerprints['reporter-new'], source: 'attached', address_match: true });
    expect(r.attachedKeys.map((x) => x.getFingerprint().toUpperCase())).toEqual([fingerprints['reporter-new']]);
  });

  test('binary .gpg and armored .asc attachments are decrypted into files', async () => {
    const r = await openPgp(fixture('encrypted-attachments.eml'), keys(), LIMITS);
    expect(r).toMatchObject({ encrypted: true, error: null });
    expect(r.signature).toMatchObject({ status: 'valid', fingerprint: fingerprints.reporter, covers: 'part' });
    const parsed = await simpleParser(r.decrypted as Buffer);
    const files = Object.fromEntries(parsed.attachments.map((a) => [a.filename, a.content.toString('utf8')]));
    expect(Object.keys(files).sort()).toEqual(['crash.log', 'report.txt']);
    expect(files['report.txt']).toContain('SECRET-MARKER-7731');
  });

  test('a plain message is left alone', async () => {
    const plain = Buffer.from('From: a@b.test\r\nTo: security@example.test\r\nSubject: hi\r\n\r\nJust text.\r\n');
    expect(await openPgp(plain, keys(), LIMITS)).toEqual({ encrypted: false, decrypted: null, subject: null, signature: { status: 'none' }, attachedKeys: [], error: null });
  });
});

describe('openPgp on hostile input', () => {
  const hostile: [string, Buffer][] = [
    ['random bytes', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))],
    ['empty', Buffer.alloc(0)],
    [
      'garbage PGP/MIME payload',
      Buffer.from(
        'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary=b\r\n\r\n--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nAAAA\r\n-----END PGP MESSAGE-----\r\n--b--\r\n',
      ),
    ],
    ['binary .gpg that is not OpenPGP', Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/octet-stream; name=x.gpg\r\nContent-Disposition: attachment; filename=x.gpg\r\nContent-Transfer-Encoding: base64\r\n\r\n/////////w==\r\n--b--\r\n')],
    ['multipart/signed without boundary', Buffer.from('Content-Type: multipart/signed; protocol="application/pgp-signature"\r\n\r\nhello\r\n')],
    ['bogus clear-signed block', Buffer.from('Content-Type: text/plain\r\n\r\n-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\nhi\r\n-----BEGIN PGP SIGNATURE-----\r\n\r\nZm9v\r\n-----END PGP SIGNATURE-----\r\n')],
  ];
  test.each(hostile)('%s: no throw', async (_name, raw) => {
    const r = await openPgp(raw, keys(), LIMITS);
    expect(r.decrypted).toBeNull();
    expect(['none', 'unknown_key', 'invalid']).toContain(r.signature.status);
  });

  test('garbage in the encrypted part is reported', async () => {
    const r = await openPgp(hostile[2]?.[1] as Buffer, keys(), LIMITS);
    expect(r.encrypted).toBe(true);
    expect(r.error).toMatch(/corrupt armor|not an encrypted/);
  });

  test('60-deep nesting stops at the depth limit', async () => {
    let body = 'Content-Type: text/plain\r\n\r\nbottom\r\n';
    for (let i = 0; i < 60; i++) body = `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n${body}--b${i}--\r\n`;
    const started = Date.now();
    const r = await openPgp(Buffer.from(body), keys(), LIMITS);
    expect(r.error).toBeNull();
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('size limit', async () => {
    const r = await openPgp(fixture('pgpmime-encrypted.eml'), keys(), { timeoutMs: 10_000, maxBytes: 100 });
    expect(r.error).toMatch(/too large/);
    expect(r.decrypted).toBeNull();
  });

  test('deadline', async () => {
    const r = await openPgp(fixture('pgpmime-encrypted.eml'), keys(), { timeoutMs: 0, maxBytes: LIMITS.maxBytes });
    expect(r.error).toMatch(/timed out after 0 ms/);
    expect(r.decrypted).toBeNull();
  });
});
