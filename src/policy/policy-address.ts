import type { TextUnit } from './markdown-blocks';
import type { Found } from './policy-types';

/**
 * The reporting address: a `mailto:` link (bare addresses become one through linkify), an address in
 * a code span, or a lightly obfuscated one (`security [at] example [dot] org`). Each candidate is
 * scored by its own name and by the words around it; the best wins, ties go to the first.
 */

/**
 * Every pattern here runs on a bounded slice (a whitespace-separated word, or a window around an
 * `[at]`): unanchored address regexes backtrack quadratically over a long run of letters, and a
 * SECURITY.md is untrusted input.
 */
const MAX_ADDRESS = 254;
const ADDRESS = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/gu;
const AT_MARK = /\s?[[(<{]\s?at\s?[\])>}]\s?/giu;
const LOCAL_BEFORE = /[A-Za-z0-9._%+-]{1,64}$/u;
// A plain `.` between labels must touch both (`harbor-js [dot] org. Include` is not `org.include`).
const DOMAIN_AFTER = /^[A-Za-z0-9-]{1,63}(?:(?:\s?[[(<{]\s?dot\s?[\])>}]\s?|\.)[A-Za-z0-9-]{1,63}){1,8}/iu;
const DOT_MARK = /\s?[[(<{]\s?dot\s?[\])>}]\s?|\./giu;

const SECURITY_LOCAL = /secur|vuln|psirt|cert|disclos|^sec(@|$)|sicherheit|seguridad/iu;
const REPORT_WORDS =
  /report|vulnerab|security|disclos|e-?mail|contact|send|write to|reach|melden|meldung|schwachstelle|sicherheit|kontakt|reportar|informar|vulnerabilidad|seguridad|correo|contacto|escrib|signaler|sécurité|courriel/iu;
const NOT_FOR_REPORTS = /code of conduct|verhaltenskodex|código de conducta|sponsor|billing|press|marketing/iu;
const NOT_A_MAILBOX = /^(no-?reply|do-?not-?reply|mailer-daemon|postmaster)@|users\.noreply\.github\.com$/iu;

interface Candidate {
  address: string;
  score: number;
  order: number;
  unit: TextUnit;
}

function clean(address: string): string | null {
  if (address.length > 3 * MAX_ADDRESS) return null;
  const a = address.trim().replace(/^mailto:/iu, '').replace(/[?#].*$/u, '');
  let decoded: string;
  try {
    decoded = decodeURIComponent(a);
  } catch {
    decoded = a;
  }
  const lower = decoded.toLowerCase().replace(/\.$/u, '');
  if (lower.length > MAX_ADDRESS) return null;
  if (!/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/u.test(lower) || NOT_A_MAILBOX.test(lower)) return null;
  return lower;
}

function addressesIn(unit: TextUnit): { address: string; mailto: boolean }[] {
  const out: { address: string; mailto: boolean }[] = [];
  for (const href of unit.links) {
    if (!/^mailto:/iu.test(href)) continue;
    // A mailto may list several recipients: `mailto:a@x,b@x`.
    for (const part of href.replace(/^mailto:/iu, '').split(',')) {
      const a = clean(part);
      if (a) out.push({ address: a, mailto: true });
    }
  }
  // Text units have their whitespace collapsed to single spaces, so words are space-separated.
  for (const word of unit.text.split(' ')) {
    if (word.length > MAX_ADDRESS + 20 || !word.includes('@')) continue;
    for (const m of word.matchAll(ADDRESS)) {
      const a = clean(m[0]);
      if (a) out.push({ address: a, mailto: false });
    }
  }
  for (const m of unit.text.matchAll(AT_MARK)) {
    if (m.index === undefined) continue;
    const local = LOCAL_BEFORE.exec(unit.text.slice(Math.max(0, m.index - 64), m.index))?.[0];
    const start = m.index + m[0].length;
    const domain = DOMAIN_AFTER.exec(unit.text.slice(start, start + MAX_ADDRESS * 2))?.[0];
    if (!local || !domain) continue;
    const a = clean(`${local}@${domain.replace(DOT_MARK, '.')}`);
    if (a) out.push({ address: a, mailto: false });
  }
  return out;
}

export function readAddress(units: TextUnit[]): Found<string> | null {
  const candidates: Candidate[] = [];
  let order = 0;
  for (const unit of units) {
    if (NOT_FOR_REPORTS.test(unit.section)) continue;
    const found = addressesIn(unit);
    if (found.length === 0) continue;
    // The words around are the same for every address in the unit: scored once, not per address.
    const reportText = REPORT_WORDS.test(unit.text);
    let around = reportText || REPORT_WORDS.test(unit.section) ? 2 : 0;
    if (NOT_FOR_REPORTS.test(unit.text) && !reportText) around -= 3;
    for (const { address, mailto } of found) {
      const score = around + (SECURITY_LOCAL.test(address.split('@')[0] ?? '') ? 3 : 0) + (mailto ? 1 : 0);
      candidates.push({ address, score, order: order++, unit });
    }
  }
  if (candidates.length === 0) return null;
  candidates.sort((a, b) => b.score - a.score || a.order - b.order);
  const best = candidates[0] as Candidate;
  // An address with no reporting words anywhere near it is not stated as the reporting address.
  if (best.score < 2) return null;
  return { value: best.address, text: best.unit.text.slice(0, 300), line: best.unit.line };
}
