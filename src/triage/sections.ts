import type { ChecklistId } from '../policy/policy-types';

/**
 * Reports that follow a template say what each part is: `## Impact`, `Impact:`, `5. Impact`,
 * `【影响】`, a bold line from HTML. Splitting on those headings lets the extractors trust a labelled
 * part ("Configuration: none, default install" is an answer) before falling back to phrasing.
 */

export type SectionId = ChecklistId | 'cvss' | 'summary';

export interface Section {
  /** What the heading announces; null for the text before the first heading and unknown headings. */
  id: SectionId | null;
  heading: string;
  /** The heading's inline value and the lines under it, trimmed. */
  body: string;
}

/** Tried in order: "Affected version" is a version, "影响版本" is not an impact, "Request" is a PoC. */
const LABELS: [SectionId, RegExp][] = [
  ['poc', /^(poc|proof[- ]of[- ]concept|exploit( code| script)?|payload|(http )?request|prueba de concepto|概念验证|漏洞验证|验证代码|利用代码)/],
  ['reproduction', /^(steps|reproduc|repro\b|how to reproduce|to reproduce|schritte|reproduktion|reproduzier|nachstellen|nachvollziehen|aufruf|pasos|reproducci|reproducir|复现|重现|步骤)/],
  ['configuration', /^((special|required|needed) )?(configuration|config\b|setup|requirements?|prerequisites?|preconditions?|konfiguration|voraussetzung|einstellung|configuraci|requisitos?|配置|前提|环境要求)/],
  ['affected_ref', /^((affected|vulnerable|betroffene|target) (url|endpoint|page|link|commit|branch|host)|url afectada|commit afectado|受影响的?(url|地址|链接))/],
  ['versions', /^((affected |tested |betroffene |getestete )?versions?( (tested|affected|probada|afectadas?))?$|(affected|tested|betroffene|getestete) versions?|versi[oó]n(es)?( afectadas?| probadas?)?$|受?影响版本|测试版本|版本)/],
  ['paths', /^(affected( (file|files|code|component|source|function|module)s?)?$|affected (file|code|component|source)|files?$|component$|location$|source$|betroffene[rs]? (datei|code|komponente|quell)|datei$|(archivo|código|componente)( afectad[oa])?$|(archivo|código) afectad|问题代码|相关代码|受影响的?(文件|代码|组件)|文件$|代码位置)/],
  ['issue_type', /^(type( of (the )?(issue|vulnerability|bug|problem|weakness))?$|(vulnerability|issue|bug|weakness) (type|class)|issue$|class$|category$|cwe$|art der (schwachstelle|lücke|sicherheitslücke)|schwachstellentyp|tipo( de (vulnerabilidad|problema|fallo))?$|漏洞类型|问题类型|类型)/],
  ['impact', /^(impact|business impact|consequences?$|auswirkung|folgen?$|risiko$|impacto|consecuencias?$|影响|危害|漏洞影响|风险)/],
  ['cvss', /^(cvss|severity|score|bewertung|schweregrad|gravedad|puntuaci|评分|严重)/],
  ['summary', /^(summary|description|details|overview|beschreibung|zusammenfassung|descripci|resumen|漏洞描述|描述|概述|摘要|问题描述)/],
];

/**
 * Any of LABELS, in one test: most lines are not headings, and one anchored pattern says so faster
 * than ten. (Each alternative keeps its own `^`, so this matches exactly when one of them does.)
 */
const ANY_LABEL = new RegExp(LABELS.map(([, re]) => `(?:${re.source})`).join('|'));

/** Answers that say "nothing here": a PoC section reading "none" is no PoC. */
export const EMPTY_ANSWER = /^(none|n\/a|na|-+|unknown|nothing|tbd|todo|keine?|nichts|unbekannt|ninguna?|nada|desconocido|无|暂无|不详|未知)\.?$/i;

export function labelId(label: string): SectionId | null {
  const l = label.trim().toLowerCase().replace(/\s+/g, ' ');
  if (l === '' || l.length > 40 || /https?:|\/|\\/.test(l) || !ANY_LABEL.test(l)) return null;
  for (const [id, re] of LABELS) if (re.test(l)) return id;
  return null;
}

const MD_HEADING = /^#{1,6}\s+(.+?)\s*#*$/;
const BRACKET = /^【([^】]{1,30})】\s*(.*)$/;
const NUMBERING = /^(?:\d{1,2}[.)]|[a-z]\)|[-*•])\s+/i;
const LABEL_LINE = /^([^:\n`]{1,40}?)\s*:\s*(.*)$/;

interface Heading {
  id: SectionId | null;
  heading: string;
  inline: string;
  /** A `Label: value` line: its section ends at the next blank line, not only at the next heading. */
  labelLine: boolean;
}

// Every line of a message goes through here: the cheap character tests skip the patterns that
// cannot match (a heading marker must come first, a label needs a colon).
function readHeading(raw: string): Heading | null {
  let line = raw.trim();
  if (line.startsWith('**')) line = line.replace(/^\*\*(.+?)\*\*/, '$1');
  if (line.startsWith('__')) line = line.replace(/^__(.+?)__/, '$1');
  if (line === '') return null;
  const md = line.startsWith('#') ? MD_HEADING.exec(line) : null;
  if (md?.[1] !== undefined) {
    const label = md[1].replace(NUMBERING, '').replace(/[:.]\s*$/, '').replace(/\*+/g, '');
    return { id: labelId(label), heading: label, inline: '', labelLine: false };
  }
  const br = line.startsWith('【') ? BRACKET.exec(line) : null;
  if (br?.[1] !== undefined) return { id: labelId(br[1]), heading: br[1], inline: br[2] ?? '', labelLine: false };
  const unnumbered = line.replace(NUMBERING, '');
  const lab = unnumbered.includes(':') ? LABEL_LINE.exec(unnumbered) : null;
  if (lab?.[1] !== undefined) {
    const id = labelId(lab[1].replace(/\*+/g, ''));
    // `CVSS:3.1/AV:N/…` reads as a label too, and rightly: it is the score.
    if (id !== null) return { id, heading: lab[1].trim(), inline: (lab[2] ?? '').trim(), labelLine: (lab[2] ?? '').trim() !== '' };
    return null;
  }
  // A short line on its own ("Reproduction steps", "5. Impact", an HTML bold paragraph).
  if (unnumbered.length <= 40 && unnumbered.split(/\s+/).length <= 5 && !/[.,;!?]$/.test(unnumbered)) {
    const id = labelId(unnumbered);
    if (id !== null) return { id, heading: unnumbered, inline: '', labelLine: false };
  }
  return null;
}

/** Splits text into sections at recognised headings; text before the first heading is one section. */
export function splitSections(text: string): Section[] {
  const sections: Section[] = [];
  let cur: { id: SectionId | null; heading: string; lines: string[]; labelLine: boolean } = { id: null, heading: '', lines: [], labelLine: false };
  let inFence = false;
  const flush = (): void => {
    const body = cur.lines.join('\n').trim();
    if (body !== '' || cur.heading !== '') sections.push({ id: cur.id, heading: cur.heading, body });
  };
  const fences = text.includes('```') || text.includes('~~~');
  for (const line of text.split('\n')) {
    if (fences && /^\s*(```|~~~)/.test(line)) inFence = !inFence;
    const h = inFence || line.length > 200 ? null : readHeading(line);
    if (h) {
      flush();
      cur = { id: h.id, heading: h.heading, lines: h.inline ? [h.inline] : [], labelLine: h.labelLine };
      continue;
    }
    if (cur.labelLine && line.trim() === '') {
      // `Impact: …` answered on its line; what follows the blank line belongs to no heading.
      flush();
      cur = { id: null, heading: '', lines: [], labelLine: false };
      continue;
    }
    cur.lines.push(line);
  }
  flush();
  return sections;
}

/** The first section with this id that has a real answer. */
export function findSection(sections: Section[], id: SectionId, allowEmptyAnswer = false): Section | null {
  for (const s of sections) {
    if (s.id !== id || s.body === '') continue;
    if (!allowEmptyAnswer && EMPTY_ANSWER.test(s.body.trim())) continue;
    return s;
  }
  return null;
}
