import type { Clock } from '../src/clock';
import type { Logger } from '../src/log';
import type { EscalateJob, PageJob, Queues } from '../src/queues';
import { jobIds } from '../src/queues';
import { PAGER_RETRY } from '../src/pager/retry';
import type { EscalationPolicy, EscalationStep } from '../src/sla/escalation-policy';
import { isTimedStep } from '../src/sla/escalation-policy';
import { chaserStepFor, clocksToResolve, dueSteps, fireAt } from '../src/sla/sla-decide';
import type { CaseStore } from '../src/store/case-store';
import type { Case, Escalation } from '../src/types';

/**
 * The escalation worker: SLA timers and chaser pages fire here. Each job re-reads the case and asks
 * the pure SLA core what is due now; a clock met meanwhile means nothing to do. Pages go out as one
 * job per channel (so one failing pager never delays another), queued *before* the escalation is
 * recorded on the case — a crash in between repeats the (deterministic, so idempotent) queueing.
 */

export interface EscalateDeps {
  store: CaseStore;
  queues: Pick<Queues, 'page' | 'escalate'>;
  policy: EscalationPolicy;
  clock: Clock;
  log: Logger;
}

export type EscalateOutcome = { status: 'fired'; stepId: string; channels: string[] } | { status: 'resolved'; clocks: string[] } | { status: 'nothing'; why: string } | { status: 'early'; fireAt: number };

async function queuePages(queues: EscalateDeps['queues'], c: Case, step: EscalationStep, action: 'trigger' | 'resolve', channels: string[], firedAt: string): Promise<void> {
  if (channels.length === 0) return;
  const jobs: PageJob[] = channels.map((channel) => ({ caseId: c.id, stepId: step.id, channel, action, firedAt }));
  await queues.page.addBulk(jobs.map((data) => ({ name: action, data, opts: { jobId: jobIds.page(data), ...PAGER_RETRY } })));
}

export function createEscalateProcessor(deps: EscalateDeps): (job: EscalateJob) => Promise<EscalateOutcome> {
  const { store, queues, policy, clock } = deps;

  async function fire(c: Case, step: EscalationStep): Promise<EscalateOutcome> {
    const at = clock.now().toISOString();
    await queuePages(queues, c, step, 'trigger', step.notify, at);
    const recorded = await store.update(c.id, (x) => {
      if (x.escalations.some((e) => e.clock === step.clock && e.level === step.level)) return null;
      const e: Escalation = { clock: step.clock, level: step.level, at, channels: step.notify, status: 'sent' };
      x.escalations.push(e);
      x.timeline.push({ at, event: 'escalation', detail: `${step.clock} level ${step.level} → ${step.notify.length ? step.notify.join(', ') : 'log only (no pager configured)'}` });
      return { value: x, result: undefined };
    });
    if (recorded.applied) deps.log.warn({ caseId: c.id, step: step.id, channels: step.notify }, 'sla.escalated');
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
      // A job that fires early (clock skew between machines) is not an escalation yet.
      if (when > now.getTime()) return { status: 'early', fireAt: when };
      if (!dueSteps(c, policy, now).some((s) => s.id === step.id)) return { status: 'nothing', why: 'clock met, case closed or step already fired' };
      return fire(c, step);
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
      await queuePages(queues, c, step, 'resolve', channels, at);
    }
    await store.update(c.id, (x) => {
      const clocks = new Set(toResolve.map((r) => r.clock));
      x.escalations = x.escalations.map((e) => (clocks.has(e.clock as never) && e.status === 'sent' ? { ...e, status: 'resolved' } : e));
      x.timeline.push({ at, event: 'escalation.resolved', detail: [...clocks].join(', ') });
      return { value: x, result: undefined };
    });
    return { status: 'resolved', clocks: toResolve.map((r) => r.clock) };
  };
}
