import type { Clock } from '../clock';
import type { EscalateJob, Queues } from '../queues';
import type { Case } from '../types';
import type { DeadlineEntry, DeadlineIndex } from './deadline-index';
import type { EscalationPolicy } from './escalation-policy';
import { escalationJobId, isClockOpen, pendingSteps } from './sla-decide';

/** Retries of one escalate job (a Redis hiccup, a conflict); the case record makes repeats harmless. */
const ESCALATE_JOB = { attempts: 10, backoff: { type: 'exponential', delay: 1000 } } as const;

/** What armTimers needs: the escalate queue, and the deadline index when there is one. */
export type TimerQueues = Pick<Queues, 'escalate'> & { deadlines?: DeadlineIndex | null };

/**
 * The delayed job of one timed step: the same deterministic ID whether it is armed here or by the
 * timer sweep from the deadline index, so arming twice is a no-op.
 */
export function timerJob(e: DeadlineEntry, now: number): { name: 'step'; data: EscalateJob; opts: { jobId: string; delay: number } & typeof ESCALATE_JOB } {
  return {
    name: 'step',
    data: { caseId: e.caseId, action: 'step', stepId: e.stepId },
    opts: { jobId: escalationJobId(e.caseId, { id: e.stepId }, e.fireAt), delay: Math.max(0, e.fireAt - now), ...ESCALATE_JOB },
  };
}

/**
 * Arm a case's SLA timers with deterministic IDs. Safe to repeat: an ID that is already waiting is
 * ignored. A step further off than the deadline index's `armAheadMs` (a new case's first step, a
 * day away) only goes into the index, and the timer sweep makes it a delayed job shortly before it
 * falls due; a nearer one becomes a BullMQ delayed job here. Steps whose time has passed (secdesk
 * was down) get delay 0 and fire once; the worker re-reads the case and does nothing when the clock
 * was met meanwhile.
 *
 * With `recheck` (the start-up reconcile), a step still pending whose job already ended — failed after its retries, or completed without
 * recording the step — would otherwise block its own ID forever; it is started again here, so the
 * start-up reconcile can never leave a page behind.
 */
export async function armTimers(c: Case, policy: EscalationPolicy, queues: TimerQueues, clock: Clock, opts: { recheck?: boolean } = {}): Promise<number> {
  if (c.kind === 'support') return 0;
  const now = clock.now().getTime();
  const pending = pendingSteps(c, policy);
  if (pending.length === 0) return 0;
  // Only the next step (or the steps sharing its time) is armed: one timer per open case, not
  // one per step — memory and Redis work stay flat with 100,000 open cases. The escalate worker arms
  // the following step when this one has fired, and the start-up reconcile arms whatever is next.
  const next = Math.min(...pending.map((s) => s.fireAt.getTime()));
  const entries: DeadlineEntry[] = pending.filter((s) => s.fireAt.getTime() === next).map((s) => ({ caseId: c.id, stepId: s.stepId, fireAt: next }));
  const index = queues.deadlines;
  if (index && index.armAheadMs > 0 && next - now > index.armAheadMs) {
    // Its job does not exist yet, so there is nothing for `recheck` to look at.
    await index.add(entries);
    return entries.length;
  }
  const jobs = entries.map((e) => timerJob(e, now));
  // Usually one step: a plain add is one script call, where addBulk builds a MULTI pipeline (which
  // copies every BullMQ command definition of the connection: measurable per new case).
  if (jobs.length === 1) await queues.escalate.add(jobs[0]!.name, jobs[0]!.data, jobs[0]!.opts);
  else await queues.escalate.addBulk(jobs);
  if (!opts.recheck) return jobs.length;
  for (const { data, opts: o } of jobs) {
    const state = await queues.escalate.getJobState(o.jobId);
    if (state === 'failed') {
      const job = await queues.escalate.getJob(o.jobId);
      await job?.retry('failed').catch(() => undefined); // another process may have retried it first
    } else if (state === 'completed' && next <= now) {
      await queues.escalate.add('step', data, { jobId: `${o.jobId}-again-${now}`, ...ESCALATE_JOB });
    }
  }
  return jobs.length;
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
