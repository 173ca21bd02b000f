import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseMessage } from '../parse/parse-message';
import { detectRobot } from '../parse/robot';
import { normalizeVersion } from '../policy/version-policy';
import type { ParsedMessage } from '../types';
import type { ReportFields, TriageContext } from './index';
import { triage } from './index';

/**
 * Measures triage against the labelled corpus (test/fixtures/corpus): per-field and per-kind
 * precision and recall, the confusion of kinds, and throughput. Reads files, so it lives beside the
 * pure core rather than in it; `npm run eval` prints it and test/triage-eval.test.ts gates on it.
 */

export interface ExpectedFields {
  issue_type: string | null;
  cwe: string[];
  paths: string[];
  affected_ref: string[];
  versions: string[];
  supported: boolean | null;
  configuration: boolean;
  reproduction: boolean;
  poc: boolean;
  impact: boolean;
  cvss: { vector: string; valid: boolean } | null;
}

export interface Label {
  kind: string;
  language?: string;
  fields?: ExpectedFields;
}

export interface Labels {
  policy: { versions: TriageContext['versions'] };
  ownAddresses: string[];
  messages: Record<string, Label>;
}

export interface Score {
  name: string;
  tp: number;
  fp: number;
  fn: number;
  /** tp / (tp + fp); 1 when nothing was predicted (no false claims were made). */
  precision: number;
  /** tp / (tp + fn); 1 when nothing was expected. */
  recall: number;
  /** How many labelled messages the score is over. */
  support: number;
}

export interface Mismatch {
  file: string;
  field: string;
  expected: unknown;
  got: unknown;
}

export interface EvalResult {
  messages: number;
  fields: Score[];
  kinds: Score[];
  /** expected kind → predicted kind → count. */
  confusion: Record<string, Record<string, number>>;
  /** Real reports classified as support or spam: the costly error. */
  costly: { file: string; predicted: string; reason: string }[];
  mismatches: Mismatch[];
  throughput: { messages: number; repetitions: number; seconds: number; perSecond: number; parsePerSecond: number };
}

interface Counter {
  tp: number;
  fp: number;
  fn: number;
  support: number;
}

const LIST_FIELDS = ['cwe', 'paths', 'affected_ref', 'versions'] as const;
const BOOL_FIELDS = ['configuration', 'reproduction', 'poc', 'impact'] as const;
export const FIELD_NAMES = ['issue_type', ...LIST_FIELDS, 'supported', ...BOOL_FIELDS, 'cvss', 'language'] as const;

function score(name: string, c: Counter): Score {
  return {
    name,
    ...c,
    precision: c.tp + c.fp === 0 ? 1 : c.tp / (c.tp + c.fp),
    recall: c.tp + c.fn === 0 ? 1 : c.tp / (c.tp + c.fn),
  };
}

/** Exact match of a single value; `null` on either side is "no value". */
function countValue(c: Counter, expected: unknown, got: unknown): boolean {
  const e = expected === null || expected === undefined ? null : JSON.stringify(expected);
  const g = got === null || got === undefined ? null : JSON.stringify(got);
  if (g !== null && g === e) c.tp += 1;
  else {
    if (g !== null) c.fp += 1;
    if (e !== null) c.fn += 1;
  }
  return g === e;
}

function countList(c: Counter, expected: string[], got: string[]): boolean {
  const e = new Set(expected);
  const g = new Set(got);
  for (const x of g) {
    if (e.has(x)) c.tp += 1;
    else c.fp += 1;
  }
  for (const x of e) if (!g.has(x)) c.fn += 1;
  return e.size === g.size && [...e].every((x) => g.has(x));
}

function countBool(c: Counter, expected: boolean, got: boolean): boolean {
  if (got && expected) c.tp += 1;
  else if (got) c.fp += 1;
  else if (expected) c.fn += 1;
  return got === expected;
}

function compareFields(file: string, e: ExpectedFields, f: ReportFields, counters: Record<string, Counter>, mismatches: Mismatch[]): void {
  const check = (field: string, ok: boolean, expected: unknown, got: unknown): void => {
    counters[field]!.support += 1;
    if (!ok) mismatches.push({ file, field, expected, got });
  };
  check('issue_type', countValue(counters.issue_type!, e.issue_type, f.issue_type), e.issue_type, f.issue_type);
  for (const k of LIST_FIELDS) {
    const norm = k === 'versions' ? (xs: string[]) => xs.map(normalizeVersion) : k === 'cwe' ? (xs: string[]) => xs.map((x) => x.toUpperCase()) : (xs: string[]) => xs;
    check(k, countList(counters[k]!, norm(e[k]), norm(f[k])), e[k], f[k]);
  }
  check('supported', countValue(counters.supported!, e.supported, f.supported), e.supported, f.supported);
  for (const k of BOOL_FIELDS) check(k, countBool(counters[k]!, e[k], f[k].present), e[k], f[k].present ? f[k].excerpt : false);
  const cvss = f.cvss ? { vector: f.cvss.vector, valid: f.cvss.valid } : null;
  check('cvss', countValue(counters.cvss!, e.cvss, cvss), e.cvss, cvss);
}

export function readLabels(dir: string): Labels {
  return JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8')) as Labels;
}

export async function evaluateCorpus(dir: string, opts: { repetitions?: number } = {}): Promise<EvalResult> {
  const labels = readLabels(dir);
  const files = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();
  const missingLabels = files.filter((f) => labels.messages[f] === undefined);
  if (missingLabels.length > 0) throw new Error(`corpus messages without a label: ${missingLabels.join(', ')}`);
  const ctx: TriageContext = { versions: labels.policy.versions };
  const own = new Set(labels.ownAddresses.map((a) => a.toLowerCase()));

  const parsed: [string, ParsedMessage][] = [];
  const parseStart = performance.now();
  for (const f of files) parsed.push([f, await parseMessage(readFileSync(join(dir, f)))]);
  const parseSeconds = (performance.now() - parseStart) / 1000;

  const counters: Record<string, Counter> = Object.fromEntries(FIELD_NAMES.map((n) => [n, { tp: 0, fp: 0, fn: 0, support: 0 }]));
  const confusion: Record<string, Record<string, number>> = {};
  const kindNames = new Set<string>();
  const mismatches: Mismatch[] = [];
  const costly: EvalResult['costly'] = [];

  for (const [file, msg] of parsed) {
    const label = labels.messages[file]!;
    const robot = detectRobot(msg, { ownAddresses: own });
    const result = robot ? null : triage(msg, ctx);
    const predicted = robot?.kind ?? result!.kind;
    kindNames.add(label.kind).add(predicted);
    const row = (confusion[label.kind] ??= {});
    row[predicted] = (row[predicted] ?? 0) + 1;
    if (predicted !== label.kind) mismatches.push({ file, field: 'kind', expected: label.kind, got: `${predicted} (${robot?.reason ?? result?.kind_reason})` });
    if (label.kind === 'report' && (predicted === 'support' || predicted === 'spam')) costly.push({ file, predicted, reason: result?.kind_reason ?? '' });
    // Fields are judged on what triage read, whatever kind it decided: a report labelled with fields.
    const fields = result?.fields ?? triage(msg, ctx).fields;
    if (label.language !== undefined) {
      counters.language!.support += 1;
      const got = fields.language === 'und' ? null : fields.language;
      if (!countValue(counters.language!, label.language, got)) mismatches.push({ file, field: 'language', expected: label.language, got: fields.language });
    }
    if (label.fields) compareFields(file, label.fields, fields, counters, mismatches);
  }

  const kinds = [...kindNames].sort().map((k) => {
    const c: Counter = { tp: 0, fp: 0, fn: 0, support: 0 };
    for (const [gold, row] of Object.entries(confusion)) {
      for (const [pred, n] of Object.entries(row)) {
        if (gold === k) c.support += n;
        if (gold === k && pred === k) c.tp += n;
        else if (pred === k) c.fp += n;
        else if (gold === k) c.fn += n;
      }
    }
    return score(k, c);
  });

  const repetitions = opts.repetitions ?? 20;
  const start = performance.now();
  for (let r = 0; r < repetitions; r++) for (const [, msg] of parsed) triage(msg, ctx);
  const seconds = (performance.now() - start) / 1000;
  const n = parsed.length * repetitions;

  return {
    messages: files.length,
    fields: FIELD_NAMES.map((name) => score(name, counters[name]!)),
    kinds,
    confusion,
    costly,
    mismatches,
    throughput: { messages: n, repetitions, seconds, perSecond: n / seconds, parsePerSecond: files.length / parseSeconds },
  };
}
