import type { Case, Escalation } from '../types';
import type { ChaserStep, EscalationClock, EscalationPolicy, EscalationStep, SlaClock, TimedStep } from './escalation-policy';
import { isTimedStep } from './escalation-policy';

/**
 * The SLA core: pure functions of a case, the policy and `now`. No I/O, no clock reads — the worker
 * that calls them re-reads the case first, so a timer that fires late or twice decides from fresh
 * state and does nothing when the clock was met meanwhile.
 */

export interface SlaDurations {
  acknowledge: number;
  respond: number;
}

export interface ClockStatus {
  clock: SlaClock;
  deadline: Date;
  /** When the clock was met (first_response_at / next_steps_at), else null. */
  met_at: Date | null;
  /** Resolved cases close their clocks even when nobody met them. */
  closed: boolean;
  /** deadline − now while open; negative when overdue. For a met clock: deadline − met_at. */
  left_ms: number;
  /** max(0, −left_ms): how late the clock is (or was met). */
  overdue_ms: number;
  breached: boolean;
}

export interface SlaStatus {
  acknowledge: ClockStatus;
  respond: ClockStatus;
}

/** The case field that meets each clock. The automatic acknowledgement does not meet `acknowledge`. */
const MET_FIELD: Record<SlaClock, 'first_response_at' | 'next_steps_at'> = {
  acknowledge: 'first_response_at',
  respond: 'next_steps_at',
};

function date(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

function receivedMs(c: Case): number {
  const d = date(c.received_at);
  if (!d) throw new Error(`case ${c.id}: received_at is not a date`);
  return d.getTime();
}

export function isClosedCase(c: Case): boolean {
  return c.state === 'resolved';
}

export function isClockMet(c: Case, clock: SlaClock): boolean {
  return date(c[MET_FIELD[clock]]) !== null;
}

/** Open = neither met nor closed by resolution: only open clocks escalate. */
export function isClockOpen(c: Case, clock: SlaClock): boolean {
  return !isClosedCase(c) && !isClockMet(c, clock);
}

function clockStatus(c: Case, clock: SlaClock, duration: number, now: Date): ClockStatus {
  const deadline = new Date(receivedMs(c) + duration);
  const metAt = date(c[MET_FIELD[clock]]);
  const closed = metAt === null && isClosedCase(c);
  const until = metAt ?? (closed ? (date(c.resolved_at) ?? now) : now);
  const left = deadline.getTime() - until.getTime();
  return {
    clock,
    deadline,
    met_at: metAt,
    closed,
    left_ms: left,
    overdue_ms: Math.max(0, -left),
    breached: left < 0,
  };
}

export function slaStatus(c: Case, sla: SlaDurations, now: Date): SlaStatus {
  return {
    acknowledge: clockStatus(c, 'acknowledge', sla.acknowledge, now),
    respond: clockStatus(c, 'respond', sla.respond, now),
  };
}

/** `SEC-2026-0001-acknowledge`: one pager incident per case and clock (PagerDuty dedup_key, Opsgenie alias). */
export function dedupKey(caseId: string, clock: EscalationClock): string {
  return `${caseId}-${clock}`;
}

/**
 * BullMQ job ID for a timed step; no ':' (BullMQ forbids it). The fire time is part of it: when the
 * policy changes (a longer or shorter clock), re-arming at start-up adds a timer at the new time
 * instead of being ignored as a duplicate of the old one. Several jobs for one step are harmless —
 * the step is recorded on the case and fires once.
 */
export function escalationJobId(caseId: string, step: Pick<EscalationStep, 'id'>, fireAtMs?: number): string {
  return `esc-${caseId}-${step.id}${fireAtMs === undefined ? '' : `-${fireAtMs}`}`.replace(/:/g, '-');
}

function isRecorded(escalations: Escalation[], step: EscalationStep): boolean {
  // Any status counts: a step whose channels all failed was still attempted and is not re-fired.
  return escalations.some((e) => e.clock === step.clock && e.level === step.level);
}

export function fireAt(c: Case, step: TimedStep): Date {
  return new Date(receivedMs(c) + step.at);
}

/**
 * Timed steps whose time has come, whose clock is still open and that are not yet in
 * `c.escalations`, ordered by fire time. Steps already long past (secdesk was down) are returned
 * too: each fires once rather than being skipped.
 */
export function dueSteps(c: Case, policy: EscalationPolicy, now: Date): TimedStep[] {
  return timedOpenSteps(c, policy).filter((s) => fireAt(c, s).getTime() <= now.getTime());
}

export interface PendingStep {
  stepId: string;
  clock: SlaClock;
  level: number;
  fireAt: Date;
  jobId: string;
}

/**
 * Every timed step that still has to fire (including ones already past): what start-up reconcile
 * re-arms as delayed jobs (delay = max(0, fireAt − now)). A duplicate job ID is ignored by BullMQ,
 * so re-arming an already armed step is harmless.
 */
export function pendingSteps(c: Case, policy: EscalationPolicy): PendingStep[] {
  return timedOpenSteps(c, policy).map((s) => ({
    stepId: s.id,
    clock: s.clock,
    level: s.level,
    fireAt: fireAt(c, s),
    jobId: escalationJobId(c.id, s, fireAt(c, s).getTime()),
  }));
}

function timedOpenSteps(c: Case, policy: EscalationPolicy): TimedStep[] {
  return policy.steps
    .filter(isTimedStep)
    .filter((s) => isClockOpen(c, s.clock) && !isRecorded(c.escalations, s))
    .sort((a, b) => a.at - b.at);
}

/**
 * The chaser step to fire now, or null: only while the acknowledge clock is open, and only once per
 * case (a second "any update?" does not page again).
 */
export function chaserStepFor(c: Case, policy: EscalationPolicy): ChaserStep | null {
  if (!isClockOpen(c, 'acknowledge')) return null;
  const step = policy.steps.find((s): s is ChaserStep => s.clock === 'chaser');
  if (!step || isRecorded(c.escalations, step)) return null;
  return step;
}

/**
 * Pager incidents to resolve: a clock with a page still marked `sent` whose clock is now met (or the
 * case resolved). The chaser page belongs to the acknowledge clock. The caller marks those
 * escalations `resolved`, so they are not returned again.
 */
export function clocksToResolve(c: Case): { clock: EscalationClock; dedupKey: string }[] {
  const out: { clock: EscalationClock; dedupKey: string }[] = [];
  for (const clock of ['acknowledge', 'respond', 'chaser'] as const) {
    const governing: SlaClock = clock === 'chaser' ? 'acknowledge' : clock;
    if (isClockOpen(c, governing)) continue;
    if (c.escalations.some((e) => e.clock === clock && e.status === 'sent')) {
      out.push({ clock, dedupKey: dedupKey(c.id, clock) });
    }
  }
  return out;
}

/** A warning fires before its clock's deadline; a breach at or after it. */
export function stepKind(step: EscalationStep, sla: SlaDurations): 'warning' | 'breach' | 'chaser' {
  if (!isTimedStep(step)) return 'chaser';
  return step.at < sla[step.clock] ? 'warning' : 'breach';
}
