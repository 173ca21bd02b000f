/**
 * 4. Open cases at scale: N open cases with armed SLA timers → Redis memory per case (no raw
 * archives: cases are created through the store from a parsed report, as ingest does, without the
 * raw bytes), time for `secdesk cases --json` to list them, and how late timers fire when
 * `burst` deadlines fall in the same minute.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import path from 'node:path';
import { createCaseStore } from '../../src/store/case-store';
import { createQueues } from '../../src/queues';
import { createLogger } from '../../src/log';
import { parseMessage } from '../../src/parse/parse-message';
import { draftCase } from '../../src/ingest/case-draft';
import { triageForIngest } from '../../src/triage-adapter';
import { armTimers } from '../../src/sla/arm-timers';
import { resolveEscalationPolicy } from '../../src/sla/escalation-policy';
import { variedMessage } from '../../src/sandbox/mail-factory';
import { ROOT, percentile, spawnSecdesk, startEnv, stopChild, until } from '../lib';

const run = promisify(execFile);

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

export async function scale(n: number, burst: number): Promise<{ bytesPerCase: number; listSeconds: number; lateP50: number; lateP99: number; fired: number }> {
  // Deadlines far away for the bulk; the burst's fall due 20–80 s after it is created. With arm_ahead
  // 10 s every burst timer waits in the deadline index first, so its lateness includes the sweep
  // that arms it (the default, 10 min, would arm the burst as delayed jobs straight away).
  const env = await startEnv({ sla: { acknowledge: '24h', respond: '48h', arm_ahead: '10s' } });
  try {
    const store = createCaseStore({ redis: env.redis, prefix: env.cfg.redis.prefix });
    const log = createLogger({ log: { level: 'silent', pretty: false } });
    const queues = createQueues(env.redis, env.cfg.redis.prefix, log, { armAheadMs: env.cfg.sla.arm_ahead });
    const policy = resolveEscalationPolicy(env.cfg);
    const triage = triageForIngest(env.cfg);
    const own = new Set([env.cfg.address]);
    const clock = { now: () => new Date() };
    const templates = await Promise.all(Array.from({ length: 16 }, (_, i) => parseMessage(variedMessage(i, { size: 1500 }).raw)));
    const before = await usedMemory(env.redis);
    const create = async (i: number, receivedAt: string): Promise<void> => {
      const msg = { ...templates[i % templates.length]!, messageId: `<scale-${i}@example.org>`, contentHash: `h${i}` };
      const t = triage(msg);
      const draft = draftCase({
        msg,
        meta: { ref: { mailbox: 'INBOX', uidValidity: '1', uid: i + 1 }, internalDate: receivedAt, rawKey: `r-${i}` },
        kind: 'report',
        fields: t.fields,
        kindReason: t.kind_reason,
        own,
        autoReply: { allowed: true, to: msg.from ?? 'x@example.org' },
        encrypted: false,
        signature: 'none',
        signatureKey: null,
        subject: msg.subject,
        warnings: [],
      });
      const r = await store.createCase(draft, `mid:<scale-${i}@example.org>`, [`<scale-${i}@example.org>`]);
      await store.markSeen(`sha:h${i}`, r.outcome);
      const c = await store.get(r.caseId!);
      if (c) await armTimers(c, policy, queues, clock);
    };
    const now = Date.now();
    for (let lo = 0; lo < n; lo += 500) {
      await Promise.all(Array.from({ length: Math.min(500, n - lo) }, (_, k) => create(lo + k, new Date(now - (lo + k) * 10).toISOString())));
    }
    const bytesPerCase = ((await usedMemory(env.redis)) - before) / n;

    const t0 = Date.now();
    const out = await run(process.execPath, [path.join(ROOT, 'bin', 'secdesk.js'), '--config', env.configFile, 'cases', '--json'], { maxBuffer: 2 * 1024 * 1024 * 1024 });
    const listSeconds = (Date.now() - t0) / 1000;
    const listed = (JSON.parse(out.stdout) as unknown[]).length;
    if (listed !== n) throw new Error(`cases --json listed ${listed} of ${n}`);

    // The burst: `burst` cases whose acknowledge warning (20/24 of 24h) fall due within one minute.
    const warnAt = Math.round(env.cfg.sla.acknowledge * (20 / 24));
    const dueStart = Date.now() + 20_000;
    for (let lo = 0; lo < burst; lo += 500) {
      await Promise.all(Array.from({ length: Math.min(500, burst - lo) }, (_, k) => {
        const i = n + lo + k;
        const due = dueStart + ((lo + k) * 60_000) / burst;
        return create(i, new Date(due - warnAt).toISOString());
      }));
    }
    const child = spawnSecdesk(env, 'worker');
    const burstIds = (await env.redis.zrange('bench:cases', '0', '-1')).filter((id) => Number(id.split('-')[2]) > n);
    await until(async () => (await store.getMany(burstIds)).every((c) => c && c.escalations.length > 0), 240_000, 1000);
    await stopChild(child);
    const late: number[] = [];
    for (const c of await store.getMany(burstIds)) {
      if (!c) continue;
      const e = c.escalations.find((x) => x.clock === 'acknowledge' && x.level === 1);
      if (e) late.push(Date.parse(e.at) - (Date.parse(c.received_at) + warnAt));
    }
    await queues.close();
    return { bytesPerCase, listSeconds, lateP50: percentile(late, 50), lateP99: percentile(late, 99), fired: late.length };
  } finally {
    await env.close();
  }
}
