import type { TextGrams } from './grams';
import { mayMatch } from './grams';
import type { Section } from './sections';
import type { FoundUrl } from './urls';
import { insideUrl } from './urls';

/**
 * Git refs and source URLs named as affected: commit hashes, branch names written as branches
 * (`main branch`, `rama main`, `main 分支`), tags written as tags (`tag v0.8.0`), code-host URLs of
 * source (repository, blob/tree/commit), and a URL introduced as the affected one. Reference links
 * (CWE pages, gists holding a PoC, issue trackers) are not refs.
 */

const CODE_HOSTS = /^(github\.com|gitlab\.com|codeberg\.org|bitbucket\.org|git\.sr\.ht|sr\.ht|gitea\.com|salsa\.debian\.org|git\.[\w.-]+|gitlab\.[\w.-]+)$/i;
/** Paths on a code host that point at source; issues, pulls, wikis and advisories are references. */
const SOURCE_PATH = /^\/[\w.-]+\/[\w.-]+(\/?$|\/(-\/)?(blob|tree|commit|commits|raw|src|compare|releases\/tag)\/)/;

const HASH = /\b(?:commit|commits|revision|rev|sha1?|hash|changeset|提交)\b[^\n\w]{0,3}(?:[^\n]{0,12}?)\b([0-9a-f]{7,40})\b/gi;
const KNOWN_BRANCH = /^(main|master|develop|dev|trunk|next|stable|nightly|unstable|devel)$/i;
const BRANCH_AFTER = /\b(?:branch|branche|rama|zweig)\s{0,3}[:=]?\s{0,3}([`'"]?)([\w./-]{2,60})\1/gi;
const BRANCH_BEFORE = /(?<![\w./-])([`'"]?)([\w./-]{2,60})\1[\s-]{0,3}(?:branch\b|-branch\b|branch\b|分支|zweig\b)/gi;
const CURRENT_BRANCH = /\b(?:current|latest|aktuelle[nm]?|actual)\s+(main|master|develop|trunk)\b/gi;
const TAG = /\b(?:tags?|etiqueta|标签)\s{0,3}[:=]?\s{0,3}[`'"]?(v?\d+(?:\.\d+)+(?:[-+][\w.]+)?)/gi;
const AFFECTED_URL = /\b(?:affected|vulnerable|betroffene|afectada|target)\s+(?:url|endpoint|page|site|host|link)s?\b[^\n]{0,10}?(https?:\/\/\S+)/gi;

function cleanUrl(url: string): string {
  return url.replace(/#.*$/, '');
}

export function isSourceUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (/^gist\./i.test(u.hostname) || !CODE_HOSTS.test(u.hostname)) return false;
  return SOURCE_PATH.test(u.pathname);
}

function branchName(quoted: string, name: string): string | null {
  const n = name.replace(/[.,;:]+$/, '');
  // Prose says "the default branch", "a feature branch": only names that are branch-shaped count.
  if (KNOWN_BRANCH.test(n)) return n;
  if (quoted !== '' && /^[\w./-]+$/.test(n)) return n;
  if (/[/\d-]/.test(n) && /[a-z]/i.test(n) && !/^\d/.test(n)) return n;
  return null;
}

/** `grams`, when given, must cover `text`. */
export function extractRefs(text: string, urls: FoundUrl[], sections: Section[], grams?: TextGrams): string[] {
  const out: string[] = [];
  const add = (r: string | null): void => {
    if (r && r.length <= 300 && !out.includes(r)) out.push(r);
  };
  for (const u of urls) if (isSourceUrl(u.url)) add(cleanUrl(u.url));
  for (const s of sections) {
    if (s.id !== 'affected_ref') continue;
    const m = /https?:\/\/\S+/.exec(s.body);
    if (m) add(cleanUrl(m[0].replace(/[.,;:!?)]+$/, '')));
  }
  // Each pattern runs only where it can match: most text names no hash, branch or tag at all.
  const scan = (re: RegExp): Iterable<RegExpExecArray> => (mayMatch(grams, re) ? text.matchAll(re) : []);
  for (const m of scan(AFFECTED_URL)) add(cleanUrl((m[1] ?? '').replace(/[.,;:!?)]+$/, '')));
  for (const m of scan(HASH)) {
    const h = m[1] ?? '';
    const at = m.index + m[0].length - h.length;
    // A hash needs a digit and a letter: "deadbeef" and "1234567" are words and numbers.
    if (/\d/.test(h) && /[a-f]/i.test(h) && !insideUrl(urls, at)) add(h.toLowerCase());
  }
  for (const m of scan(BRANCH_AFTER)) add(branchName(m[1] ?? '', m[2] ?? ''));
  for (const m of scan(BRANCH_BEFORE)) {
    const name = m[2] ?? '';
    if (!/^(the|a|an|this|that|our|your|my|default|same|each|every|any|other|feature|release|new|old|separate|own|development)$/i.test(name)) add(branchName(m[1] ?? '', name));
  }
  for (const m of scan(CURRENT_BRANCH)) add(m[1] ?? null);
  for (const m of scan(TAG)) if (!insideUrl(urls, m.index)) add(m[1] ?? null);
  return out;
}
