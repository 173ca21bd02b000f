import type { Clock } from '../clock';
import type { Logger } from '../log';
import type { Queues } from '../queues';
import { timerJob } from './arm-timers';
import type { DeadlineIndex } from './deadline-index';

/**
 * Moves deadlines from the index (deadline-index.ts) into BullMQ as delayed jobs once they are
 * within `armAheadMs`, every `intervalMs` (a quarter of armAheadMs, at most a minute, so an entry is
 * armed well before it falls due even when a sweep is missed). Every worker process sweeps: job IDs
 * are deterministic, so two sweeps arming the same entry add one job. The jobs are added before the
 * entries are removed, so a crash in between only repeats the (idempotent) adds.
 *
 * When no worker ran for a while, entries already past are armed with delay 0 on the first sweep
 * and fire at once, like the start-up reconcile's re-armed timers.
 */

export interface TimerSweep {
  start(): void;
  /** One pass; resolves to the number of entries armed. Used by start() and by tests. */
  sweepOnce(): Promise<number>;
  close(): Promise<void>;
}

/** Entries armed per round trip; a sweep goes on until nothing due is left. */
const BATCH = 500;

export function sweepInterval(armAheadMs: number): number {
  return Math.max(100, Math.min(60_000, Math.floor(armAheadMs / 4)));
}

export function createTimerSweep(deps: { index: DeadlineIndex; queues: Pick<Queues, 'escalate'>; clock: Clock; log: Logger }): TimerSweep {
  const { index, queues, clock } = deps;
  const log = deps.log.child({ component: 'timer-sweep' });
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;
  let closed = false;

  async function sweep(): Promise<number> {
    let armed = 0;
    for (;;) {
      const now = clock.now().getTime();
      const due = await index.due(now + index.armAheadMs, BATCH);
      if (due.length === 0) break;
      await queues.escalate.addBulk(due.map((e) => timerJob(e, now)));
      await index.remove(due);
      armed += due.length;
      if (due.length < BATCH || closed) break;
    }
    if (armed > 0) log.debug({ armed }, 'sla.timers_armed');
    return armed;
  }

  function sweepOnce(): Promise<number> {
    running ??= sweep().finally(() => (running = null));
    return running;
  }

  return {
    start() {
      if (timer || closed) return;
      const tick = (): void =>
        void sweepOnce().catch((err: Error) => {
          // Redis away: the entries stay in the index and the next tick tries again.
          log.warn({ err: { message: err.message } }, 'sla.sweep_failed');
        });
      tick();
      timer = setInterval(tick, sweepInterval(index.armAheadMs));
      timer.unref();
    },
    sweepOnce,
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      timer = null;
      await running?.catch(() => undefined);
    },
  };
}
