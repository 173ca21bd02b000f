import type { Config } from '../config';
import { DAY, HOUR, MINUTE, SECOND } from '../duration';
import type { Case } from '../types';
import { sanitizeLine, sanitizeSubject } from './subject';

/**
 * The single place where the variables of every reporter-facing template are computed (documented
 * one by one in templates/README.md). Templates get only what is here: never the report body, never
 * attachment contents, and for an encrypted report going out unencrypted, nothing beyond the case ID.
 */

/** The policy checklist as the reporter reads it; the triage step's CHECKLIST_ITEMS labels replace it. */
export const DEFAULT_CHECKLIST_LABELS: readonly string[] = [
  'Type of issue (e.g. buffer overflow, SQL injection, cross-site scripting)',
  'Full paths of the source file(s) related to the issue',
  'Location of the affected source code (tag, branch, commit or direct URL)',
  'Any special configuration required to reproduce the issue',
  'Step-by-step instructions to reproduce the issue',
  'Proof-of-concept or exploit code (if possible)',
  'Impact of the issue, including how an attacker might exploit it',
  'Affected version(s)',
];

export interface TemplateExtras {
  /** Checklist labels the report lacks; null/undefined = not triaged yet, so the whole checklist is shown. */
  missing?: readonly string[] | null;
  /** Labels of the full checklist (the triage step's CHECKLIST_ITEMS); defaults to DEFAULT_CHECKLIST_LABELS. */
  checklist?: readonly string[];
  /** Versions named in the report that are outside the supported range. */
  unsupported_versions?: readonly string[];
  /** command-errors: one line per rejected `#secdesk` command. */
  command_errors?: readonly string[];
  /** resolution: the advisory URL given with `#secdesk resolve`. Only http(s) URLs are kept. */
  advisory_url?: string | null;
  /** undecryptable: fingerprint of the team key to encrypt to, and where to get it. */
  key_fingerprint?: string | null;
  key_url?: string | null;
  /** The mail will be PGP-encrypted to the reporter, so details of an encrypted report may be shown. */
  encrypted_reply?: boolean;
}

export interface TemplateVars {
  case_id: string;
  case_tag: string;
  project: string;
  security_address: string;
  received: {
    withheld: boolean;
    subject: string;
    date: string;
    date_iso: string;
    attachments: string[];
    attachments_more: number;
    has_attachments: boolean;
  };
  sla: { acknowledge: string; respond: string };
  missing: string[];
  has_missing: boolean;
  missing_is_checklist: boolean;
  unsupported_versions: string[];
  has_unsupported_versions: boolean;
  supported_versions: string[];
  command_errors: string[];
  advisory_url: string | null;
  key_fingerprint: string | null;
  key_url: string | null;
}

const MAX_LIST = 20;
const MAX_ITEM_CHARS = 300;

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** "24 hours", "48 hours", "3 days", "1 hour 30 minutes", "5 seconds" — for people, not parsers. */
export function formatHumanDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'an unspecified time';
  if (ms < SECOND) return 'less than a second';
  // Policies say "within 48 hours"; switch to days only from three days on, and only when whole.
  if (ms >= 3 * DAY && ms % DAY === 0) return plural(ms / DAY, 'day');
  const parts: string[] = [];
  let rest = Math.round(ms / SECOND) * SECOND;
  for (const [size, unit] of [
    [HOUR, 'hour'],
    [MINUTE, 'minute'],
    [SECOND, 'second'],
  ] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(plural(n, unit));
  }
  return parts.slice(0, 2).join(' ');
}

/** "Tue, 03 Mar 2026 14:05:00 UTC"; empty when the date is unusable. */
export function formatHumanDate(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '' : new Date(t).toUTCString().replace(/GMT$/, 'UTC');
}

function cleanList(items: readonly unknown[] | null | undefined): string[] {
  const out: string[] = [];
  for (const it of items ?? []) {
    if (typeof it !== 'string') continue;
    const s = sanitizeLine(it, MAX_ITEM_CHARS);
    if (s) out.push(s);
    if (out.length >= MAX_LIST) break;
  }
  return out;
}

function httpUrl(u: string | null | undefined): string | null {
  if (!u) return null;
  try {
    const url = new URL(u.trim());
    return url.protocol === 'https:' || url.protocol === 'http:' ? sanitizeLine(url.toString(), 2000) : null;
  } catch {
    return null;
  }
}

export function buildTemplateVars(c: Case, cfg: Config, extras: TemplateExtras = {}): TemplateVars {
  const report = c.messages[0];
  const withheld = c.encrypted && extras.encrypted_reply !== true;
  const names = (report?.attachments ?? []).map((a) => a.filename).filter((n) => typeof n === 'string' && n.trim() !== '');
  const attachments = withheld ? [] : cleanList(names);
  const attachmentsMore = withheld ? 0 : Math.max(0, names.length - attachments.length);

  const checklist = cleanList(extras.checklist ?? DEFAULT_CHECKLIST_LABELS);
  const missingIsChecklist = extras.missing == null;
  const missing = missingIsChecklist ? checklist : cleanList(extras.missing);
  const unsupported = cleanList(extras.unsupported_versions);

  return {
    case_id: c.id,
    case_tag: `[${c.id}]`,
    project: sanitizeLine(cfg.project, 100),
    security_address: cfg.address,
    received: {
      withheld,
      subject: withheld ? '' : sanitizeSubject(c.subject),
      date: formatHumanDate(c.received_at),
      date_iso: Number.isNaN(Date.parse(c.received_at)) ? '' : new Date(c.received_at).toISOString(),
      attachments,
      attachments_more: attachmentsMore,
      has_attachments: attachments.length > 0,
    },
    sla: { acknowledge: formatHumanDuration(cfg.sla.acknowledge), respond: formatHumanDuration(cfg.sla.respond) },
    missing,
    has_missing: missing.length > 0,
    missing_is_checklist: missingIsChecklist,
    unsupported_versions: unsupported,
    has_unsupported_versions: unsupported.length > 0,
    supported_versions: cleanList(cfg.versions.supported),
    command_errors: cleanList(extras.command_errors),
    advisory_url: httpUrl(extras.advisory_url),
    key_fingerprint: extras.key_fingerprint ? sanitizeLine(extras.key_fingerprint, 120) : null,
    key_url: httpUrl(extras.key_url),
  };
}
