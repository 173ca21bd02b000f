/**
 * 1. Backlog ingest: N varied messages (2 KB – 200 KB, some multipart with attachments) already in
 * the mailbox when secdesk starts → messages/s until every case exists and every ack was accepted
 * by SMTP. Floor, in the same run: a bare imapflow FETCH of the same messages plus a mailparser
 * parse of each — no Redis, no queues.
 */
import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import { appendMessages, parseImapUrl } from '../../src/sandbox';
import { variedMessage } from '../../src/sandbox/mail-factory';
import type { BenchEnv } from '../lib';
import { requiredWork } from './backlog-ceiling';
import { SECURITY, cpuBudget, cpuSnapshot, peakRssMb, processCpuWatch, spawnSecdesk, startEnv, stopChild, until, type CpuBudget } from '../lib';

/** Log-uniform sizes between 2 KB and 200 KB: most mail is small, some is large. */
function sizeFor(i: number): number {
  const u = ((i * 2654435761) % 1000) / 1000;
  return Math.round(2048 * Math.pow(100, u));
}

async function floor(env: BenchEnv, n: number): Promise<number> {
  const t = parseImapUrl(env.sandbox.dovecot.imapUrl(SECURITY));
  const client = new ImapFlow({ host: t.host, port: t.port, secure: false, auth: { user: t.user, pass: t.pass }, logger: false });
  await client.connect();
  await client.mailboxOpen('INBOX');
  const start = process.hrtime.bigint();
  let parsed = 0;
  for (let lo = 1; lo <= n; lo += 200) {
    const raws: Buffer[] = [];
    for await (const m of client.fetch(`${lo}:${Math.min(n, lo + 199)}`, { uid: true, source: true }, { uid: true })) if (m.source) raws.push(m.source);
    for (const raw of raws) {
      await simpleParser(raw);
      parsed++;
    }
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  await client.logout();
  return parsed / secs;
}

/**
 * `split`: secdesk as its documented scale-out deployment on one machine — one `secdesk poller` and
 * `workers` × `secdesk worker` processes — instead of one `secdesk run`.
 */
export async function backlog(n: number, opts: { split?: boolean; workers?: number } = {}): Promise<{ rate: number; floorRate: number; ratio: number; requiredRate: number; requiredCpuMsPerMsg: number; budget: CpuBudget; requiredBudget: CpuBudget; busiestThread: number; requiredBusiestThread: number; seconds: number; peakRssMb: number; cpuMsPerMsg: number; bytes: number }> {
  const env = await startEnv();
  try {
    let bytes = 0;
    for (let lo = 0; lo < n; lo += 250) {
      const batch = Array.from({ length: Math.min(250, n - lo) }, (_, k) => variedMessage(lo + k, { tag: 'backlog', size: sizeFor(lo + k) }).raw);
      bytes += batch.reduce((a, b) => a + b.length, 0);
      await appendMessages(env.sandbox.dovecot.imapUrl(SECURITY), 'INBOX', batch);
    }
    const floorRate = await floor(env, n);
    // The bare pipeline in the same shape as the secdesk deployment measured (one process, or scaled out).
    const required = await requiredWork(env, n, opts.split ? { workers: opts.workers ?? 1 } : {});
    const before = cpuSnapshot({});
    const start = Date.now();
    const children = opts.split ? [spawnSecdesk(env, 'poller'), ...Array.from({ length: opts.workers ?? 1 }, () => spawnSecdesk(env, 'worker'))] : [spawnSecdesk(env, 'run')];
    let peak = 0;
    const rss = (): number => children.reduce((a, c) => a + peakRssMb(c.pid ?? 0), 0);
    // CPU seconds of secdesk itself: a figure the other processes on a noisy machine barely move.
    const cpu = processCpuWatch(() => children.map((c) => c.pid));
    const done = await until(async () => {
      peak = Math.max(peak, rss());
      cpu.sample();
      const cases = await env.redis.zcard('bench:cases');
      return cases >= n && env.sandbox.smtp.messages.length >= n;
    }, 30 * 60_000, 100);
    const seconds = (Date.now() - start) / 1000;
    peak = Math.max(peak, rss());
    cpu.sample();
    const budget = cpuBudget(before, cpuSnapshot({ measured: children.map((c) => c.pid) }), n);
    await Promise.all(children.map(stopChild));
    if (!done) throw new Error(`backlog: only ${await env.redis.zcard('bench:cases')} cases / ${env.sandbox.smtp.messages.length} acks after 30 min`);
    const rate = n / seconds;
    return { rate, floorRate, ratio: rate / floorRate, requiredRate: required.rate, requiredCpuMsPerMsg: required.cpuMsPerMsg, budget, requiredBudget: required.budget, busiestThread: cpu.busiestThreadShare(seconds), requiredBusiestThread: required.busiestThread, seconds, peakRssMb: peak, cpuMsPerMsg: (cpu.cpuSeconds() * 1000) / n, bytes };
  } finally {
    await env.close();
  }
}
