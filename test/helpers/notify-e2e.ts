/**
 * Helpers for the reporter-correspondence integration tests (test/notify-e2e-*.test.ts): read what
 * the SMTP sink accepted, wait for the ingest of a given APPEND, and read a mailbox back with
 * imapflow the way a mail client would (envelope + threading headers).
 */
import { writeFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import { stringify } from 'yaml';
import { buildConfig } from '../../src/config';
import type { App } from '../../src/app';
import type { IngestResult } from '../../src/ingest/ingest-message';
import { parseImapUrl, type SunkMail } from '../../src/sandbox';
import type { MailJob } from '../../src/queues';
import type { Case } from '../../src/types';
import type { MailOutcome } from '../../workers/mail-worker';
import { waitFor, type Harness } from './harness';

/**
 * Change config keys that depend on what the harness started (the SMTP sink's URL lives under
 * `smtp`, so `smtp.retry` cannot go through `startHarness({ config })`). Validated like any config;
 * call before starting an app.
 */
export function reconfigure(h: Harness, mutate: (raw: Record<string, unknown>) => void): void {
  mutate(h.raw);
  Object.assign(h.cfg, buildConfig(h.raw));
  writeFileSync(h.configFile, stringify(h.raw));
}

/** One header field of a raw message, in order, unfolded (the value as sent, not decoded). */
export interface RawHeader {
  name: string;
  value: string;
}

/** The header block of a raw message, unfolded; stops at the first empty line. */
export function rawHeaders(raw: Buffer | string): RawHeader[] {
  const text = raw.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const block = end < 0 ? text : text.slice(0, end);
  const out: RawHeader[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length > 0) {
      const last = out[out.length - 1] as RawHeader;
      last.value += ` ${line.trim()}`;
      continue;
    }
    const i = line.indexOf(':');
    if (i > 0) out.push({ name: line.slice(0, i).trim().toLowerCase(), value: line.slice(i + 1).trim() });
  }
  return out;
}

export function header(raw: Buffer | string, name: string): string[] {
  return rawHeaders(raw)
    .filter((hd) => hd.name === name.toLowerCase())
    .map((hd) => hd.value);
}

/** Decode RFC 2047 words the way a mail client shows a header (enough for our own UTF-8 subjects). */
export function decodeHeader(v: string): string {
  return v
    .replace(/(\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_m, _cs: string, enc: string, text: string) =>
      enc.toLowerCase() === 'b'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9a-fA-F]{2})/g, (_x, hx: string) => String.fromCharCode(parseInt(hx, 16))), 'latin1').toString('utf8'),
    );
}

/** Mail at the sink whose envelope goes to `to`. */
export function sunkTo(h: Harness, to: string): SunkMail[] {
  return h.sandbox.smtp.messages.filter((m) => m.envelope.to.some((a) => a.toLowerCase() === to.toLowerCase()));
}

/** Mail at the sink that answers the report with this Message-ID (by In-Reply-To). */
export function sunkReplies(h: Harness, reportId: string): SunkMail[] {
  return h.sandbox.smtp.messages.filter((m) => header(m.raw, 'in-reply-to').includes(reportId));
}

export interface ObservedApp {
  app: App;
  /** Ingest results keyed `mailbox:uid`. */
  ingested: Map<string, IngestResult>;
  mailResults: { job: MailJob; result: MailOutcome }[];
  /** Wait until the APPENDed message `uid` of `mailbox` went through ingest. */
  waitIngested(uid: number, mailbox?: string, timeoutMs?: number): Promise<IngestResult>;
}

/** Start secdesk in-process with hooks that record every ingest and mail outcome. */
export async function startObservedApp(h: Harness): Promise<ObservedApp> {
  const ingested = new Map<string, IngestResult>();
  const mailResults: ObservedApp['mailResults'] = [];
  const app = await h.startApp({
    hooks: {
      onIngested: (job, result) => void ingested.set(`${job.mailbox}:${job.uid}`, result),
      onMail: (job, result) => void mailResults.push({ job, result }),
    },
  });
  return {
    app,
    ingested,
    mailResults,
    waitIngested: (uid, mailbox = 'INBOX', timeoutMs = 30_000) =>
      waitFor(`ingest of ${mailbox} uid ${uid}`, async () => ingested.get(`${mailbox}:${uid}`), timeoutMs, 50),
  };
}

/** The case whose first message has this Message-ID. */
export async function caseFor(h: Harness, messageId: string, pred: (c: Case) => boolean = () => true, timeoutMs = 30_000): Promise<Case> {
  return waitFor(
    `case of ${messageId}`,
    async () => (await h.cases()).find((c) => c.messages[0]?.message_id === messageId && pred(c)),
    timeoutMs,
  );
}

/** Every mail job is settled: none waiting, active or delayed. */
export async function mailQueueIdle(app: App): Promise<boolean> {
  const c = await app.queues.mail.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
  return Object.values(c).every((n) => n === 0);
}

/** One message as a mail client sees it over IMAP: the server-parsed envelope plus References. */
export interface ClientView {
  uid: number;
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  subject: string;
  from: string | null;
  autoSubmitted: string | null;
}

/** Read `mailbox` of `user` with imapflow: ENVELOPE and the References / Auto-Submitted headers. */
export async function fetchAsClient(imapUrl: string, mailbox: string): Promise<ClientView[]> {
  const t = parseImapUrl(imapUrl);
  const client = new ImapFlow({ host: t.host, port: t.port, secure: t.secure, auth: { user: t.user, pass: t.pass }, logger: false });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const lock = await client.getMailboxLock(mailbox, { readOnly: true });
    try {
      if (client.mailbox === false || client.mailbox.exists === 0) return [];
      const msgs = await client.fetchAll('1:*', { uid: true, envelope: true, headers: ['references', 'auto-submitted'] }, { uid: true });
      return msgs.map((m) => {
        const hdr = m.headers ? m.headers.toString('utf8') : '';
        return {
          uid: m.uid,
          messageId: m.envelope?.messageId ?? null,
          inReplyTo: m.envelope?.inReplyTo ?? null,
          references: header(hdr, 'references').flatMap((v) => v.match(/<[^<>\s]+>/g) ?? []),
          subject: m.envelope?.subject ?? '',
          from: m.envelope?.from?.[0]?.address?.toLowerCase() ?? null,
          autoSubmitted: header(hdr, 'auto-submitted')[0] ?? null,
        };
      });
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
}

/**
 * The parent of `msg` among `pool` as a References-threading client (JWZ, RFC 5256 REFERENCES)
 * finds it: the last of References that is present, else In-Reply-To.
 */
export function threadParent(msg: ClientView, pool: ClientView[]): ClientView | null {
  const byId = new Map(pool.filter((m) => m.messageId).map((m) => [m.messageId as string, m]));
  for (const id of [...msg.references].reverse()) {
    const p = byId.get(id);
    if (p) return p;
  }
  return msg.inReplyTo ? (byId.get(msg.inReplyTo) ?? null) : null;
}
