import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../log';

/**
 * Exactly one active poller: a Redis lease (SET NX PX) renewed well before it expires. Two pollers
 * may run; the second waits, trying to take the lease, and holds it within `ttlMs` + one try of the
 * first one dying. A holder that fails to renew (Redis gone, process paused) must stop polling:
 * `onLost` is called and the lease is not used again until re-acquired.
 */

export interface Lease {
  readonly id: string;
  readonly held: boolean;
  /** Resolves once the lease is held (or rejects when closed). */
  acquire(): Promise<void>;
  close(): Promise<void>;
}

export interface LeaseOptions {
  redis: Redis;
  key: string;
  ttlMs: number;
  log: Logger;
  onLost: () => void;
}

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export function createLease(opts: LeaseOptions): Lease {
  const { redis, key, ttlMs, log } = opts;
  const id = randomUUID();
  let held = false;
  let closed = false;
  let renewTimer: NodeJS.Timeout | null = null;
  let waitTimer: NodeJS.Timeout | null = null;
  let wake: (() => void) | null = null;

  const lost = (why: string): void => {
    if (!held) return;
    held = false;
    if (renewTimer) clearInterval(renewTimer);
    renewTimer = null;
    log.warn({ why }, 'lease.lost');
    opts.onLost();
  };

  const startRenewing = (): void => {
    renewTimer = setInterval(() => {
      redis.eval(RENEW, 1, key, id, ttlMs).then(
        (ok) => {
          if (Number(ok) !== 1) lost('another poller holds the lease');
        },
        (err: Error) => {
          // A renewal that fails for a moment is retried on the next tick; the lease outlives it
          // (renewal every ttl/3). If Redis stays away we will not know whether we still hold it.
          log.warn({ err: { message: err.message } }, 'lease.renew_failed');
        },
      );
    }, Math.max(100, Math.floor(ttlMs / 3)));
    renewTimer.unref();
  };

  return {
    id,
    get held() {
      return held;
    },
    async acquire() {
      while (!closed) {
        try {
          const ok = await redis.set(key, id, 'PX', ttlMs, 'NX');
          if (ok === 'OK') {
            held = true;
            log.info({ lease: key }, 'lease.acquired');
            startRenewing();
            return;
          }
        } catch (err) {
          log.warn({ err: { message: (err as Error).message } }, 'lease.acquire_failed');
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          waitTimer = setTimeout(resolve, Math.max(100, Math.floor(ttlMs / 3)));
        });
        wake = null;
      }
      throw new Error('lease closed');
    },
    async close() {
      if (closed) return;
      closed = true;
      if (renewTimer) clearInterval(renewTimer);
      if (waitTimer) clearTimeout(waitTimer);
      wake?.();
      if (held) {
        held = false;
        await redis.eval(RELEASE, 1, key, id).catch(() => undefined);
      }
    },
  };
}
