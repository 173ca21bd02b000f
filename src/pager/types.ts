import type { EscalationClock } from '../sla/escalation-policy';

/**
 * What a pager hears about a case. Pagers are third parties: an event carries the case ID, the clock,
 * how old the case is, the reporter's domain and a command to look the case up — **never** the
 * subject, the body or anything else the reporter wrote.
 */
export interface PageEvent {
  caseId: string;
  clock: EscalationClock;
  level: number;
  /** `warning` before a deadline, `error` at a breach, `critical` for a chaser on an unanswered case. */
  severity: 'info' | 'warning' | 'error' | 'critical';
  /** One incident per case and clock: `SEC-2026-0001-acknowledge`. */
  dedupKey: string;
  ageMs: number;
  reporterDomain: string;
  /** Built by `buildPageEvent` from the fields above only. */
  summary: string;
  /** e.g. `secdesk case SEC-2026-0001` */
  caseCommand: string;
}

export type PagerChannelType = 'pagerduty' | 'opsgenie' | 'slack' | 'webhook' | 'email';

/** One configured destination under `pager:`. No retry loop inside: BullMQ retries per channel. */
export interface PagerChannel {
  readonly name: string;
  readonly type: PagerChannelType;
  trigger(ev: PageEvent): Promise<void>;
  resolve(ev: PageEvent): Promise<void>;
}

/** The options a mail transport needs (a subset of nodemailer's `SendMailOptions`). */
export interface PagerMail {
  from?: string;
  to: string[];
  subject: string;
  text: string;
  headers?: Record<string, string>;
}

export type SendMail = (opts: PagerMail) => Promise<unknown>;
