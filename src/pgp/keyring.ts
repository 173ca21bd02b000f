/**
 * Loading keys at start-up: the team's private keys (several, for rotation) and the public keys
 * named in config. Anything wrong here is a ConfigError, so secdesk stops with a message that says
 * which file and what to fix instead of failing on the first encrypted report.
 */
import { readFile as fsReadFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { decryptKey, readKeys, readPrivateKeys } from 'openpgp';
import type { Key, PrivateKey, PublicKey } from 'openpgp';
import type { Config } from '../config';
import { ConfigError } from '../errors';

export type ReadFileFn = (file: string) => Promise<Buffer>;

const defaultReadFile: ReadFileFn = (file) => fsReadFile(file);

/** Upper-case hex, the way gpg prints it and people paste it. */
export function fingerprintOf(key: Key): string {
  return key.getFingerprint().toUpperCase();
}

/** The primary User ID (or the first one) of a key, e.g. `Rita Reporter <rita@reporter.test>`. */
export async function primaryUserId(key: Key): Promise<string | null> {
  try {
    const primary = await key.getPrimaryUser();
    return primary.user.userID?.userID ?? null;
  } catch {
    return key.getUserIDs()[0] ?? null;
  }
}

/** Lower-cased e-mail addresses in a key's User IDs. */
export function keyAddresses(key: Key): string[] {
  return key.users.map((u) => u.userID?.email?.toLowerCase() ?? '').filter((a) => a !== '');
}

function isArmored(buf: Buffer): boolean {
  return buf.subarray(0, 200).toString('latin1').includes('-----BEGIN PGP');
}

/** Parse every key in a buffer, armored (several blocks allowed) or binary. */
export async function parsePublicKeys(buf: Buffer): Promise<PublicKey[]> {
  const text = buf.toString('latin1');
  if (!isArmored(buf)) return (await readKeys({ binaryKeys: new Uint8Array(buf) })).map((k) => k.toPublic());
  // A file may hold several armored blocks one after another; readKeys reads one armor block.
  const blocks = text.match(/-----BEGIN PGP (?:PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP (?:PUBLIC|PRIVATE) KEY BLOCK-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no armored key block');
  const keys: PublicKey[] = [];
  for (const block of blocks) keys.push(...(await readKeys({ armoredKeys: block })).map((k) => k.toPublic()));
  return keys;
}

async function parsePrivateKeys(buf: Buffer): Promise<PrivateKey[]> {
  if (!isArmored(buf)) return readPrivateKeys({ binaryKeys: new Uint8Array(buf) });
  const blocks = buf.toString('latin1').match(/-----BEGIN PGP PRIVATE KEY BLOCK-----[\s\S]*?-----END PGP PRIVATE KEY BLOCK-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no armored private key block');
  const keys: PrivateKey[] = [];
  for (const block of blocks) keys.push(...(await readPrivateKeys({ armoredKeys: block })));
  return keys;
}

/**
 * The team's private keys, unlocked. The first key of the first file is the current one: replies
 * are signed with it and the "use this key" hint names it; the others only decrypt (old keys after a
 * rotation). All keys share `pgp.passphrase` (from `passphrase_file` or SECDESK_PGP_PASSPHRASE).
 */
export async function loadTeamKeys(cfg: Config['pgp'], readFile: ReadFileFn = defaultReadFile): Promise<PrivateKey[]> {
  const files = cfg.private_key_file === undefined ? [] : Array.isArray(cfg.private_key_file) ? cfg.private_key_file : [cfg.private_key_file];
  if (files.length === 0) throw new ConfigError('pgp.private_key_file: not set (an armored private key file is needed for PGP)');
  const keys: PrivateKey[] = [];
  for (const file of files) {
    let buf: Buffer;
    try {
      buf = await readFile(file);
    } catch (e) {
      throw new ConfigError(`pgp.private_key_file: cannot read ${file}: ${(e as Error).message}`);
    }
    let parsed: PrivateKey[];
    try {
      parsed = await parsePrivateKeys(buf);
    } catch (e) {
      throw new ConfigError(`pgp.private_key_file: ${file} is not an OpenPGP private key: ${(e as Error).message}`);
    }
    for (const key of parsed) {
      const fpr = fingerprintOf(key);
      if (key.isDecrypted()) {
        keys.push(key);
        continue;
      }
      if (cfg.passphrase === undefined || cfg.passphrase === '') {
        throw new ConfigError(`pgp.passphrase: key ${fpr} in ${file} is protected by a passphrase; set pgp.passphrase_file or SECDESK_PGP_PASSPHRASE`);
      }
      try {
        keys.push(await decryptKey({ privateKey: key, passphrase: cfg.passphrase }));
      } catch (e) {
        const why = /incorrect key passphrase/i.test((e as Error).message) ? 'wrong passphrase' : (e as Error).message;
        throw new ConfigError(`pgp.passphrase: cannot unlock key ${fpr} in ${file}: ${why}`);
      }
    }
  }
  const current = keys[0];
  if (!current) throw new ConfigError('pgp.private_key_file: no private key found');
  // The current key must be usable for both directions; an expired or revoked one would fail later.
  try {
    await current.getSigningKey();
    await current.getEncryptionKey();
  } catch (e) {
    throw new ConfigError(`pgp.private_key_file: the current key ${fingerprintOf(current)} cannot sign and encrypt: ${(e as Error).message}`);
  }
  return keys;
}

/**
 * Public keys from a file (one or several armored blocks, or binary) or a directory of `.asc`,
 * `.gpg` and `.pgp` files — for `pgp.reporter_keys` and `pgp.maintainer_keys`.
 */
export async function loadPublicKeys(fileOrDir: string, readFile: ReadFileFn = defaultReadFile, configKey = 'pgp keys'): Promise<PublicKey[]> {
  let files: string[];
  try {
    const st = await stat(fileOrDir);
    files = st.isDirectory()
      ? (await readdir(fileOrDir)).filter((f) => /\.(asc|gpg|pgp)$/i.test(f)).sort().map((f) => path.join(fileOrDir, f))
      : [fileOrDir];
  } catch (e) {
    throw new ConfigError(`${configKey}: cannot read ${fileOrDir}: ${(e as Error).message}`);
  }
  const keys: PublicKey[] = [];
  for (const file of files) {
    try {
      keys.push(...(await parsePublicKeys(await readFile(file))));
    } catch (e) {
      throw new ConfigError(`${configKey}: ${file} holds no readable OpenPGP public key: ${(e as Error).message}`);
    }
  }
  return keys;
}
