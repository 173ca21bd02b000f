import type { FoundUrl } from './urls';
import { insideUrl } from './urls';
import { isSourceUrl } from './refs';

/**
 * Source paths a report names: `crates/http/src/static_files.rs`, `src/mime/decode.c:211:17`, the path
 * inside a code-host link (`…/blob/main/crates/auth/src/oidc/callback.rs#L142`), or a bare file name
 * with a source extension. Not paths: system paths (`/etc/passwd`), endpoints (`/api/blob/{id}`),
 * attack payloads (`../../etc/cron.d/x`), URLs of other hosts, the reporter's own attachments.
 */

/** Extensions a bare file name must have to count: a name alone is ambiguous unless it is code. */
const SOURCE_EXT = new Set(['c', 'h', 'cc', 'cpp', 'cxx', 'hpp', 'hh', 'rs', 'go', 'py', 'js', 'mjs', 'cjs', 'ts', 'tsx', 'jsx', 'vue', 'svelte', 'rb', 'php', 'java', 'kt', 'swift', 'cs', 'scala', 'pl', 'lua', 'ex', 'exs', 'erl', 'zig']);

/** Product names that look like file names. */
const NOT_FILES = /^(node|vue|next|nuxt|react|express|angular|three|chart|d3|socket\.io)\.js$/i;

/** A path with at least one directory and a file extension; segments are code-repo-like names. */
const DIR_PATH = /(?<![\w.~$/\\@-])(?<!\w:)((?:[A-Za-z0-9_@+-][\w@+.-]*\/)+[\w@+-][\w@+.-]*\.[A-Za-z][A-Za-z0-9]{0,7})(?::\d+(?::\d+)?)?(?![\w/-])/g;
const BARE_FILE = /(?<![\w.~$/\\@-])(?<!\w:)([A-Za-z_][\w-]*(?:\.[\w-]+)*\.([A-Za-z]{1,6}))(?::\d+(?::\d+)?)?(?![\w/-])/g;
const DIR_PATH_AT = new RegExp(DIR_PATH.source, 'y');
const BARE_FILE_AT = new RegExp(BARE_FILE.source, 'y');
/** Code-host links to a file at a ref: GitHub/Gitea `blob|tree|raw|src`, GitLab `-/blob`. */
const CODE_LINK = /\/(?:-\/)?(?:blob|tree|raw|src(?:\/(?:branch|tag|commit))?)\/[^/\s]+\/([^\s#?]+)/;

const PLUS = 0x2b;
/** `[\w@+.-]`: what a directory name is made of, up to its `/`. */
const SEGMENT_CHAR = new Uint8Array(128);
/** `[\w-]`: what a bare file name is made of, up to its first `.`. */
const NAME_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const word = /\w/.test(String.fromCharCode(c));
  NAME_CHAR[c] = word || c === 0x2d ? 1 : 0;
  SEGMENT_CHAR[c] = word || c === 0x2d || c === 0x40 || c === PLUS || c === 0x2e ? 1 : 0;
}

/**
 * The matches of `sticky` (a path pattern with the `y` flag) in text order, as a global scan would
 * find them, but trying only the starts a match can have instead of every position, which costs
 * two lookbehinds each. Every match holds `mark` (`/`, `.`), and the characters from its start to the
 * first one are all `run` characters; of those, the patterns' lookbehind allows only a start at the
 * beginning of the run or just after a `+`.
 */
function* matchesAround(text: string, mark: string, run: Uint8Array, sticky: RegExp): Generator<RegExpExecArray> {
  const inRun = (c: number): boolean => c < 128 && run[c] === 1;
  let at = 0;
  for (;;) {
    const q = text.indexOf(mark, at);
    if (q < 0) return;
    let start = q;
    while (start > at && inRun(text.charCodeAt(start - 1))) start--;
    let m: RegExpExecArray | null = null;
    for (let j = start; j < q && !m; j++) {
      const prev = j > 0 ? text.charCodeAt(j - 1) : -1;
      if (prev < 0 || !inRun(prev) || prev === PLUS) {
        sticky.lastIndex = j;
        m = sticky.exec(text);
      }
    }
    if (!m) {
      at = q + 1;
      continue;
    }
    yield m;
    at = m.index + m[0].length;
  }
}

function clean(p: string): string {
  return p.replace(/[.,;:!?)'"\]]+$/, '');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The first segment with a dot and a TLD-looking tail is a host name, not a directory. */
function looksLikeHost(segment: string): boolean {
  return /^[\w-]+(\.[\w-]+)*\.(com|org|net|io|dev|test|example|de|es|cn|uk|fr|app|local|internal|localhost|\w{2})$/i.test(segment) && segment.includes('.');
}

/**
 * Paths named in `text`. `exclude` holds names of attached files (the reporter's `poc.py` is not a
 * project file).
 */
export function extractPaths(text: string, urls: FoundUrl[], exclude: string[] = []): string[] {
  const excluded = new Set(exclude.map((e) => e.toLowerCase()));
  const found: string[] = [];
  const add = (p: string): void => {
    const v = clean(p);
    if (v === '' || v.length > 300 || found.includes(v)) return;
    found.push(v);
  };

  // Paths inside code-host links count; the rest of a URL is not a path of ours.
  for (const u of urls) {
    const link = isSourceUrl(u.url) ? CODE_LINK.exec(u.url) : null;
    if (link?.[1] && /\.[A-Za-z]\w{0,7}$/.test(clean(link[1]))) add(safeDecode(clean(link[1])));
  }
  const inUrl = (i: number): boolean => insideUrl(urls, i);

  // The same name, met again, gets the same verdict: a report repeats its paths, a log its lines.
  const seen = new Set<string>();
  for (const m of matchesAround(text, '/', SEGMENT_CHAR, DIR_PATH_AT)) {
    const p = m[1] ?? '';
    if (inUrl(m.index) || seen.has(p)) continue;
    seen.add(p);
    const first = p.split('/')[0] ?? '';
    if (p.includes('..') || looksLikeHost(first)) continue;
    // `text/plain`, `multipart/mixed`: MIME types are not files (no extension), but `larkspur/larkspur:0.8`
    // (an image name) and `a/b.c` shapes pass; require a letter-led extension that is not all digits.
    if (/^\d+$/.test(p.slice(p.lastIndexOf('.') + 1))) continue;
    if (excluded.has(p.toLowerCase())) continue;
    add(p);
  }
  seen.clear();
  for (const m of matchesAround(text, '.', NAME_CHAR, BARE_FILE_AT)) {
    const name = m[1] ?? '';
    const ext = (m[2] ?? '').toLowerCase();
    if (!SOURCE_EXT.has(ext) || NOT_FILES.test(name) || inUrl(m.index) || seen.has(name)) continue;
    seen.add(name);
    if (excluded.has(name.toLowerCase()) || /^(poc|exploit|payload|crash|test|repro)/i.test(name)) continue;
    // Method calls and member access in code (`s.sendall`, `document.cookie`) have no source extension,
    // but `foo.c` inside a longer dotted name would: only whole tokens count.
    if (found.some((f) => f === name || f.endsWith(`/${name}`))) continue;
    add(name);
  }
  // A bare name also given with its directory is the same file.
  return found.filter((f) => f.includes('/') || !found.some((g) => g !== f && g.endsWith(`/${f}`)));
}
