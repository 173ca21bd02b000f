import type { Config } from './config';
import { formatDuration } from './duration';
import { slaStatus } from './sla/sla-decide';
import type { Case, SkipRecord } from './types';

/**
 * How cases look on the command line: `secdesk case ID --json` (a public contract: the stored case,
 * plus the SLA status computed now) and the `secdesk cases` table.
 */

const ATTACHED_KEY_NOTE = 'the signing key arrived attached to this very message: this proves the message is consistent with that key, not who the sender is';

export function caseJson(c: Case, cfg: Config, now: Date): Record<string, unknown> {
  const sla = c.kind === 'support' ? null : slaStatus(c, cfg.sla, now);
  const clock = (k: 'acknowledge' | 'respond') =>
    sla && {
      deadline: sla[k].deadline.toISOString(),
      met_at: sla[k].met_at?.toISOString() ?? null,
      closed: sla[k].closed,
      left_ms: sla[k].left_ms,
      overdue_ms: sla[k].overdue_ms,
      breached: sla[k].breached,
    };
  return {
    id: c.id,
    state: c.state,
    kind: c.kind ?? 'report',
    subject: c.subject,
    reporter: c.reporter,
    reply_to: c.reply_to,
    received_at: c.received_at,
    messages: c.messages,
    acknowledged_at: c.acknowledged_at,
    first_response_at: c.first_response_at,
    next_steps_at: c.next_steps_at,
    escalations: c.escalations,
    encrypted: c.encrypted,
    signature: c.signature,
    signature_key: c.signature_key ?? null,
    ...(c.signature_key?.source === 'attached' ? { signature_note: ATTACHED_KEY_NOTE } : {}),
    fields: c.fields,
    related: c.related,
    severity: c.severity ?? null,
    assignee: c.assignee ?? null,
    resolved_at: c.resolved_at ?? null,
    advisory_url: c.advisory_url ?? null,
    participants: c.participants,
    auto_reply: c.auto_reply ?? null,
    notices: c.notices ?? [],
    bouncing: c.bouncing ?? [],
    sla: sla ? { acknowledge: clock('acknowledge'), respond: clock('respond') } : null,
    timeline: c.timeline,
  };
}

function clockCell(c: Case, cfg: Config, now: Date, k: 'acknowledge' | 'respond'): string {
  if (c.kind === 'support') return '-';
  const s = slaStatus(c, cfg.sla, now)[k];
  if (s.met_at) return s.breached ? `met late` : 'met';
  if (s.closed) return 'closed';
  return s.breached ? `OVERDUE ${formatDuration(s.overdue_ms)}` : `${formatDuration(s.left_ms)} left`;
}

function pad(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n);
}

/** A one-line-per-case table, for people. Subjects are shown as stored (already one line, bounded). */
export function casesTable(cases: Case[], cfg: Config, now: Date): string {
  const head = `${pad('ID', 16)} ${pad('STATE', 12)} ${pad('ACKNOWLEDGE', 18)} ${pad('RESPOND', 18)} ${pad('REPORTER', 28)} SUBJECT`;
  const rows = cases.map(
    (c) =>
      `${pad(c.id, 16)} ${pad(c.kind === 'support' ? 'support' : c.state, 12)} ${pad(clockCell(c, cfg, now, 'acknowledge'), 18)} ${pad(clockCell(c, cfg, now, 'respond'), 18)} ${pad(c.reporter, 28)} ${c.encrypted ? '(encrypted) ' : ''}${c.subject.slice(0, 60)}`,
  );
  return [head, ...rows].join('\n');
}

export function skipsTable(skips: SkipRecord[]): string {
  const head = `${pad('AT', 24)} ${pad('REASON', 18)} ${pad('FROM', 28)} DETAIL`;
  return [head, ...skips.map((s) => `${pad(s.at, 24)} ${pad(s.reason, 18)} ${pad(s.from ?? '-', 28)} ${(s.detail ?? '').slice(0, 100)}`)].join('\n');
}
