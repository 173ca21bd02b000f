import type { Clock } from '../clock';
import type { Queues } from '../queues';
import type { Case } from '../types';
import type { EscalationPolicy } from './escalation-policy';
import { isClockOpen, pendingSteps } from './sla-decide';

/**
 * Arm a case's SLA timers as BullMQ delayed jobs with deterministic IDs. Safe to repeat: an ID that
 * is already waiting is ignored. Steps whose time has passed (secdesk was down) get delay 0 and fire
 * once; the worker re-reads the case and does nothing when the clock was met meanwhile.
 */
export async function armTimers(c: Case, policy: EscalationPolicy, queues: Pick<Queues, 'escalate'>, clock: Clock): Promise<number> {
  if (c.kind === 'support') return 0;
  const now = clock.now().getTime();
  const steps = pendingSteps(c, policy);
  if (steps.length === 0) return 0;
  await queues.escalate.addBulk(
    steps.map((s) => ({
      name: 'step',
      data: { caseId: c.id, action: 'step' as const, stepId: s.stepId },
      opts: { jobId: s.jobId, delay: Math.max(0, s.fireAt.getTime() - now), attempts: 10, backoff: { type: 'exponential', delay: 1000 } },
    })),
  );
  return steps.length;
}

/** Queue the pager `resolve` for clocks just met. One job per case and set of met clocks. */
export async function queueResolve(c: Case, queues: Pick<Queues, 'escalate'>): Promise<void> {
  const met = (['acknowledge', 'respond'] as const).filter((k) => !isClockOpen(c, k));
  if (met.length === 0 || c.escalations.length === 0) return;
  await queues.escalate.add(
    'resolve',
    { caseId: c.id, action: 'resolve' },
    { jobId: `res-${c.id}-${met.join('-')}`, attempts: 10, backoff: { type: 'exponential', delay: 1000 } },
  );
}

export async function queueChaser(c: Case, queues: Pick<Queues, 'escalate'>): Promise<void> {
  await queues.escalate.add('chaser', { caseId: c.id, action: 'chaser' }, { jobId: `chase-${c.id}`, attempts: 10, backoff: { type: 'exponential', delay: 1000 } });
}
