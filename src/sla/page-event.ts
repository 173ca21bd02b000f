import { formatDuration } from '../duration';
import type { PageEvent } from '../pager/types';
import type { Case } from '../types';
import type { EscalationStep } from './escalation-policy';
import type { SlaDurations } from './sla-decide';
import { dedupKey, stepKind } from './sla-decide';

/** The part after '@' only: the reporter's address itself stays out of third-party pagers. */
export function reporterDomain(reporter: string): string {
  const at = reporter.lastIndexOf('@');
  const d = at >= 0 ? reporter.slice(at + 1) : '';
  return /^[a-z0-9.-]+$/i.test(d) ? d.toLowerCase() : 'unknown';
}

/**
 * Build what a pager is told about a step. Only the case ID, clock, age, reporter domain and the
 * command to see the case go in — never the subject or any text from the report.
 */
export function buildPageEvent(c: Case, step: EscalationStep, sla: SlaDurations, now: Date): PageEvent {
  const ageMs = Math.max(0, now.getTime() - new Date(c.received_at).getTime());
  const kind = stepKind(step, sla);
  const age = formatDuration(ageMs);
  let summary: string;
  let severity: PageEvent['severity'];
  if (kind === 'warning' && step.clock !== 'chaser') {
    summary = `${c.id}: ${step.clock} SLA due in ${formatDuration(sla[step.clock] - ageMs)} (case age ${age})`;
    severity = 'warning';
  } else if (kind === 'breach') {
    summary = `${c.id}: ${step.clock} SLA breached (case age ${age})`;
    severity = 'error';
  } else {
    summary = `${c.id}: reporter is chasing an unanswered report (case age ${age})`;
    severity = 'critical';
  }
  const domain = reporterDomain(c.reporter);
  return {
    caseId: c.id,
    clock: step.clock,
    level: step.level,
    severity,
    dedupKey: dedupKey(c.id, step.clock),
    ageMs,
    reporterDomain: domain,
    summary: `${summary}, reporter domain ${domain}`,
    caseCommand: `secdesk case ${c.id}`,
  };
}
