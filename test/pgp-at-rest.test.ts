/** The vault: sealed content round-trips, shows no plaintext, survives a key rotation, is signed. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createMessage, encrypt, readMessage } from 'openpgp';
import { createVault } from '../src/pgp/at-rest';
import { FIXTURES, fingerprints, loadFixtureKeys } from './pgp-helpers';
import type { FixtureKeys } from './pgp-helpers';

let k: FixtureKeys;
const MARKER = 'SECRET-MARKER-7731';
const report = Buffer.from(`From: rita@reporter.test\r\nSubject: Heap overflow\r\n\r\nThe parser overflows. ${MARKER}\r\n`);

beforeAll(async () => {
  k = await loadFixtureKeys();
});

/** Every substring of `needle` of length `len` (so partial leaks are caught too). */
function containsAnyChunk(hay: Buffer, needle: Buffer, len = 8): boolean {
  for (let i = 0; i + len <= needle.length; i++) if (hay.includes(needle.subarray(i, i + len))) return true;
  return false;
}

describe('createVault', () => {
  test('seal → open round-trips; sealed bytes are binary OpenPGP with no plaintext in them', async () => {
    const vault = createVault(k.team);
    const sealed = await vault.seal(report);
    expect(sealed.subarray(0, 20).toString('latin1')).not.toContain('-----BEGIN');
    expect(containsAnyChunk(sealed, report)).toBe(false);
    expect(sealed.includes(Buffer.from(MARKER))).toBe(false);
    expect((await vault.open(sealed)).equals(report)).toBe(true);
    // Encrypted to the current team key only (a retired key must not read new content).
    const msg = await readMessage({ binaryMessage: new Uint8Array(sealed) });
    const ids = msg.getEncryptionKeyIDs().map((id) => id.toHex());
    expect(ids).toHaveLength(1);
    expect(k.team[0]!.getKeys(msg.getEncryptionKeyIDs()[0]).length).toBe(1);
  });

  test('content is compressed before encryption', async () => {
    const big = Buffer.from('AAAA repeated line of a crash log\n'.repeat(20_000));
    const sealed = await createVault(k.team).seal(big);
    expect(sealed.length).toBeLessThan(big.length / 20);
    expect((await createVault(k.team).open(sealed)).equals(big)).toBe(true);
  });

  test('binary content (an attachment) survives byte for byte', async () => {
    const bin = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
    const vault = createVault(k.team);
    expect((await vault.open(await vault.seal(bin))).equals(bin)).toBe(true);
  });

  test('rotation: content sealed under the old key opens while the old key is still listed', async () => {
    const [current, old] = k.team;
    const sealedOld = await createVault([old!]).seal(report);
    expect((await createVault([current!, old!]).open(sealedOld)).equals(report)).toBe(true);
    await expect(createVault([current!]).open(sealedOld)).rejects.toMatchObject({ code: 'EVaultOpen' });
  });

  test('content encrypted to the team key but not signed by it is refused', async () => {
    const forged = await encrypt({ message: await createMessage({ binary: new Uint8Array(report) }), encryptionKeys: k.team[0]!.toPublic(), format: 'binary' });
    await expect(createVault(k.team).open(Buffer.from(forged))).rejects.toMatchObject({ code: 'EVaultOpen' });
  });

  test('garbage and truncated data are PermanentErrors', async () => {
    const vault = createVault(k.team);
    const sealed = await vault.seal(report);
    await expect(vault.open(Buffer.from('not openpgp'))).rejects.toMatchObject({ code: 'EVaultOpen' });
    await expect(vault.open(sealed.subarray(0, sealed.length - 10))).rejects.toMatchObject({ code: 'EVaultOpen' });
  });

  test('gpg, with the team secret key, opens sealed content too (no lock-in to openpgp.js)', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'secdesk-gpg-vault-'));
    try {
      const sealed = await createVault(k.team).seal(report);
      const run = (args: string[], input?: Buffer) =>
        spawnSync('gpg', ['--homedir', home, '--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase-file', path.join(FIXTURES, 'team.pass'), ...args], { input });
      expect(run(['--import', path.join(FIXTURES, 'team.sec.asc')]).status).toBe(0);
      const r = run(['--status-fd', '2', '--decrypt'], sealed);
      expect(r.status).toBe(0);
      expect(r.stdout.equals(report)).toBe(true);
      expect(r.stderr.toString()).toContain(`VALIDSIG ${fingerprints.team}`);
    } finally {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
      rmSync(home, { recursive: true, force: true });
    }
  });
});
