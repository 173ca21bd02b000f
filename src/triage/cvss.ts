import { Cvss3P0, Cvss3P1, Cvss4P0 } from 'ae-cvss-calculator';
import type { TextGrams } from './grams';
import { mayMatch } from './grams';

/**
 * A CVSS vector written in a report, validated and scored by ae-cvss-calculator (CVSS 3.0, 3.1 and
 * 4.0). Scoring is the library's job: the formulas, especially 4.0's macro-vector tables, are exactly
 * what should not be re-typed by hand.
 */

export interface CvssResult {
  vector: string;
  version: '3.0' | '3.1' | '4.0';
  /** A complete base vector with known metrics, each given once. */
  valid: boolean;
  score: number | null;
  severity: string | null;
  error?: string;
}

const VECTOR = /CVSS:(3\.[01]|4\.0)\/[A-Za-z]{1,3}:[A-Za-z]{1,2}(?:\/[A-Za-z]{1,3}:[A-Za-z]{1,2}){0,40}/;

function invalid(vector: string, version: CvssResult['version'], error: string): CvssResult {
  return { vector, version, valid: false, score: null, severity: null, error };
}

/** Validates and scores one vector string (`CVSS:3.1/AV:N/…`). */
export function scoreVector(vector: string): CvssResult | null {
  const m = VECTOR.exec(vector);
  if (!m) return null;
  const version = m[1] as CvssResult['version'];
  const v = m[0];
  const metrics = v.split('/').slice(1).map((p) => p.split(':')[0] ?? '');
  // The specification forbids repeating a metric; the library would silently keep the last one.
  const dup = metrics.find((k, i) => metrics.indexOf(k) !== i);
  if (dup) return invalid(v, version, `metric ${dup} given twice`);
  try {
    const calc = version === '4.0' ? new Cvss4P0(v) : version === '3.0' ? new Cvss3P0(v) : new Cvss3P1(v);
    if (!calc.isBaseFullyDefined()) return invalid(v, version, 'incomplete base vector: some base metrics are missing');
    const schema = calc.createJsonSchema() as { baseScore?: number; baseSeverity?: string };
    const score = typeof schema.baseScore === 'number' ? schema.baseScore : null;
    return { vector: v, version, valid: true, score, severity: schema.baseSeverity ?? null };
  } catch (e) {
    return invalid(v, version, (e as Error).message.slice(0, 200));
  }
}

/** The first CVSS v3.x/v4.0 vector in the text, scored; null when none is written. */
export function findCvss(text: string, grams?: TextGrams): CvssResult | null {
  const m = mayMatch(grams, VECTOR) ? VECTOR.exec(text) : null;
  return m ? scoreVector(m[0]) : null;
}
