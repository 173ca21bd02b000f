import type { Config } from './config';
import type { TriageOutcome } from './ingest/ingest-message';
import type { ParsedMessage } from './types';

/** Triage as the ingest stage sees it (wired to src/triage once it lands). */
export function triageForIngest(_cfg: Config): (msg: ParsedMessage) => TriageOutcome {
  return () => ({ kind: 'report', kind_reason: 'triage not wired', fields: {} });
}
