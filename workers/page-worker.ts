import { UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Clock } from '../src/clock';
import { PagerPermanentError } from '../src/pager/errors';
import type { Config } from '../src/config';
import { coerceError } from '../src/errors';
import type { Logger } from '../src/log';
import type { PagerChannel, PagerMail } from '../src/pager/types';
import type { PageJob } from '../src/queues';
import type { EscalationPolicy, EscalationStep, SlaClock } from '../src/sla/escalation-policy';
import { buildPageEvent } from '../src/sla/page-event';
import { isClockOpen } from '../src/sla/sla-decide';
import type { CaseStore } from '../src/store/case-store';

/**
 * One page to one channel. Retried on its own schedule (src/pager/retry.ts, or `pager_retry:`) by
 * BullMQ; a trigger whose clock was met while it was retrying is not sent (the resolve for it went
 * out already). A page that still fails after its retries goes to `createPageFailureHandler`.
 */

export interface PageDeps {
  cfg: Config;
  store: CaseStore;
  channels: Map<string, PagerChannel>;
  policy: EscalationPolicy;
  clock: Clock;
  log: Logger;
}

/** The SLA clock a page job belongs to (the chaser page belongs to acknowledge). */
export function pageClock(stepId: string): SlaClock {
  return stepId.startsWith('respond') ? 'respond' : 'acknowledge';
}

export function createPageProcessor(deps: PageDeps): (job: PageJob) => Promise<string> {
  return async function process(job) {
    const c = await deps.store.get(job.caseId);
    if (!c) return 'case not found';
    const channel = deps.channels.get(job.channel);
    if (!channel) return `no channel ${job.channel}`;
    const governing = pageClock(job.stepId);
    if (job.action === 'trigger' && !isClockOpen(c, governing)) return 'clock met before the page went out';
    const clockName = job.stepId.startsWith('chaser') ? 'chaser' : governing;
    const step: EscalationStep =
      deps.policy.steps.find((s) => s.id === job.stepId) ??
      ({ id: job.stepId, clock: clockName, level: 1, at: 0, notify: [job.channel] } as EscalationStep);
    const ev = buildPageEvent(c, step, deps.cfg.sla, new Date(job.firedAt));
    try {
      if (job.action === 'trigger') await channel.trigger(ev);
      else await channel.resolve(ev);
    } catch (err) {
      // A rejected page (wrong routing key, 4xx) will not fix itself: end the job now.
      if (err instanceof PagerPermanentError) throw new UnrecoverableError(err.message);
      throw err;
    }
    deps.log.info({ caseId: c.id, channel: job.channel, action: job.action, step: job.stepId }, 'page.sent');
    if (job.action === 'trigger') {
      // The clock may have been met while this trigger was on the wire, and its resolve may have
      // reached the pager first (and been dropped there). Resolve again: a second resolve is a no-op.
      const after = await deps.store.get(job.caseId);
      if (after && !isClockOpen(after, governing)) {
        await channel.resolve(ev).catch((e: unknown) => deps.log.warn({ caseId: c.id, channel: job.channel, err: { message: coerceError(e).message } }, 'page.late_resolve_failed'));
        return 'sent, then resolved (clock met meanwhile)';
      }
    }
    return 'sent';
  };
}

export interface PageFailureDeps {
  cfg: Config;
  store: CaseStore;
  redis: Pick<Redis, 'hincrby'>;
  clock: Clock;
  log: Logger;
  /** Mail to the maintainers (the same transport as every other mail). */
  sendMail: (mail: PagerMail) => Promise<unknown>;
}

/** Redis hash of counters: `pages_failed:<channel>` → pages given up after their retries. */
export function statsKey(prefix: string): string {
  return `${prefix}:stats`;
}

/**
 * A page that failed for good (retries used up, or refused with a 4xx): counted, recorded on the
 * case timeline, and reported to the maintainers by mail — never silence. Error messages name the
 * channel and the HTTP status, never the URL or key (see src/pager/errors.ts).
 */
export function createPageFailureHandler(deps: PageFailureDeps): (job: PageJob, err: Error) => Promise<void> {
  return async function onPageFailed(job, err) {
    const why = coerceError(err).message.replace(/\s+/g, ' ').slice(0, 300);
    const at = deps.clock.now().toISOString();
    await deps.redis.hincrby(statsKey(deps.cfg.redis.prefix), `pages_failed:${job.channel}`, 1);
    await deps.store
      .update(job.caseId, (x) => {
        x.timeline.push({ at, event: 'page.failed', detail: `${job.channel}: ${job.action} ${job.stepId} not delivered after its retries: ${why}` });
        return { value: x, result: undefined };
      })
      .catch((e: unknown) => deps.log.warn({ caseId: job.caseId, err: { message: coerceError(e).message } }, 'page.failure_unrecorded'));
    if (deps.cfg.maintainers.length === 0) return;
    await deps.sendMail({
      from: deps.cfg.smtp.from,
      to: deps.cfg.maintainers,
      subject: `[secdesk] pager channel ${job.channel} failed for ${job.caseId}`,
      text: [
        `secdesk could not deliver a ${job.action} for case ${job.caseId} (${job.stepId}) to the pager channel "${job.channel}" after all retries.`,
        '',
        `Last error: ${why}`,
        '',
        `Check the channel's configuration under pager: in the config; see the case with: secdesk case ${job.caseId}`,
        '',
      ].join('\n'),
      headers: { 'Auto-Submitted': 'auto-generated', 'X-Secdesk-Case': job.caseId },
    });
  };
}
