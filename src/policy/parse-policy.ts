import { formatDuration } from '../duration';
import { markdownBlocks } from './markdown-blocks';
import { readAddress } from './policy-address';
import { readChecklist } from './policy-checklist';
import { findPromises, pickClocks } from './policy-sla';
import type { ParsedPolicy, PolicyPart, SlaPromise } from './policy-types';
import { PolicyError } from './policy-types';
import { readVersions } from './policy-versions';

/**
 * SECURITY.md → ParsedPolicy: checks that the input is a text document at all, then runs each reader
 * over one markdown parse. Pure: the caller reads the file (see `decodePolicyBytes`).
 */

/**
 * Real SECURITY.md files are a few kilobytes; the largest we know of are under 50 KB. Anything far
 * bigger is not a policy, and the readers' regexes should never see megabytes of one paragraph.
 */
export const MAX_POLICY_CHARS = 256 * 1024;
/** The same limit in bytes of UTF-8 (or UTF-16), for a file not yet decoded. */
export const MAX_POLICY_BYTES = MAX_POLICY_CHARS * 4;

/** Control characters that never occur in a text file (tab, newline, CR and form feed do). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000E-\u001F\u007F]/gu;

/**
 * Reject what is not a markdown document, with a message that says what is wrong with it. Messages
 * name no file: the caller knows which file it read and puts its name in front.
 */
function checkText(markdown: unknown): string {
  if (typeof markdown !== 'string') throw new PolicyError(`expected text, got ${typeof markdown}`);
  const text = markdown.replace(/^\uFEFF/u, '');
  if (text.length > MAX_POLICY_CHARS) {
    throw new PolicyError(
      `${text.length} characters is far larger than any security policy (limit ${MAX_POLICY_CHARS}); is this the right file?`,
    );
  }
  if (text.trim() === '') throw new PolicyError('the file is empty');
  if (text.includes('\u0000')) throw new PolicyError('the file contains NUL bytes; it looks binary, not markdown');
  const control = (text.match(CONTROL) ?? []).length;
  const replaced = (text.match(/\uFFFD/gu) ?? []).length;
  // A handful of stray characters is a sloppy editor; a few percent is a binary or mis-encoded file.
  if (control + replaced > Math.max(8, text.length / 100)) {
    throw new PolicyError('the file is not UTF-8 text (it is binary or in another encoding)');
  }
  return text.replace(/\r\n?/gu, '\n');
}

/**
 * File bytes → text. UTF-8 with or without a BOM, and UTF-16 with a BOM (what Windows editors save as
 * "Unicode"); anything else that is not valid UTF-8 is refused rather than read as mojibake.
 */
export function decodePolicyBytes(bytes: Uint8Array): string {
  if (bytes.length > MAX_POLICY_BYTES) {
    throw new PolicyError(`${bytes.length} bytes is far larger than any security policy; is this the right file?`);
  }
  const b0 = bytes[0];
  const b1 = bytes[1];
  let encoding = 'utf-8';
  if (b0 === 0xff && b1 === 0xfe) encoding = 'utf-16le';
  else if (b0 === 0xfe && b1 === 0xff) encoding = 'utf-16be';
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    throw new PolicyError('the file is not UTF-8 text (it is binary or in another encoding)');
  }
}

/** How far into a wrapped paragraph to look for the line a phrase is on. */
const PARAGRAPH_LINES = 60;

/**
 * Readers know the line a paragraph starts on; a comment pointing at a wrapped paragraph's first line
 * when the promise is three lines down sends the reader hunting. Falls back to the paragraph's line.
 */
function refineLine(lines: string[], from: number | null, needles: string[]): number | null {
  if (from === null) return null;
  for (const needle of needles.map((n) => n.toLowerCase()).filter((n) => n !== '')) {
    const end = Math.min(lines.length, from - 1 + PARAGRAPH_LINES);
    for (let i = from - 1; i < end; i++) if ((lines[i] ?? '').toLowerCase().includes(needle)) return i + 1;
  }
  return from;
}

function refineClock(lines: string[], p: SlaPromise | null): SlaPromise | null {
  return p && { ...p, line: refineLine(lines, p.line, [p.written, p.written.split(/\s/u)[0] ?? '']) };
}

export function parsePolicy(markdown: string): ParsedPolicy {
  const text = checkText(markdown);
  const { units, lists, tables } = markdownBlocks(text);
  const lines = text.split('\n');
  const warnings: string[] = [];

  const found = readAddress(units);
  const address = found && {
    ...found,
    line: refineLine(lines, found.line, [found.value, `${found.value.split('@')[0] ?? ''}`]),
  };
  const clocks = pickClocks(findPromises(units));
  const sla = { acknowledge: refineClock(lines, clocks.acknowledge), respond: refineClock(lines, clocks.respond) };
  const versions = readVersions(tables, lists, units, warnings);
  const checklist = readChecklist(lists);

  const missing: PolicyPart[] = [];
  if (!address) missing.push('address');
  if (!sla.acknowledge) missing.push('sla.acknowledge');
  if (!sla.respond) missing.push('sla.respond');
  if (versions.rows.length === 0) missing.push('versions');
  if (checklist.length === 0) missing.push('checklist');

  if (missing.length === 5) {
    throw new PolicyError(
      'found no reporting address, no response times, no supported-versions table and no list of report ' +
        'fields; it does not read as a security policy (is it the right file, or is the markdown broken, e.g. an unclosed ``` fence?)',
    );
  }

  for (const clock of [sla.acknowledge, sla.respond]) {
    if (clock?.businessDays) {
      warnings.push(
        `line ${clock.line ?? '?'}: "${clock.written}" are business days; secdesk's clock runs in calendar time, ` +
          `so ${formatDuration(clock.value)} is stricter than the policy (lengthen it if weekends should not count)`,
      );
    }
  }
  const unmapped = checklist.filter((i) => i.id === null);
  for (const item of unmapped) {
    const text = item.text.length > 80 ? `${item.text.slice(0, 79)}…` : item.text;
    warnings.push(`line ${item.line ?? '?'}: report field "${text}" is not one secdesk's checklist knows; left out`);
  }

  return { address, sla, versions, checklist, missing, warnings };
}
