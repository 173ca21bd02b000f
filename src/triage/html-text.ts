/**
 * HTML → text for triage. mailparser's own conversion is written for humans reading a reply: it
 * glues table cells together ("TypeServer-side request forgery"), uppercases headings and loses the
 * difference between prose and `<pre>`/`<code>`. Triage needs exactly those cues, so HTML-only mail is
 * converted here into markdown-ish text: `## heading`, `Cell: cell` rows, fenced `<pre>` blocks,
 * backticked `<code>`, numbered list items and visible link targets.
 *
 * One linear pass over tags; no DOM, no regex backtracking, bounded by the caller's size limit.
 */

const BLOCK = new Set(['p', 'div', 'section', 'article', 'header', 'footer', 'blockquote', 'table', 'tbody', 'thead', 'ul', 'ol', 'dl', 'dt', 'dd', 'hr', 'form', 'center', 'address', 'body', 'html']);
const SKIP = new Set(['head', 'style', 'script', 'title', 'template', 'noscript', 'svg', 'xml']);

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', ndash: '–', mdash: '—', hellip: '…', laquo: '«', raquo: '»', copy: '©' };

/** Decode the entities mail clients actually emit; unknown ones are left as written. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,8});/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[name.toLowerCase()] ?? whole;
  });
}

/** Comments removed with indexOf, not a lazy regex: unclosed `<!--` openers would make that quadratic. */
function stripComments(html: string): string {
  const parts: string[] = [];
  let at = 0;
  for (;;) {
    const open = html.indexOf('<!--', at);
    if (open < 0) break;
    parts.push(html.slice(at, open), ' ');
    const close = html.indexOf('-->', open + 4);
    if (close < 0) return parts.join('');
    at = close + 3;
  }
  parts.push(html.slice(at));
  return parts.join('');
}

interface ListState {
  ordered: boolean;
  n: number;
}

/** Converts an HTML body into text with the structure triage reads (see the file comment). */
export function htmlToText(html: string): string {
  const out: string[] = [];
  const lists: ListState[] = [];
  let skipDepth = 0;
  let skipTag = '';
  let inPre = false;
  let cells: string[] | null = null;
  let cellStart = -1;
  let href: string | null = null;
  let linkStart = 0;

  const newline = (): void => {
    const last = out[out.length - 1];
    if (last !== undefined && !last.endsWith('\n')) out.push('\n');
  };
  const blankLine = (): void => {
    newline();
    const joined = out.length >= 2 ? out[out.length - 2]! + out[out.length - 1]! : out[0] ?? '';
    if (out.length > 0 && !joined.endsWith('\n\n')) out.push('\n');
  };

  // `[^<>]*`, not `[^>]*`: an unclosed `<a` must not make every later `<` rescan to the end.
  const tokens = stripComments(html).match(/<\/?[a-zA-Z][^<>]*>|<[^<>]*>|[^<]+|</g) ?? [];
  for (const tok of tokens) {
    if (tok[0] !== '<' || tok.length === 1) {
      if (skipDepth > 0) continue;
      const t = decodeEntities(tok);
      out.push(inPre ? t : t.replace(/\s+/g, ' '));
      continue;
    }
    const m = /^<(\/?)([a-zA-Z][a-zA-Z0-9]*)/.exec(tok);
    if (!m) continue;
    const closing = m[1] === '/';
    const tag = (m[2] ?? '').toLowerCase();
    if (skipDepth > 0) {
      if (tag === skipTag) skipDepth += closing ? -1 : 1;
      continue;
    }
    if (SKIP.has(tag)) {
      if (!closing && !tok.endsWith('/>')) {
        skipDepth = 1;
        skipTag = tag;
      }
      continue;
    }
    if (tag === 'br') {
      out.push('\n');
    } else if (tag === 'pre') {
      if (closing) newline();
      else blankLine();
      out.push('```\n');
      inPre = !closing;
    } else if (tag === 'code' || tag === 'kbd' || tag === 'tt' || tag === 'samp') {
      if (!inPre) out.push('`');
    } else if (/^h[1-6]$/.test(tag)) {
      blankLine();
      if (!closing) out.push('## ');
    } else if (tag === 'ol' || tag === 'ul') {
      if (closing) lists.pop();
      else lists.push({ ordered: tag === 'ol', n: 0 });
      blankLine();
    } else if (tag === 'li') {
      newline();
      if (!closing) {
        const l = lists[lists.length - 1];
        if (l) l.n += 1;
        out.push(l?.ordered ? `${l.n}. ` : '- ');
      }
    } else if (tag === 'tr') {
      newline();
      cells = closing ? null : [];
    } else if (tag === 'td' || tag === 'th') {
      if (!closing) {
        cellStart = out.length;
      } else if (cells && cellStart >= 0) {
        // Indexes into `out`, not string offsets: re-joining the whole text per cell would be quadratic.
        const cell = out.splice(cellStart).join('').replace(/\s+/g, ' ').trim();
        cells.push(cell);
        // A two-column row is a label and its value: written as `Label: value`, the way people do.
        out.push(cells.length === 1 ? cell : cells.length === 2 ? `: ${cell}` : ` | ${cell}`);
        cellStart = -1;
      }
    } else if (tag === 'a') {
      if (!closing) {
        href = /\bhref\s*=\s*["']?([^"'\s>]+)/i.exec(tok)?.[1] ?? null;
        linkStart = out.length;
      } else if (href) {
        const target = decodeEntities(href);
        const label = out.slice(linkStart).join('').trim();
        if (/^https?:\/\//i.test(target) && label !== target && !label.includes(target)) out.push(` <${target}>`);
        href = null;
      }
    } else if (BLOCK.has(tag)) {
      blankLine();
    }
  }
  return out
    .join('')
    .split('\n')
    .map((l) => (l.startsWith('```') ? l : l.replace(/[ \t]+$/g, '')))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
