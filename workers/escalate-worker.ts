import type { Clock } from '../src/clock';
import type { Logger } from '../src/log';
import type { EscalateJob, PageJob, Queues } from '../src/queues';
import { jobIds } from '../src/queues';
import { PAGER_RETRY } from '../src/pager/retry';
import type { EscalationPolicy, EscalationStep, SlaClock } from '../src/sla/escalation-policy';
import { isTimedStep } from '../src/sla/escalation-policy';
import { armTimers } from '../src/sla/arm-timers';
import type { TimerQueues } from '../src/sla/arm-timers';
import { chaserStepFor, clocksToResolve, dueSteps, escalationJobId, fireAt, isClockOpen } from '../src/sla/sla-decide';
import type { CaseStore } from '../src/store/case-store';
import type { Case, Escalation } from '../src/types';

/**
 * The escalation worker: SLA timers and chaser pages fire here. Each job re-reads the case and asks
 * the pure SLA core what is due now; a clock met meanwhile means nothing to do. Pages go out as one
 * job per channel (so one failing pager never delays another), queued *before* the escalation is
 * recorded on the case — a crash in between repeats the (deterministic, so idempotent) queueing.
 * Several jobs for the same step are harmless: the step is recorded on the case once, and page job
 * IDs are per case, step, channel and action.
 */

export interface EscalateDeps {
  store: CaseStore;
  queues: Pick<Queues, 'page'> & TimerQueues;
  policy: EscalationPolicy;
  clock: Clock;
  log: Logger;
  /**
   * Attempts of one page job (the first try and its retries). Must match the page worker's backoff
   * schedule, so the job that runs out of retries is seen as failed for good and reported.
   * @defaultValue PAGER_RETRY.attempts (the built-in schedule in src/pager/retry.ts)
   */
  pageAttempts?: number;
}

export type EscalateOutcome = { status: 'fired'; stepId: string; channels: string[] } | { status: 'resolved'; clocks: string[] } | { status: 'nothing'; why: string } | { status: 'early'; fireAt: number };

/** The clock whose being met makes a step's page moot: the chaser page belongs to acknowledge. */
export function governingClock(step: Pick<EscalationStep, 'clock'>): SlaClock {
  return step.clock === 'chaser' ? 'acknowledge' : step.clock;
}

export function createEscalateProcessor(deps: EscalateDeps): (job: EscalateJob) => Promise<EscalateOutcome> {
  const { store, queues, policy, clock } = deps;
  const pageOpts = { attempts: deps.pageAttempts ?? PAGER_RETRY.attempts, backoff: PAGER_RETRY.backoff };

  async function queuePages(c: Case, step: EscalationStep, action: 'trigger' | 'resolve', channels: string[], firedAt: string): Promise<void> {
    if (channels.length === 0) return;
    const jobs: PageJob[] = channels.map((channel) => ({ caseId: c.id, stepId: step.id, channel, action, firedAt }));
    await queues.page.addBulk(jobs.map((data) => ({ name: action, data, opts: { jobId: jobIds.page(data), ...pageOpts } })));
  }

  async function fire(c: Case, step: EscalationStep): Promise<EscalateOutcome> {
    const at = clock.now().toISOString();
    await queuePages(c, step, 'trigger', step.notify, at);
    const recorded = await store.update(c.id, (x) => {
      if (x.escalations.some((e) => e.clock === step.clock && e.level === step.level)) return null;
      // Met between our read and this write: the queued pages see it and stay silent; record nothing.
      if (!isClockOpen(x, governingClock(step))) return null;
      const e: Escalation = { clock: step.clock, level: step.level, at, channels: step.notify, status: 'sent' };
      x.escalations.push(e);
      x.timeline.push({ at, event: 'escalation', detail: `${step.clock} level ${step.level} → ${step.notify.length ? step.notify.join(', ') : 'log only (no pager configured)'}` });
      return { value: x, result: undefined };
    });
    if (!recorded.applied) return { status: 'nothing', why: 'clock met or step recorded meanwhile' };
    deps.log.warn({ caseId: c.id, step: step.id, channels: step.notify }, 'sla.escalated');
    return { status: 'fired', stepId: step.id, channels: step.notify };
  }

  return async function process(job) {
    const c = await store.get(job.caseId);
    if (!c) return { status: 'nothing', why: 'case not found' };
    const now = clock.now();

    if (job.action === 'step') {
      const step = policy.steps.find((s) => s.id === job.stepId);
      if (!step || !isTimedStep(step)) return { status: 'nothing', why: `no timed step ${job.stepId} in the policy` };
      const when = fireAt(c, step).getTime();
      if (when > now.getTime()) {
        // Early: clocks differ between machines, or the policy moved the step later. Wait again in
        // a new job (this one's ID stays taken once it completes); a second timer is harmless.
        const jobId = `${escalationJobId(c.id, step, when)}-early-${now.getTime()}`;
        await queues.escalate.add('step', job, { jobId, delay: when - now.getTime(), attempts: 10, backoff: { type: 'exponential', delay: 1000 } });
        return { status: 'early', fireAt: when };
      }
      const out = dueSteps(c, policy, now).some((s) => s.id === step.id) ? await fire(c, step) : ({ status: 'nothing', why: 'clock met, case closed or step already fired' } as const);
      // One timer per case is armed at a time: this one is done, so arm whatever comes next.
      const after = await store.get(c.id);
      if (after) await armTimers(after, policy, queues, clock);
      return out;
    }

    if (job.action === 'chaser') {
      const step = chaserStepFor(c, policy);
      if (!step) return { status: 'nothing', why: 'acknowledge clock met or chaser already paged' };
      return fire(c, step);
    }

    const toResolve = clocksToResolve(c);
    if (toResolve.length === 0) return { status: 'nothing', why: 'no open page' };
    const at = now.toISOString();
    for (const { clock: k } of toResolve) {
      const channels = [...new Set(c.escalations.filter((e) => e.clock === k && e.status === 'sent').flatMap((e) => e.channels))];
      const step: EscalationStep = policy.steps.find((s) => s.clock === k) ?? ({ id: `${k}-1`, clock: k, level: 1, at: 0, notify: channels } as EscalationStep);
      await queuePages(c, step, 'resolve', channels, at);
    }
    const clocks = new Set<string>(toResolve.map((r) => r.clock));
    await store.update(c.id, (x) => {
      if (!x.escalations.some((e) => clocks.has(e.clock) && e.status === 'sent')) return null;
      x.escalations = x.escalations.map((e) => (clocks.has(e.clock) && e.status === 'sent' ? { ...e, status: 'resolved' } : e));
      x.timeline.push({ at, event: 'escalation.resolved', detail: [...clocks].join(', ') });
      return { value: x, result: undefined };
    });
    return { status: 'resolved', clocks: toResolve.map((r) => r.clock) };
  };
}

