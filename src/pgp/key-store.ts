/**
 * Reporter key pinning in Redis (trust on first use).
 *
 * The first key seen for an address is pinned to it; the same key again changes nothing; a different
 * key is recorded as a conflict and flagged, never silently put in place of the pinned one (a human
 * decides, then `unpin`s). Keys are stored armored and public only.
 *
 * Key layout (P = prefix):
 *   P:pgpkey:<address>            string, JSON PinnedKeyRecord (set with NX: the first writer wins)
 *   P:pgpkeys                     set of pinned addresses (for list())
 *   P:pgpkey-conflicts:<address>  hash fingerprint → JSON KeyConflict (bounded)
 */
import type { Redis } from 'ioredis';
import { readKey } from 'openpgp';
import type { PublicKey } from 'openpgp';
import type { Clock } from '../clock';
import { PermanentError } from '../errors';
import { fingerprintOf, keyAddresses, loadPublicKeys } from './keyring';
import type { ReadFileFn } from './keyring';

/** How a key reached the store: attached to a reporter's mail, or imported by a human. */
export type PinSource = 'attached' | 'imported';

export interface PinResult {
  /** `pinned`: first key for the address; `same`: it was already pinned; `conflict`: another key is. */
  status: 'pinned' | 'same' | 'conflict';
  /** Fingerprint of the key offered. */
  fingerprint: string;
  /** Fingerprint of the key pinned to the address (after this call). */
  pinnedFingerprint: string;
}

export interface PinnedKeyInfo {
  address: string;
  fingerprint: string;
  source: PinSource;
  /** ISO time the key was pinned. */
  pinned_at: string;
}

export interface KeyConflict {
  fingerprint: string;
  source: PinSource;
  /** ISO times this key was first and last offered for the address. */
  first_seen: string;
  last_seen: string;
  count: number;
  /** The key itself (armored, public), so a human can compare and adopt it. */
  armored: string;
}

export interface KeyStore {
  pin(address: string, key: PublicKey, source: PinSource): Promise<PinResult>;
  get(address: string): Promise<PublicKey | null>;
  list(): Promise<PinnedKeyInfo[]>;
  /** Keys offered for the address that differ from the pinned one, oldest first. */
  conflicts(address: string): Promise<KeyConflict[]>;
  /** Remove the pinned key (and its conflict record) so the next key pins. True when one was pinned. */
  unpin(address: string): Promise<boolean>;
}

export interface KeyStoreDeps {
  redis: Redis;
  /** e.g. cfg.redis.prefix */
  prefix: string;
  clock: Clock;
}

interface PinnedKeyRecord extends PinnedKeyInfo {
  armored: string;
}

/** Different keys remembered per address: enough for a human, a bound for a flood of forged mail. */
export const MAX_CONFLICTS = 20;
const MAX_ADDRESS_CHARS = 254;

/** Lower-cased bare address; anything that is not one is refused before it becomes part of a key name. */
export function normalizeKeyAddress(address: string): string {
  const a = address.trim().toLowerCase();
  if (a.length > MAX_ADDRESS_CHARS || !/^[^\s@<>]+@[^\s@<>]+$/.test(a)) throw new PermanentError('EKeyAddress', `not a usable address for a key: ${JSON.stringify(address.slice(0, 80))}`);
  return a;
}

export function createKeyStore({ redis, prefix, clock }: KeyStoreDeps): KeyStore {
  const pinKey = (a: string): string => `${prefix}:pgpkey:${a}`;
  const indexKey = `${prefix}:pgpkeys`;
  const conflictKey = (a: string): string => `${prefix}:pgpkey-conflicts:${a}`;

  async function readRecord(address: string): Promise<PinnedKeyRecord | null> {
    const json = await redis.get(pinKey(address));
    return json === null ? null : (JSON.parse(json) as PinnedKeyRecord);
  }

  async function recordConflict(address: string, fingerprint: string, armored: string, source: PinSource, now: string): Promise<void> {
    const key = conflictKey(address);
    const old = await redis.hget(key, fingerprint);
    if (old === null && (await redis.hlen(key)) >= MAX_CONFLICTS) return;
    const prev = old === null ? null : (JSON.parse(old) as KeyConflict);
    const entry: KeyConflict = { fingerprint, source: prev?.source ?? source, first_seen: prev?.first_seen ?? now, last_seen: now, count: (prev?.count ?? 0) + 1, armored };
    await redis.hset(key, fingerprint, JSON.stringify(entry));
  }

  async function pin(address: string, key: PublicKey, source: PinSource): Promise<PinResult> {
    const a = normalizeKeyAddress(address);
    // Only the address's owner can bind a User ID to a key; a key that does not name the address
    // would be pinned to someone else's mail.
    if (!keyAddresses(key).includes(a)) {
      throw new PermanentError('EKeyAddress', `key ${fingerprintOf(key)} has no User ID for ${a}`);
    }
    const fingerprint = fingerprintOf(key);
    const now = clock.now().toISOString();
    // toPublic(): whatever was handed in, no secret key material is ever stored.
    const armored = key.toPublic().armor();
    const record: PinnedKeyRecord = { address: a, fingerprint, source, pinned_at: now, armored };
    // Two tries: an unpin between our SET NX and our GET leaves nothing to compare with.
    for (let attempt = 0; attempt < 2; attempt++) {
      const [setRes] = (await redis.multi().set(pinKey(a), JSON.stringify(record), 'NX').sadd(indexKey, a).exec()) ?? [];
      if (setRes?.[0]) throw setRes[0];
      if (setRes?.[1] === 'OK') return { status: 'pinned', fingerprint, pinnedFingerprint: fingerprint };
      // A pin is never overwritten, so what GET returns is the pin that won.
      const pinned = await readRecord(a);
      if (!pinned) continue;
      if (pinned.fingerprint === fingerprint) return { status: 'same', fingerprint, pinnedFingerprint: fingerprint };
      await recordConflict(a, fingerprint, armored, source, now);
      return { status: 'conflict', fingerprint, pinnedFingerprint: pinned.fingerprint };
    }
    throw new PermanentError('EKeyPin', `could not pin a key for ${a}: it was unpinned concurrently`);
  }

  return {
    pin,

    async get(address) {
      const record = await readRecord(normalizeKeyAddress(address));
      if (!record) return null;
      const key = await readKey({ armoredKey: record.armored });
      return key.toPublic();
    },

    async list() {
      const addresses = (await redis.smembers(indexKey)).sort();
      if (addresses.length === 0) return [];
      const values = await redis.mget(addresses.map(pinKey));
      const out: PinnedKeyInfo[] = [];
      for (const json of values) {
        if (json === null) continue;
        const { address, fingerprint, source, pinned_at } = JSON.parse(json) as PinnedKeyRecord;
        out.push({ address, fingerprint, source, pinned_at });
      }
      return out;
    },

    async conflicts(address) {
      const all = Object.values(await redis.hgetall(conflictKey(normalizeKeyAddress(address))));
      return all.map((j) => JSON.parse(j) as KeyConflict).sort((x, y) => x.first_seen.localeCompare(y.first_seen) || x.fingerprint.localeCompare(y.fingerprint));
    },

    async unpin(address) {
      const a = normalizeKeyAddress(address);
      const [del] = (await redis.multi().del(pinKey(a), conflictKey(a)).srem(indexKey, a).exec()) ?? [];
      return Number(del?.[1] ?? 0) > 0;
    },
  };
}

export interface ImportSummary {
  /** Keys read from the file(s). */
  keys: number;
  results: (PinResult & { address: string })[];
  pinned: number;
  same: number;
  conflicts: number;
  /** Fingerprints of keys with no e-mail address in any User ID (nothing to pin them to). */
  skipped: string[];
}

/**
 * `secdesk keys import FILE`: pin every key in FILE (armored, possibly several blocks, or binary; or a
 * directory of .asc/.gpg/.pgp files) to each address in its User IDs. With `replace`, a key that
 * conflicts with a pinned one takes its place (a human asked for it); otherwise the conflict is
 * recorded like any other.
 */
export async function importKeysFromFile(store: KeyStore, file: string, opts: { replace?: boolean; readFile?: ReadFileFn } = {}): Promise<ImportSummary> {
  const keys = await loadPublicKeys(file, opts.readFile, 'keys import');
  const summary: ImportSummary = { keys: keys.length, results: [], pinned: 0, same: 0, conflicts: 0, skipped: [] };
  for (const key of keys) {
    const addresses = [...new Set(keyAddresses(key))].filter((a) => {
      try {
        return normalizeKeyAddress(a) === a;
      } catch {
        return false;
      }
    });
    if (addresses.length === 0) summary.skipped.push(fingerprintOf(key));
    for (const address of addresses) {
      let r = await store.pin(address, key, 'imported');
      if (r.status === 'conflict' && opts.replace) {
        await store.unpin(address);
        r = await store.pin(address, key, 'imported');
      }
      summary.results.push({ address, ...r });
      if (r.status === 'pinned') summary.pinned++;
      else if (r.status === 'same') summary.same++;
      else summary.conflicts++;
    }
  }
  return summary;
}
