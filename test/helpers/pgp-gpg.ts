/**
 * Real gpg for the PGP end-to-end tests: a throwaway GNUPGHOME per use, holding only the keys a test
 * gives it. It plays the reporter (encrypts a report, decrypts and verifies our reply) and makes the
 * hostile inputs that are cheaper to make than to commit (a compression bomb, odd ciphers).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FIXTURES } from '../pgp-helpers';

export interface GpgResult {
  data: Buffer;
  /** The `[GNUPG:]` status lines (GOODSIG, VALIDSIG, DECRYPTION_OKAY, …). */
  status: string[];
}

export interface Gpg {
  home: string;
  run(args: string[], input?: string | Buffer): Buffer;
  /** `gpg --decrypt`, with the status lines that say who signed. Throws when gpg fails. */
  decrypt(input: string | Buffer): GpgResult;
  /** Encrypt to `recipients` (fingerprints), signed by `signer` when given. */
  encrypt(data: string | Buffer, recipients: string[], opts?: { signer?: string; armor?: boolean; extra?: string[] }): Buffer;
  close(): void;
}

/** A GNUPGHOME with the named fixture key files imported (e.g. `reporter.sec.asc`, `team.pub.asc`). */
export function gpgWith(fixtureFiles: string[]): Gpg {
  const home = mkdtempSync(path.join(tmpdir(), 'secdesk-gpg-e2e-'));
  const base = ['--homedir', home, '--batch', '--yes', '--no-tty', '--trust-model', 'always', '--pinentry-mode', 'loopback', '--passphrase', ''];
  const run = (args: string[], input?: string | Buffer): Buffer =>
    execFileSync('gpg', [...base, ...args], { input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  for (const f of fixtureFiles) run(['--import'], readFileSync(path.join(FIXTURES, f)));
  return {
    home,
    run,
    decrypt(input) {
      const statusFile = path.join(home, `status-${process.hrtime.bigint()}.txt`);
      const data = run(['--status-file', statusFile, '--decrypt'], input);
      const status = readFileSync(statusFile, 'utf8').split('\n').filter((l) => l.startsWith('[GNUPG:]'));
      return { data, status };
    },
    encrypt(data, recipients, opts = {}) {
      const args = [...(opts.armor === false ? [] : ['--armor']), ...(opts.extra ?? []), '--encrypt', ...recipients.flatMap((r) => ['--recipient', r])];
      if (opts.signer) args.push('--sign', '--local-user', opts.signer);
      return run(args, data);
    },
    close() {
      try {
        execFileSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
      } catch {
        // no agent was started
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** The fingerprint from a VALIDSIG status line (the primary key's, the last field). */
export function validSigner(status: string[]): string | null {
  const line = status.find((l) => l.startsWith('[GNUPG:] VALIDSIG '));
  return line ? (line.trim().split(/\s+/).pop() ?? null) : null;
}
