import type { TextUnit } from './markdown-blocks';
import type { Found } from './policy-types';

/**
 * The reporting address: a `mailto:` link (bare addresses become one through linkify), an address in
 * a code span, or a lightly obfuscated one (`security [at] example [dot] org`). Each candidate is
 * scored by its own name and by the words around it; the best wins, ties go to the first.
 */

const ADDRESS = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/gu;
const OBFUSCATED =
  /([A-Za-z0-9._%+-]+)\s*[[(<{]\s*at\s*[\])>}]\s*([A-Za-z0-9-]+(?:\s*(?:[[(<{]\s*dot\s*[\])>}]|\.)\s*[A-Za-z0-9-]+)+)/giu;

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
  const a = address.trim().replace(/^mailto:/iu, '').replace(/[?#].*$/u, '');
  let decoded: string;
  try {
    decoded = decodeURIComponent(a);
  } catch {
    decoded = a;
  }
  const lower = decoded.toLowerCase().replace(/\.$/u, '');
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
  for (const m of unit.text.matchAll(ADDRESS)) {
    const a = clean(m[0]);
    if (a) out.push({ address: a, mailto: false });
  }
  for (const m of unit.text.matchAll(OBFUSCATED)) {
    const domain = (m[2] ?? '').replace(/\s*[[(<{]\s*dot\s*[\])>}]\s*|\s*\.\s*/giu, '.');
    const a = clean(`${m[1] ?? ''}@${domain}`);
    if (a) out.push({ address: a, mailto: false });
  }
  return out;
}

export function readAddress(units: TextUnit[]): Found<string> | null {
  const candidates: Candidate[] = [];
  let order = 0;
  for (const unit of units) {
    const context = `${unit.section} ${unit.text}`;
    if (NOT_FOR_REPORTS.test(unit.section)) continue;
    for (const { address, mailto } of addressesIn(unit)) {
      let score = 0;
      if (SECURITY_LOCAL.test(address.split('@')[0] ?? '')) score += 3;
      if (REPORT_WORDS.test(context)) score += 2;
      if (mailto) score += 1;
      if (NOT_FOR_REPORTS.test(unit.text) && !REPORT_WORDS.test(unit.text)) score -= 3;
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
