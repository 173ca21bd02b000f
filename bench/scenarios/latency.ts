/**
 * 2. Arrival latency: with IDLE, messages APPENDed one at a time at `rate`/s for `seconds` →
 * APPEND-to-case and APPEND-to-ack latency. 3. Big mail runs the same load with 20 MB messages
 * going in alongside, and reports secdesk's peak RSS.
 */
import { ImapFlow } from 'imapflow';
import { parseImapUrl } from '../../src/sandbox';
import { createCaseStore } from '../../src/store/case-store';
import { bigAttachmentMessage, variedMessage } from '../../src/sandbox/mail-factory';
import { SECURITY, peakRssMb, percentile, sleep, spawnSecdesk, startEnv, stopChild, until } from '../lib';

export interface LatencyResult {
  sent: number;
  /** Messages with no case / no ack seen within the wait (a figure must never hide a lost one). */
  missingCases: number;
  missingAcks: number;
  caseP50: number;
  caseP95: number;
  caseP99: number;
  ackP50: number;
  ackP95: number;
  ackP99: number;
  peakRssMb: number;
  bigIngested?: number;
}

export async function arrivalLatency(opts: { rate: number; seconds: number; big?: { count: number; bytes: number } }): Promise<LatencyResult> {
  const env = await startEnv();
  // Case records are compressed: read them through the store, never with a bare MGET.
  const store = createCaseStore({ redis: env.redis, prefix: env.cfg.redis.prefix });
  const child = spawnSecdesk(env, 'run');
  const t = parseImapUrl(env.sandbox.dovecot.imapUrl(SECURITY));
  const client = new ImapFlow({ host: t.host, port: t.port, secure: false, auth: { user: t.user, pass: t.pass }, logger: false });
  client.on('error', () => undefined);
  try {
    await until(async () => (await env.redis.get('bench:poller-lease')) !== null, 30_000);
    await sleep(500);
    await client.connect();
    const appendedAt = new Map<string, number>();
    const ackAt = new Map<string, number>();
    env.sandbox.smtp.on('message', (m) => {
      const id = /^In-Reply-To: (<[^>]+>)/im.exec(m.raw.toString('latin1', 0, 8192))?.[1];
      if (id) ackAt.set(id, Date.now());
    });
    const caseAt = new Map<string, number>();
    let stopWatch = false;
    // Watch the case index: each new case's first Message-ID and when it appeared. The index is
    // ordered by arrival time (1 s resolution) and then ID, so a case can land before ones already
    // seen: new cases are told by ID, not by position.
    const watcher = (async () => {
      const known = new Set<string>();
      while (!stopWatch) {
        const ids = (await env.redis.zrange('bench:cases', '0', '-1')).filter((id) => !known.has(id));
        if (ids.length > 0) {
          const now = Date.now();
          for (const c of await store.getMany(ids)) if (c) caseAt.set(c.messages[0]!.message_id, now);
          for (const id of ids) known.add(id);
        }
        await sleep(20);
      }
    })();
    let peak = 0;
    const rss = setInterval(() => (peak = Math.max(peak, peakRssMb(child.pid ?? 0))), 200);
    const bigDone = opts.big ? appendBig(env.sandbox.dovecot.imapUrl(SECURITY), opts.big.count, opts.big.bytes) : Promise.resolve();
    const total = opts.rate * opts.seconds;
    const start = Date.now();
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / opts.rate;
      if (due > Date.now()) await sleep(due - Date.now());
      const m = variedMessage(i, { tag: `lat${start}` });
      appendedAt.set(m.messageId, Date.now());
      await client.append('INBOX', m.raw);
    }
    await bigDone;
    const allIn = (m: Map<string, number>): boolean => [...appendedAt.keys()].every((id) => m.has(id));
    await until(async () => allIn(ackAt) && allIn(caseAt), 180_000, 200);
    clearInterval(rss);
    peak = Math.max(peak, peakRssMb(child.pid ?? 0));
    stopWatch = true;
    await watcher;
    const toCase: number[] = [];
    const toAck: number[] = [];
    for (const [id, at] of appendedAt) {
      const c = caseAt.get(id);
      const a = ackAt.get(id);
      if (c !== undefined) toCase.push(c - at);
      if (a !== undefined) toAck.push(a - at);
    }
    let bigIngested: number | undefined;
    if (opts.big) {
      // The big ones go in last and take longest: give them time, then count them by Message-ID.
      const countBig = async (): Promise<number> => {
        const ids = await env.redis.zrange('bench:cases', '0', '-1');
        return (await store.getMany(ids)).filter((c) => c?.messages[0]!.message_id.startsWith('<big-')).length;
      };
      await until(async () => (await countBig()) >= opts.big!.count, 120_000, 500);
      bigIngested = await countBig();
      peak = Math.max(peak, peakRssMb(child.pid ?? 0));
    }
    return {
      sent: total,
      missingCases: total - toCase.length,
      missingAcks: total - toAck.length,
      caseP50: percentile(toCase, 50),
      caseP95: percentile(toCase, 95),
      caseP99: percentile(toCase, 99),
      ackP50: percentile(toAck, 50),
      ackP95: percentile(toAck, 95),
      ackP99: percentile(toAck, 99),
      peakRssMb: peak,
      ...(bigIngested !== undefined ? { bigIngested } : {}),
    };
  } finally {
    await client.logout().catch(() => client.close());
    await stopChild(child);
    await env.close();
  }
}

/** The big messages go in over their own connection, spread over the run. */
async function appendBig(imapUrl: string, count: number, bytes: number): Promise<void> {
  const t = parseImapUrl(imapUrl);
  const c = new ImapFlow({ host: t.host, port: t.port, secure: false, auth: { user: t.user, pass: t.pass }, logger: false });
  c.on('error', () => undefined);
  await c.connect();
  try {
    for (let i = 0; i < count; i++) {
      await c.append('INBOX', bigAttachmentMessage(i, bytes));
      await sleep(1000);
    }
  } finally {
    await c.logout().catch(() => c.close());
  }
}
