/**
 * The PGP side of the command line: `secdesk keys import|list|unpin`, `secdesk security-txt`, the
 * PGP lines of `secdesk check`, and decryption on demand in `secdesk case ID`. Each is an exported
 * function that cli-extra.ts calls, so other parts can add their own commands next to these.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import Redis from 'ioredis';
import { createCleartextMessage, readKeys, sign } from 'openpgp';
import type { PrivateKey, PublicKey } from 'openpgp';
import type { CheckLine } from '../check';
import type { Config } from '../config';
import { ConfigError, coerceError } from '../errors';
import { parseMessage } from '../parse/parse-message';
import { systemClock } from '../clock';
import type { CaseStore } from '../store/case-store';
import type { Case } from '../types';
import { createVault } from './at-rest';
import { createKeyStore, importKeysFromFile } from './key-store';
import type { KeyStore } from './key-store';
import { fingerprintOf, keyAddresses, loadPublicKeys, loadTeamKeys, parsePublicKeys, primaryUserId } from './keyring';
import { openPgp } from './open-message';
import { readEntity } from './pgp-mime';
import { checkSecurityTxt, renderSecurityTxt } from './security-txt';

/** What a command needs from the CLI around it (structurally the same as cli-extra's ExtraContext). */
export interface PgpCommandContext {
  io: { out: (s: string) => void; err: (s: string) => void; env: NodeJS.ProcessEnv };
  setCode: (n: number) => void;
  config: () => Config;
}

const DAY_MS = 24 * 3600_000;
/** `secdesk check` warns this long before the team key expires. */
const KEY_EXPIRY_WARNING_MS = 30 * DAY_MS;
/** A published file or key larger than this is not what we are looking for. */
const MAX_PUBLISHED_BYTES = 1024 * 1024;
const FETCH_TIMEOUT_MS = 10_000;

async function withKeyStore<T>(cfg: Config, fn: (store: KeyStore) => Promise<T>): Promise<T> {
  const redis = new Redis(cfg.redis.url, { maxRetriesPerRequest: 2, lazyConnect: true });
  redis.on('error', () => undefined);
  await redis.connect();
  try {
    return await fn(createKeyStore({ redis, prefix: cfg.redis.prefix, clock: systemClock }));
  } finally {
    redis.disconnect();
  }
}

function teamKeyFiles(cfg: Config): string[] {
  const f = cfg.pgp.private_key_file;
  return f === undefined ? [] : Array.isArray(f) ? f : [f];
}

/** The team's public keys, current first, read without the passphrase (publishing needs none). */
export async function teamPublicKeys(cfg: Config): Promise<PublicKey[]> {
  const files = teamKeyFiles(cfg);
  if (files.length === 0) throw new ConfigError('pgp.private_key_file: not set (the team key is needed for this)');
  const keys: PublicKey[] = [];
  for (const file of files) keys.push(...(await loadPublicKeys(file, undefined, 'pgp.private_key_file')));
  return keys;
}

/** A published file (security.txt, public key): a local path or an http(s) URL. */
export async function readPublished(spec: string): Promise<Buffer> {
  if (/^https?:\/\//i.test(spec)) {
    const res = await fetch(spec, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'follow' });
    if (!res.ok) throw new Error(`${spec}: HTTP ${res.status}`);
    const buf = Buffer.from(await res.arrayBuffer());
    if (buf.length > MAX_PUBLISHED_BYTES) throw new Error(`${spec}: larger than ${MAX_PUBLISHED_BYTES} bytes`);
    return buf;
  }
  const buf = await readFile(spec);
  if (buf.length > MAX_PUBLISHED_BYTES) throw new Error(`${spec}: larger than ${MAX_PUBLISHED_BYTES} bytes`);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// secdesk keys …

export function registerKeysCommand(program: Command, ctx: PgpCommandContext): void {
  const keys = program.command('keys').description('reporter keys: import ahead of time, list what is pinned, unpin after a key change');

  keys
    .command('import <file>')
    .description('pin every key in FILE (armored or binary; or a directory of .asc/.gpg/.pgp) to the addresses in its User IDs')
    .option('--replace', 'a key that differs from the one pinned to an address takes its place (after you checked it)')
    .action(async (file: string, o: { replace?: boolean }) => {
      const cfg = ctx.config();
      const summary = await withKeyStore(cfg, (store) => importKeysFromFile(store, file, { replace: o.replace }));
      for (const r of summary.results) {
        if (r.status === 'conflict') ctx.io.out(`conflict ${r.address} ${r.fingerprint}: ${r.pinnedFingerprint} is pinned and was kept (check the new key, then import it again with --replace)\n`);
        else ctx.io.out(`${r.status.padEnd(8)} ${r.address} ${r.fingerprint}\n`);
      }
      for (const f of summary.skipped) ctx.io.out(`skipped  ${f}: no e-mail address in its User IDs\n`);
      ctx.io.out(`${summary.keys} key(s) read: ${summary.pinned} pinned, ${summary.same} already pinned, ${summary.conflicts} conflict(s)\n`);
      ctx.setCode(summary.conflicts > 0 ? 1 : 0);
    });

  keys
    .command('list')
    .description('pinned reporter keys (with any different key seen since) and the keys named in config')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const cfg = ctx.config();
      const rows = await listKeys(cfg);
      if (o.json) ctx.io.out(`${JSON.stringify(rows, null, 2)}\n`);
      else {
        ctx.io.out(`${'ADDRESS'.padEnd(32)} ${'FINGERPRINT'.padEnd(40)} ${'SOURCE'.padEnd(11)} SINCE / NOTE\n`);
        for (const r of rows) {
          const note = r.conflicts.length ? `  DIFFERENT KEY SEEN: ${r.conflicts.map((c) => `${c.fingerprint} (${c.count}x, last ${c.last_seen})`).join(', ')}` : '';
          ctx.io.out(`${r.address.padEnd(32)} ${r.fingerprint.padEnd(40)} ${r.source.padEnd(11)} ${r.pinned_at ?? '-'}${note}\n`);
        }
      }
      ctx.setCode(0);
    });

  keys
    .command('unpin <address>')
    .description('forget the key pinned to ADDRESS (and the conflicts recorded for it); the next key seen or imported is pinned')
    .action(async (address: string) => {
      const cfg = ctx.config();
      const removed = await withKeyStore(cfg, (store) => store.unpin(address));
      ctx.io.out(removed ? `unpinned ${address}\n` : `no key was pinned to ${address}\n`);
      ctx.setCode(removed ? 0 : 1);
    });
}

export interface KeyListRow {
  address: string;
  fingerprint: string;
  /** `attached` / `imported` (pinned in Redis) or `configured` (pgp.reporter_keys / maintainer_keys). */
  source: string;
  pinned_at: string | null;
  user_id?: string | null;
  conflicts: { fingerprint: string; source: string; first_seen: string; last_seen: string; count: number }[];
}

export async function listKeys(cfg: Config): Promise<KeyListRow[]> {
  const rows: KeyListRow[] = [];
  for (const [file, label] of [
    [cfg.pgp.reporter_keys, 'pgp.reporter_keys'],
    [cfg.pgp.maintainer_keys, 'pgp.maintainer_keys'],
  ] as const) {
    if (!file) continue;
    for (const key of await loadPublicKeys(file, undefined, label)) {
      const userId = await primaryUserId(key);
      for (const address of new Set(keyAddresses(key))) rows.push({ address, fingerprint: fingerprintOf(key), source: 'configured', pinned_at: null, user_id: userId, conflicts: [] });
    }
  }
  await withKeyStore(cfg, async (store) => {
    for (const p of await store.list()) {
      const conflicts = (await store.conflicts(p.address)).map(({ fingerprint, source, first_seen, last_seen, count }) => ({ fingerprint, source, first_seen, last_seen, count }));
      rows.push({ address: p.address, fingerprint: p.fingerprint, source: p.source, pinned_at: p.pinned_at, conflicts });
    }
  });
  return rows.sort((a, b) => a.address.localeCompare(b.address) || a.source.localeCompare(b.source));
}

// ---------------------------------------------------------------------------------------------
// secdesk security-txt

export function registerSecurityTxtCommand(program: Command, ctx: PgpCommandContext): void {
  program
    .command('security-txt')
    .description('print an RFC 9116 security.txt for /.well-known/security.txt (or, with --public-key, the team public key to publish)')
    .option('--key-url <url>', 'where the team public key is published (the Encryption field, unless security_txt.encryption is set)')
    .option('--canonical <url>', 'the https URL the file will be served at (the Canonical field)')
    .option('--sign', 'clear-sign the file with the team key (RFC 9116 §2.3; needs the passphrase)')
    .option('--public-key', 'print the team\'s current public key (armored) instead')
    .action(async (o: { keyUrl?: string; canonical?: string; sign?: boolean; publicKey?: boolean }) => {
      const cfg = ctx.config();
      if (o.publicKey) {
        const [current] = await teamPublicKeys(cfg);
        if (!current) throw new ConfigError('pgp.private_key_file: no key found');
        ctx.io.out(current.armor());
        ctx.setCode(0);
        return;
      }
      // Without a URL for the key, name it by fingerprint (RFC 9116 §2.5.4 allows openpgp4fpr:).
      let keyUrl = o.keyUrl;
      if (!keyUrl && !cfg.security_txt.encryption && teamKeyFiles(cfg).length > 0) {
        const [current] = await teamPublicKeys(cfg);
        if (current) keyUrl = `openpgp4fpr:${fingerprintOf(current)}`;
      }
      const text = renderSecurityTxt(cfg, { now: systemClock.now(), keyUrl, canonicalUrl: o.canonical });
      if (o.sign) {
        const [current] = await loadTeamKeys(cfg.pgp);
        if (!current) throw new ConfigError('pgp.private_key_file: no key found');
        ctx.io.out(await sign({ message: await createCleartextMessage({ text }), signingKeys: current }));
      } else ctx.io.out(text);
      ctx.setCode(0);
    });
}

// ---------------------------------------------------------------------------------------------
// secdesk check: the PGP lines

export async function pgpChecks(cfg: Config, opts: { now: Date }): Promise<CheckLine[]> {
  const out: CheckLine[] = [];
  const push = (ok: boolean, what: string, detail: string, warn = false): void => void out.push({ ok, what, detail, warn });
  if (teamKeyFiles(cfg).length === 0) {
    push(true, 'pgp', 'no team key (pgp.private_key_file): encrypted reports cannot be read and replies go out unencrypted', true);
    return out;
  }
  let team: PrivateKey[];
  try {
    team = await loadTeamKeys(cfg.pgp);
  } catch (e) {
    push(false, 'pgp', coerceError(e).message);
    return out;
  }
  const current = team[0] as PrivateKey;
  const fpr = fingerprintOf(current);
  const older = team.slice(1).map(fingerprintOf);
  push(true, 'pgp', `team key ${fpr} (${(await primaryUserId(current)) ?? 'no User ID'}) unlocked${older.length ? `; older key(s) still decrypt: ${older.join(', ')}` : ''}`);
  const expires = await current.getExpirationTime().catch(() => null);
  if (expires instanceof Date) {
    const left = expires.getTime() - opts.now.getTime();
    if (left <= 0) push(false, 'pgp', `team key ${fpr} expired on ${expires.toISOString()}: extend it (gpg --quick-set-expire) or rotate`);
    else if (left <= KEY_EXPIRY_WARNING_MS) push(true, 'pgp', `team key ${fpr} expires on ${expires.toISOString()}, in ${Math.ceil(left / DAY_MS)} days: extend it (gpg --quick-set-expire) and publish it again`, true);
  }
  for (const [file, label] of [
    [cfg.pgp.reporter_keys, 'pgp.reporter_keys'],
    [cfg.pgp.maintainer_keys, 'pgp.maintainer_keys'],
  ] as const) {
    if (!file) continue;
    try {
      push(true, 'pgp', `${label}: ${(await loadPublicKeys(file, undefined, label)).length} key(s)`);
    } catch (e) {
      push(false, 'pgp', coerceError(e).message);
    }
  }

  const st = cfg.security_txt;
  let publishedKey: PublicKey | undefined;
  if (st.published_key_file) {
    try {
      const buf = await readPublished(st.published_key_file);
      const [key] = await parsePublicKeys(buf);
      if (!key) throw new Error('no key in it');
      publishedKey = key;
      if (await holdsSecretKey(buf)) push(false, 'pgp', `the published key ${fingerprintOf(key)} contains SECRET key material: replace it with the public key now and rotate`);
    } catch (e) {
      push(false, 'pgp', `security_txt.published_key_file: cannot read the published key ${st.published_key_file}: ${coerceError(e).message}`);
    }
  }
  if (st.published_file) {
    let text: string | null = null;
    try {
      text = (await readPublished(st.published_file)).toString('utf8');
    } catch (e) {
      push(false, 'security.txt', `security_txt.published_file: cannot read ${st.published_file}: ${coerceError(e).message}`);
    }
    if (text !== null) {
      const warnings = checkSecurityTxt(text, { now: opts.now, teamFingerprint: fpr, publishedKey });
      for (const w of warnings) push(!/SECRET key material/.test(w), 'security.txt', w, true);
      if (warnings.length === 0) push(true, 'security.txt', `${st.published_file} is current and names the key secdesk decrypts with`);
      if (publishedKey) publishedKey = undefined; // compared above
    }
  }
  if (publishedKey) {
    // No security.txt to check: compare the key alone (the same words checkSecurityTxt uses).
    const published = fingerprintOf(publishedKey);
    if (published !== fpr) push(true, 'pgp', `the published key ${published} differs from the key secdesk decrypts with (${fpr})${older.includes(published) ? ': it is an older team key, publish the current one' : ''}`, true);
    else push(true, 'pgp', `the published key is the team key ${fpr}`);
  }
  return out;
}

/** Whether a published key file carries secret key material (armored or binary). */
async function holdsSecretKey(buf: Buffer): Promise<boolean> {
  if (buf.subarray(0, 200).toString('latin1').includes('-----BEGIN PGP')) return buf.toString('latin1').includes('-----BEGIN PGP PRIVATE KEY BLOCK-----');
  try {
    return (await readKeys({ binaryKeys: new Uint8Array(buf) })).some((k) => k.isPrivate());
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// secdesk case ID: decryption on demand

export interface DecryptedView {
  /** Where the plaintext came from: the sealed copy, or the raw mail decrypted now (a key added since). */
  from: 'sealed' | 'raw';
  /** The protected Subject inside the encryption; null when it carried none (then `subject` is the real one). */
  subject: string | null;
  text: string;
  attachments: string[];
}

/**
 * Adds `decrypted` to the view of an encrypted case when the team key is at hand (it never goes
 * back to Redis), or `decrypt_error` saying why not. A case that could not be decrypted when it
 * arrived is tried again from its raw mail: a key configured since (e.g. an old key re-added) opens it.
 */
export async function pgpCaseView(cfg: Config, c: Case, view: Record<string, unknown>, store: CaseStore): Promise<Record<string, unknown>> {
  if (!c.encrypted) return view;
  let team: PrivateKey[];
  try {
    team = await loadTeamKeys(cfg.pgp);
  } catch (e) {
    return { ...view, decrypted: null, decrypt_error: `team key not available: ${coerceError(e).message}` };
  }
  try {
    let plain: Buffer | null = null;
    let from: DecryptedView['from'] = 'sealed';
    if (c.sealed_key) {
      const sealed = await store.getRaw(c.sealed_key);
      if (!sealed) return { ...view, decrypted: null, decrypt_error: `the sealed content ${c.sealed_key} is missing from the store` };
      plain = await createVault(team, { maxBytes: cfg.limits.max_message_bytes }).open(sealed);
    } else {
      const rawKey = c.messages[0]?.raw_key;
      const raw = rawKey ? await store.getRaw(rawKey) : null;
      if (!raw) return { ...view, decrypted: null, decrypt_error: 'not decrypted when it arrived, and the raw mail is gone' };
      const opened = await openPgp(raw, { decryptionKeys: team, verificationKeys: () => [] }, { timeoutMs: cfg.pgp.timeout ?? 20_000, maxBytes: cfg.limits.max_message_bytes });
      if (!opened.decrypted) return { ...view, decrypted: null, decrypt_error: opened.error ?? 'nothing to decrypt' };
      plain = opened.decrypted;
      from = 'raw';
    }
    const inner = await parseMessage(plain, cfg.limits);
    const decrypted: DecryptedView = {
      from,
      subject: (await readEntity(plain)).subject,
      text: inner.text,
      attachments: inner.attachments.map((a) => a.filename),
    };
    return { ...view, decrypted };
  } catch (e) {
    return { ...view, decrypted: null, decrypt_error: coerceError(e).message };
  }
}
