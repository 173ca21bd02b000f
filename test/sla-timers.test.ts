/**
 * SLA timers against a real Redis and real BullMQ queues, with a manual clock: far-off steps wait in
 * the deadline index (one sorted-set entry, no job), near ones are delayed jobs at once, and the
 * timer sweep turns index entries into the same deterministic jobs shortly before they fall due —
 * once, even with several sweepers, a crash between its two writes, or a junk entry in the set.
 */
import { Redis } from 'ioredis';
import { ManualClock } from '../src/clock';
import { createLogger } from '../src/log';
import { createQueues } from '../src/queues';
import type { Queues } from '../src/queues';
import { startRedis } from '../src/sandbox';
import type { SandboxRedis } from '../src/sandbox';
import { armTimers } from '../src/sla/arm-timers';
import { deadlinesKey } from '../src/sla/deadline-index';
import type { DeadlineIndex } from '../src/sla/deadline-index';
import { resolveEscalationPolicy } from '../src/sla/escalation-policy';
import { createTimerSweep, sweepInterval } from '../src/sla/timer-sweep';
import { at, HOUR, T0, unitCase, unitConfig } from './helpers/pager-unit';

const log = createLogger({ log: { level: 'silent', pretty: false } });
const policy = resolveEscalationPolicy(unitConfig());
const MIN = 60_000;

let server: SandboxRedis;
let redis: Redis;
let n = 0;
const opened: Queues[] = [];

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  await Promise.all(opened.map((q) => q.close()));
  redis?.disconnect();
  await server?.close();
});

/** Queues under a prefix of their own, so tests cannot see each other's jobs or deadlines. */
function fresh(armAheadMs = 10 * MIN): { queues: Queues; index: DeadlineIndex; prefix: string; clock: ManualClock } {
  const prefix = `tt${++n}`;
  const queues = createQueues(redis, prefix, log, { armAheadMs });
  opened.push(queues);
  return { queues, index: queues.deadlines!, prefix, clock: new ManualClock(T0) };
}

async function escalateJobs(q: Queues): Promise<{ id: string; delay: number; data: unknown }[]> {
  const jobs = await q.escalate.getJobs(['delayed', 'waiting', 'prioritized']);
  return jobs.map((j) => ({ id: j.id!, delay: j.delay, data: j.data })).sort((a, b) => a.id.localeCompare(b.id));
}

// unitConfig's policy: acknowledge-1 (team e-mail) at 20 h, acknowledge-2 at 24 h, respond-1 at 48 h.
const WARN = 20 * HOUR;

describe('armTimers with a deadline index', () => {
  test('a step further off than arm_ahead is one index entry and no job', async () => {
    const { queues, index, prefix, clock } = fresh();
    expect(await armTimers(unitCase(), policy, queues, clock)).toBe(1);
    expect(await escalateJobs(queues)).toEqual([]);
    expect(await redis.zrange(deadlinesKey(prefix), '0', '-1', 'WITHSCORES')).toEqual([`SEC-2026-0001 acknowledge-1 ${at(WARN).getTime()}`, String(at(WARN).getTime())]);
    // Arming again (the reconcile at start-up) changes nothing.
    expect(await armTimers(unitCase(), policy, queues, clock, { recheck: true })).toBe(1);
    expect(await index.size()).toBe(1);
  });

  test('a step within arm_ahead is a delayed job at once, with the same ID the sweep would give it', async () => {
    const { queues, index, clock } = fresh();
    clock.set(at(WARN - 5 * MIN));
    await armTimers(unitCase(), policy, queues, clock);
    expect(await index.size()).toBe(0);
    expect(await escalateJobs(queues)).toEqual([{ id: `esc-SEC-2026-0001-acknowledge-1-${at(WARN).getTime()}`, delay: 5 * MIN, data: { caseId: 'SEC-2026-0001', action: 'step', stepId: 'acknowledge-1' } }]);
  });

  test('arm_ahead 0: no index, every timer a delayed job', async () => {
    const { queues } = fresh(0);
    expect(queues.deadlines).toBeNull();
    await armTimers(unitCase(), policy, queues, new ManualClock(T0));
    expect((await escalateJobs(queues)).map((j) => [j.id, j.delay])).toEqual([[`esc-SEC-2026-0001-acknowledge-1-${at(WARN).getTime()}`, WARN]]);
  });

  test('a met or support case arms nothing', async () => {
    const { queues, index, clock } = fresh();
    await armTimers(unitCase({ first_response_at: at(HOUR).toISOString(), next_steps_at: at(HOUR).toISOString() }), policy, queues, clock);
    await armTimers(unitCase({ kind: 'support' }), policy, queues, clock);
    expect(await index.size()).toBe(0);
    expect(await escalateJobs(queues)).toEqual([]);
  });
});

describe('timer sweep', () => {
  test('arms an entry once it is within arm_ahead, as a delayed job to its exact time, and removes it', async () => {
    const { queues, index, clock } = fresh();
    await armTimers(unitCase(), policy, queues, clock);
    const sweep = createTimerSweep({ index, queues, clock, log });
    clock.set(at(WARN - 11 * MIN));
    expect(await sweep.sweepOnce()).toBe(0);
    expect(await index.size()).toBe(1);
    clock.set(at(WARN - 10 * MIN + 1));
    expect(await sweep.sweepOnce()).toBe(1);
    expect(await index.size()).toBe(0);
    expect(await escalateJobs(queues)).toEqual([{ id: `esc-SEC-2026-0001-acknowledge-1-${at(WARN).getTime()}`, delay: 10 * MIN - 1, data: { caseId: 'SEC-2026-0001', action: 'step', stepId: 'acknowledge-1' } }]);
    expect(await sweep.sweepOnce()).toBe(0);
    await sweep.close();
    await sweep.close();
  });

  test('entries already past (no worker ran) are armed with delay 0', async () => {
    const { queues, index, clock } = fresh();
    await armTimers(unitCase(), policy, queues, clock);
    clock.set(at(30 * HOUR));
    expect(await createTimerSweep({ index, queues, clock, log }).sweepOnce()).toBe(1);
    expect((await escalateJobs(queues)).map((j) => j.delay)).toEqual([0]);
  });

  test('more than one batch in one sweep; two sweepers at once add each job once', async () => {
    const { queues, index, clock } = fresh();
    const cases = Array.from({ length: 1203 }, (_, i) => unitCase({ id: `SEC-2026-${String(i + 1).padStart(4, '0')}` }));
    for (const c of cases) await armTimers(c, policy, queues, clock);
    expect(await index.size()).toBe(1203);
    clock.set(at(WARN - MIN));
    const [a, b] = [createTimerSweep({ index, queues, clock, log }), createTimerSweep({ index, queues, clock, log })];
    const armed = await Promise.all([a.sweepOnce(), b.sweepOnce()]);
    expect(armed[0]! + armed[1]!).toBeGreaterThanOrEqual(1203);
    expect(await index.size()).toBe(0);
    const jobs = await escalateJobs(queues);
    expect(jobs).toHaveLength(1203);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(1203);
  });

  test('a crash between adding the jobs and removing the entries only repeats the adds', async () => {
    const { queues, index, clock } = fresh();
    await armTimers(unitCase(), policy, queues, clock);
    clock.set(at(WARN - MIN));
    const failing: DeadlineIndex = { ...index, armAheadMs: index.armAheadMs, remove: async () => Promise.reject(new Error('connection lost')) };
    await expect(createTimerSweep({ index: failing, queues, clock, log }).sweepOnce()).rejects.toThrow('connection lost');
    expect(await index.size()).toBe(1);
    expect(await createTimerSweep({ index, queues, clock, log }).sweepOnce()).toBe(1);
    expect(await index.size()).toBe(0);
    expect(await escalateJobs(queues)).toHaveLength(1);
  });

  test('jobs that could not be added leave their entries in the index for the next sweep', async () => {
    const { queues, index, clock } = fresh();
    await armTimers(unitCase(), policy, queues, clock);
    clock.set(at(WARN - MIN));
    const down = { escalate: { addBulk: async () => Promise.reject(new Error('READONLY')) } } as unknown as Queues;
    await expect(createTimerSweep({ index, queues: down, clock, log }).sweepOnce()).rejects.toThrow('READONLY');
    expect(await index.size()).toBe(1);
    expect(await createTimerSweep({ index, queues, clock, log }).sweepOnce()).toBe(1);
    expect(await escalateJobs(queues)).toHaveLength(1);
  });

  test('junk members in the set are dropped, not swept forever', async () => {
    const { queues, index, prefix, clock } = fresh();
    await redis.zadd(deadlinesKey(prefix), ...Array.from({ length: 600 }, (_, i) => [i, `junk-${i}`]).flat());
    await armTimers(unitCase(), policy, queues, clock);
    clock.set(at(WARN));
    const sweep = createTimerSweep({ index, queues, clock, log });
    await sweep.sweepOnce();
    await sweep.sweepOnce();
    expect(await index.size()).toBe(0);
    expect((await escalateJobs(queues)).map((j) => j.id)).toEqual([`esc-SEC-2026-0001-acknowledge-1-${at(WARN).getTime()}`]);
  });

  test('the sweep interval: a quarter of arm_ahead, between 100 ms and a minute', () => {
    expect(sweepInterval(10 * MIN)).toBe(MIN);
    expect(sweepInterval(60_000)).toBe(15_000);
    expect(sweepInterval(200)).toBe(100);
  });

  test('start() sweeps at once and then on its interval, until closed', async () => {
    const { queues, index, clock } = fresh(400);
    const sweep = createTimerSweep({ index, queues, clock, log });
    await index.add([{ caseId: 'SEC-2026-0001', stepId: 'acknowledge-1', fireAt: clock.now().getTime() + 300 }]);
    sweep.start();
    sweep.start();
    await waitUntil(async () => (await index.size()) === 0);
    await index.add([{ caseId: 'SEC-2026-0002', stepId: 'acknowledge-1', fireAt: clock.now().getTime() + 300 }]);
    await waitUntil(async () => (await index.size()) === 0);
    await sweep.close();
    await index.add([{ caseId: 'SEC-2026-0003', stepId: 'acknowledge-1', fireAt: clock.now().getTime() + 300 }]);
    await new Promise((r) => setTimeout(r, 400));
    expect(await index.size()).toBe(1);
    expect((await escalateJobs(queues)).map((j) => j.data)).toEqual([
      { caseId: 'SEC-2026-0001', action: 'step', stepId: 'acknowledge-1' },
      { caseId: 'SEC-2026-0002', action: 'step', stepId: 'acknowledge-1' },
    ]);
  });
});

async function waitUntil(ok: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
