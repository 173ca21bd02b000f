import { DelayedError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../src/config';
import { coerceError } from '../src/errors';
import type { IngestResult, SendNowOutcome } from '../src/ingest/ingest-message';
import { WaitForEarlierError } from '../src/ingest/ingest-message';
import type { Logger } from '../src/log';
import { KEEP, mailboxTag, QUEUE_NAMES } from '../src/queues';
import type { EscalateJob, IngestJob, MailJob, PageJob } from '../src/queues';
import type { CaseStore, StoredCase } from '../src/store/case-store';
import type { EscalateOutcome } from './escalate-worker';
import type { MailOutcome, MailProcessor } from './mail-worker';
import { recordMailGaveUp } from './mail-worker';

/**
 * BullMQ workers around the processors. The processors are plain functions of a job's data; this
 * file is the thin adapter: concurrency, retry schedules, delaying, and what happens when a job has
 * used up its retries (never silence: a skip record, a failed notice, an error log line).
 */

export interface Processors {
  ingest: (job: IngestJob, opts: { mayWait: boolean }) => Promise<IngestResult>;
  mail: MailProcessor;
  escalate: (job: EscalateJob) => Promise<EscalateOutcome>;
  page: (job: PageJob) => Promise<string>;
}

export interface WorkerDeps {
  cfg: Config;
  /** BullMQ's connection. */
  connection: Redis;
  /** For secdesk's own keys (the in-flight set); BullMQ's connection when not given. */
  data?: Redis;
  store: CaseStore;
  log: Logger;
  processors: Processors;
  /** Delay before retry `attemptsMade` of an SMTP send (-1: give up). */
  mailBackoff: (attemptsMade: number) => number;
  pagerBackoff: (attemptsMade: number, err?: unknown) => number;
  /** Called when a page has failed for good (after all retries): report it to the maintainers. */
  onPageFailed: (job: PageJob, err: Error) => Promise<void>;
  /** Called after every ingest, for metrics and tests. */
  onIngested?: (job: IngestJob, result: IngestResult) => void;
  onMail?: (job: MailJob, result: MailOutcome) => void;
  onEscalate?: (job: EscalateJob, result: EscalateOutcome) => void;
}

export interface Workers {
  close(force?: boolean): Promise<void>;
}

/**
 * The mail worker's adapter for a mail sent from the ingest job (IngestDeps.sendNow): the same
 * processor and hooks; what the worker would delay (held) or retry (a temporary SMTP failure,
 * already recorded on the case) comes back as `later`, for the caller to queue as a job.
 */
export function createSendNow(deps: {
  processor: Processors['mail'];
  mailBackoff: WorkerDeps['mailBackoff'];
  now: () => number;
  onMail?: WorkerDeps['onMail'];
  log: Logger;
}): (job: MailJob, known: StoredCase) => Promise<SendNowOutcome> {
  return async (job, known) => {
    let result: MailOutcome;
    try {
      result = await deps.processor(job, deps.now(), known);
    } catch (err) {
      deps.log.warn({ component: 'mail', caseId: job.caseId, purpose: job.purpose, attempts: 1, err: { message: coerceError(err).message } }, 'mail.retry');
      // The job goes on with the schedule's next delay (it knows one try was made: `tries`).
      return { status: 'later', at: deps.now() + Math.max(0, deps.mailBackoff(1)), tries: 1 };
    }
    deps.onMail?.(job, result);
    return result.status === 'held' ? { status: 'later', at: result.until, tries: 0 } : { status: 'done' };
  };
}

/** A message waits at most this many times for earlier ones before it is ingested anyway. */
const MAX_WAITS = 100;
const WAIT_MS = 300;

export function createWorkers(deps: WorkerDeps): Workers {
  const { cfg, connection, log } = deps;
  const data = deps.data ?? connection;
  const common = { connection, prefix: `${cfg.redis.prefix}:q`, autorun: true, ...KEEP };
  const workers: Worker[] = [];
  const inflight = (j: IngestJob): string => `${cfg.redis.prefix}:inflight:${mailboxTag(j.mailbox)}`;

  const ingest = new Worker<IngestJob & { waits?: number }>(
    QUEUE_NAMES.ingest,
    async (job, token) => {
      const waits = job.data.waits ?? 0;
      try {
        const result = await deps.processors.ingest(job.data, { mayWait: waits < MAX_WAITS });
        await data.zrem(inflight(job.data), String(job.data.uid));
        deps.onIngested?.(job.data, result);
        return result;
      } catch (err) {
        if (err instanceof WaitForEarlierError && token) {
          await job.updateData({ ...job.data, waits: waits + 1 });
          await job.moveToDelayed(Date.now() + WAIT_MS, token);
          throw new DelayedError();
        }
        throw err;
      }
    },
    { ...common, concurrency: cfg.workers.concurrency * 2 },
  );
  ingest.on('failed', (job, err) => {
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) {
      log.warn({ component: 'ingest', uid: job?.data.uid, err: { message: err.message } }, 'ingest.retry');
      return;
    }
    // Out of retries: the message must still end somewhere a maintainer can see it.
    void deps.store
      .recordSkip(
        { at: job.data.internalDate, reason: 'ingest_failed', detail: err.message.slice(0, 300), raw_key: job.data.rawKey },
        `uid:${mailboxTag(job.data.mailbox)}-${job.data.uidValidity}-${job.data.uid}`,
      )
      .then(() => data.zrem(inflight(job.data), String(job.data.uid)))
      .catch((e: Error) => log.error({ err: { message: e.message } }, 'ingest.failed_unrecorded'));
    log.error({ component: 'ingest', uid: job.data.uid, err: { message: err.message } }, 'ingest.failed');
  });
  workers.push(ingest);

  const mail = new Worker<MailJob & { firstTriedAt?: number }>(
    QUEUE_NAMES.mail,
    async (job: Job<MailJob & { firstTriedAt?: number }>, token) => {
      // How long a held mail has waited counts from when it was queued (jobs queued by older
      // versions carry firstTriedAt). Not rewriting the job data saves a round trip per mail.
      const first = job.data.firstTriedAt ?? job.timestamp;
      const result = await deps.processors.mail(job.data, first);
      deps.onMail?.(job.data, result);
      if (result.status === 'held' && token) {
        await job.moveToDelayed(result.until, token);
        throw new DelayedError();
      }
      return result;
    },
    {
      ...common,
      concurrency: cfg.workers.concurrency,
      // Tries made before the job was queued (from the ingest job) count towards the schedule.
      settings: { backoffStrategy: (attemptsMade: number, _type?: string, _err?: Error, job?: { data?: { tries?: number } }) => deps.mailBackoff(attemptsMade + (job?.data?.tries ?? 0)) },
    },
  );
  mail.on('failed', (job, err) => {
    // finishedOn is set only when BullMQ failed the job for good (the SMTP schedule ran out).
    if (job?.finishedOn) {
      log.error({ component: 'mail', caseId: job.data.caseId, purpose: job.data.purpose, attempts: job.attemptsMade + (job.data.tries ?? 0), err: { message: coerceError(err).message } }, 'mail.gave_up');
      void recordMailGaveUp(deps.store, job.data, coerceError(err)).catch((e: Error) => log.error({ err: { message: e.message } }, 'mail.failure_unrecorded'));
      return;
    }
    log.warn({ component: 'mail', caseId: job?.data.caseId, purpose: job?.data.purpose, attempts: (job?.attemptsMade ?? 0) + (job?.data.tries ?? 0), err: { message: coerceError(err).message } }, 'mail.retry');
  });
  workers.push(mail);

  const escalate = new Worker<EscalateJob>(
    QUEUE_NAMES.escalate,
    async (job) => {
      const result = await deps.processors.escalate(job.data);
      deps.onEscalate?.(job.data, result);
      return result;
    },
    { ...common, concurrency: cfg.workers.concurrency },
  );
  escalate.on('failed', (job, err) => log.error({ component: 'escalate', caseId: job?.data.caseId, err: { message: err.message } }, 'escalate.failed'));
  workers.push(escalate);

  const page = new Worker<PageJob>(QUEUE_NAMES.page, async (job) => deps.processors.page(job.data), {
    ...common,
    concurrency: cfg.workers.concurrency * 2,
    settings: { backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) => deps.pagerBackoff(attemptsMade, err) },
  });
  page.on('failed', (job, err) => {
    if (!job) return;
    // finishedOn is set only when BullMQ failed the job for good (out of attempts, or unrecoverable).
    const final = !!job.finishedOn || err.name === 'UnrecoverableError';
    if (!final) {
      log.warn({ component: 'page', channel: job.data.channel, caseId: job.data.caseId, attempts: job.attemptsMade, err: { message: err.message } }, 'page.retry');
      return;
    }
    log.error({ component: 'page', channel: job.data.channel, caseId: job.data.caseId, err: { message: err.message } }, 'page.failed');
    void deps.onPageFailed(job.data, err).catch((e: Error) => log.error({ err: { message: e.message } }, 'page.failure_report_failed'));
  });
  workers.push(page);

  for (const w of workers) w.on('error', (err) => log.warn({ worker: w.name, err: { message: err.message } }, 'worker.error'));

  let closing: Promise<void> | null = null;
  return {
    close(force = false) {
      closing ??= Promise.allSettled(workers.map((w) => w.close(force))).then(() => undefined);
      return closing;
    },
  };
}
