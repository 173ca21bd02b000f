import type { SendMailOptions } from 'nodemailer';
import type { Clock } from '../src/clock';
import type { Config } from '../src/config';
import { fromAddress } from '../src/config';
import { coerceError } from '../src/errors';
import type { Logger } from '../src/log';
import type { AutoReplyPurpose, InboundRef } from '../src/notify/compose';
import { composeAutoReply } from '../src/notify/compose';
import type { RateLimiter } from '../src/notify/rate-limit';
import type { Renderer } from '../src/notify/render';
import { TEMPLATE_FOR_PURPOSE } from '../src/notify/render';
import { classifySmtpError } from '../src/notify/send-schedule';
import { buildTemplateVars, DEFAULT_CHECKLIST_LABELS } from '../src/notify/template-vars';
import type { Mailer } from '../src/mailer';
import { CHECKLIST_IDS } from '../src/policy/policy-types';
import type { MailJob } from '../src/queues';
import type { CaseStore } from '../src/store/case-store';
import type { Case, CaseMessage, Notice } from '../src/types';

/**
 * The mail worker: every automatic mail secdesk sends. When a job fires it re-reads the case and
 * does nothing if that mail was already sent (at most one acknowledgement per case, whatever the
 * retries). Rate limits hold mail back (recorded on the case) rather than drop it; temporary SMTP
 * failures are thrown so BullMQ retries on the schedule in send-schedule.ts; permanent ones are
 * recorded on the case and not retried.
 */

export interface PgpOut {
  /** The reporter's public key, when known (configured, imported or pinned). */
  hasKeyFor(address: string): Promise<boolean>;
  encrypt(mail: SendMailOptions, to: string, realSubject: string): Promise<{ raw: Buffer; envelope: { from: string; to: string[] } }>;
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

const REPORTER_PURPOSES = new Set<MailJob['purpose']>(['ack', 'support_redirect', 'chaser_reply', 'resolution', 'undecryptable', 'encrypted_no_key']);

function noticeKey(job: MailJob): string {
  return job.seq === undefined ? job.purpose : `${job.purpose}#${job.seq}`;
}

function labelsFor(ids: unknown): string[] | null {
  if (!Array.isArray(ids)) return null;
  return ids
    .map((id) => DEFAULT_CHECKLIST_LABELS[CHECKLIST_IDS.indexOf(id as (typeof CHECKLIST_IDS)[number])] ?? null)
    .filter((x): x is string => x !== null);
}

/** The message a mail answers: the report, or for a chaser reply the latest follow-up. */
function inboundFor(c: Case, job: MailJob): { ref: InboundRef; msg: CaseMessage | undefined } {
  let msg = c.messages[0];
  if (job.purpose === 'chaser_reply' || job.purpose === 'command_errors') msg = (job.seq !== undefined ? c.messages[job.seq - 1] : undefined) ?? msg;
  const messageId = msg?.message_id && !msg.message_id.endsWith('@secdesk.invalid>') ? msg.message_id : null;
  return { ref: { messageId, references: msg?.references?.filter((r) => r !== messageId) ?? [], subject: c.messages[0]?.subject ?? c.subject }, msg };
}

export function createMailProcessor(deps: MailWorkerDeps): (job: MailJob, firstTriedAt: number) => Promise<MailOutcome> {
  const { cfg, store, mailer, renderer, clock } = deps;

  async function note(c: Case, job: MailJob, n: Omit<Notice, 'purpose' | 'at'>, extra?: (x: Case) => void): Promise<void> {
    const at = clock.now().toISOString();
    await store.update(c.id, (x) => {
      const notices = (x.notices ?? []).filter((p) => !(p.purpose === noticeKey(job) && p.status === 'held'));
      x.notices = [...notices, { purpose: noticeKey(job), at, ...n }].slice(-100);
      extra?.(x);
      return { value: x, result: undefined };
    });
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

  return async function process(job, firstTriedAt) {
    const c = await store.mustGet(job.caseId);
    const key = noticeKey(job);
    if ((c.notices ?? []).some((n) => n.purpose === key && (n.status === 'sent' || n.status === 'failed' || n.status === 'suppressed'))) return { status: 'done' };
    if (job.purpose === 'ack' && c.acknowledged_at) return { status: 'done' };

    if (job.purpose === 'spoof_report') {
      const out = await sendSpoofReport(c, job);
      await note(c, job, { status: out.status === 'sent' ? 'sent' : 'suppressed', detail: out.detail });
      return out;
    }

    const reporterMail = REPORTER_PURPOSES.has(job.purpose);
    let to = c.reply_to;
    if (job.purpose === 'command_errors') to = c.messages[(job.seq ?? 0) - 1]?.from ?? '';
    if (reporterMail) {
      if (!c.auto_reply?.allowed) {
        await note(c, job, { status: 'suppressed', detail: c.auto_reply?.reason ?? 'automatic replies are not allowed for this case' });
        return { status: 'suppressed' };
      }
      if ((c.bouncing ?? []).includes(to)) {
        await note(c, job, { status: 'suppressed', to, detail: `${to} is bouncing` });
        return { status: 'suppressed' };
      }
      const rate = await deps.rateLimiter.take(to);
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

    // Encrypted report: answer encrypted when we can; otherwise say nothing beyond the case ID.
    const encryptTo = c.encrypted && deps.pgp && reporterMail && (await deps.pgp.hasKeyFor(to)) ? deps.pgp : null;
    // Without the reporter's key an encrypted report's ack may say nothing but the case ID.
    const purpose = (job.purpose === 'ack' && c.encrypted && !encryptTo ? 'encrypted_no_key' : job.purpose) as AutoReplyPurpose;
    const missing = labelsFor((c.fields as { missing?: unknown }).missing);
    const unsupported = (c.fields as { unsupported_versions?: unknown }).unsupported_versions;
    const vars = buildTemplateVars(c, cfg, {
      missing,
      unsupported_versions: Array.isArray(unsupported) ? (unsupported as string[]) : [],
      command_errors: job.purpose === 'command_errors' ? c.timeline.filter((t) => t.event === 'command.error').slice(-20).map((t) => t.detail ?? '') : [],
      advisory_url: c.advisory_url ?? null,
      key_fingerprint: deps.pgp?.teamFingerprint ?? null,
      encrypted_reply: !!encryptTo,
    });
    const rendered = renderer.render(TEMPLATE_FOR_PURPOSE[purpose], vars);
    const { ref } = inboundFor(c, job);
    const mail = composeAutoReply(purpose, c, ref, rendered, cfg, deps.secret, {
      ...(job.seq !== undefined && (purpose === 'chaser_reply' || purpose === 'command_errors') ? { seq: job.seq } : {}),
      to,
      subjectTagOnly: c.encrypted,
    });
    const messageId = String(mail.messageId);
    try {
      if (encryptTo) await mailer.send({ ...(await encryptTo.encrypt(mail, to, c.subject)), messageId });
      else await mailer.send(mail);
    } catch (err) {
      const e = classifySmtpError(err);
      if (e.retryable) throw e;
      deps.log.warn({ caseId: c.id, purpose: key, err: { message: coerceError(err).message } }, 'mail.failed');
      await note(c, job, { status: 'failed', to, detail: e.message.slice(0, 300) }, (x) => x.timeline.push({ at: clock.now().toISOString(), event: 'mail.failed', detail: `${key}: ${e.message.slice(0, 200)}` }));
      return { status: 'failed', detail: e.message };
    }
    const at = clock.now().toISOString();
    await note(c, job, { status: 'sent', to, message_id: messageId }, (x) => {
      if (job.purpose === 'ack') x.acknowledged_at ??= at;
      x.messages.push({ message_id: messageId, from: fromAddress(cfg), date: at, direction: 'out', kind: job.purpose === 'ack' ? 'ack' : 'notice', subject: String(mail.subject ?? '').slice(0, 300) });
      x.timeline.push({ at, event: `mail.${job.purpose}`, detail: encryptTo ? 'sent PGP-encrypted' : 'sent' });
    });
    await store.indexMessageIds(c.id, [messageId]);
    deps.log.info({ caseId: c.id, purpose: key, encrypted: !!encryptTo }, 'mail.sent');
    return { status: 'sent' };
  };
}
