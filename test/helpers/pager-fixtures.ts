/**
 * Shared pieces of the SLA integration tests (test/sla-e2e-*.test.ts): the SLA/escalation/pager
 * config in seconds, DKIM-signed maintainer mail with a DNS resolver that serves its key, the
 * built CLI as a child process, and a look at the BullMQ queues to know when work has settled.
 */
import { execFile, execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import nodemailer from 'nodemailer';
import type { Harness } from './harness';
import { SECURITY } from './harness';
import type { PagerServer } from './pager-server';

export const ROOT = path.join(__dirname, '..', '..');
/** PagerDuty routing keys are 32 characters; the test server refuses anything else. */
export const ROUTING_KEY = 'R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY32';
export const ALICE = 'alice@larkspur.test';
export const BOB = 'bob@larkspur.test';
export const ONCALL = 'oncall@larkspur.test';

// One DKIM key for larkspur.test (selector s1), published by `dkimResolver`.
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const TXT = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
// A second key the DNS does not publish: a signature that verifies against nothing.
const OTHER_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** DNS as `h.startApp({ resolver })` wants it: the TXT record `s1._domainkey.larkspur.test`, nothing else. */
export async function dkimResolver(name: string, rrtype: string): Promise<string[][]> {
  if (rrtype === 'TXT' && name.toLowerCase() === 's1._domainkey.larkspur.test') return [[TXT]];
  throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
}

export interface MailOptions {
  from: string;
  to: string | string[];
  cc?: string | string[];
  subject: string;
  messageId: string;
  inReplyTo?: string;
  references?: string[];
  text: string;
  /** Date header (sender-controlled; secdesk must not start clocks from it). */
  date?: Date;
  /** 'valid' (default): signed by larkspur.test's published key; 'none': unsigned; 'wrong-key': signed with an unpublished key. */
  dkim?: 'valid' | 'none' | 'wrong-key';
  headers?: Record<string, string>;
}

/** A mail as a maintainer's client would send it (nodemailer builds it; its `dkim` option signs rsa-sha256). */
export async function buildMail(o: MailOptions): Promise<Buffer> {
  const dkim = o.dkim ?? 'valid';
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
    ...(dkim === 'none' ? {} : { dkim: { domainName: 'larkspur.test', keySelector: 's1', privateKey: dkim === 'valid' ? PRIVATE_PEM : OTHER_PEM } }),
  });
  const info = await transport.sendMail({
    from: o.from,
    to: o.to,
    cc: o.cc,
    subject: o.subject,
    messageId: `<${o.messageId}>`,
    inReplyTo: o.inReplyTo ? `<${o.inReplyTo}>` : undefined,
    references: o.references?.map((r) => `<${r}>`) ?? (o.inReplyTo ? [`<${o.inReplyTo}>`] : undefined),
    text: o.text,
    headers: o.headers,
    date: o.date,
  });
  return info.message as Buffer;
}

/** A reporter's first mail (unsigned: reporters need no DKIM). */
export function report(o: { from: string; id: string; subject?: string; body?: string; date?: Date }): Promise<Buffer> {
  return buildMail({
    date: o.date,
    from: o.from,
    to: SECURITY,
    subject: o.subject ?? 'Heap overflow in the MIME parser',
    messageId: o.id,
    text: o.body ?? 'I found a heap buffer overflow in src/mime/parse.c in version 0.8.1.\nPoC: a crafted boundary of 70 bytes.\n',
    dkim: 'none',
  });
}

/** The sla/escalation/pager part of a test config, in seconds. */
export function slaConfig(
  srv: PagerServer,
  o: { acknowledge: string; respond: string; warning: string; armAhead?: string; escalation?: Record<string, unknown>[]; extraPager?: Record<string, unknown>; pagerRetry?: string[] },
): Record<string, unknown> {
  return {
    sla: { acknowledge: o.acknowledge, respond: o.respond, ...(o.armAhead ? { arm_ahead: o.armAhead } : {}) },
    escalation: o.escalation ?? [
      { clock: 'acknowledge', at: o.warning, notify: ['team-email'] },
      { clock: 'acknowledge', at: o.acknowledge, notify: ['pagerduty'] },
      { clock: 'respond', at: o.respond, notify: ['pagerduty', 'slack'] },
      { on: 'chaser', notify: ['pagerduty'] },
    ],
    pager: {
      pagerduty: { type: 'pagerduty', routing_key: ROUTING_KEY, url: srv.pagerDutyUrl },
      slack: { type: 'slack', webhook_url: srv.slackUrl },
      'team-email': { type: 'email', to: [ONCALL] },
      ...o.extraPager,
    },
    pager_retry: o.pagerRetry ?? ['1s', '1s', '2s'],
    // Reporters in these tests are all at example.org: do not let the rate limit hold their mail.
    rate_limit: { per_recipient: { max: 50, per: '1h' }, per_domain: { max: 200, per: '1h' }, global: { max: 500, per: '1h' } },
  };
}

/** Undo quoted-printable (soft line breaks and =XX escapes) so assertions can read the text. */
function decodeQp(s: string): string {
  const bytes = s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

export interface SunkView {
  to: string[];
  subject: string;
  /** The whole message as sent. */
  raw: string;
  headers: string;
  /** The body with quoted-printable undone (single-part mail). */
  text: string;
  receivedAt: Date;
}

/** Mails the SMTP sink accepted, parsed just enough for assertions. */
export function sunk(h: Harness): SunkView[] {
  return h.sandbox.smtp.messages.map((m) => {
    const raw = m.raw.toString('utf8');
    const cut = raw.search(/\r?\n\r?\n/);
    const headers = cut >= 0 ? raw.slice(0, cut) : raw;
    const body = cut >= 0 ? raw.slice(cut).replace(/^\r?\n\r?\n/, '') : '';
    const subject = /^Subject: (.*(?:\r?\n[ \t].*)*)/im.exec(headers)?.[1]?.replace(/\r?\n[ \t]/g, ' ') ?? '';
    const text = /^Content-Transfer-Encoding:\s*quoted-printable/im.test(headers) ? decodeQp(body) : body;
    return { to: m.envelope.to.map((a) => a.toLowerCase()), subject, raw, headers, text, receivedAt: m.receivedAt };
  });
}

/** Pages mailed by the `team-email` channel (they carry `X-Secdesk-Page: yes`). */
export function pageMails(h: Harness): SunkView[] {
  return sunk(h).filter((m) => /^X-Secdesk-Page: yes/im.test(m.headers));
}

export interface QueueWatch {
  /** Jobs not yet finished (waiting, active, delayed, prioritized) per queue. */
  pending(): Promise<Record<string, number>>;
  /** Jobs waiting or running now (delayed ones — armed timers — not counted) per queue. */
  busy(): Promise<Record<string, number>>;
  /** Workers connected to the escalate queue (a daemon that is up). */
  workers(): Promise<number>;
  /** Remove every delayed job of a queue (armed timers "lost"); returns how many. */
  dropDelayed(queue: 'escalate'): Promise<number>;
  /** The stored state and return value of a job. */
  job(queue: 'escalate' | 'page' | 'mail', id: string): Promise<{ state: string; returnvalue: unknown } | null>;
  close(): Promise<void>;
}

/** BullMQ queues of a harness, over their own connection (they survive a Redis restart). */
export function watchQueues(h: Harness): QueueWatch {
  const redis = new Redis(h.cfg.redis.url, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  const qs = Object.fromEntries(
    (['ingest', 'mail', 'escalate', 'page'] as const).map((n) => {
      const q = new Queue(n, { connection: redis, prefix: `${h.cfg.redis.prefix}:q` });
      q.on('error', () => undefined);
      return [n, q];
    }),
  ) as Record<'ingest' | 'mail' | 'escalate' | 'page', Queue>;
  return {
    async pending() {
      const out: Record<string, number> = {};
      for (const [n, q] of Object.entries(qs)) {
        const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
        out[n] = Object.values(c).reduce((a, b) => a + b, 0);
      }
      return out;
    },
    async busy() {
      const out: Record<string, number> = {};
      for (const [n, q] of Object.entries(qs)) {
        const c = await q.getJobCounts('waiting', 'active', 'prioritized', 'waiting-children');
        out[n] = Object.values(c).reduce((a, b) => a + b, 0);
      }
      return out;
    },
    async workers() {
      return qs.escalate.getWorkersCount();
    },
    async dropDelayed(queue) {
      const jobs = await qs[queue].getDelayed();
      for (const j of jobs) await j.remove();
      return jobs.length;
    },
    async job(queue, id) {
      const j = await qs[queue].getJob(id);
      if (!j) return null;
      return { state: await j.getState(), returnvalue: j.returnvalue };
    },
    async close() {
      await Promise.allSettled(Object.values(qs).map((q) => q.close()));
      redis.disconnect();
    },
  };
}

/** Nothing left to do in `queues` (default: escalate and page). */
export async function settled(w: QueueWatch, queues: string[] = ['escalate', 'page']): Promise<boolean> {
  const p = await w.pending();
  return queues.every((q) => (p[q] ?? 0) === 0);
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith('.ts') || e.name.endsWith('.hbs')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * The CLI runs from dist/: build it when any source is newer (`npm test` builds first; a direct
 * `npx jest test/sla` may not have). Parallel test files take turns through a lock directory.
 */
export function ensureBuilt(): void {
  const cli = path.join(ROOT, 'dist', 'src', 'cli.js');
  const fresh = (): boolean => {
    try {
      const built = statSync(cli).mtimeMs;
      return Math.max(newestMtime(path.join(ROOT, 'src')), newestMtime(path.join(ROOT, 'workers'))) <= built;
    } catch {
      return false;
    }
  };
  if (fresh()) return;
  const lock = path.join(tmpdir(), `secdesk-build-${Buffer.from(ROOT).toString('hex').slice(-24)}.lock`);
  const until = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Someone else is building; a lock older than two minutes is a crashed build's.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmdirSync(lock);
      } catch {
        // gone meanwhile
      }
      if (Date.now() > until) throw new Error(`ensureBuilt: ${lock} held for two minutes`);
      execFileSync(process.execPath, ['-e', 'setTimeout(() => {}, 500)']);
    }
  }
  try {
    if (!fresh()) execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'pipe' });
  } finally {
    rmdirSync(lock);
  }
}

/** `node bin/secdesk.js --config <file> …args` as a child process. */
export function runCli(h: Harness, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'bin', 'secdesk.js'), '--config', h.configFile, ...args], { cwd: ROOT, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
