import type { Config } from '../config';
import { HOUR } from '../duration';

/**
 * The escalation policy as data: which channels hear about a case, and when.
 *
 * A timed step fires `at` after the report reached the mailbox (IMAP INTERNALDATE), unless its clock
 * was met first. The chaser step fires when a reporter asks for status while the acknowledge clock is
 * still open. Steps are numbered per clock (`acknowledge-1`, `acknowledge-2`, `respond-1`, `chaser-1`);
 * the number is the `level` recorded in `Case.escalations`, so it must stay stable for a given config.
 */

export type SlaClock = 'acknowledge' | 'respond';
export type EscalationClock = SlaClock | 'chaser';

export interface TimedStep {
  id: string; // e.g. 'acknowledge-1'
  clock: SlaClock;
  level: number;
  /** Milliseconds after `received_at`. */
  at: number;
  notify: string[];
}

export interface ChaserStep {
  id: string; // 'chaser-1'
  clock: 'chaser';
  level: number;
  notify: string[];
}

export type EscalationStep = TimedStep | ChaserStep;

export interface EscalationPolicy {
  steps: EscalationStep[];
  /** Where the steps came from, for `secdesk check` and logs. */
  source: 'config' | 'defaults';
}

export function isTimedStep(s: EscalationStep): s is TimedStep {
  return s.clock !== 'chaser';
}

/** The defaults from the policy, for the standard 24h/48h clocks, in the channel names. */
export const DEFAULT_ESCALATION_TABLE: readonly (
  | { clock: SlaClock; at: number; notify: readonly string[] }
  | { on: 'chaser'; notify: readonly string[] }
)[] = [
  { clock: 'acknowledge', at: 20 * HOUR, notify: ['team-email'] }, // warning before breach
  { clock: 'acknowledge', at: 24 * HOUR, notify: ['pagerduty'] },
  { clock: 'respond', at: 48 * HOUR, notify: ['pagerduty', 'slack'] },
  { on: 'chaser', notify: ['pagerduty'] },
];

/** The warning fires at this fraction of the acknowledge clock (20h of 24h). */
export const WARNING_FRACTION = 20 / 24;

type ChannelType = Config['pager'][string]['type'];
const PAGING: ChannelType[] = ['pagerduty', 'opsgenie'];
const CHAT: ChannelType[] = ['slack', 'webhook'];
const MAIL: ChannelType[] = ['email'];

function channelsOf(cfg: Config, types: ChannelType[]): string[] {
  return Object.entries(cfg.pager)
    .filter(([, ch]) => types.includes(ch.type))
    .map(([name]) => name)
    .sort();
}

/** The first non-empty group wins: a breach must reach someone even without a real pager. */
function firstNonEmpty(...groups: string[][]): string[] {
  return groups.find((g) => g.length > 0) ?? [];
}

/**
 * Default steps derived from `cfg.sla` and the channels that exist in `cfg.pager` (by type, so a
 * PagerDuty channel called `pd` works as well as one called `pagerduty`):
 * - warning at acknowledge × 20/24 → email channels, else chat/webhook channels;
 * - page at the acknowledge deadline → paging channels (PagerDuty, Opsgenie), else chat, else email;
 * - page at the respond deadline → paging + chat channels, else email;
 * - chaser → same as the acknowledge page.
 * When `cfg.pager` is empty, every step has `notify: []` and is **log-only**: it still fires, is logged
 * at warn and recorded on the case with no channels, so the breach is visible in `secdesk case`.
 */
export function defaultEscalationPolicy(cfg: Config): EscalationPolicy {
  const paging = channelsOf(cfg, PAGING);
  const chat = channelsOf(cfg, CHAT);
  const mail = channelsOf(cfg, MAIL);
  const breach = firstNonEmpty(paging, chat, mail);
  return {
    source: 'defaults',
    steps: [
      {
        id: 'acknowledge-1',
        clock: 'acknowledge',
        level: 1,
        at: Math.round(cfg.sla.acknowledge * WARNING_FRACTION),
        notify: firstNonEmpty(mail, chat),
      },
      { id: 'acknowledge-2', clock: 'acknowledge', level: 2, at: cfg.sla.acknowledge, notify: breach },
      { id: 'respond-1', clock: 'respond', level: 1, at: cfg.sla.respond, notify: firstNonEmpty([...paging, ...chat], mail) },
      { id: 'chaser-1', clock: 'chaser', level: 1, notify: breach },
    ],
  };
}

/** Steps from `cfg.escalation` when given (numbered per clock in order of `at`), else the defaults. */
export function resolveEscalationPolicy(cfg: Config): EscalationPolicy {
  if (!cfg.escalation || cfg.escalation.length === 0) return defaultEscalationPolicy(cfg);
  const timed = cfg.escalation
    .map((s, index) => ({ s, index }))
    .filter((x): x is { s: { clock: SlaClock; at: number; notify: string[] }; index: number } => 'clock' in x.s)
    // stable: equal `at` keeps the order written in the file
    .sort((a, b) => a.s.at - b.s.at || a.index - b.index);
  const steps: EscalationStep[] = [];
  const count: Record<string, number> = {};
  for (const { s } of timed) {
    const level = (count[s.clock] = (count[s.clock] ?? 0) + 1);
    steps.push({ id: `${s.clock}-${level}`, clock: s.clock, level, at: s.at, notify: [...s.notify] });
  }
  // One chaser page per case: several `on: chaser` entries merge into one step.
  const chaserNotify = [...new Set(cfg.escalation.flatMap((s) => ('on' in s ? s.notify : [])))];
  if (chaserNotify.length > 0) steps.push({ id: 'chaser-1', clock: 'chaser', level: 1, notify: chaserNotify });
  return { source: 'config', steps };
}
