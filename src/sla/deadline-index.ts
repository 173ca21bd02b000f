import type { Redis } from 'ioredis';

/**
 * Far-off SLA deadlines, kept as one sorted set (score = fire time) instead of one BullMQ delayed
 * job each. A new case's first step is a day away; holding it as a delayed job costs a job hash, a
 * delayed-set entry and a Lua script run per message (and the script's marker wakes the escalate
 * workers for nothing). A set entry is one ZADD and ~100 bytes. The timer sweep (timer-sweep.ts)
 * turns entries into delayed jobs with the usual deterministic IDs shortly before they fall due, so
 * timers still fire on BullMQ's clock, to the millisecond, with its retries.
 */

export interface DeadlineEntry {
  caseId: string;
  stepId: string;
  /** Epoch ms the step falls due. */
  fireAt: number;
}

export interface DeadlineIndex {
  /** Deadlines further ahead than this are indexed; nearer ones are armed as delayed jobs at once. */
  readonly armAheadMs: number;
  add(entries: DeadlineEntry[]): Promise<void>;
  /** Up to `limit` entries due by `untilMs`, earliest first. */
  due(untilMs: number, limit: number): Promise<DeadlineEntry[]>;
  /** Drop entries once their jobs exist (an entry re-added meanwhile is the same entry: no loss). */
  remove(entries: DeadlineEntry[]): Promise<void>;
  size(): Promise<number>;
}

export function deadlinesKey(prefix: string): string {
  return `${prefix}:deadlines`;
}

// Case IDs (SEC-2026-0001) and step IDs (acknowledge-1) hold no spaces. The fire time is part of
// the member, as it is of the job ID: a policy change adds the new time instead of replacing it.
function member(e: DeadlineEntry): string {
  return `${e.caseId} ${e.stepId} ${e.fireAt}`;
}

function entry(m: string): DeadlineEntry | null {
  const [caseId, stepId, at] = m.split(' ');
  const fireAt = Number(at);
  return caseId && stepId && Number.isFinite(fireAt) ? { caseId, stepId, fireAt } : null;
}

export function createDeadlineIndex(redis: Redis, prefix: string, armAheadMs: number): DeadlineIndex {
  const key = deadlinesKey(prefix);
  return {
    armAheadMs,
    async add(entries) {
      if (entries.length === 0) return;
      await redis.zadd(key, ...entries.flatMap((e) => [e.fireAt, member(e)]));
    },
    async due(untilMs, limit) {
      const ms = await redis.zrangebyscore(key, '-inf', untilMs, 'LIMIT', 0, limit);
      // A member that is not ours (written by hand) can never be armed; left in place it would
      // come back first in every sweep and, `limit` of them, stall the sweep for good.
      const bad = ms.filter((m) => entry(m) === null);
      if (bad.length > 0) await redis.zrem(key, ...bad);
      return ms.map(entry).filter((e): e is DeadlineEntry => e !== null);
    },
    async remove(entries) {
      if (entries.length === 0) return;
      await redis.zrem(key, ...entries.map(member));
    },
    size: () => redis.zcard(key),
  };
}
