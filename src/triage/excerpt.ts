import type { TextGrams } from './grams';
import { mayMatch } from './grams';

/** Excerpts shown to a maintainer as the evidence for a field: one line of text, at most 200 chars. */

export const MAX_EXCERPT = 200;

export interface Evidence {
  present: boolean;
  /** The text that shows it (≤ 200 chars), or `attachment: poc.py`. */
  excerpt: string | null;
}

export const ABSENT: Evidence = { present: false, excerpt: null };

export function clip(s: string, max = MAX_EXCERPT): string {
  const one = s.replace(/```+/g, ' ').replace(/\s+/g, ' ').trim();
  if (one.length <= max) return one;
  // Cut at a code point boundary: half a surrogate pair would be invalid text in JSON and mail.
  return `${Array.from(one.slice(0, max)).slice(0, max - 1).join('').replace(/[\ud800-\udbff]$/, '')}…`;
}

/** The line around `index`, clipped so that the matched part stays visible. */
export function lineAround(text: string, index: number): string {
  const start = text.lastIndexOf('\n', index - 1) + 1;
  let end = text.indexOf('\n', index);
  if (end < 0) end = text.length;
  const line = text.slice(start, end).trim();
  if (line.length <= MAX_EXCERPT) return line;
  const at = Math.max(0, index - start - 60);
  return clip(text.slice(start + at, end));
}

export function found(excerpt: string): Evidence {
  return { present: true, excerpt: clip(excerpt) };
}

/** The first match of any of `patterns`, as evidence. `grams`, when given, must cover `text`. */
export function firstMatch(text: string, patterns: RegExp[], grams?: TextGrams): Evidence | null {
  let best: number | null = null;
  for (const re of patterns) {
    if (!mayMatch(grams, re)) continue;
    const m = re.exec(text);
    if (m && (best === null || m.index < best)) best = m.index;
  }
  return best === null ? null : found(lineAround(text, best));
}
