/**
 * The least work any implementation of the backlog must do per message, with the parts the brief
 * fixes, in the same run and the same shape (one process, or scaled out) as the secdesk deployment
 * it is compared with: FETCH (imapflow), archive the raw bytes in
 * Redis (gzip level 1), one BullMQ job, parse (mailparser), and send a reply of the ack's shape and
 * size (nodemailer, pooled, text + HTML, threading headers) — and nothing else: no dedupe, triage,
 * case record, SLA timers, rate limits, threading index, PGP or sender checks.
 *
 * The floor (FETCH + parse) says what the machine can read; this says what it can answer. secdesk
 * is measured against both: the gap to this figure is the cost of what secdesk adds.
 */
import { spawn } from 'node:child_process';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Queue, Worker } from 'bullmq';
import { ImapFlow } from 'imapflow';
import Redis from 'ioredis';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { parseImapUrl } from '../../src/sandbox';
import type { BenchEnv } from '../lib';
import { cpuBudget, cpuSnapshot, processCpuWatch, SECURITY, until, type CpuBudget } from '../lib';

interface Target {
  imapUrl: string;
  redisUrl: string;
  smtpUrl: string;
  n: number;
}

const PREFIX = 'ceiling';

/** An acknowledgement's wording at its real length (about 1.6 KB of text and 2 KB of HTML). */
function ackText(subject: string, id: string): { text: string; html: string } {
  const items = ['Type of issue (e.g. buffer overflow, SQL injection, cross-site scripting)', 'Any special configuration required to reproduce the issue', 'Step-by-step instructions to reproduce the issue', 'Proof-of-concept or exploit code (if possible)', 'Impact of the issue, including how an attacker might exploit it'];
  const text = [
    'Hello,',
    '',
    `Thank you for reporting a security issue to the project. We have received your report and opened case ${id}. Please keep [${id}] in the subject of any further mail about it, and reply to ${SECURITY}.`,
    '',
    'What we received',
    `  Subject:     ${subject}`,
    `  Received:    ${new Date().toUTCString()}`,
    '',
    'What happens next',
    '  - A member of the security team will answer you personally within 24 hours of receiving your report.',
    '  - Within 48 hours we will send you a detailed response with the next steps.',
    '',
    'Your report does not seem to include the following; please send what you can:',
    ...items.map((i) => `  - ${i}`),
    '',
    'Please do not disclose the issue publicly until we have agreed on a disclosure date with you.',
    '',
    'This is an automatic acknowledgement; a person will follow up.',
    '',
    '-- ',
    'the project security team',
    SECURITY,
    '',
  ].join('\n');
  const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const html = [
    '<!DOCTYPE html>',
    `<html>\n<head><meta charset="utf-8"><title>[${id}]</title></head>\n<body style="font-family: sans-serif; line-height: 1.4;">`,
    '<p>Hello,</p>',
    `<p>Thank you for reporting a security issue to the project. We have received your report and opened case <strong>${id}</strong>. Please keep <code>[${id}]</code> in the subject of any further mail about it, and reply to <a href="mailto:${SECURITY}">${SECURITY}</a>.</p>`,
    `<h3>What we received</h3>\n<ul>\n  <li>Subject: ${esc(subject)}</li>\n  <li>Received: ${new Date().toUTCString()}</li>\n</ul>`,
    '<h3>What happens next</h3>\n<ul>\n  <li>A member of the security team will answer you personally within 24 hours of receiving your report.</li>\n  <li>Within 48 hours we will send you a detailed response with the next steps.</li>\n</ul>',
    `<p>Your report does not seem to include the following; please send what you can:</p>\n<ul>\n${items.map((i) => `  <li>${esc(i)}</li>`).join('\n')}\n</ul>`,
    '<p>Please do not disclose the issue publicly until we have agreed on a disclosure date with you.</p>',
    `<p><em>This is an automatic acknowledgement; a person will follow up.</em></p>\n<p>-- <br>the project security team<br>${SECURITY}</p>\n</body>\n</html>`,
  ].join('\n');
  return { text, html };
}

/**
 * Messages/s of the bare pipeline over the first `n` messages of the inbox, timed as secdesk is: from
 * starting its process(es) until the SMTP sink has accepted a reply to every message. It runs in
 * processes of its own, as secdesk does, so that the sink (in this process) is not charged to it:
 * one process, or (`workers` > 0) one fetching process and `workers` answering ones.
 */
export async function requiredWork(env: BenchEnv, n: number, opts: { workers?: number } = {}): Promise<{ rate: number; cpuMsPerMsg: number; budget: CpuBudget; busiestThread: number }> {
  const sink = env.sandbox.smtp.messages;
  const sunkBefore = sink.length;
  const target: Target = { imapUrl: env.sandbox.dovecot.imapUrl(SECURITY), redisUrl: env.sandbox.redis.url, smtpUrl: env.sandbox.smtp.url, n };
  const roles: Role[] = opts.workers ? ['fetch', ...Array.from({ length: opts.workers }, (): Role => 'answer')] : ['all'];
  const before = cpuSnapshot({});
  const start = Date.now();
  const children = roles.map((role) => spawn(process.execPath, [__filename, role, JSON.stringify(target)], { stdio: ['ignore', 'ignore', 'inherit'] }));
  const exited = children.map((c) => new Promise<number | null>((resolve) => c.once('exit', resolve)));
  let failed: number | null = null;
  for (const e of exited) {
    void e.then((code) => {
      if (code !== 0 && code !== null) failed = code;
    });
  }
  const cpu = processCpuWatch(() => children.map((c) => c.pid));
  const done = await until(async () => {
    cpu.sample();
    return sink.length - sunkBefore >= n || failed !== null;
  }, 10 * 60_000, 20);
  const seconds = (Date.now() - start) / 1000;
  cpu.sample();
  const budget = cpuBudget(before, cpuSnapshot({ measured: children.map((c) => c.pid) }), n);
  const sunk = sink.length - sunkBefore;
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(exited);
  // Its replies and keys are not secdesk's: the sink and Redis are left as they were found.
  sink.splice(sunkBefore);
  let cursor = '0';
  do {
    const [next, keys] = await env.redis.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await env.redis.unlink(...keys);
  } while (cursor !== '0');
  if (failed !== null) throw new Error(`required work: a process exited with ${failed}`);
  if (!done || sunk < n) throw new Error(`required work: ${sunk} of ${n} replies reached the sink after 10 min`);
  return { rate: n / seconds, cpuMsPerMsg: (cpu.cpuSeconds() * 1000) / n, budget, busiestThread: cpu.busiestThreadShare(seconds) };
}

type Role = 'all' | 'fetch' | 'answer';

/** One process of the bare pipeline; runs until SIGTERM. */
async function run(role: Role, target: Target): Promise<void> {
  const n = target.n;
  const redis = new Redis(target.redisUrl, { maxRetriesPerRequest: null });
  const data = new Redis(target.redisUrl, { maxRetriesPerRequest: null, enableAutoPipelining: true });
  const closers: (() => Promise<unknown>)[] = [];
  let seq = 0;
  if (role !== 'fetch') {
    const smtp = new URL(target.smtpUrl);
    const transport = nodemailer.createTransport({ host: smtp.hostname, port: Number(smtp.port), secure: false, pool: true, maxConnections: 4 });
    const worker = new Worker<{ uid: number }>(
      'answer',
      async (job) => {
        const gz = await data.getBuffer(`${PREFIX}:raw:${job.data.uid}`);
        if (!gz) throw new Error(`raw ${job.data.uid} missing`);
        const msg = await simpleParser(gunzipSync(gz));
        const to = msg.from?.value[0]?.address ?? 'nobody@example.test';
        const id = `SEC-2026-${String(++seq).padStart(4, '0')}`;
        const subject = msg.subject ?? '';
        await transport.sendMail({
          from: `Bench <${SECURITY}>`,
          to,
          replyTo: SECURITY,
          subject: `Re: ${subject} [${id}]`,
          inReplyTo: msg.messageId,
          references: msg.messageId ? [msg.messageId] : [],
          headers: { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All' },
          ...ackText(subject, id),
        });
      },
      { connection: redis, prefix: `${PREFIX}:q`, concurrency: 8, removeOnComplete: { count: 1000 } },
    );
    closers.push(async () => {
      await worker.close();
      transport.close();
    });
  }
  if (role !== 'answer') {
    const t = parseImapUrl(target.imapUrl);
    const client = new ImapFlow({ host: t.host, port: t.port, secure: false, auth: { user: t.user, pass: t.pass }, logger: false });
    const queue = new Queue<{ uid: number }>('answer', { connection: redis, prefix: `${PREFIX}:q` });
    closers.push(async () => {
      await queue.close();
      await client.logout().catch(() => undefined);
    });
    await client.connect();
    await client.mailboxOpen('INBOX');
    for (let lo = 1; lo <= n; lo += 200) {
      const raws: { uid: number; raw: Buffer }[] = [];
      for await (const m of client.fetch(`${lo}:${Math.min(n, lo + 199)}`, { uid: true, source: true }, { uid: true })) if (m.source) raws.push({ uid: m.uid, raw: m.source });
      await Promise.all(raws.map(({ uid, raw }) => data.set(`${PREFIX}:raw:${uid}`, gzipSync(raw, { level: 1 }))));
      await queue.addBulk(raws.map(({ uid }) => ({ name: 'answer', data: { uid }, opts: { jobId: `a-${uid}` } })));
    }
  }
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  for (const close of closers) await close();
  data.disconnect();
  redis.disconnect();
}

if (require.main === module) {
  run(process.argv[2] as Role, JSON.parse(process.argv[3] ?? '{}') as Target).then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`required work: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
