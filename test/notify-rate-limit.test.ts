import { Redis } from 'ioredis';
import { ManualClock } from '../src/clock';
import type { Config } from '../src/config';
import { HOUR, MINUTE, SECOND } from '../src/duration';
import { createRateLimiter, type RateDecision } from '../src/notify/rate-limit';
import { startRedis, type SandboxRedis } from '../src/sandbox/redis-server';

/** Against a real redis-server started for this suite: the Lua script is the thing under test. */

let server: SandboxRedis;
let redis: Redis;
let n = 0;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  await redis?.quit();
  await server?.close();
});

const limits = (over: Partial<Config['rate_limit']> = {}): Config['rate_limit'] => ({
  per_recipient: { max: 5, per: HOUR },
  per_domain: { max: 20, per: HOUR },
  global: { max: 200, per: HOUR },
  ...over,
});

function limiter(l: Config['rate_limit'], clock: ManualClock) {
  n += 1;
  return { prefix: `t${n}`, rl: createRateLimiter({ redis, prefix: `t${n}`, limits: l, clock }) };
}

const allowedCount = (ds: RateDecision[]): number => ds.filter((d) => d.allowed).length;

describe('rate limiter (real Redis)', () => {
  it('50 sends from one sender in a minute: limited after the per-recipient max', async () => {
    const clock = new ManualClock('2026-03-03T12:00:00Z');
    const { rl } = limiter(limits(), clock);
    const out: RateDecision[] = [];
    for (let i = 0; i < 50; i++) {
      out.push(await rl.take('Flood@Reporter.example'));
      clock.advance(1200); // 50 × 1.2 s = one minute
    }
    expect(out.slice(0, 5).every((d) => d.allowed)).toBe(true);
    for (const d of out.slice(5)) {
      expect(d).toMatchObject({ allowed: false, limit: 'recipient' });
    }
    // the slot frees when the oldest send leaves the window: 1 h after the first, 1 min from now
    const last = out[49] as Extract<RateDecision, { allowed: false }>;
    expect(last.retryAfterMs).toBe(HOUR - 49 * 1200);
    // another sender of another domain is not held back by this one
    expect(await rl.take('someone@else.example')).toEqual({ allowed: true });
  });

  it('frees slots as the window slides', async () => {
    const clock = new ManualClock('2026-03-03T12:00:00Z');
    const { rl } = limiter(limits({ per_recipient: { max: 2, per: 10 * MINUTE } }), clock);
    expect(await rl.take('a@x.example')).toEqual({ allowed: true });
    clock.advance(MINUTE);
    expect(await rl.take('a@x.example')).toEqual({ allowed: true });
    const held = await rl.take('a@x.example');
    expect(held).toEqual({ allowed: false, limit: 'recipient', retryAfterMs: 9 * MINUTE });
    clock.advance(9 * MINUTE - 1);
    expect((await rl.take('a@x.example')).allowed).toBe(false);
    clock.advance(1);
    expect(await rl.take('a@x.example')).toEqual({ allowed: true });
  });

  it('per-domain limit across different recipients of one domain', async () => {
    const clock = new ManualClock('2026-03-03T12:00:00Z');
    const { rl } = limiter(limits({ per_domain: { max: 7, per: HOUR } }), clock);
    const out: RateDecision[] = [];
    for (let i = 0; i < 12; i++) out.push(await rl.take(`user${i}@victim.example`));
    expect(allowedCount(out)).toBe(7);
    expect(out[7]).toMatchObject({ allowed: false, limit: 'domain' });
    expect(await rl.take('user0@other.example')).toEqual({ allowed: true });
  });

  it('global limit across domains', async () => {
    const clock = new ManualClock('2026-03-03T12:00:00Z');
    const { rl } = limiter(limits({ global: { max: 10, per: HOUR } }), clock);
    const out: RateDecision[] = [];
    for (let i = 0; i < 15; i++) out.push(await rl.take(`u@d${i}.example`));
    expect(allowedCount(out)).toBe(10);
    expect(out[10]).toMatchObject({ allowed: false, limit: 'global' });
  });

  it('a refused send uses up no other window', async () => {
    const clock = new ManualClock('2026-03-03T12:00:00Z');
    const { rl, prefix } = limiter(limits({ per_recipient: { max: 2, per: HOUR }, per_domain: { max: 5, per: HOUR } }), clock);
    for (let i = 0; i < 10; i++) await rl.take('flood@victim.example'); // 2 allowed, 8 refused
    expect(await redis.zcard(`${prefix}:rl:dom:victim.example`)).toBe(2);
    expect(await redis.zcard(`${prefix}:rl:global`)).toBe(2);
    const others: RateDecision[] = [];
    for (let i = 0; i < 5; i++) others.push(await rl.take(`other${i}@victim.example`));
    expect(allowedCount(others)).toBe(3); // 5 per domain − the 2 real sends
  });

  it('concurrent takes never exceed the limit (atomic check-and-count)', async () => {
    const clock = new ManualClock('2026-03-03T12:00:00Z');
    const { rl } = limiter(limits({ per_recipient: { max: 5, per: HOUR } }), clock);
    const other = new Redis(server.url, { maxRetriesPerRequest: 1 });
    try {
      const rl2 = createRateLimiter({ redis: other, prefix: `t${n}`, limits: limits(), clock });
      const out = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? rl : rl2).take('race@x.example')));
      expect(allowedCount(out)).toBe(5);
    } finally {
      await other.quit();
    }
  });

  it('keys expire with their window and stay bounded', async () => {
    const clock = new ManualClock('2026-03-03T12:00:00Z');
    const { rl, prefix } = limiter(limits({ per_recipient: { max: 3, per: 30 * SECOND } }), clock);
    for (let i = 0; i < 20; i++) await rl.take('b@y.example');
    expect(await redis.zcard(`${prefix}:rl:rcpt:b@y.example`)).toBe(3);
    const ttl = await redis.pttl(`${prefix}:rl:rcpt:b@y.example`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30 * SECOND);
  });

  it('a retry of the same mail (same mail key) reuses its slot; other mail is still limited', async () => {
    const clock = new ManualClock('2026-03-03T12:00:00Z');
    const { rl } = limiter(limits({ per_recipient: { max: 2, per: HOUR } }), clock);
    expect(await rl.take('c@z.example', '<secdesk.SEC-2026-0001.ack.x@e.test>')).toEqual({ allowed: true });
    for (let i = 0; i < 5; i++) {
      clock.advance(MINUTE);
      expect(await rl.take('c@z.example', '<secdesk.SEC-2026-0001.ack.x@e.test>')).toEqual({ allowed: true });
    }
    expect(await rl.take('c@z.example', '<secdesk.SEC-2026-0002.ack.y@e.test>')).toEqual({ allowed: true });
    expect(await rl.take('c@z.example', '<secdesk.SEC-2026-0003.ack.z@e.test>')).toMatchObject({ allowed: false, limit: 'recipient' });
    // Once its slot left the window, the same mail counts again like any other.
    clock.advance(HOUR);
    expect(await rl.take('c@z.example', '<secdesk.SEC-2026-0001.ack.x@e.test>')).toEqual({ allowed: true });
  });

  it('refuses a recipient that is not a bare address', async () => {
    const { rl } = limiter(limits(), new ManualClock(0));
    await expect(rl.take('a@b.example\r\nX: y')).rejects.toThrow(/not a usable address/);
  });
});
