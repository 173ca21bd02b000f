import type { ListBlock, TableBlock, TextUnit } from './markdown-blocks';
import type { VersionRow, VersionStatus } from './policy-types';
import { isVersionPattern, normalizeVersion } from './version-policy';

/**
 * The supported-versions table (and the prose or list forms some policies use instead). A row whose
 * status cannot be read is kept as `unknown` with a warning: never guessed either way.
 */

const VERSION_HEADER = /version|release|branch|tag|versi[oó]n|ausgabe|série|series|line/iu;
const STATUS_HEADER = /support|maintain|status|security|fix|patch|unterstützt|gepflegt|soport|mantenid|compat|activ/iu;
const NOTE_HEADER = /end|eol|life|until|date|bis|hasta|fin|expir|note|comment|bemerk|notas?/iu;
const VERSIONS_SECTION = /version|versi[oó]n|releases?/iu;

// Order matters: negative forms are tested first so "not supported" never reads as "supported".
const NO =
  /❌|✗|✘|✖|⛔|🚫|🔴|:x:|:no_entry(_sign)?:|:heavy_multiplication_x:|:red_circle:|\b(no|n|false|none|never)\b|not? (longer )?(supported|maintained)|unsupported|unmaintained|end[- ]of[- ](life|support)|\beol\b|deprecated|nein|nicht|veraltet|no soportad|sin soporte|non support/iu;
const YES =
  /✅|✔|✓|☑|🟢|:white_check_mark:|:heavy_check_mark:|:ballot_box_with_check:|:green_circle:|:check:|\b(yes|y|true)\b|supported|maintained|maintenance|active|current|\blts\b|security (fixes|updates|patches)|\bja\b|unterstützt|(?<![\p{L}])s[ií](?![\p{L}])|soportad|oui|activ/iu;

export function statusOf(cell: string): VersionStatus {
  if (/^\s*(n\/?a|\?|-|tbd|tba)\s*$/iu.test(cell)) return 'unknown';
  if (NO.test(cell)) return 'unsupported';
  if (YES.test(cell)) return 'supported';
  return 'unknown';
}

/** Clean a version cell: emphasis is already gone; drop parentheticals and "(LTS)" style notes. */
export function cleanPattern(cell: string): string {
  let p = cell.replace(/\([^)]*\)|\[[^\]]*\]/g, ' ').trim();
  p = p.replace(/\s+(lts|stable|current|beta|rc)$/iu, '');
  const v = normalizeVersion(p);
  if (/^(the )?(latest|newest|most recent|current)( (stable|major|minor))?( (release|version|versions|releases))?$/u.test(v)) {
    return 'latest';
  }
  return v;
}

/** A cell quoted in a warning: a table cell can be any length, a warning is one line. */
function short(cell: string): string {
  return cell.length > 60 ? `${cell.slice(0, 59)}…` : cell;
}

interface Columns {
  version: number;
  status: number;
  note: number | null;
}

function columnsOf(t: TableBlock): Columns | null {
  const h = t.header;
  const version = h.findIndex((c) => VERSION_HEADER.test(c));
  if (version < 0) return null;
  let status = h.findIndex((c, i) => i !== version && STATUS_HEADER.test(c));
  // A two-column table whose other header is blank or unusual: its cells decide.
  if (status < 0 && h.length === 2) status = version === 0 ? 1 : 0;
  if (status < 0) return null;
  const noteIdx = h.findIndex((c, i) => i !== version && i !== status && NOTE_HEADER.test(c));
  return { version, status, note: noteIdx < 0 ? null : noteIdx };
}

function rowsOfTable(t: TableBlock, cols: Columns, warnings: string[]): VersionRow[] {
  const out: VersionRow[] = [];
  for (const r of t.rows) {
    const rawVersion = r.cells[cols.version] ?? '';
    const statusText = r.cells[cols.status] ?? '';
    const pattern = cleanPattern(rawVersion);
    if (pattern === '') continue;
    if (!isVersionPattern(pattern)) {
      warnings.push(`line ${r.line ?? '?'}: version "${short(rawVersion)}" is not a pattern secdesk understands; left out`);
      continue;
    }
    const status = statusOf(statusText);
    if (status === 'unknown') warnings.push(`line ${r.line ?? '?'}: cannot tell whether ${short(pattern)} is supported ("${short(statusText)}")`);
    const noteCells = r.cells.filter((_, i) => i !== cols.version && i !== cols.status && r.cells[i] !== '');
    const note = cols.note !== null ? r.cells[cols.note] || null : noteCells.join('; ') || null;
    out.push({ pattern, status, statusText, note, line: r.line });
  }
  return out;
}

/** `- 2.x: supported`, `- 1.x — end of life`, or bare `- 2.x` under a "Supported versions" heading. */
function rowsOfList(l: ListBlock): VersionRow[] {
  if (!VERSIONS_SECTION.test(l.section)) return [];
  const sectionStatus = statusOf(l.section);
  const out: VersionRow[] = [];
  for (const item of l.items) {
    const m = /^(.+?)(?:\s*(?::|—|–|\s-\s|\|)\s*(.*))?$/u.exec(item.text);
    const pattern = cleanPattern(m?.[1] ?? '');
    if (!pattern || !isVersionPattern(pattern) || pattern === 'latest' && !m?.[2]) continue;
    const rest = m?.[2] ?? '';
    const status = rest ? statusOf(rest) : sectionStatus;
    if (status === 'unknown') continue;
    out.push({ pattern, status, statusText: rest || l.section, note: null, line: item.line });
  }
  // A list counts only when it is mostly versions.
  return out.length >= Math.max(1, Math.ceil(l.items.length / 2)) ? out : [];
}

const LATEST_PROSE =
  /\b(only|just)\b[^.]*\b(latest|most recent|newest|current)\b[^.]*\b(release|version)s?\b|\b(latest|most recent|newest|current)\b[^.]*\b(release|version)s?\b[^.]*\b(supported|receives? security|security (updates|fixes))/iu;
const MAX_SENTENCE = 400;
const LATEST_NEGATED = /\bnot\b|\bno\b|nicht|\bno\b/iu;

/** A policy with no table that says "only the latest release is supported". */
function rowsOfProse(units: TextUnit[]): VersionRow[] {
  for (const u of units) {
    if (u.container !== 'paragraph' && u.container !== 'item') continue;
    if (!VERSIONS_SECTION.test(u.section) && !/support/iu.test(u.text)) continue;
    for (const s of u.text.split(/(?<=[.!?])\s+/u)) {
      // LATEST_PROSE backtracks over its `[^.]*` runs; a real sentence is short, so longer is skipped.
      if (s.length > MAX_SENTENCE) continue;
      if (LATEST_PROSE.test(s) && !LATEST_NEGATED.test(s)) {
        return [{ pattern: 'latest', status: 'supported', statusText: s.trim(), note: null, line: u.line }];
      }
    }
  }
  return [];
}

export function readVersions(
  tables: TableBlock[],
  lists: ListBlock[],
  units: TextUnit[],
  warnings: string[],
): { supported: string[]; unsupported: string[]; rows: VersionRow[] } {
  let rows: VersionRow[] = [];
  for (const t of tables) {
    const cols = columnsOf(t);
    if (cols) rows = rows.concat(rowsOfTable(t, cols, warnings));
  }
  if (rows.length === 0) for (const l of lists) rows = rows.concat(rowsOfList(l));
  if (rows.length === 0) rows = rowsOfProse(units);
  const uniq = (s: VersionStatus): string[] => [...new Set(rows.filter((r) => r.status === s).map((r) => r.pattern))];
  const supported = uniq('supported');
  const unsupported = uniq('unsupported');
  for (const p of supported.filter((x) => unsupported.includes(x))) {
    warnings.push(`${p} is listed both as supported and as unsupported`);
  }
  return { supported, unsupported, rows };
}
