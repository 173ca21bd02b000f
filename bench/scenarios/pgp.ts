/**
 * 5. PGP: decrypt+verify per message with secdesk's PGP stage (openpgp.js, keys unlocked once)
 * versus `gpg --decrypt` of the same message (a process per message, as an operator would run it).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadTeamKeys, parsePublicKeys } from '../../src/pgp/keyring';
import { openPgp } from '../../src/pgp/open-message';
import { ROOT, median } from '../lib';

const FX = path.join(ROOT, 'test', 'fixtures', 'pgp');

export async function pgp(runs: number): Promise<{ secdeskP50Ms: number; gpgP50Ms: number; secdeskPerSec: number; gpgPerSec: number } | { skipped: string }> {
  const pass = readFileSync(path.join(FX, 'team.pass'), 'utf8').trim();
  const keys = await loadTeamKeys({ private_key_file: path.join(FX, 'team.sec.asc'), passphrase: pass });
  const reporter = await parsePublicKeys(readFileSync(path.join(FX, 'reporter.pub.asc')));
  const raw = readFileSync(path.join(FX, 'pgpmime-encrypted-signed.eml'));
  const ours: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const r = await openPgp(raw, { decryptionKeys: keys, verificationKeys: () => reporter.map((key) => ({ key, source: 'configured' as const })) }, { timeoutMs: 20_000, maxBytes: 30 * 1024 * 1024 });
    if (!r.decrypted || r.signature.status !== 'valid') return { skipped: `fixture did not decrypt+verify: ${r.error ?? r.signature.status}` };
    ours.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const home = mkdtempSync(path.join(tmpdir(), 'secdesk-bench-gpg-'));
  try {
    const gpg = (args: string[], input?: Buffer): Buffer => execFileSync('gpg', ['--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', pass, ...args], { input, stdio: ['pipe', 'pipe', 'ignore'] });
    gpg(['--import', path.join(FX, 'team.sec.asc')]);
    gpg(['--import', path.join(FX, 'reporter.pub.asc')]);
    // gpg decrypts the encrypted MIME part (what a person would save and decrypt).
    const armored = /-----BEGIN PGP MESSAGE-----[\s\S]*?-----END PGP MESSAGE-----/.exec(raw.toString('utf8'))?.[0];
    if (!armored) return { skipped: 'no armored block in the fixture' };
    const theirs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = process.hrtime.bigint();
      gpg(['--decrypt'], Buffer.from(armored));
      theirs.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const a = median(ours);
    const b = median(theirs);
    return { secdeskP50Ms: a, gpgP50Ms: b, secdeskPerSec: 1000 / a, gpgPerSec: 1000 / b };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
