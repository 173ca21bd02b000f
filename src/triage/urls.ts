import type { TextGrams } from './grams';
import { mayMatch } from './grams';

/** URLs in free text, with the punctuation that prose puts after them taken off. */

const URL_RE = /\bhttps?:\/\/[^\s<>"'`\]]+/gi;
const MAX_URLS = 500;

export interface FoundUrl {
  url: string;
  start: number;
  end: number;
}

export function findUrls(text: string, grams?: TextGrams): FoundUrl[] {
  const out: FoundUrl[] = [];
  if (!mayMatch(grams, URL_RE)) return out;
  for (const m of text.matchAll(URL_RE)) {
    let url = m[0];
    // A closing parenthesis belongs to the URL only when the URL opened one (wiki-style links).
    while (/[.,;:!?'")]$/.test(url) && !(url.endsWith(')') && url.includes('('))) url = url.slice(0, -1);
    out.push({ url, start: m.index, end: m.index + url.length });
    if (out.length >= MAX_URLS) break;
  }
  return out;
}

/** True when `i` lies inside one of `urls` (sorted by start). */
export function insideUrl(urls: FoundUrl[], i: number): boolean {
  for (const u of urls) {
    if (u.start > i) return false;
    if (i < u.end) return true;
  }
  return false;
}
