import type { Clock } from '../clock';
import type { Queues } from '../queues';
import type { Case } from '../types';
import type { EscalationPolicy } from './escalation-policy';
import { isClockOpen, pendingSteps } from './sla-decide';

/** Retries of one escalate job (a Redis hiccup, a conflict); the case record makes repeats harmless. */
const ESCALATE_JOB = { attempts: 10, backoff: { type: 'exponential', delay: 1000 } } as const;

/**
 * Arm a case's SLA timers as BullMQ delayed jobs with deterministic IDs. Safe to repeat: an ID that
 * is already waiting is ignored. Steps whose time has passed (secdesk was down) get delay 0 and fire
 * once; the worker re-reads the case and does nothing when the clock was met meanwhile.
 *
 * With `recheck` (the start-up reconcile), a step still pending whose job already ended — failed after its retries, or completed without
 * recording the step — would otherwise block its own ID forever; it is started again here, so the
 * start-up reconcile can never leave a page behind.
 */
export async function armTimers(c: Case, policy: EscalationPolicy, queues: Pick<Queues, 'escalate'>, clock: Clock, opts: { recheck?: boolean } = {}): Promise<number> {
  if (c.kind === 'support') return 0;
  const now = clock.now().getTime();
  const pending = pendingSteps(c, policy);
  if (pending.length === 0) return 0;
  // Only the next step (or the steps sharing its time) is armed: one delayed job per open case, not
  // one per step — memory and Redis work stay flat with 100,000 open cases. The escalate worker arms
  // the following step when this one has fired, and the start-up reconcile arms whatever is next.
  const next = Math.min(...pending.map((s) => s.fireAt.getTime()));
  const steps = pending.filter((s) => s.fireAt.getTime() === next);
  const data = (stepId: string) => ({ caseId: c.id, action: 'step' as const, stepId });
  const jobs = steps.map((s) => ({
    name: 'step',
    data: data(s.stepId),
    opts: { jobId: s.jobId, delay: Math.max(0, s.fireAt.getTime() - now), ...ESCALATE_JOB },
  }));
  // Usually one step: a plain add is one script call, where addBulk builds a MULTI pipeline (which
  // copies every BullMQ command definition of the connection: measurable per new case).
  if (jobs.length === 1) await queues.escalate.add(jobs[0]!.name, jobs[0]!.data, jobs[0]!.opts);
  else await queues.escalate.addBulk(jobs);
  if (!opts.recheck) return steps.length;
  for (const s of steps) {
    const state = await queues.escalate.getJobState(s.jobId);
    if (state === 'failed') {
      const job = await queues.escalate.getJob(s.jobId);
      await job?.retry('failed').catch(() => undefined); // another process may have retried it first
    } else if (state === 'completed' && s.fireAt.getTime() <= now) {
      await queues.escalate.add('step', data(s.stepId), { jobId: `${s.jobId}-again-${now}`, ...ESCALATE_JOB });
    }
  }
  return steps.length;
}

/** Queue the pager `resolve` for clocks just met. One job per case and set of met clocks. */
export async function queueResolve(c: Case, queues: Pick<Queues, 'escalate'>): Promise<void> {
  const met = (['acknowledge', 'respond'] as const).filter((k) => !isClockOpen(c, k));
  if (met.length === 0 || c.escalations.length === 0) return;
  await queues.escalate.add('resolve', { caseId: c.id, action: 'resolve' }, { jobId: `res-${c.id}-${met.join('-')}`, ...ESCALATE_JOB });
}

/** Queue the chaser page: one job per case (a second chaser is a no-op, and the worker checks too). */
export async function queueChaser(c: Case, queues: Pick<Queues, 'escalate'>): Promise<void> {
  await queues.escalate.add('chaser', { caseId: c.id, action: 'chaser' }, { jobId: `chase-${c.id}`, ...ESCALATE_JOB });
}
