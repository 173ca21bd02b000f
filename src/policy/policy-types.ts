import { PermanentError } from '../errors';

/**
 * What `secdesk init` read out of a SECURITY.md. Everything carries the policy's own words and the
 * line it came from, so the generated config can say where each value came from and a maintainer can
 * check it against the document.
 */

/** Report fields the acknowledgement checklist knows (the triage issue's ids). */
export const CHECKLIST_IDS = [
  'issue_type',
  'paths',
  'affected_ref',
  'configuration',
  'reproduction',
  'poc',
  'impact',
  'versions',
] as const;
export type ChecklistId = (typeof CHECKLIST_IDS)[number];

/** Parts of the policy that `missing` can name. */
export type PolicyPart = 'address' | 'sla.acknowledge' | 'sla.respond' | 'versions' | 'checklist';

export interface Found<T> {
  value: T;
  /** The policy's wording (a sentence, a cell, a list item), trimmed. */
  text: string;
  /** 1-based line in the SECURITY.md, when known. */
  line: number | null;
}

export interface SlaPromise extends Found<number> {
  /** The duration as written in config (`24h`, `2d`, `1w`). */
  duration: string;
  /** The promise is about a detailed response / next steps rather than a first answer. */
  detailed: boolean;
  /** Business/working days were promised: the clock runs in calendar time, so it is stricter. */
  businessDays: boolean;
  /** The duration as the policy wrote it (`24 hours`, `2 business days`, `one week`). */
  written: string;
  /** The clause that makes the promise ("acknowledge your email within 24 hours"), for comments. */
  phrase: string;
}

export type VersionStatus = 'supported' | 'unsupported' | 'unknown';

export interface VersionRow {
  /** Normalised pattern (`0.8.x`, `< 0.6`, `latest`). */
  pattern: string;
  status: VersionStatus;
  /** The status as written (`:white_check_mark:`, `Yes`, `❌`, `End of life`). */
  statusText: string;
  /** An end-of-life / support-until date or other extra column, as written. */
  note: string | null;
  line: number | null;
}

export interface ChecklistItem {
  /** `null` when the field is not one the acknowledgement checklist knows. */
  id: ChecklistId | null;
  text: string;
  line: number | null;
}

export interface ParsedPolicy {
  address: Found<string> | null;
  sla: { acknowledge: SlaPromise | null; respond: SlaPromise | null };
  versions: { supported: string[]; unsupported: string[]; rows: VersionRow[] };
  /** The policy's list of what to include in a report, in its order. */
  checklist: ChecklistItem[];
  /** Parts the document did not state (the generated config marks each with a TODO). */
  missing: PolicyPart[];
  /** Things read but not understood (a table row whose status is unclear, a contradiction). */
  warnings: string[];
}

/** A SECURITY.md that cannot be read as a policy at all (not text, empty, too big). */
export class PolicyError extends PermanentError {
  constructor(message: string) {
    super('EPolicy', message);
  }
}
