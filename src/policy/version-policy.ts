/**
 * Version verdicts against a policy's supported/unsupported patterns.
 *
 * Patterns are what real SECURITY.md tables contain: `0.8.x`, `5.1.*`, `0.8` (a release line),
 * `1.2.3`, `< 0.6`, `<=1.2`, `>= 2.1`, `> 3`, `1.0 - 1.4`, `2.0+`, `1.x and older`, `*`, and named refs
 * like `latest`.
 * A version that no pattern covers gets `null`: the policy does not say, and we never guess.
 *
 * A pattern's version is read as a *release line*, the way tables mean it: `<= 1.2` covers 1.2.9
 * (everything up to and including the 1.2 line), `> 1.2` starts at 1.3, `0.8` covers 0.8.5.
 */

export interface VersionPolicy {
  supported: string[];
  unsupported: string[];
}

/** Numeric version components; `null` bound means unbounded. Intervals are half-open [lo, hi). */
type Parts = number[];
interface Interval {
  lo: Parts | null;
  hi: Parts | null;
}

type Matcher =
  | { kind: 'named'; name: string; rank: number }
  | { kind: 'range'; interval: Interval; rank: number };

/** How specific a pattern is: when a version matches both lists, the more specific pattern wins. */
const RANK = { any: 0, open: 1, span: 2, line: 3, named: 4 } as const;

/** Lower-case, trim, drop a leading `v`/`version`, and collapse `0.8.X`/`0.8.*` to `0.8.x`. */
export function normalizeVersion(s: string): string {
  let v = s.normalize('NFKC').trim().toLowerCase();
  v = v.replace(/^version\s+/, '');
  v = v.replace(/^v(?=\d)/, '');
  v = v.replace(/\s+/g, ' ');
  v = v.replace(/\.\*(?=$|[\s.])/g, '.x');
  return v;
}

const NUM_PARTS = /^(\d+(?:\.\d+)*)(?:\.x)*(?:[-+][0-9a-z.-]*)?$/;

/** `1.2.3` → [1,2,3]; `1.2.x` → [1,2] with wildcard; prerelease/build suffixes are ignored. */
function parseNumeric(v: string): { parts: Parts; wildcard: boolean } | null {
  const cleaned = v.replace(/^v(?=\d)/, '');
  const m = NUM_PARTS.exec(cleaned);
  if (!m || m[1] === undefined) return null;
  const parts = m[1].split('.').map(Number);
  if (parts.some((n) => !Number.isSafeInteger(n))) return null;
  return { parts, wildcard: /\.x/.test(cleaned) };
}

/** The first version after a release line: 0.8 → 0.9, 1.2.3 → 1.2.4. */
function nextLine(parts: Parts): Parts {
  const out = parts.slice();
  out[out.length - 1] = (out[out.length - 1] ?? 0) + 1;
  return out;
}

function cmp(a: Parts, b: Parts): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function line(parts: Parts): Interval {
  return { lo: parts, hi: nextLine(parts) };
}

/** Parse one pattern; `null` when it is not a version pattern at all (then it matches nothing). */
function parsePattern(raw: string): Matcher | null {
  const p = normalizeVersion(raw);
  if (p === '') return null;
  if (p === '*' || p === 'x' || p === 'all' || p === 'any') {
    return { kind: 'range', interval: { lo: null, hi: null }, rank: RANK.any };
  }
  const cmpMatch = /^(<=|>=|=<|=>|<|>|=|≤|≥)\s*v?(\S+)$/.exec(p);
  if (cmpMatch && cmpMatch[1] !== undefined && cmpMatch[2] !== undefined) {
    const num = parseNumeric(cmpMatch[2]);
    if (!num) return null;
    const op = cmpMatch[1];
    const interval: Interval =
      op === '<'
        ? { lo: null, hi: num.parts }
        : op === '<=' || op === '=<' || op === '≤'
          ? { lo: null, hi: nextLine(num.parts) }
          : op === '>'
            ? { lo: nextLine(num.parts), hi: null }
            : op === '>=' || op === '=>' || op === '≥'
              ? { lo: num.parts, hi: null }
              : line(num.parts);
    return { kind: 'range', interval, rank: op === '=' ? RANK.line : RANK.open };
  }
  const plus = /^v?(\S+?)\s*(\+|and (?:later|newer|above)|or (?:later|newer|above))$/.exec(p);
  if (plus && plus[1] !== undefined) {
    const num = parseNumeric(plus[1]);
    if (num) return { kind: 'range', interval: { lo: num.parts, hi: null }, rank: RANK.open };
  }
  const minus = /^v?(\S+?)\s*(?:and|or) (?:older|earlier|below|lower|prior)$/.exec(p);
  if (minus && minus[1] !== undefined) {
    const num = parseNumeric(minus[1]);
    if (num) return { kind: 'range', interval: { lo: null, hi: nextLine(num.parts) }, rank: RANK.open };
  }
  const span = /^v?(\S+)\s*(?:-|–|—|to)\s*v?(\S+)$/.exec(p);
  if (span && span[1] !== undefined && span[2] !== undefined) {
    const a = parseNumeric(span[1]);
    const b = parseNumeric(span[2]);
    if (a && b) return { kind: 'range', interval: { lo: a.parts, hi: nextLine(b.parts) }, rank: RANK.span };
  }
  const num = parseNumeric(p);
  if (num) return { kind: 'range', interval: line(num.parts), rank: RANK.line };
  // A named ref (`latest`, `main`, `nightly`): matches only a version spelled the same way.
  if (/^[a-z][a-z0-9 ._-]*$/.test(p)) return { kind: 'named', name: p, rank: RANK.named };
  return null;
}

/** Split a cell like `4.2.x, 4.1.x` or `1.x || 2.x` into patterns. */
function splitPatterns(pattern: string): string[] {
  return pattern
    .split(/\s*(?:,|;|\|\||\band\b(?! (?:later|newer|above|older|earlier|below|lower|prior)))\s*/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Whether `version` lies inside `m`. A wildcard version (`0.6.x`) must lie wholly inside: a release
 * line only partly covered is not a verdict.
 */
function covers(m: Matcher, version: string): boolean {
  if (m.kind === 'named') return m.name === version;
  const num = parseNumeric(version);
  if (!num) return false;
  const { lo, hi } = m.interval;
  const vLo = num.parts;
  if (lo !== null && cmp(vLo, lo) < 0) return false;
  if (hi === null) return true;
  // A concrete version is the point vLo; a wildcard one spans [vLo, nextLine(vLo)).
  return num.wildcard ? cmp(nextLine(vLo), hi) <= 0 : cmp(vLo, hi) < 0;
}

/**
 * Matchers per policy cell, parsed once: a policy has a handful of cells, and triage asks about every
 * version of every message. Bounded all the same, since cells are text from a config or SECURITY.md.
 */
const parsedCells = new Map<string, (Matcher | null)[]>();
const MAX_PARSED_CELLS = 1000;

function cellMatchers(pattern: string): (Matcher | null)[] {
  let matchers = parsedCells.get(pattern);
  if (matchers === undefined) {
    matchers = splitPatterns(pattern).map(parsePattern);
    if (parsedCells.size >= MAX_PARSED_CELLS) parsedCells.clear();
    parsedCells.set(pattern, matchers);
  }
  return matchers;
}

function bestRank(patterns: string[], version: string): number {
  let best = -1;
  for (const pattern of patterns) {
    for (const m of cellMatchers(pattern)) {
      if (m && covers(m, version)) best = Math.max(best, m.rank);
    }
  }
  return best;
}

/** True when `pattern` is something versionVerdict understands (used to report unreadable cells). */
export function isVersionPattern(pattern: string): boolean {
  const parts = splitPatterns(pattern);
  return parts.length > 0 && parts.every((p) => parsePattern(p) !== null);
}

/**
 * true: a supported pattern covers the version; false: an unsupported one does; null: neither, or
 * both equally specifically (a contradictory policy is not a verdict). When both match, the more
 * specific pattern wins: `0.8.x` supported beats `< 1.0` unsupported.
 */
export function versionVerdict(version: string, policy: VersionPolicy): boolean | null {
  const v = normalizeVersion(version);
  if (v === '') return null;
  const yes = bestRank(policy.supported, v);
  const no = bestRank(policy.unsupported, v);
  if (yes < 0 && no < 0) return null;
  if (yes === no) return null;
  return yes > no;
}
