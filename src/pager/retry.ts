import { MINUTE, SECOND } from '../duration';

/**
 * Per-channel retry schedule, as data (zone-mta style: each delay with its running total). One
 * BullMQ job per channel and event, so a failing channel only delays itself.
 *
 *   attempt  delay   total
 *   2        10s     10s
 *   3        30s     40s
 *   4        1m      1m40s
 *   5        2m      3m40s
 *   6        5m      8m40s
 *   7        10m     18m40s
 *   8..12    15m     1h33m40s
 *
 * After that the job fails for good: the lead logs it at error, counts it and mails the maintainers.
 */
export const PAGER_RETRY_DELAYS: readonly number[] = [
  10 * SECOND,
  30 * SECOND,
  1 * MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  15 * MINUTE,
  15 * MINUTE,
  15 * MINUTE,
  15 * MINUTE,
];

/** Up to ±10% jitter so channels failing together do not retry in lock-step. */
export const PAGER_RETRY_JITTER = 0.1;

/** BullMQ job options: `attempts` counts the first try; the backoff type is a custom strategy name. */
export const PAGER_RETRY = {
  attempts: PAGER_RETRY_DELAYS.length + 1,
  backoff: { type: 'pager' as const },
} as const;

/**
 * The delay before the next attempt, for BullMQ's `settings.backoffStrategy(attemptsMade, type, err)`.
 * A 429's Retry-After wins when it asks for longer. `random` is injectable for tests.
 */
export function pagerBackoff(
  attemptsMade: number,
  err?: { retryAfterMs?: number | null } | null,
  random: () => number = Math.random,
): number {
  const idx = Math.min(Math.max(attemptsMade, 1), PAGER_RETRY_DELAYS.length) - 1;
  const base = PAGER_RETRY_DELAYS[idx] ?? 15 * MINUTE;
  const jittered = Math.round(base * (1 + PAGER_RETRY_JITTER * (2 * random() - 1)));
  return Math.max(jittered, err?.retryAfterMs ?? 0);
}
