import type { Config } from './config';
import type { TriageOutcome } from './ingest/ingest-message';
import { relatedKeys, triage } from './triage';
import type { ParsedMessage } from './types';

/**
 * Triage reads at most this much of a message. A report a person wrote fits many times over; past it
 * is pasted output (logs, traces, dumps) whose scanning costs time on every message of a flood and
 * adds no field the first part does not already show.
 */
export const TRIAGE_TEXT_CHARS = 24 * 1024;
export const TRIAGE_HTML_CHARS = 96 * 1024;

/** Triage as the ingest stage sees it: the kind, the fields for the case, and keys to link related reports. */
export function triageForIngest(cfg: Config): (msg: ParsedMessage) => TriageOutcome {
  const ctx = { versions: cfg.versions, ...(cfg.checklist ? { checklist: cfg.checklist } : {}) };
  return (full) => {
    const msg = full.text.length > TRIAGE_TEXT_CHARS || (full.html?.length ?? 0) > TRIAGE_HTML_CHARS
      ? { ...full, text: full.text.slice(0, TRIAGE_TEXT_CHARS), html: full.html === null ? null : full.html.slice(0, TRIAGE_HTML_CHARS) }
      : full;
    const r = triage(msg, ctx);
    return { kind: r.kind, kind_reason: r.kind_reason, fields: r.fields as unknown as Record<string, unknown>, related_keys: relatedKeys(r.fields, msg) };
  };
}
