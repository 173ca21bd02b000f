/**
 * The case store against a real Redis: compressed records under `P:case:<id>`, case numbers without
 * gaps, legacy JSON records read and rewritten, the compare-and-set under concurrent updates, and a
 * corrupt record reported rather than crashing the reader.
 */
import { Redis } from 'ioredis';
import { CorruptCaseError } from '../src/errors';
import { startRedis } from '../src/sandbox';
import type { SandboxRedis } from '../src/sandbox';
import { CASE_FORMAT_V1, caseJsonBytes } from '../src/store/case-codec';
import { createCaseStore } from '../src/store/case-store';
import type { CaseStore } from '../src/store/case-store';
import type { Case } from '../src/types';

let server: SandboxRedis;
let redis: Redis;
let n = 0;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});

afterAll(async () => {
  redis?.disconnect();
  await server?.close();
});

/** A store with its own prefix, so tests cannot see each other's keys. */
function fresh(): { store: CaseStore; p: string } {
  const p = `cs${++n}`;
  return { store: createCaseStore({ redis, prefix: p }), p };
}

function draft(i: number): Omit<Case, 'id'> {
  const at = `2026-02-0${1 + (i % 9)}T10:00:00.000Z`;
  return {
    state: 'new',
    kind: 'report',
    subject: `Report ${i}`,
    reporter: `r${i}@reporter.test`,
    reply_to: `r${i}@reporter.test`,
    received_at: at,
    messages: [{ message_id: `<m${i}@reporter.test>`, from: `r${i}@reporter.test`, date: at, direction: 'in', kind: 'report', subject: `Report ${i}` }],
    acknowledged_at: null,
    first_response_at: null,
    next_steps_at: null,
    escalations: [],
    encrypted: false,
    signature: 'none',
    fields: {},
    participants: [`r${i}@reporter.test`],
    timeline: [{ at, event: 'received', detail: 'report received' }],
    related: [],
    notices: [],
  };
}

describe('case store', () => {
  test('createCase writes the extra dedupe keys and the related-case index in the same script, and only when it creates', async () => {
    const { store, p } = fresh();
    const first = await store.createCase(draft(1), 'mid:<m1@reporter.test>', ['<m1@reporter.test>'], { alsoSeen: ['sha:aa', 'sha:bb'], related: ['type:xss', 'poc:1'], relatedMax: 2 });
    expect(first.created).toBe(true);
    expect(await store.outcome('sha:aa')).toBe(`case:${first.caseId}`);
    expect(await store.outcome('sha:bb')).toBe(`case:${first.caseId}`);
    expect(await store.caseForMessageId('<m1@reporter.test>')).toBe(first.caseId);
    expect(await redis.zrange(`${p}:related:type:xss`, '0', '-1')).toEqual([first.caseId]);
    // An extra key that already names an outcome keeps it.
    await store.markSeen('sha:cc', 'skip:older');
    const second = await store.createCase(draft(2), 'mid:<m2@reporter.test>', [], { alsoSeen: ['sha:cc'], related: ['type:xss'], relatedMax: 2 });
    const third = await store.createCase(draft(3), 'mid:<m3@reporter.test>', [], { related: ['type:xss'], relatedMax: 2 });
    expect(await store.outcome('sha:cc')).toBe('skip:older');
    // Each index keeps its newest `relatedMax` cases (by received time).
    expect(await redis.zrange(`${p}:related:type:xss`, '0', '-1')).toEqual([second.caseId, third.caseId]);
    // A repeat (dedupe hit) writes nothing.
    const again = await store.createCase(draft(1), 'mid:<m1@reporter.test>', [], { alsoSeen: ['sha:dd'], related: ['type:other'] });
    expect(again.created).toBe(false);
    expect(await store.outcome('sha:dd')).toBeNull();
    expect(await redis.exists(`${p}:related:type:other`)).toBe(0);
  });

  test('createCase stores a compressed record without its ID and numbers cases without gaps', async () => {
    const { store, p } = fresh();
    const made = await Promise.all(Array.from({ length: 20 }, (_, i) => store.createCase(draft(i), `mid:<m${i}@reporter.test>`, [`<m${i}@reporter.test>`])));
    expect(made.every((m) => m.created)).toBe(true);
    expect(made.map((m) => m.caseId).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `SEC-2026-${String(i + 1).padStart(4, '0')}`));
    const again = await store.createCase(draft(3), 'mid:<m3@reporter.test>', []);
    expect(again).toEqual({ created: false, caseId: made[3]!.caseId, outcome: `case:${made[3]!.caseId}` });

    const id = made[0]!.caseId!;
    const stored = (await redis.getBuffer(`${p}:case:${id}`))!;
    expect(stored[0]).toBe(CASE_FORMAT_V1);
    expect(stored.toString('latin1')).not.toContain('Report 0');
    expect(caseJsonBytes(stored).toString()).not.toContain(id);
    const c = await store.mustGet(id);
    expect(c).toEqual({ id, ...draft(0) });
    expect(Object.keys(c)[0]).toBe('id');
    expect(await store.caseForMessageId('<m0@reporter.test>')).toBe(id);
    expect(await store.listIds({ openOnly: true })).toHaveLength(20);
  });

  test('a legacy JSON record is read, and its next update rewrites it compressed', async () => {
    const { store, p } = fresh();
    const id = 'SEC-2025-0001';
    const legacy = { id, ...draft(1) };
    await redis.set(`${p}:case:${id}`, JSON.stringify(legacy));
    await redis.zadd(`${p}:cases`, 1, id);
    await redis.zadd(`${p}:open`, 1, id);
    expect(await store.get(id)).toEqual(legacy);
    expect(await store.getMany([id, 'SEC-2025-0404'])).toEqual([legacy, null]);

    const r = await store.update(id, (c) => {
      c.state = 'acknowledged';
      return { value: c, result: 'ok' };
    });
    expect(r).toMatchObject({ applied: true, result: 'ok' });
    expect((await redis.getBuffer(`${p}:case:${id}`))![0]).toBe(CASE_FORMAT_V1);
    expect(await store.get(id)).toEqual({ ...legacy, state: 'acknowledged' });
  });

  test('concurrent updates of one case all land (the compare-and-set works on the binary record)', async () => {
    const { store } = fresh();
    const { caseId } = await store.createCase(draft(2), 'mid:<m2@reporter.test>', []);
    // Two connections, so the reads and writes really interleave.
    const other = new Redis(server.url);
    try {
      const stores = [store, createCaseStore({ redis: other, prefix: `cs${n}` })];
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          stores[i % 2]!.update(caseId!, (c) => {
            c.timeline.push({ at: c.received_at, event: 'note', detail: `n${i}` });
            return { value: c, result: undefined };
          }),
        ),
      );
    } finally {
      other.disconnect();
    }
    const c = await store.mustGet(caseId!);
    expect(c.timeline.map((t) => t.detail).filter((d) => d?.startsWith('n')).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `n${i}`).sort());
  });

  test('update closes and reopens the case in the open index; dedupe and threading as before', async () => {
    const { store } = fresh();
    const { caseId } = await store.createCase(draft(4), 'mid:<m4@reporter.test>', []);
    const resolve = await store.update(caseId!, (c) => ({ value: { ...c, state: 'resolved' }, result: 1 }), { dedupe: 'mid:<cmd@larkspur.test>', messageIds: ['<cmd@larkspur.test>'] });
    expect(resolve.applied).toBe(true);
    expect(await store.listIds({ openOnly: true })).toEqual([]);
    expect(await store.caseForMessageId('<cmd@larkspur.test>')).toBe(caseId);
    const twice = await store.update(caseId!, (c) => ({ value: c, result: 1 }), { dedupe: 'mid:<cmd@larkspur.test>' });
    expect(twice).toEqual({ applied: false, outcome: `case:${caseId}` });
  });

  test('a corrupt record is a CorruptCaseError for get, getMany and update, not a crash', async () => {
    const { store, p } = fresh();
    const id = 'SEC-2026-0099';
    await redis.set(`${p}:case:${id}`, Buffer.from([CASE_FORMAT_V1, 0xde, 0xad, 0xbe, 0xef]));
    await expect(store.get(id)).rejects.toBeInstanceOf(CorruptCaseError);
    await expect(store.getMany([id])).rejects.toThrow(`case ${id}: stored record is unreadable`);
    await expect(store.update(id, (c) => ({ value: c, result: 0 }))).rejects.toMatchObject({ code: 'ECorruptCase' });
  });
});
