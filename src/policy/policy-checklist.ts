import type { ListBlock } from './markdown-blocks';
import type { ChecklistId, ChecklistItem } from './policy-types';

/**
 * The list of what a report should include ("Type of issue", "Full paths of source file(s)", …),
 * mapped onto the acknowledgement checklist's ids while keeping the policy's own wording.
 */

/**
 * An item names one field first and often mentions another in passing: "Any special configuration
 * required to reproduce the issue" is configuration, "Steps to reproduce, ideally with a proof of
 * concept" is reproduction. So the rule matching earliest in the item wins; on a tie, the first rule.
 */
const RULES: [ChecklistId, RegExp][] = [
  ['poc', /proof[- ]of[- ]concept|\bpoc\b|exploit(ation)? code|exploit-code|prueba de concepto|código de explotación|preuve de concept|código (de )?exploit/iu],
  ['configuration', /configuration|\bconfig\b|settings|setup required|konfiguration|einstellungen|configuración|configuracion/iu],
  ['affected_ref', /tag\/branch|branch|commit|direct url|location of the affected|zweig|\brama\b|ubicación del código|ort des betroffenen|emplacement du code/iu],
  ['paths', /paths?\b|source files?|file\(s\)|affected files?|pfade?|quelldatei|rutas?\b|archivos? (de código )?fuente|chemins?/iu],
  ['issue_type', /type of (the )?(issue|vulnerability|bug|problem)|description of the (issue|vulnerability|bug|problem)|kind of (issue|vulnerability)|vulnerability (type|class)|class of|\bcwe\b|art de[rs] (problems|schwachstelle|sicherheitslücke)|tipo de (problema|vulnerabilidad|fallo)|type de (problème|vulnérabilité)/iu],
  ['impact', /impact|severity|how an attacker|auswirkung|schweregrad|impacto|gravedad|sévérité/iu],
  ['versions', /versions?\b|release affected|affected release|versi[oó]n(es)?|betroffene version/iu],
  ['reproduction', /reproduc|steps to|step-by-step|schritt|reproduzier|pasos|reproducir|étapes/iu],
];

export function checklistId(text: string): ChecklistId | null {
  let best: { id: ChecklistId; at: number } | null = null;
  for (const [id, re] of RULES) {
    const at = text.search(re);
    if (at >= 0 && (!best || at < best.at)) best = { id, at };
  }
  return best?.id ?? null;
}

/** A lead-in that introduces the report fields ("please include", "bitte angeben", "incluya"). */
const LEAD_WORDS =
  /include|describe|provide|details|information|help us|as much as|bitte|angaben|angeben|beschreib|inclu|proporcion|describ|información|détails|fournir/iu;

/** The policy's list of report fields: the list that maps onto the most checklist ids (two at least). */
export function readChecklist(lists: ListBlock[]): ChecklistItem[] {
  let best: { items: ChecklistItem[]; score: number } | null = null;
  for (const l of lists) {
    const items = l.items
      .map((i) => ({ id: checklistId(i.text), text: i.text.trim(), line: i.line }))
      .filter((i) => i.text !== '');
    const known = new Set(items.map((i) => i.id).filter((id) => id !== null)).size;
    if (known < 2) continue;
    const score = known * 2 + (LEAD_WORDS.test(l.lead) ? 1 : 0);
    if (!best || score > best.score) best = { items, score };
  }
  return best?.items ?? [];
}
