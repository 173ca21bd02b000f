import { UnrecoverableError } from 'bullmq';
import type { Clock } from '../src/clock';
import { PagerPermanentError } from '../src/pager/errors';
import type { Config } from '../src/config';
import type { Logger } from '../src/log';
import type { PagerChannel } from '../src/pager/types';
import type { PageJob } from '../src/queues';
import type { EscalationPolicy, EscalationStep } from '../src/sla/escalation-policy';
import { buildPageEvent } from '../src/sla/page-event';
import { isClockOpen } from '../src/sla/sla-decide';
import type { CaseStore } from '../src/store/case-store';

/**
 * One page to one channel. Retried on its own schedule (src/pager/retry.ts) by BullMQ; a trigger
 * whose clock was met while it was retrying is not sent (the resolve for it already went out).
 */

export interface PageDeps {
  cfg: Config;
  store: CaseStore;
  channels: Map<string, PagerChannel>;
  policy: EscalationPolicy;
  clock: Clock;
  log: Logger;
}

export function createPageProcessor(deps: PageDeps): (job: PageJob) => Promise<string> {
  return async function process(job) {
    const c = await deps.store.get(job.caseId);
    if (!c) return 'case not found';
    const channel = deps.channels.get(job.channel);
    if (!channel) return `no channel ${job.channel}`;
    const governing = job.stepId.startsWith('chaser') ? 'acknowledge' : job.stepId.startsWith('respond') ? 'respond' : 'acknowledge';
    if (job.action === 'trigger' && !isClockOpen(c, governing)) return 'clock met before the page went out';
    const step: EscalationStep =
      deps.policy.steps.find((s) => s.id === job.stepId) ??
      ({ id: job.stepId, clock: governing, level: 1, at: 0, notify: [job.channel] } as EscalationStep);
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
    return 'sent';
  };
}
