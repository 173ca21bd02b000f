/**
 * The folding shared by the gram index (grams.ts) and the literals read from patterns (literals.ts):
 * ASCII and Latin-1 letters to lower case, every whitespace character (what `\s` matches) to a space.
 * Both sides fold the same way, so "the text contains this literal" survives folding; runs of
 * whitespace are collapsed to one space on both sides as well (see `collapseSpaces`).
 */

export const SPACE = 0x20;

/** Code unit → folded code unit, for all 65,536 (a table: the index is built one character at a time). */
export const FOLD = new Uint16Array(0x10000);
for (let c = 0; c < 0x10000; c++) FOLD[c] = c;
for (let c = 0x41; c <= 0x5a; c++) FOLD[c] = c + 0x20;
for (let c = 0xc0; c <= 0xde; c++) if (c !== 0xd7) FOLD[c] = c + 0x20;
// The characters `\s` matches (WhiteSpace and LineTerminator).
for (const c of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff]) FOLD[c] = SPACE;
for (let c = 0x2000; c <= 0x200a; c++) FOLD[c] = SPACE;

/**
 * Whether a case-insensitive pattern's literal `c` can be folded: every character that `/c/i` matches
 * must fold to what `c` folds to. True for ASCII, for Latin-1 letters (not `ÿ` or `µ`, whose upper
 * case lies outside Latin-1) and for characters without case (CJK, punctuation).
 */
export function foldsCaseless(c: number): boolean {
  if (c < 0x80) return true;
  if (c >= 0xc0 && c <= 0xfe) return c !== 0xd7 && c !== 0xf7;
  const s = String.fromCharCode(c);
  return s.toLowerCase() === s && s.toUpperCase() === s;
}

export function foldString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += String.fromCharCode(FOLD[s.charCodeAt(i)] ?? 0);
  return collapseSpaces(out);
}

export function collapseSpaces(s: string): string {
  return s.includes('  ') ? s.replace(/ {2,}/g, ' ') : s;
}
