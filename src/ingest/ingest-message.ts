import type { Redis } from 'ioredis';
import type { Clock } from '../clock';
import type { Config } from '../config';
import { ownAddresses } from '../config';
import { TransientError } from '../errors';
import type { Logger } from '../log';
import type { AuthVerdicts } from '../notify/auto-reply-policy';
import { mayAutoReply } from '../notify/auto-reply-policy';
import { isOwnMessageId, messageIdDomain } from '../notify/message-id';
import { parseMessage, RawReadError } from '../parse/parse-message';
import { detectRobot } from '../parse/robot';
import type { IngestJob, MailJob, Queues } from '../queues';
import { jobIds, mailboxTag } from '../queues';
import { armTimers, queueChaser, queueResolve } from '../sla/arm-timers';
import type { EscalationPolicy } from '../sla/escalation-policy';
import type { CaseStore, StoredCase } from '../store/case-store';
import type { RawMessage } from '../store/raw-store';
import type { Case, ParsedMessage, SignatureStatus } from '../types';
import type { SenderVerdict } from './attach-message';
import { attachToCase } from './attach-message';
import type { InboundMeta } from './case-draft';
import { dedupeKey, draftCase } from './case-draft';
import { caseTag, routeMessage, threadingIds } from './route';

/**
 * The ingest stage: one IMAP message in, one durable outcome out — a new case, a message attached
 * to a case, or a recorded skip — and the follow-up work (acknowledgement, SLA timers, pages)
 * queued with deterministic IDs. Running it twice for the same message changes nothing: the outcome
 * is keyed by the message's dedupe key in the same atomic write that records it.
 */

export interface TriageOutcome {
  kind: 'report' | 'support' | 'spam';
  kind_reason: string;
  fields: Record<string, unknown>;
  related_keys?: string[];
}

/** What the PGP stage makes of a message (see pgp-stage.ts). */
export interface PgpView {
  /** The message as the reporter wrote it: decrypted and re-parsed, or the original. */
  msg: ParsedMessage;
  encrypted: boolean;
  signature: SignatureStatus;
  signatureKey: Case['signature_key'];
  /** Decrypted content to keep sealed to the team key (never stored in clear). */
  decrypted: Buffer | null;
  error: string | null;
  /** Protected subject, when present. */
  subject: string | null;
  /** Fingerprint of a key that signed (for maintainer PGP authentication). */
  signerFingerprint: string | null;
  /** Notes for the case timeline (e.g. a reporter key pinned, or a different key seen). */
  notes: string[];
}

export interface IngestDeps {
  cfg: Config;
  store: CaseStore;
  queues: Queues;
  redis: Redis;
  log: Logger;
  clock: Clock;
  policy: EscalationPolicy;
  messageIdSecret: string | Buffer;
  triage: (msg: ParsedMessage) => TriageOutcome;
  /** Is this mail really from the maintainer it claims? (DKIM / trusted Authentication-Results / PGP) */
  verifySender: (raw: RawMessage, msg: ParsedMessage, pgp: PgpView | null) => Promise<SenderVerdict & { retryable?: boolean }>;
  /** Verdicts of a trusted Authentication-Results header, for the auto-reply rule on forged senders. */
  authVerdicts: (raw: RawMessage, msg: ParsedMessage) => AuthVerdicts | null;
  pgp: { open(raw: RawMessage, msg: ParsedMessage): Promise<PgpView | null>; seal(plain: Buffer): Promise<Buffer> } | null;
  /**
   * Sends a new case's first mail here and now, from the case just written (see app.ts). Without
   * it, or when the mail cannot go out at once (held by a rate limit, SMTP down, any error), the
   * mail is queued as a job like every other.
   */
  sendNow?: (job: MailJob, known: StoredCase) => Promise<SendNowOutcome>;
}

/** What an immediate send came to: done with (sent, suppressed, failed for good) or to be queued. */
export type SendNowOutcome = { status: 'done' } | { status: 'later'; at: number; tries: number };

export type IngestResult =
  | { outcome: 'case'; caseId: string; created: boolean }
  | { outcome: 'attached'; caseId: string }
  | { outcome: 'skip'; reason: string }
  | { outcome: 'seen'; previous: string };

/** Thrown when a message should wait for earlier ones still in flight (threading order). */
export class WaitForEarlierError extends TransientError {
  constructor() {
    super('EWaitEarlier', 'an earlier message of this mailbox is still being ingested');
  }
}

export function createIngest(deps: IngestDeps): (job: IngestJob, opts?: { mayWait?: boolean }) => Promise<IngestResult> {
  const { cfg, store, queues, redis, clock } = deps;
  const own = ownAddresses(cfg);
  const maintainers = new Set(cfg.maintainers);
  const domain = messageIdDomain(cfg);

  async function skip(job: IngestJob, dedupe: string, reason: string, detail: string, msg: ParsedMessage | null, caseId?: string | null): Promise<IngestResult> {
    const r = await store.recordSkip(
      {
        at: job.internalDate,
        reason,
        detail: detail.slice(0, 500),
        message_id: msg?.messageId ?? null,
        from: msg?.from ?? null,
        subject: msg?.subject.slice(0, 200) ?? null,
        raw_key: job.rawKey,
        case_id: caseId ?? null,
      },
      dedupe,
    );
    deps.log.info({ reason, uid: job.uid, skip: r.key }, 'ingest.skipped');
    if (msg && r.recorded && dedupe.startsWith('mid:')) await remember(msg, r.outcome);
    return r.recorded ? { outcome: 'skip', reason } : { outcome: 'seen', previous: r.outcome };
  }

  async function queueMail(job: MailJob, at?: number): Promise<void> {
    // Only the first mail of a case may carry `tries` (see firstMail); the ID never depends on it.
    const delay = at === undefined ? 0 : Math.max(0, at - clock.now().getTime());
    await queues.mail.add(job.purpose, job, { jobId: jobIds.mail(job), attempts: 1000, ...(delay > 0 ? { delay } : {}) });
  }

  /**
   * A new case's first mail: sent in this job when it can be (a backlog then costs one job per
   * message, not two), queued otherwise. Either way the mail processor's send claim keeps it to one
   * send, and a re-run of this job queues the mail job, which finds it sent.
   */
  async function firstMail(job: MailJob, known: StoredCase | null): Promise<void> {
    if (!deps.sendNow || !known) return queueMail(job);
    let out: SendNowOutcome;
    try {
      out = await deps.sendNow(job, known);
    } catch (err) {
      deps.log.warn({ caseId: job.caseId, purpose: job.purpose, err: { message: (err as Error).message } }, 'ingest.mail_queued');
      return queueMail(job);
    }
    if (out.status === 'later') await queueMail(out.tries > 0 ? { ...job, tries: out.tries } : job, out.at);
  }

  // Big mail is ingested one at a time per process: a few 20 MB attachments parsed at once would
  // multiply the memory they take (raw, decoded, hashed) for no gain in throughput.
  let bigChain: Promise<unknown> = Promise.resolve();
  return async function ingest(job, opts = {}) {
    if (job.size < BIG_MESSAGE_BYTES) return ingestOne(job, opts);
    const run = bigChain.then(() => ingestOne(job, opts));
    bigChain = run.catch(() => undefined);
    return run;
  };

  /** After a Message-ID keyed outcome, its bytes are known too (to tell re-delivery from reuse). */
  async function remember(msg: ParsedMessage, outcome: string): Promise<void> {
    if (msg.messageId) await store.markSeen(`sha:${msg.contentHash}`, outcome);
  }

  async function ingestOne(job: IngestJob, opts: { mayWait?: boolean }): Promise<IngestResult> {
    const log = deps.log.child({ uid: job.uid, folder: job.folder });
    const uidDedupe = `uid:${mailboxTag(job.mailbox)}-${job.uidValidity}-${job.uid}`;
    // Held in memory when small; a big one is streamed from the store into the parser.
    const raw = await store.rawMessage(job.rawKey);
    if (!raw) return skip(job, uidDedupe, 'raw_missing', 'the raw message was not found in the store', null);
    if (job.size > cfg.limits.max_message_bytes) {
      const head = await parseMessage(raw, cfg.limits).catch(() => null);
      return skip(job, head ? dedupeKey(head) : uidDedupe, 'too_large', `message of ${job.size} bytes is over limits.max_message_bytes (${cfg.limits.max_message_bytes}); headers kept, mail left in the mailbox`, head);
    }

    let outer: ParsedMessage;
    try {
      outer = await parseMessage(raw, cfg.limits);
    } catch (err) {
      if (err instanceof RawReadError) throw err; // the store failed, not the message: retried
      const e = err as Error;
      return skip(job, uidDedupe, 'unparseable', e.message, null);
    }
    const dedupe = dedupeKey(outer);
    const previous = await store.outcome(dedupe);
    if (previous) {
      // The same bytes again (a re-delivery, a re-scan) are the same message. Other bytes under a
      // Message-ID we already have are a different message: kept as a skip, never dropped.
      const sameBytes = dedupe.startsWith('sha:') || (await store.outcome(`sha:${outer.contentHash}`)) !== null;
      if (sameBytes) return { outcome: 'seen', previous };
      if (isOwnMessageId(outer.messageId, domain, deps.messageIdSecret)) {
        // Another copy of our own mail (altered on the way back): the more telling reason.
        const caseId = outer.messageId ? await store.caseForMessageId(outer.messageId) : null;
        return skip(job, `sha:${outer.contentHash}`, 'own_mail', 'a copy of a message secdesk itself sent', outer, caseId);
      }
      return skip(job, `sha:${outer.contentHash}`, 'duplicate', `another message with Message-ID ${outer.messageId ?? '?'} was already handled (${previous})`, outer, previous.startsWith('case:') ? previous.slice(5) : null);
    }

    const pgp = deps.pgp && job.folder === 'inbox' ? await deps.pgp.open(raw, outer) : null;
    const msg = pgp?.msg ?? outer;
    // What is recorded of an encrypted message: its protected Subject is plaintext and stays inside
    // the ciphertext (the raw mail, and the sealed copy of a new case).
    const stored = pgp?.encrypted && pgp.subject ? { ...msg, subject: '(encrypted)' } : msg;
    const meta: InboundMeta = { ref: { mailbox: job.mailbox, uidValidity: job.uidValidity, uid: job.uid }, internalDate: job.internalDate, rawKey: job.rawKey };

    const robot = detectRobot(outer, { ownAddresses: own });
    const ids = threadingIds(outer);
    const threadedId = (await store.casesForMessageIds(ids)).find((x): x is string => !!x) ?? null;
    const tag = caseTag(msg.subject) ?? caseTag(outer.subject);
    const bouncedId = outer.bouncedMessageIds.length ? ((await store.casesForMessageIds(outer.bouncedMessageIds)).find((x): x is string => !!x) ?? null) : null;
    const [threadedCase, taggedCase, bouncedCase] = await Promise.all([
      threadedId ? store.get(threadedId) : null,
      tag ? store.get(tag) : null,
      bouncedId ? store.get(bouncedId) : null,
    ]);
    const route = routeMessage({
      msg,
      folder: job.folder,
      robot,
      threadedCase,
      taggedCase,
      bouncedCase,
      maintainers,
      ownAddresses: own,
      isOwnMessage: isOwnMessageId(outer.messageId, domain, deps.messageIdSecret),
    });

    if (route.action === 'skip') return skip(job, dedupe, route.reason, route.detail, stored, route.caseId);

    if (route.action === 'attach') {
      const sender = route.kind === 'maintainer_reply' && job.folder === 'inbox' ? await deps.verifySender(raw, msg, pgp) : null;
      if (sender && !sender.authenticated && sender.retryable) throw new TransientError('EAuthTemp', `sender verification failed temporarily: ${sender.reason}`);
      const res = await store.update(route.caseId, (c) => {
        const fx = attachToCase(c, { msg: stored, meta, kind: route.kind, folder: job.folder, sender, maintainers, own });
        return { value: c, result: fx };
      }, { dedupe, messageIds: outer.messageId ? [outer.messageId] : [] });
      if (!res.applied) return { outcome: 'seen', previous: res.outcome };
      await remember(outer, `case:${route.caseId}`);
      const fx = res.result;
      const c = res.value;
      log.info({ caseId: c.id, kind: route.kind, by: route.by, spoof: !!fx.spoof }, 'ingest.attached');
      if (fx.spoof) await queueMail({ caseId: c.id, purpose: 'spoof_report', seq: c.messages.length });
      const errors = fx.commandResults.filter((r) => !r.ok);
      if (errors.length > 0) await queueMail({ caseId: c.id, purpose: 'command_errors', seq: c.messages.length });
      if (fx.resolved) await queueMail({ caseId: c.id, purpose: 'resolution' });
      if (fx.clocksMet.length > 0 || fx.resolved) await queueResolve(c, queues);
      if (fx.clocksMet.length > 0 || fx.commandResults.length > 0) await armTimers(c, deps.policy, queues, clock);
      if (fx.chaser) {
        await queueChaser(c, queues);
        await queueMail({ caseId: c.id, purpose: 'chaser_reply', seq: c.messages.length });
      }
      return { outcome: 'attached', caseId: c.id };
    }

    // A new case. A message that names a thread we do not know yet may be a reply to a message
    // still being ingested (they arrived together): wait for earlier UIDs before opening a case.
    if (opts.mayWait && (ids.length > 0 || tag)) {
      const earlier = await redis.zcount(`${cfg.redis.prefix}:inflight:${mailboxTag(job.mailbox)}`, '-inf', `(${job.uid}`);
      if (earlier > 0) throw new WaitForEarlierError();
    }

    const t = deps.triage(msg);
    if (t.kind === 'spam') return skip(job, dedupe, 'spam', t.kind_reason, stored);
    const autoReply = mayAutoReply(outer, { cfg, authResults: deps.authVerdicts(raw, outer) });
    const draft = draftCase({
      msg,
      meta,
      kind: t.kind,
      fields: t.fields,
      kindReason: t.kind_reason,
      own,
      autoReply: autoReply.allowed ? { allowed: true, to: autoReply.to } : { allowed: false, code: autoReply.code, reason: autoReply.reason },
      encrypted: pgp?.encrypted ?? false,
      signature: pgp?.signature ?? 'none',
      signatureKey: pgp?.signatureKey ?? null,
      subject: pgp?.subject ?? msg.subject,
      warnings: [...outer.warnings, ...(pgp?.error ? [`PGP: ${pgp.error}`] : []), ...(pgp?.notes ?? [])],
    });
    if (pgp?.encrypted) {
      // Only structured fields stay in clear; excerpts and the text itself are sealed.
      draft.fields = redactExcerpts(draft.fields);
      draft.subject = pgp.subject ? '(encrypted subject)' : draft.subject;
      draft.messages.forEach((m) => (m.subject = '(encrypted)'));
    }
    const relatedKeys = t.related_keys ?? [];
    draft.related = await relatedCases(relatedKeys);
    // The content hash and the related-case index are written with the case (one round trip);
    // a repeat run (the case existed already) writes them itself, in case the first run did not.
    const created = await store.createCase(draft, dedupe, outer.messageId ? [outer.messageId] : [], {
      alsoSeen: outer.messageId ? [`sha:${outer.contentHash}`] : [],
      related: relatedKeys,
      relatedMax: RELATED_INDEX_MAX,
    });
    if (!created.caseId) return { outcome: 'seen', previous: created.outcome };
    const caseId = created.caseId;
    if (!created.created) await remember(outer, created.outcome);
    // Just created from the draft: no need to read it back (a repeat reads what the first run wrote).
    let c: Case = created.created ? { id: caseId, ...draft } : await store.mustGet(caseId);
    // The bytes `c` was written as, while this run knows them (a first mail can start from them).
    let known: StoredCase | null = created.created && created.stored ? { value: c, stored: created.stored } : null;
    if (created.created) log.info({ caseId, kind: t.kind }, 'ingest.case_created');

    if (pgp?.decrypted && !c.sealed_key) {
      const sealedKey = `sealed-${caseId}`;
      await store.putRaw(sealedKey, await deps.pgp!.seal(pgp.decrypted));
      const r = await store.update(caseId, (x) => (x.sealed_key ? null : { value: { ...x, sealed_key: sealedKey }, result: undefined }), known ? { base: known.stored } : {});
      if (r.applied) c = r.value;
      known = r.applied ? { value: r.value, stored: r.stored } : null;
    }
    if (!created.created) await indexRelated(c, relatedKeys);
    if (t.kind === 'support') {
      if (c.auto_reply?.allowed) await firstMail({ caseId, purpose: 'support_redirect' }, known);
    } else {
      // The clocks are armed before the mail goes out: a slow SMTP server never delays them.
      await armTimers(c, deps.policy, queues, clock);
      if (c.auto_reply?.allowed) await firstMail({ caseId, purpose: pgp?.encrypted && !pgp.decrypted ? 'undecryptable' : 'ack' }, known);
    }
    return { outcome: 'case', caseId, created: created.created };
  }

  /**
   * Cases this report is related to: the most recent ones filed under the same keys (issue type +
   * paths, PoC hash). Read before the case is created so the link is part of the one atomic write;
   * a link is one-way (the older case is not rewritten), so a flood of one bug costs no extra writes.
   */
  async function relatedCases(keys: string[]): Promise<string[]> {
    if (keys.length === 0) return [];
    // Plain commands: the connection auto-pipelines them (an explicit pipeline costs more to build).
    const lists = await Promise.all(keys.map((k) => redis.zrevrange(`${cfg.redis.prefix}:related:${k}`, 0, RELATED_MAX - 1)));
    return [...new Set(lists.flat())].sort().slice(-RELATED_MAX);
  }

  async function indexRelated(c: Case, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const pipe = redis.pipeline();
    for (const k of keys) {
      const key = `${cfg.redis.prefix}:related:${k}`;
      pipe.zadd(key, Date.parse(c.received_at) || 0, c.id);
      pipe.zremrangebyrank(key, 0, -(RELATED_INDEX_MAX + 1));
    }
    await pipe.exec();
  }
}

/** Messages at least this big are ingested one at a time per process (bounded memory). */
const BIG_MESSAGE_BYTES = 2 * 1024 * 1024;

/** At most this many related cases on one case, and kept per key in the index. */
const RELATED_MAX = 20;
const RELATED_INDEX_MAX = 200;

/** Evidence excerpts quote the report: for an encrypted report they stay inside the sealed copy. */
export function redactExcerpts(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && 'excerpt' in (v as Record<string, unknown>)) {
      out[k] = { ...(v as Record<string, unknown>), excerpt: (v as { excerpt: unknown }).excerpt ? '(encrypted)' : null };
    } else out[k] = v;
  }
  return out;
}

