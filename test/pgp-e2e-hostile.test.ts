/**
 * PGP end to end, hostile and undecryptable input: a compression bomb, ciphers we do not accept, a
 * password-encrypted message, truncated and garbage packets, hundreds of armor blocks, PGP buried
 * under deep MIME nesting, and a report encrypted to a key that was rotated out. Each one opens a
 * case with the reason recorded (the ciphertext kept), the daemon keeps going, and a normal encrypted
 * report after them is still decrypted. All of it made by real gpg in a throwaway GNUPGHOME.
 *
 * Only the *current* team key is configured here, so the rotated-key report cannot be decrypted on
 * arrival; `secdesk case ID --json` with the old key listed again opens it from the raw mail.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { main } from '../src/cli';
import { decryptBlock } from '../src/pgp/pgp-crypto';
import { openPgp } from '../src/pgp/open-message';
import { buildEntity, buildPgpMimeEncrypted } from '../src/pgp/pgp-mime';
import type { Case } from '../src/types';
import { SECURITY, startHarness, waitFor, type Harness } from './helpers/harness';
import { gpgWith, type Gpg } from './helpers/pgp-gpg';
import { FIXTURES, fingerprints, fixture, loadFixtureKeys } from './pgp-helpers';

const RITA = 'Rita Reporter <rita@reporter.test>';
const MAX_BYTES = 30 * 1024 * 1024; // limits.max_message_bytes (default)

describe('hostile and undecryptable PGP, through Dovecot and Redis', () => {
  let h: Harness;
  let gpg: Gpg;
  const made: Record<string, Buffer> = {};
  const cases = new Map<string, Case>();

  const head = (id: string, subject = 'Report') => ({ from: RITA, to: SECURITY, subject, messageId: `<${id}@hostile.test>`, date: new Date('2026-03-02T10:00:00Z') });
  const pgpMime = (id: string, armored: string | Buffer): Promise<Buffer> => buildPgpMimeEncrypted(head(id), armored.toString(), 'msg.asc');
  const team = (): string => fingerprints.team;
  const reasons = (c: Case): string => c.timeline.filter((t) => t.event === 'parse.warning').map((t) => t.detail ?? '').join('\n');

  beforeAll(async () => {
    h = await startHarness({
      config: {
        pgp: { private_key_file: path.join(FIXTURES, 'team.sec.asc'), passphrase_file: path.join(FIXTURES, 'team.pass') },
        rate_limit: { per_recipient: { max: 100, per: '1h' }, per_domain: { max: 100, per: '1h' }, global: { max: 500, per: '1h' } },
      },
    });
    gpg = gpgWith(['team.pub.asc', 'reporter.sec.asc']);
    const report = Buffer.from('Content-Type: text/plain; charset=utf-8\r\n\r\nOverflow in src/parse/header.c.\r\n');

    // 64 MiB of zeros, zlib level 9: ~100 KB of ciphertext that would decompress past every limit.
    made.bomb = await pgpMime('bomb', gpg.encrypt(Buffer.alloc(64 * 1024 * 1024), [team()], { extra: ['--compress-algo', 'zlib', '-z', '9'] }));
    made.twofish = await pgpMime('twofish', gpg.encrypt(report, [team()], { extra: ['--cipher-algo', 'TWOFISH'] }));
    made.camellia = await pgpMime('camellia', gpg.encrypt(report, [team()], { extra: ['--cipher-algo', 'CAMELLIA256'] }));
    made.symmetric = await pgpMime('symmetric', gpg.run(['--armor', '--symmetric', '--passphrase', 'hunter2'], report));
    const binary = gpg.encrypt(report, [team()], { armor: false });
    made.truncated = await buildEntity({ ...head('truncated'), text: 'See attachment.\n', attachments: [{ filename: 'report.gpg', content: binary.subarray(0, Math.floor(binary.length / 2)), contentType: 'application/octet-stream' }] });
    made.garbage = await buildEntity({ ...head('garbage'), text: 'See attachment.\n', attachments: [{ filename: 'report.pgp', content: Buffer.concat([Buffer.from([0x85, 0xff, 0xff, 0xff, 0xff]), Buffer.alloc(4096, 0xa5)]), contentType: 'application/octet-stream' }] });
    const lines = gpg.encrypt(Buffer.from('x'), [team()]).toString().split('\n');
    lines[2] = `${(lines[2] ?? '').slice(0, 10)}!!!!!!!!!!${(lines[2] ?? '').slice(20)}`; // damage the first base64 line
    const block = lines.join('\n');
    made.blocks = await buildEntity({ ...head('blocks'), text: Array.from({ length: 300 }, () => block).join('\n') });
    let nested = `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="e"\r\n\r\n--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--e\r\nContent-Type: application/octet-stream\r\n\r\n${gpg.encrypt(report, [team()]).toString()}\r\n--e--\r\n`;
    for (let d = 0; d < 60; d++) nested = `Content-Type: multipart/mixed; boundary="n${d}"\r\n\r\n--n${d}\r\n${nested}--n${d}--\r\n`;
    made.nested = Buffer.from(`From: ${RITA}\r\nTo: ${SECURITY}\r\nSubject: Nested\r\nMessage-ID: <nested@hostile.test>\r\nMIME-Version: 1.0\r\n${nested}`);

    await h.startApp();
    await h.append([...Object.values(made), fixture('encrypted-old-key.eml')]);
    // Appended after all the hostile ones: decrypted means the daemon kept going.
    await h.append([fixture('pgpmime-encrypted.eml')]);
    // Settled: the first automatic mail is queued only after a sealed copy is written.
    const all = await waitFor(
      'a case for every message, each with its first mail sent',
      async () => {
        const cs = await h.cases();
        return cs.length >= Object.keys(made).length + 2 && cs.every((c) => c.notices?.some((n) => n.status === 'sent')) ? cs : null;
      },
      90_000,
    );
    for (const c of all) cases.set(/<([^@]+)@/.exec(c.messages[0]?.message_id ?? '')?.[1] ?? '?', c);
  });
  afterAll(async () => {
    gpg?.close();
    await h?.close();
  });

  const get = (id: string): Case => {
    const c = cases.get(id);
    if (!c) throw new Error(`no case for ${id} (have ${[...cases.keys()].join(', ')})`);
    return c;
  };

  test('nothing was skipped or lost: every hostile message opened a case, encrypted, ciphertext kept, nothing sealed', async () => {
    expect(await h.skips()).toEqual([]);
    for (const id of Object.keys(made)) {
      const c = get(id);
      expect({ id, sealed: c.sealed_key ?? null }).toEqual({ id, sealed: null });
      if (id !== 'nested') expect({ id, encrypted: c.encrypted }).toEqual({ id, encrypted: true });
      expect((await h.store().getRaw(c.messages[0]?.raw_key ?? ''))?.length).toBeGreaterThan(0);
    }
  });

  test('each case says why it could not be decrypted', async () => {
    expect(reasons(get('bomb'))).toContain(`the decrypted content is over ${MAX_BYTES} bytes`);
    expect(reasons(get('twofish'))).toContain('unsupported algorithm');
    expect(reasons(get('camellia'))).toMatch(/session key could not be recovered|unsupported algorithm/);
    expect(reasons(get('symmetric'))).toContain(`encrypted with a password, not to our key: use ${team()}`);
    expect(reasons(get('truncated'))).toMatch(/report\.gpg: (corrupt data|cannot decrypt)/);
    expect(reasons(get('garbage'))).toMatch(/report\.pgp: corrupt data/);
    expect(reasons(get('blocks'))).toContain('corrupt armor');
    expect(reasons(get('old'))).toContain(`not encrypted to our key: use ${team()}`);
  });

  test('PGP under 60 levels of MIME nesting is not followed, and the message still becomes a case', async () => {
    const c = get('nested');
    expect(c.sealed_key ?? null).toBeNull();
    expect(c.subject).toBe('Nested');
  });

  test('undecryptable reports get the undecryptable ack naming the team key', async () => {
    const c = await waitFor('undecryptable ack for the bomb', async () => {
      const x = await h.store().get(get('bomb').id);
      return x?.notices?.some((n) => n.purpose === 'undecryptable' && n.status === 'sent') ? x : null;
    });
    const id = c.notices?.find((n) => n.purpose === 'undecryptable')?.message_id ?? '';
    const mail = h.sandbox.smtp.messages.find((m) => m.raw.toString('latin1').includes(id));
    expect(mail?.raw.toString('utf8')).toContain(`Fingerprint: ${team()}`);
    expect(mail?.raw.toString('utf8')).toMatch(new RegExp(`^Subject: \\[${c.id}\\]\\r?$`, 'm'));
  });

  test('a normal encrypted report after all of them is decrypted: the daemon kept running', async () => {
    const c = get('pm-e');
    expect(c.encrypted).toBe(true);
    expect(c.sealed_key).toBeTruthy();
    expect(reasons(c)).toBe('');
  });

  test('rotation: a report to the old key opens on demand once the old key is listed again', async () => {
    const c = get('old');
    const withOld = path.join(h.dir, 'with-old-key.yml');
    writeFileSync(withOld, stringify({ ...h.raw, pgp: { private_key_file: [path.join(FIXTURES, 'team.sec.asc'), path.join(FIXTURES, 'team-old.sec.asc')], passphrase_file: path.join(FIXTURES, 'team.pass') } }));
    const run = async (config: string): Promise<Record<string, unknown>> => {
      let out = '';
      expect(await main(['node', 'secdesk', '--config', config, 'case', c.id, '--json'], { out: (s) => (out += s), err: () => undefined, env: {} })).toBe(0);
      return JSON.parse(out) as Record<string, unknown>;
    };
    const before = await run(h.configFile);
    expect(before.decrypted).toBeNull();
    expect(before.decrypt_error).toContain(`not encrypted to our key: use ${team()}`);
    const after = await run(withOld);
    expect(after.decrypted).toMatchObject({ from: 'raw', subject: null });
    expect((after.decrypted as { text: string }).text).toContain('SECRET-MARKER-7731');
  });
});

describe('the per-message bounds, directly', () => {
  test('the deadline: past it, openPgp returns the reason instead of throwing or hanging', async () => {
    const keys = await loadFixtureKeys();
    const res = await openPgp(fixture('pgpmime-encrypted-signed.eml'), { decryptionKeys: keys.team, verificationKeys: () => [] }, { timeoutMs: 0, maxBytes: MAX_BYTES });
    expect(res.decrypted).toBeNull();
    expect(res.error).toContain('PGP processing timed out after 0 ms');
  });

  test('the size bound holds whatever the limit: a bomb is refused at 1 MiB too', async () => {
    const keys = await loadFixtureKeys();
    const gpg = gpgWith(['team.pub.asc']);
    try {
      const bomb = gpg.encrypt(Buffer.alloc(8 * 1024 * 1024), [fingerprints.team], { armor: false, extra: ['--compress-algo', 'zlib'] });
      const out = await decryptBlock(bomb, keys.team, 1024 * 1024, Date.now() + 60_000);
      expect(out).toEqual({ error: expect.stringContaining('over 1048576 bytes') });
    } finally {
      gpg.close();
    }
  });
});
