import type { FoundUrl } from './urls';
import { insideUrl } from './urls';
import { bareFiles, dirPaths } from './path-scan';
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

/** Code-host links to a file at a ref: GitHub/Gitea `blob|tree|raw|src`, GitLab `-/blob`. */
const CODE_LINK = /\/(?:-\/)?(?:blob|tree|raw|src(?:\/(?:branch|tag|commit))?)\/[^/\s]+\/([^\s#?]+)/;

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
  for (const m of dirPaths(text)) {
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
  for (const m of bareFiles(text)) {
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
