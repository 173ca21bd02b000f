import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import type { KeepJobs } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from './log';
import type { DeadlineIndex } from './sla/deadline-index';
import { createDeadlineIndex } from './sla/deadline-index';

/**
 * The BullMQ queues and their job payloads. Payloads carry IDs only — never a message body, a
 * subject or an address — so nothing confidential sits in job data. Job IDs are deterministic (and
 * free of ':'), so adding the same work twice is a no-op while the first job is kept.
 */

export const QUEUE_NAMES = { ingest: 'ingest', mail: 'mail', escalate: 'escalate', page: 'page' } as const;

export interface IngestJob {
  folder: 'inbox' | 'sent';
  mailbox: string;
  uidValidity: string;
  uid: number;
  rawKey: string;
  /** IMAP INTERNALDATE (ISO): when the message reached the mailbox — the SLA clocks start here. */
  internalDate: string;
  size: number;
}

export type MailPurpose = 'ack' | 'support_redirect' | 'chaser_reply' | 'resolution' | 'command_errors' | 'undecryptable' | 'encrypted_no_key' | 'spoof_report';

export interface MailJob {
  caseId: string;
  purpose: MailPurpose;
  /** Sequence for purposes that can repeat on a case (chaser replies, command errors). */
  seq?: number;
  /** Sends tried before the job was queued (a first try made from the ingest job): the retry schedule goes on from there. */
  tries?: number;
}

export type EscalateJob =
  | { caseId: string; action: 'step'; stepId: string }
  | { caseId: string; action: 'chaser' }
  | { caseId: string; action: 'resolve' };

export interface PageJob {
  caseId: string;
  stepId: string;
  channel: string;
  action: 'trigger' | 'resolve';
  /** Same for every channel of one step: the time the step fired (ISO). */
  firedAt: string;
}

/** Short stable tag for a mailbox name (names may hold any character; job IDs may not hold ':'). */
export function mailboxTag(mailbox: string): string {
  return createHash('sha256').update(mailbox).digest('hex').slice(0, 8);
}

export const jobIds = {
  ingest: (j: Pick<IngestJob, 'mailbox' | 'uidValidity' | 'uid'>) => `in-${mailboxTag(j.mailbox)}-${j.uidValidity}-${j.uid}`,
  mail: (j: MailJob) => `mail-${j.caseId}-${j.purpose}${j.seq === undefined ? '' : `-${j.seq}`}`,
  page: (j: PageJob) => `page-${j.caseId}-${j.stepId}-${j.channel.replace(/[^A-Za-z0-9_-]/g, '_')}-${j.action}`,
};

export interface Queues {
  ingest: Queue<IngestJob>;
  mail: Queue<MailJob>;
  escalate: Queue<EscalateJob>;
  page: Queue<PageJob>;
  /** Far-off SLA deadlines (sla.arm_ahead); null when every timer is a delayed job at once. */
  deadlines: DeadlineIndex | null;
  close(): Promise<void>;
}

export interface QueueOptions {
  /** sla.arm_ahead: deadlines further off than this wait in the deadline index (0: no index). */
  armAheadMs?: number;
  /** Connection for the deadline index (the auto-pipelined data connection); BullMQ's when not given. */
  data?: Redis;
}

/** Completed jobs are kept a while so a re-added ID stays a no-op; failed ones longer, for post-mortems. */
export const KEEP: { removeOnComplete: KeepJobs; removeOnFail: KeepJobs } = {
  removeOnComplete: { age: 7 * 24 * 3600, count: 200_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

export function createQueues(connection: Redis, prefix: string, log: Logger, options: QueueOptions = {}): Queues {
  // Retention (KEEP) is set on the workers, not on each job: options stored with every job cost
  // memory per armed SLA timer, and 100,000 open cases each hold one.
  const opts = { connection, prefix: `${prefix}:q` };
  const qs = {
    ingest: new Queue<IngestJob>(QUEUE_NAMES.ingest, opts),
    // 'custom' makes BullMQ ask the worker's backoffStrategy (the SMTP schedule) between attempts;
    // without a backoff option it retries at once and an SMTP outage burns every attempt in seconds.
    mail: new Queue<MailJob>(QUEUE_NAMES.mail, { ...opts, defaultJobOptions: { backoff: { type: 'custom' } } }),
    escalate: new Queue<EscalateJob>(QUEUE_NAMES.escalate, opts),
    page: new Queue<PageJob>(QUEUE_NAMES.page, opts),
  };
  for (const [name, q] of Object.entries(qs)) {
    (q as Queue).on('error', (err) => log.warn({ queue: name, err: { message: err.message } }, 'queue.error'));
  }
  let closing: Promise<void> | null = null;
  const armAhead = options.armAheadMs ?? 0;
  return {
    ...qs,
    deadlines: armAhead > 0 ? createDeadlineIndex(options.data ?? connection, prefix, armAhead) : null,
    close() {
      closing ??= Promise.allSettled(Object.values(qs).map((q) => (q as Queue).close())).then(() => undefined);
      return closing;
    },
  };
}
