import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock';
import { systemClock } from '../clock';
import type { Config } from '../config';
import { PermanentError } from '../errors';
import { domainOf, isBareAddress, normalizeAddress } from './address';

/**
 * Rate limits on automatic mail, against backscatter: a forged flood of "reports" must not make
 * secdesk mail one victim (per recipient), one organisation (per domain), or the world (global) more
 * than the configured number of times per window.
 *
 * Sliding-window logs in Redis sorted sets, one Lua script for all three windows: it checks all of
 * them and records the send in all of them only when every one has room, atomically — two workers
 * can never both take the last slot, and a send refused by one window uses up no other window.
 * Each set holds at most `max` entries, so memory stays bounded whatever the flood.
 */

export type RateLimitName = 'recipient' | 'domain' | 'global';

export type RateDecision = { allowed: true } | { allowed: false; limit: RateLimitName; retryAfterMs: number };

export interface RateLimiter {
  /**
   * Take one slot for an automatic mail to `recipient`, or say which window is full and for how long.
   * `mailKey` names the mail (its Message-ID): a retry of a mail that already holds a slot in every
   * window is allowed without taking another, so an SMTP outage does not use up a reporter's quota.
   */
  take(recipient: string, mailKey?: string): Promise<RateDecision>;
}

export interface RateLimiterDeps {
  /** An ioredis client (the script is registered on it with defineCommand). */
  redis: Redis;
  /** Key prefix, e.g. cfg.redis.prefix; keys are `<prefix>:rl:{rcpt,dom,global}…`. */
  prefix: string;
  limits: Config['rate_limit'];
  clock?: Clock;
}

const LIMIT_NAMES: RateLimitName[] = ['recipient', 'domain', 'global'];
const COMMAND = 'secdeskNotifyRateLimit';

/**
 * KEYS[1..3]: recipient, domain, global sorted sets. ARGV: now, member, then max/window for each key.
 * Returns {0} when the send was counted (or the member already holds a slot in all three windows),
 * else {i, retryAfterMs} for the first full window i (1-based), retryAfter being the longest wait
 * among the full windows (before that no retry can pass).
 */
const LUA = `
local now = tonumber(ARGV[1])
local member = ARGV[2]
local held = 0
for i = 1, 3 do
  local per = tonumber(ARGV[2 + 2 * i])
  local s = redis.call('ZSCORE', KEYS[i], member)
  if s and tonumber(s) > now - per then held = held + 1 end
end
if held == 3 then return {0} end
local firstFull = 0
local wait = 0
for i = 1, 3 do
  local max = tonumber(ARGV[1 + 2 * i])
  local per = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - per)
  local n = redis.call('ZCARD', KEYS[i])
  if n >= max then
    if firstFull == 0 then firstFull = i end
    -- the entry whose expiry frees a slot: the (n - max + 1)-th oldest
    local e = redis.call('ZRANGE', KEYS[i], n - max, n - max, 'WITHSCORES')
    local w = tonumber(e[2]) + per - now
    if w > wait then wait = w end
  end
end
if firstFull > 0 then
  if wait < 1 then wait = 1 end
  return {firstFull, wait}
end
for i = 1, 3 do
  local per = tonumber(ARGV[2 + 2 * i])
  redis.call('ZADD', KEYS[i], now, member)
  redis.call('PEXPIRE', KEYS[i], per)
end
return {0}
`;

type WithCommand = Redis & {
  [COMMAND](k1: string, k2: string, k3: string, ...argv: (string | number)[]): Promise<number[]>;
};

export function createRateLimiter(deps: RateLimiterDeps): RateLimiter {
  const { redis, prefix, limits } = deps;
  const clock = deps.clock ?? systemClock;
  if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 3, lua: LUA });
  const r = redis as WithCommand;
  const windows = [limits.per_recipient, limits.per_domain, limits.global];

  return {
    async take(recipient, mailKey) {
      const addr = normalizeAddress(recipient);
      if (!isBareAddress(addr)) throw new PermanentError('EBadRecipient', 'rate limit: recipient is not a usable address');
      const now = clock.now().getTime();
      const argv: (string | number)[] = [now, mailKey ? `mail:${mailKey}` : `${now}-${randomUUID()}`];
      for (const w of windows) argv.push(w.max, w.per);
      const res = await r[COMMAND](`${prefix}:rl:rcpt:${addr}`, `${prefix}:rl:dom:${domainOf(addr)}`, `${prefix}:rl:global`, ...argv);
      const idx = Number(res[0]);
      if (idx === 0) return { allowed: true };
      return { allowed: false, limit: LIMIT_NAMES[idx - 1] as RateLimitName, retryAfterMs: Number(res[1]) };
    },
  };
}
