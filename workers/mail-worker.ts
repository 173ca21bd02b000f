import type { SendMailOptions } from 'nodemailer';
import type { Clock } from '../src/clock';
import type { Config } from '../src/config';
import { fromAddress, ownAddresses } from '../src/config';
import { coerceError, PermanentError } from '../src/errors';
import type { Logger } from '../src/log';
import { normalizeAddress, robotAddressKind } from '../src/notify/address';
import type { AutoReplyPurpose, InboundRef } from '../src/notify/compose';
import { composeAutoReply, REPEATABLE_PURPOSES } from '../src/notify/compose';
import { makeMessageId, messageIdDomain } from '../src/notify/message-id';
import type { RateLimiter } from '../src/notify/rate-limit';
import type { Renderer } from '../src/notify/render';
import { TEMPLATE_FOR_PURPOSE } from '../src/notify/render';
import { classifySmtpError } from '../src/notify/send-schedule';
import { buildTemplateVars } from '../src/notify/template-vars';
import type { Mailer } from '../src/mailer';
import { CHECKLIST_IDS } from '../src/policy/policy-types';
import { CHECKLIST_LABELS } from '../src/triage';
import type { MailJob } from '../src/queues';
import type { CaseStore, StoredCase } from '../src/store/case-store';
import type { Case, CaseMessage, Notice } from '../src/types';

/**
 * The mail worker: every automatic mail secdesk sends. When a job fires it re-reads the case and
 * does nothing if that mail was already sent (at most one acknowledgement per case, whatever the
 * retries). Rate limits hold mail back (recorded on the case) rather than drop it; temporary SMTP
 * failures are recorded on the case as `queued` and thrown so BullMQ retries on the schedule in
 * send-schedule.ts (or `smtp.retry`); permanent ones are recorded on the case and not retried, and
 * so is a mail whose retries ran out (`recordMailGaveUp`, called by the worker adapter).
 */

export interface PgpOut {
  /** The reporter's public key, when known (configured, imported or pinned). */
  hasKeyFor(address: string): Promise<boolean>;
  encrypt(mail: SendMailOptions, to: string, realSubject: string): Promise<{ raw: Buffer; envelope: { from: string; to: string[] } }>;
  /** The report's real subject, which an encrypted reply may quote (the case stores a placeholder). */
  realSubject(c: Case): Promise<string>;
  teamFingerprint: string;
}

export interface MailWorkerDeps {
  cfg: Config;
  store: CaseStore;
  mailer: Mailer;
  renderer: Renderer;
  rateLimiter: RateLimiter;
  log: Logger;
  clock: Clock;
  secret: Buffer | string;
  pgp: PgpOut | null;
}

export type MailOutcome = { status: 'sent' | 'suppressed' | 'failed' | 'done'; detail?: string } | { status: 'held'; until: number; detail: string };

/** How long a rate-limited mail may wait before it is given up (recorded as suppressed). */
const MAX_HOLD_MS = 24 * 3600_000;

/**
 * A send in progress is claimed (CaseStore.claimSend) so that two runs of the same mail — two job
 * IDs, a second worker process, a stalled job re-run — never both send it. The claim outlives any
 * one SMTP transaction (see src/mailer.ts timeouts); a claim of a run that died expires after this
 * and the mail is taken over. After a send it is left to expire: a run that read the case just
 * before the send was recorded finds it taken, waits, and then reads the case as sent.
 */
const CLAIM_TTL_MS = 5 * 60_000;
/** How long a run that found the mail being sent by another waits before it looks again. */
const BUSY_WAIT_MS = 2000;

const REPORTER_PURPOSES = new Set<MailJob['purpose']>(['ack', 'support_redirect', 'chaser_reply', 'resolution', 'undecryptable', 'encrypted_no_key']);

function noticeKey(job: MailJob): string {
  return job.seq === undefined ? job.purpose : `${job.purpose}#${job.seq}`;
}

/** The mail's story is over: sent, failed for good, or suppressed. */
function isFinal(n: Notice): boolean {
  return n.status === 'sent' || n.status === 'failed' || n.status === 'suppressed';
}

/** Reporter-facing labels for checklist ids (unknown ids are dropped). */
function labelsFor(ids: unknown): string[] | null {
  if (!Array.isArray(ids)) return null;
  return ids
    .map((id) => (typeof id === 'string' && Object.hasOwn(CHECKLIST_LABELS, id) ? CHECKLIST_LABELS[id as keyof typeof CHECKLIST_LABELS] : null))
    .filter((x): x is string => x !== null);
}

/** The checklist the policy asks for (config `checklist`, else all of it), shown until triage says what is missing. */
function checklistFor(cfg: Config): string[] {
  return labelsFor(cfg.checklist ?? [...CHECKLIST_IDS]) ?? [];
}

/**
 * A chaser reply answers one follow-up: only a person's, never our own address, a maintainer or a
 * robot (an echo of our own mail that lost its markings must not start a conversation with itself).
 */
function followupBlocked(c: Case, job: MailJob, cfg: Config): string | null {
  const m = job.seq !== undefined ? c.messages[job.seq - 1] : undefined;
  if (!m || m.direction !== 'in' || m.kind !== 'followup') return 'the message to answer is not a follow-up from the reporter';
  const from = normalizeAddress(m.from);
  if (ownAddresses(cfg).has(from)) return 'the follow-up came from our own address';
  if (cfg.maintainers.includes(from)) return 'the follow-up came from a maintainer';
  const robot = robotAddressKind(from);
  return robot ? `the follow-up came from a ${robot} address` : null;
}

/**
 * After the last retry of a temporary failure (the worker adapter calls this when BullMQ fails the
 * job for good): the case says the mail could not be sent, never silence.
 */
export async function recordMailGaveUp(store: CaseStore, job: MailJob, err: Error, at: Date = new Date()): Promise<void> {
  const key = noticeKey(job);
  const detail = `gave up after repeated temporary failures: ${coerceError(err).message}`.slice(0, 300);
  // Another run of this mail is sending it right now: its outcome, not ours, is the mail's.
  if (await store.isSending(job.caseId, key)) return;
  await store.update(job.caseId, (x) => {
    const notices = x.notices ?? [];
    if (notices.some((n) => n.purpose === key && isFinal(n))) return null;
    const to = notices.find((n) => n.purpose === key)?.to;
    x.notices = [...notices.filter((n) => n.purpose !== key), { purpose: key, at: at.toISOString(), status: 'failed' as const, ...(to ? { to } : {}), detail }].slice(-100);
    x.timeline.push({ at: at.toISOString(), event: 'mail.failed', detail: `${key}: ${detail}`.slice(0, 300) });
    return { value: x, result: undefined };
  });
}

/** The message a mail answers: the report, or for a chaser reply the latest follow-up. */
function inboundFor(c: Case, job: MailJob): { ref: InboundRef; msg: CaseMessage | undefined } {
  let msg = c.messages[0];
  if (job.purpose === 'chaser_reply' || job.purpose === 'command_errors') msg = (job.seq !== undefined ? c.messages[job.seq - 1] : undefined) ?? msg;
  const messageId = msg?.message_id && !msg.message_id.endsWith('@secdesk.invalid>') ? msg.message_id : null;
  return { ref: { messageId, references: msg?.references?.filter((r) => r !== messageId) ?? [], subject: c.messages[0]?.subject ?? c.subject }, msg };
}

/**
 * Runs one mail. `known` is the case as the caller just read or wrote it (with its stored bytes):
 * the ingest stage sends a new case's first mail this way, without a queue round trip or a re-read.
 */
export type MailProcessor = (job: MailJob, firstTriedAt: number, known?: StoredCase) => Promise<MailOutcome>;

export function createMailProcessor(deps: MailWorkerDeps): MailProcessor {
  const { cfg, store, mailer, renderer, clock } = deps;

  /** Record the state of one mail on its case; a held or queued entry is replaced by the next. */
  async function note(c: Case, job: MailJob, n: Omit<Notice, 'purpose' | 'at'>, extra?: (x: Case) => void, messageIds: string[] = [], base?: Buffer): Promise<void> {
    const at = clock.now().toISOString();
    await store.update(
      c.id,
      (x) => {
        const notices = (x.notices ?? []).filter((p) => !(p.purpose === noticeKey(job) && (p.status === 'held' || p.status === 'queued')));
        x.notices = [...notices, { purpose: noticeKey(job), at, ...n }].slice(-100);
        extra?.(x);
        return { value: x, result: undefined };
      },
      { messageIds, base },
    );
  }

  async function sendSpoofReport(c: Case, job: MailJob): Promise<MailOutcome> {
    if (cfg.maintainers.length === 0) return { status: 'suppressed', detail: 'no maintainers configured' };
    const spoof = c.messages[(job.seq ?? c.messages.length) - 1];
    await mailer.send({
      from: cfg.smtp.from,
      to: cfg.maintainers,
      subject: `[secdesk] ${c.id}: unauthenticated mail claiming to be from a maintainer`,
      text: `A message on case ${c.id} claimed to come from ${spoof?.from ?? 'a maintainer'} but was not authenticated.\nIt changed nothing on the case.\n\nReason: ${spoof?.note ?? 'unknown'}\nMessage-ID: ${spoof?.message_id ?? '?'}\n\nSee: secdesk case ${c.id}\n`,
      headers: { 'Auto-Submitted': 'auto-generated', 'X-Secdesk-Case': c.id },
      envelope: { from: fromAddress(cfg), to: cfg.maintainers },
    });
    return { status: 'sent' };
  }

  /** A mail that can never go out as composed (bad recipient, broken template): recorded, not retried. */
  async function fail(c: Case, job: MailJob, to: string, err: unknown): Promise<MailOutcome> {
    const message = coerceError(err).message.slice(0, 300);
    deps.log.warn({ caseId: c.id, purpose: noticeKey(job), err: { message } }, 'mail.failed');
    await note(c, job, { status: 'failed', to, detail: message }, (x) =>
      x.timeline.push({ at: clock.now().toISOString(), event: 'mail.failed', detail: `${noticeKey(job)}: ${message.slice(0, 200)}` }),
    );
    return { status: 'failed', detail: message };
  }

  return async function process(job, firstTriedAt, known) {
    // The bytes read here are the base of the note that records the outcome: one read.
    const { value: c, stored } = known ?? (await store.mustGetStored(job.caseId));
    const key = noticeKey(job);
    if ((c.notices ?? []).some((n) => n.purpose === key && isFinal(n))) return { status: 'done' };
    if (job.purpose === 'ack' && c.acknowledged_at) return { status: 'done' };

    if (job.purpose === 'spoof_report') {
      const out = await sendSpoofReport(c, job);
      await note(c, job, { status: out.status === 'sent' ? 'sent' : 'suppressed', detail: out.detail });
      return out;
    }

    const reporterMail = REPORTER_PURPOSES.has(job.purpose);
    let to = c.reply_to;
    if (job.purpose === 'command_errors') to = c.messages[(job.seq ?? 0) - 1]?.from ?? '';
    // Encrypted report: answer encrypted when we can; otherwise say nothing beyond the case ID.
    const encryptTo = c.encrypted && deps.pgp && reporterMail && (await deps.pgp.hasKeyFor(to)) ? deps.pgp : null;
    const purpose = (job.purpose === 'ack' && c.encrypted && !encryptTo ? 'encrypted_no_key' : job.purpose) as AutoReplyPurpose;
    const seqOpt = job.seq !== undefined && REPEATABLE_PURPOSES.has(purpose) ? { seq: job.seq } : {};
    let messageId: string;
    try {
      messageId = makeMessageId({ caseId: c.id, purpose, ...seqOpt }, messageIdDomain(cfg), deps.secret);
    } catch (err) {
      return fail(c, job, to, err);
    }

    if (reporterMail) {
      if (!c.auto_reply?.allowed) {
        await note(c, job, { status: 'suppressed', detail: c.auto_reply?.reason ?? 'automatic replies are not allowed for this case' });
        return { status: 'suppressed' };
      }
      const blocked = job.purpose === 'chaser_reply' ? followupBlocked(c, job, cfg) : null;
      if (blocked) {
        await note(c, job, { status: 'suppressed', to, detail: blocked });
        return { status: 'suppressed', detail: blocked };
      }
      if ((c.bouncing ?? []).includes(to)) {
        await note(c, job, { status: 'suppressed', to, detail: `${to} is bouncing` });
        return { status: 'suppressed' };
      }
      let rate;
      try {
        // Keyed by the mail's Message-ID: a retry after an SMTP failure reuses its slot.
        rate = await deps.rateLimiter.take(to, messageId);
      } catch (err) {
        if (err instanceof PermanentError) return fail(c, job, to, err);
        throw err;
      }
      if (!rate.allowed) {
        const detail = `held back by the ${rate.limit} rate limit`;
        if (clock.now().getTime() - firstTriedAt > MAX_HOLD_MS) {
          await note(c, job, { status: 'suppressed', to, detail: `${detail} for more than a day: given up` });
          return { status: 'suppressed', detail };
        }
        if (!(c.notices ?? []).some((n) => n.purpose === key && n.status === 'held')) await note(c, job, { status: 'held', to, detail });
        return { status: 'held', until: clock.now().getTime() + rate.retryAfterMs, detail };
      }
    }

    let mail: SendMailOptions;
    try {
      const missing = labelsFor((c.fields as { missing?: unknown }).missing);
      const unsupported = (c.fields as { unsupported_versions?: unknown }).unsupported_versions;
      // Inside an encrypted reply the reporter may read their own subject again.
      const shown = encryptTo ? { ...c, subject: await encryptTo.realSubject(c) } : c;
      const vars = buildTemplateVars(shown, cfg, {
        missing,
        checklist: checklistFor(cfg),
        unsupported_versions: Array.isArray(unsupported) ? (unsupported as string[]) : [],
        // Only the errors of the mail being answered (same sender, same arrival), not every earlier one.
        command_errors: job.purpose === 'command_errors' ? c.timeline.filter((t) => t.event === 'command.error' && (job.seq === undefined || (t.by === c.messages[job.seq - 1]?.from && t.at === c.messages[job.seq - 1]?.date))).slice(-20).map((t) => t.detail ?? '') : [],
        advisory_url: c.advisory_url ?? null,
        key_fingerprint: deps.pgp?.teamFingerprint ?? null,
        // Where to fetch the team key (only an http(s) URL is kept by buildTemplateVars).
        key_url: cfg.security_txt.encryption ?? null,
        encrypted_reply: !!encryptTo,
      });
      const rendered = renderer.render(TEMPLATE_FOR_PURPOSE[purpose], vars);
      const { ref } = inboundFor(c, job);
      mail = composeAutoReply(purpose, c, ref, rendered, cfg, deps.secret, { ...seqOpt, to, subjectTagOnly: c.encrypted });
    } catch (err) {
      if (err instanceof PermanentError) return fail(c, job, to, err);
      throw err;
    }
    if (!(await store.claimSend(c.id, key, CLAIM_TTL_MS))) return { status: 'held', until: clock.now().getTime() + BUSY_WAIT_MS, detail: 'being sent by another run' };
    try {
      if (encryptTo) await mailer.send({ ...(await encryptTo.encrypt(mail, to, c.subject)), messageId });
      else await mailer.send(mail);
    } catch (err) {
      const e = classifySmtpError(err);
      // Failed for good: the claim is left to expire (a run that read the case before this failure
      // was recorded must not take it over and try again).
      if (!e.retryable) return fail(c, job, to, e);
      // Retried by BullMQ on the SMTP schedule; meanwhile the case says the mail is waiting.
      await note(c, job, { status: 'queued', to, detail: `not sent yet, will retry: ${e.message}`.slice(0, 300) }).catch(() => undefined);
      await store.releaseSend(c.id, key).catch(() => undefined);
      throw e;
    }
    const at = clock.now().toISOString();
    await note(
      c,
      job,
      { status: 'sent', to, message_id: messageId },
      (x) => {
        if (job.purpose === 'ack') x.acknowledged_at ??= at;
        x.messages.push({ message_id: messageId, from: fromAddress(cfg), date: at, direction: 'out', kind: job.purpose === 'ack' ? 'ack' : 'notice', subject: String(mail.subject ?? '').slice(0, 300) });
        x.timeline.push({ at, event: `mail.${job.purpose}`, detail: encryptTo ? 'sent PGP-encrypted' : 'sent' });
      },
      // Replies to our mail thread to the case: indexed in the same write that records the send.
      [messageId],
      stored,
    );
    deps.log.info({ caseId: c.id, purpose: key, encrypted: !!encryptTo }, 'mail.sent');
    return { status: 'sent' };
  };
}
