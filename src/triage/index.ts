import { CHECKLIST_IDS } from '../policy/policy-types';
import type { ChecklistId } from '../policy/policy-types';
import type { ParsedMessage } from '../types';
import { classifyKind } from './classify-kind';
import type { TriageKind } from './classify-kind';
import type { CvssResult } from './cvss';
import { findCvss } from './cvss';
import { attachmentRole, buildDoc } from './document';
import type { Evidence } from './excerpt';
import { findEvidence } from './evidence';
import { classifyIssue } from './issue-type';
import { detectLanguage } from './language';
import { extractPaths } from './paths';
import { extractRefs } from './refs';
import { splitSections } from './sections';
import { findUrls } from './urls';
import { mayMatch } from './grams';
import { extractVersions, versionFacts } from './versions';

/**
 * Triage: read a report the way the policy asks and say what is missing. A pure function of the
 * parsed message and the policy: no I/O, no clock, no network, so it can run anywhere in the pipeline
 * and be measured on a corpus (`npm run eval`).
 */

export type { Evidence } from './excerpt';
export type { TriageKind } from './classify-kind';
export type { CvssResult } from './cvss';

export interface TriageContext {
  /** From Config['versions']. */
  versions: { supported: string[]; unsupported: string[] };
  /** Checklist ids the policy asks for; all of CHECKLIST_IDS when not given. */
  checklist?: string[];
}

export interface ReportFields {
  /** buffer-overflow, use-after-free, sql-injection, xss, csrf, path-traversal, auth-bypass, dos, rce, ssrf, xxe, open-redirect, info-disclosure, crypto, other. */
  issue_type: string | null;
  /** `CWE-89`: the IDs written, else the class's canonical one. */
  cwe: string[];
  paths: string[];
  affected_ref: string[];
  /** Normalised: `0.8.1`, no leading `v`. */
  versions: string[];
  /** true if a named version is supported, false if only unsupported ones are named, else null. */
  supported: boolean | null;
  unsupported_versions: string[];
  configuration: Evidence;
  reproduction: Evidence;
  poc: Evidence;
  impact: Evidence;
  cvss: CvssResult | null;
  /** Checklist ids (CHECKLIST_IDS order) the report does not answer. */
  missing: string[];
  language: string;
}

export interface TriageResult {
  kind: TriageKind;
  kind_reason: string;
  fields: ReportFields;
}

/** Human labels for checklist ids, for the acknowledgement's "what is missing" list. */
export const CHECKLIST_LABELS: Record<ChecklistId, string> = {
  issue_type: 'Type of issue (e.g. buffer overflow, SQL injection, cross-site scripting)',
  paths: 'Full paths of the source file(s) related to the issue',
  affected_ref: 'The affected tag, branch or commit, or a direct URL',
  configuration: 'Any special configuration required to reproduce the issue',
  reproduction: 'Step-by-step instructions to reproduce the issue',
  poc: 'Proof-of-concept or exploit code (if possible)',
  impact: 'Impact of the issue, including how an attacker might exploit it',
  versions: 'The affected version(s)',
};

function isAnswered(id: ChecklistId, f: Omit<ReportFields, 'missing'>): boolean {
  switch (id) {
    case 'issue_type':
      return f.issue_type !== null;
    case 'paths':
      return f.paths.length > 0;
    // A release version names the affected code as well as a tag would: asking for a tag on top of
    // "0.8.1" would be noise in the acknowledgement.
    case 'affected_ref':
      return f.affected_ref.length > 0 || f.versions.length > 0;
    case 'versions':
      return f.versions.length > 0;
    default:
      return f[id].present;
  }
}

const CWE_MENTION = /\bCWE[- ]?\d/i;

export function triage(msg: ParsedMessage, ctx: TriageContext): TriageResult {
  const doc = buildDoc(msg);
  const text = doc.text;
  // Every extractor given `grams` searches only the subject and text these were built from.
  const grams = doc.grams;
  const urls = findUrls(text, grams);
  const sections = splitSections(text);
  const issue = classifyIssue(doc.subject, doc.flowed, sections, grams);
  // Subjects name paths and versions too ("Heap buffer overflow in src/mime/decode.c").
  const all = `${doc.subject}\n${text}`;
  const allUrls = findUrls(all, grams);
  const versions = extractVersions(all, allUrls);
  const facts = versionFacts(versions, ctx.versions);
  const evidence = findEvidence(doc, sections, urls);
  const attachmentNames = doc.attachments.map((a) => a.filename).filter((n) => n !== '');
  const partial: Omit<ReportFields, 'missing'> = {
    issue_type: issue.issue_type,
    cwe: issue.cwe,
    paths: extractPaths(all, allUrls, attachmentNames),
    affected_ref: extractRefs(doc.flowed, findUrls(doc.flowed, grams), sections, grams),
    versions: facts.versions,
    supported: facts.supported,
    unsupported_versions: facts.unsupported_versions,
    ...evidence,
    cvss: findCvss(text, grams) ?? findCvss(doc.subject, grams),
    language: detectLanguage(doc.subject, text),
  };
  const wanted = new Set(ctx.checklist ?? CHECKLIST_IDS);
  const missing = CHECKLIST_IDS.filter((id) => wanted.has(id) && !isAnswered(id, partial));
  const fields: ReportFields = { ...partial, missing };
  const verdict = classifyKind({
    subject: doc.subject,
    text: doc.flowed,
    namedIssue: issue.named ? issue.issue_type : null,
    cvss: fields.cvss !== null,
    cwe: mayMatch(grams, CWE_MENTION) && CWE_MENTION.test(all),
    pocAttachment: doc.attachments.some((a) => a.role === 'poc'),
    grams,
  });
  return { kind: verdict.kind, kind_reason: verdict.reason, fields };
}

/**
 * Signature used to link related reports: `type-paths:${issue_type}|${sorted paths}` when both are
 * known, and `poc-sha256:${hex}` per PoC attachment (a byte-identical PoC is the same finding, whoever
 * sends it). Keys are compared for equality only; linking never merges.
 */
export function relatedKeys(fields: ReportFields, msg: ParsedMessage): string[] {
  const keys: string[] = [];
  if (fields.issue_type && fields.paths.length > 0) {
    keys.push(`type-paths:${fields.issue_type}|${[...fields.paths].sort().join(',')}`);
  }
  for (const a of msg.attachments) {
    if (attachmentRole(a) === 'poc' && /^[0-9a-f]{64}$/i.test(a.sha256)) {
      const key = `poc-sha256:${a.sha256.toLowerCase()}`;
      if (!keys.includes(key)) keys.push(key);
    }
  }
  return keys;
}
