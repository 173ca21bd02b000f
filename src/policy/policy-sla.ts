import { DAY, HOUR, MINUTE, formatDuration } from '../duration';
import type { TextUnit } from './markdown-blocks';
import type { SlaPromise } from './policy-types';

/**
 * Response-time promises ("within 24 hours", "2 business days", "innerhalb von 48 Stunden",
 * "en un plazo de 2 días hábiles") read sentence by sentence out of the policy's text runs.
 *
 * A duration counts only next to words about answering the reporter, and never next to words about
 * fixing or disclosing ("we publish advisories within 90 days" is a disclosure promise, not a clock).
 * The first promise is the `acknowledge` clock; the one about a detailed answer / next steps is
 * `respond`.
 */

const NUMBER_WORDS: Record<string, number> = {
  a: 1, an: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  fourteen: 14, thirty: 30, 'twenty-four': 24, 'forty-eight': 48, 'seventy-two': 72,
  ein: 1, eine: 1, einer: 1, einem: 1, einen: 1, zwei: 2, drei: 3, vier: 4, 'fünf': 5, sechs: 6,
  sieben: 7, acht: 8, neun: 9, zehn: 10, vierzehn: 14,
  un: 1, una: 1, uno: 1, dos: 2, tres: 3, cuatro: 4, cinco: 5, seis: 6, siete: 7, ocho: 8, nueve: 9,
  diez: 10, catorce: 14,
  une: 1, deux: 2, trois: 3, quatre: 4, cinq: 5, sept: 7, huit: 8, neuf: 9, dix: 10, quinze: 15,
};

const NUM = `(\\d+(?:[.,]\\d+)?|${Object.keys(NUMBER_WORDS)
  .sort((a, b) => b.length - a.length)
  .join('|')})`;
const BUSINESS_BEFORE = `(business|working|werk|arbeits)?[\\s-]*`;
const UNIT =
  '(hours?|hrs?|h|stunden?|std|horas?|heures?|' +
  'days?|tagen?|tage|d[ií]as?|jours?|' +
  'weeks?|wochen?|semanas?|semaines?)';
const BUSINESS_AFTER = `(\\s+(?:h[aá]biles|laborables|ouvr[ée]s|ouvrables))?`;

/** "24 hours", "48-hour", "2 business days", "5 Werktagen", "2 días hábiles", "one week". */
const DURATION = new RegExp(
  `(?<![\\p{L}\\p{N}])${NUM}(?:\\s*\\(\\d+\\))?[\\s-]*${BUSINESS_BEFORE}${UNIT}(?![\\p{L}])${BUSINESS_AFTER}`,
  'giu',
);

/** Words that make a duration a promise to answer the reporter (en, de, es, fr). */
const ANSWER_WORDS =
  /respond|response|repl(y|ies)|acknowledg|answer|hear (back|from)|get back|contact you|confirm|receipt|update|triage|assess|evaluat|antwort|rückmeldung|bestätig|eingang|melden|reagier|respuesta|responder|acus|confirmación|contest|réponse|répond|accus/iu;

/** Words of a detailed answer with next steps: the `respond` clock. */
const DETAILED_WORDS =
  /detail|next steps?|further steps|assessment|triage|evaluat|status update|plan|timeline|ausführlich|detailliert|nächsten schritte|weitere[nm]? (vorgehen|schritte)|einschätzung|bewertung|detallad|próximos pasos|siguientes pasos|evaluación|détaill|prochaines étapes|évaluation/iu;

/** Words of fixing or disclosing: a duration next to them is no answer clock. */
const NOT_ANSWER_WORDS =
  /disclos|publish|public|fix(ed|es)?\b|patch|releas|embargo|advisor|cve|bounty|payout|veröffentlich|offenleg|behoben|divulg|public|parche|corrig|correcci|correctif|publier/iu;

const CLAUSE_BREAK = /[,;:]|\s(?:and|und|y|et|but|aber|pero|mais)\s/iu;
/** Where the quoted phrase starts: a colon stays in, so "Acknowledgement: within 24 hours" keeps its label. */
const PHRASE_START = /[,;]|\s(?:and|und|y|et|but|aber|pero|mais)\s/iu;

function unitOf(unit: string): { ms: number; suffix: string } {
  const u = unit.toLowerCase();
  if (/^(h|hrs?|hours?|stunden?|std|horas?|heures?)$/u.test(u)) return { ms: HOUR, suffix: 'h' };
  if (/^(weeks?|wochen?|semanas?|semaines?)$/u.test(u)) return { ms: 7 * DAY, suffix: 'w' };
  return { ms: DAY, suffix: 'd' };
}

function toNumber(s: string): number | null {
  const lower = s.toLowerCase();
  if (lower in NUMBER_WORDS) return NUMBER_WORDS[lower] ?? null;
  const n = Number(lower.replace(',', '.'));
  return Number.isFinite(n) && n > 0 ? n : null;
}

/** Sentences of a text run. Abbreviations like "e.g." stay inside their sentence. */
function sentences(text: string): string[] {
  return text.split(/(?<=[.!?])\s+(?=[\p{Lu}¿¡"(*])/u).filter((s) => s.trim() !== '');
}

interface Hit {
  ms: number;
  /** In the unit the policy used: `24h` stays `24h`, `one week` is `1w`. */
  duration: string;
  businessDays: boolean;
  written: string;
  start: number;
  end: number;
}

function hitsIn(sentence: string): Hit[] {
  const out: Hit[] = [];
  for (const m of sentence.matchAll(DURATION)) {
    const [whole, num, before, unit, after] = m;
    if (num === undefined || unit === undefined || m.index === undefined) continue;
    // A bare `h` needs digits ("24h"); "a h" is not a duration.
    if (unit.toLowerCase() === 'h' && !/^\d/.test(num)) continue;
    const n = toNumber(num);
    if (n === null) continue;
    const businessDays = Boolean(before || after);
    const { ms, suffix } = unitOf(unit);
    const total = Math.round(n * ms);
    const duration = Number.isInteger(n) ? `${n}${suffix}` : formatDuration(total);
    out.push({ ms: total, duration, businessDays, written: whole.trim(), start: m.index, end: m.index + whole.length });
  }
  return out;
}

/** Durations secdesk can sensibly run a clock on: not seconds, not a quarter of a year. */
const MIN_CLOCK = 15 * MINUTE;
const MAX_CLOCK = 60 * DAY;

/** Every answer promise in document order. */
export function findPromises(units: TextUnit[]): SlaPromise[] {
  const out: SlaPromise[] = [];
  for (const unit of units) {
    if (unit.container === 'heading') continue;
    for (const sentence of sentences(unit.text)) {
      const hits = hitsIn(sentence);
      hits.forEach((hit, i) => {
        const prevEnd = hits[i - 1]?.end ?? 0;
        const nextStart = hits[i + 1]?.start ?? sentence.length;
        const before = sentence.slice(prevEnd, hit.start);
        const afterAll = sentence.slice(hit.end, nextStart);
        const brk = CLAUSE_BREAK.exec(afterAll);
        // The words around a duration up to the next clause break say what it promises; when that
        // is too tight ("Within 48 hours, we will respond"), the whole stretch between durations.
        let context = before + ' ' + (brk ? afterAll.slice(0, brk.index) : afterAll);
        if (!ANSWER_WORDS.test(context)) context = before + ' ' + afterAll;
        if (!ANSWER_WORDS.test(context) || NOT_ANSWER_WORDS.test(context)) return;
        if (hit.ms < MIN_CLOCK || hit.ms > MAX_CLOCK) return;
        const head = before.split(PHRASE_START).pop() ?? '';
        const tail = brk ? afterAll.slice(0, brk.index) : afterAll;
        out.push({
          value: hit.ms,
          duration: hit.duration,
          text: sentence.trim(),
          line: unit.line,
          detailed: DETAILED_WORDS.test(context),
          businessDays: hit.businessDays,
          written: hit.written,
          phrase: `${head}${sentence.slice(hit.start, hit.end)}${tail}`.trim(),
        });
      });
    }
  }
  return out;
}

/**
 * First plain promise → acknowledge (or the first promise of any kind); the first detailed promise
 * after it that is not shorter → respond, else the first later promise that is longer.
 */
export function pickClocks(promises: SlaPromise[]): { acknowledge: SlaPromise | null; respond: SlaPromise | null } {
  const acknowledge = promises.find((p) => !p.detailed) ?? promises[0] ?? null;
  if (!acknowledge) return { acknowledge: null, respond: null };
  const rest = promises.filter((p) => p !== acknowledge);
  const respond =
    rest.find((p) => p.detailed && p.value >= acknowledge.value) ??
    promises.slice(promises.indexOf(acknowledge) + 1).find((p) => p.value > acknowledge.value) ??
    null;
  return { acknowledge, respond };
}
