import type { Config } from './config';
import type { TriageOutcome } from './ingest/ingest-message';
import { relatedKeys, triage } from './triage';
import type { ParsedMessage } from './types';

/** Triage as the ingest stage sees it: the kind, the fields for the case, and keys to link related reports. */
export function triageForIngest(cfg: Config): (msg: ParsedMessage) => TriageOutcome {
  const ctx = { versions: cfg.versions, ...(cfg.checklist ? { checklist: cfg.checklist } : {}) };
  return (msg) => {
    const r = triage(msg, ctx);
    return { kind: r.kind, kind_reason: r.kind_reason, fields: r.fields as unknown as Record<string, unknown>, related_keys: relatedKeys(r.fields, msg) };
  };
}
