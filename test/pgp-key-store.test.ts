/** Reporter key pinning against a real Redis: first key pins, same key is a no-op, another is flagged. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { ManualClock } from '../src/clock';
import { parsePublicKeys } from '../src/pgp/keyring';
import { createKeyStore, importKeysFromFile, MAX_CONFLICTS } from '../src/pgp/key-store';
import type { KeyStore } from '../src/pgp/key-store';
import { startRedis } from '../src/sandbox';
import type { SandboxRedis } from '../src/sandbox';
import { FIXTURES, fingerprints, fixture, loadFixtureKeys } from './pgp-helpers';
import type { FixtureKeys } from './pgp-helpers';
import type { PublicKey } from 'openpgp';

let server: SandboxRedis;
let redis: Redis;
let k: FixtureKeys;
let ritaNew: PublicKey;
let tmp: string;
let n = 0;
const RITA = 'rita@reporter.test';

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  k = await loadFixtureKeys();
  [ritaNew] = (await parsePublicKeys(fixture('reporter-new.pub.asc'))) as [PublicKey];
  tmp = mkdtempSync(path.join(tmpdir(), 'secdesk-keys-'));
});

afterAll(async () => {
  redis?.disconnect();
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** A store with its own prefix and clock, so tests cannot see each other's keys. */
function store(): { s: KeyStore; prefix: string; clock: ManualClock } {
  const prefix = `t${++n}`;
  const clock = new ManualClock('2026-03-02T10:00:00Z');
  return { s: createKeyStore({ redis, prefix, clock }), prefix, clock };
}

describe('createKeyStore', () => {
  test('first key pins, the same key again is "same", a different key is a recorded conflict', async () => {
    const { s, clock } = store();
    expect(await s.pin(RITA, k.reporter, 'attached')).toEqual({ status: 'pinned', fingerprint: fingerprints.reporter, pinnedFingerprint: fingerprints.reporter });
    clock.advance(60_000);
    expect(await s.pin('Rita@Reporter.TEST', k.reporter, 'imported')).toEqual({ status: 'same', fingerprint: fingerprints.reporter, pinnedFingerprint: fingerprints.reporter });
    expect(await s.pin(RITA, ritaNew, 'attached')).toEqual({ status: 'conflict', fingerprint: fingerprints['reporter-new'], pinnedFingerprint: fingerprints.reporter });
    clock.advance(60_000);
    await s.pin(RITA, ritaNew, 'attached');

    // The pinned key is still the first one.
    expect(fingerprintOfKey(await s.get(RITA))).toBe(fingerprints.reporter);
    const conflicts = await s.conflicts(RITA);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({
      fingerprint: fingerprints['reporter-new'],
      source: 'attached',
      first_seen: '2026-03-02T10:01:00.000Z',
      last_seen: '2026-03-02T10:02:00.000Z',
      count: 2,
    });
    expect(conflicts[0]?.armored).toContain('BEGIN PGP PUBLIC KEY BLOCK');
    expect(await s.list()).toEqual([{ address: RITA, fingerprint: fingerprints.reporter, source: 'attached', pinned_at: '2026-03-02T10:00:00.000Z' }]);
  });

  test('keys are stored armored and public only, even when a private key is handed in', async () => {
    const { s, prefix } = store();
    await s.pin('security@example.test', k.team[0]!, 'imported');
    const stored = await redis.get(`${prefix}:pgpkey:security@example.test`);
    expect(stored).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    expect(stored).not.toContain('PRIVATE KEY');
    const back = await s.get('security@example.test');
    expect(back?.isPrivate()).toBe(false);
    expect(fingerprintOfKey(back)).toBe(fingerprints.team);
  });

  test('unknown address → null; a key without a User ID for the address or a bad address is refused', async () => {
    const { s } = store();
    expect(await s.get('nobody@example.test')).toBeNull();
    await expect(s.pin('mallory@elsewhere.test', k.reporter, 'attached')).rejects.toMatchObject({ code: 'EKeyAddress' });
    await expect(s.pin('not an address', k.reporter, 'attached')).rejects.toMatchObject({ code: 'EKeyAddress' });
    await expect(s.pin(`${'a'.repeat(300)}@x.test`, k.reporter, 'attached')).rejects.toMatchObject({ code: 'EKeyAddress' });
    expect(await s.list()).toEqual([]);
  });

  test('concurrent first pins of two different keys: exactly one wins, the other is a conflict', async () => {
    const { s } = store();
    const results = await Promise.all([s.pin(RITA, k.reporter, 'attached'), s.pin(RITA, ritaNew, 'attached')]);
    expect(results.map((r) => r.status).sort()).toEqual(['conflict', 'pinned']);
    const winner = results.find((r) => r.status === 'pinned')?.fingerprint;
    expect(results.every((r) => r.pinnedFingerprint === winner)).toBe(true);
    expect(fingerprintOfKey(await s.get(RITA))).toBe(winner);
  });

  test('unpin clears the pin and its conflicts; the next key pins', async () => {
    const { s } = store();
    await s.pin(RITA, k.reporter, 'attached');
    await s.pin(RITA, ritaNew, 'attached');
    expect(await s.unpin(RITA)).toBe(true);
    expect(await s.unpin(RITA)).toBe(false);
    expect(await s.get(RITA)).toBeNull();
    expect(await s.conflicts(RITA)).toEqual([]);
    expect(await s.list()).toEqual([]);
    expect((await s.pin(RITA, ritaNew, 'imported')).status).toBe('pinned');
  });

  test('conflicts per address are bounded', async () => {
    const { s, prefix } = store();
    await s.pin(RITA, k.reporter, 'attached');
    // Fake many distinct conflicting fingerprints directly, then offer one more real key.
    for (let i = 0; i < MAX_CONFLICTS; i++) await redis.hset(`${prefix}:pgpkey-conflicts:${RITA}`, `F${i}`, JSON.stringify({ fingerprint: `F${i}`, first_seen: '2026-01-01T00:00:00.000Z' }));
    expect((await s.pin(RITA, ritaNew, 'attached')).status).toBe('conflict');
    expect(await redis.hlen(`${prefix}:pgpkey-conflicts:${RITA}`)).toBe(MAX_CONFLICTS);
  });
});

describe('importKeysFromFile', () => {
  test('pins each key to each of its addresses and reports what happened', async () => {
    const { s } = store();
    const file = path.join(tmp, 'keys.asc');
    writeFileSync(file, Buffer.concat([fixture('reporter.pub.asc'), fixture('maintainer.pub.asc'), fixture('unknown.pub.asc')]));
    const first = await importKeysFromFile(s, file);
    expect(first).toMatchObject({ keys: 3, pinned: 3, same: 0, conflicts: 0, skipped: [] });
    expect(first.results.map((r) => r.address).sort()).toEqual(['alice@example.test', 'mallory@elsewhere.test', RITA]);
    expect((await s.list()).every((e) => e.source === 'imported')).toBe(true);

    const again = await importKeysFromFile(s, file);
    expect(again).toMatchObject({ keys: 3, pinned: 0, same: 3, conflicts: 0 });

    const conflicting = await importKeysFromFile(s, path.join(FIXTURES, 'reporter-new.pub.asc'));
    expect(conflicting).toMatchObject({ keys: 1, conflicts: 1 });
    expect(fingerprintOfKey(await s.get(RITA))).toBe(fingerprints.reporter);

    const replaced = await importKeysFromFile(s, path.join(FIXTURES, 'reporter-new.pub.asc'), { replace: true });
    expect(replaced).toMatchObject({ keys: 1, pinned: 1, conflicts: 0 });
    expect(fingerprintOfKey(await s.get(RITA))).toBe(fingerprints['reporter-new']);
  });

  test('an unreadable file is a ConfigError that names it', async () => {
    const { s } = store();
    const file = path.join(tmp, 'junk.asc');
    writeFileSync(file, 'not a key');
    await expect(importKeysFromFile(s, file)).rejects.toMatchObject({ code: 'EConfig', message: expect.stringContaining(file) });
  });
});

function fingerprintOfKey(key: PublicKey | null): string | undefined {
  return key?.getFingerprint().toUpperCase();
}
