import { FOLD, SPACE } from './fold';
import { requiredLiterals } from './literals';

/**
 * Which two- and three-character sequences occur in a text (folded, see fold.ts), as a hashed bit set
 * built in one pass. Triage runs ~100 patterns over each message, and on most text most of them find
 * nothing, yet each scans the whole text to say so. The set answers "can this pattern match here?"
 * from the literals every match contains (literals.ts): when one of them is missing, it cannot.
 *
 * One-sided: `false` is certain, `true` means "run the pattern" (a hash collision only costs that run).
 * Built over the subject and the body, it covers every part of them, the flowed text (only
 * whitespace differs, and whitespace runs are folded to one space) and the sections.
 */

const LOG_BITS = 16;
const SHIFT = 32 - LOG_BITS;

function bigram(a: number, c: number): number {
  return Math.imul((a << 16) | c, 0x9e3779b1) >>> SHIFT;
}

function trigram(b: number, a: number, c: number): number {
  return Math.imul(Math.imul(b, 0x85ebca6b) ^ ((a << 16) | c), 0xcc9e2d51) >>> SHIFT;
}

export class TextGrams {
  private readonly bits = new Int32Array(1 << (LOG_BITS - 5));

  constructor(text: string) {
    const bits = this.bits;
    let a = -1;
    let b = -1;
    for (let i = 0; i < text.length; i++) {
      const c = FOLD[text.charCodeAt(i)]!;
      if (c === SPACE && a === SPACE) continue;
      if (a >= 0) {
        const h2 = bigram(a, c);
        bits[h2 >>> 5]! |= 1 << (h2 & 31);
        if (b >= 0) {
          const h3 = trigram(b, a, c);
          bits[h3 >>> 5]! |= 1 << (h3 & 31);
        }
      }
      b = a;
      a = c;
    }
  }

  private has(h: number): boolean {
    return (this.bits[h >>> 5]! & (1 << (h & 31))) !== 0;
  }

  /** False when the folded text cannot contain `s` (already folded); single characters are not indexed. */
  mayContain(s: string): boolean {
    if (s.length < 2) return true;
    if (s.length === 2) return this.has(bigram(s.charCodeAt(0), s.charCodeAt(1)));
    for (let i = 2; i < s.length; i++) if (!this.has(trigram(s.charCodeAt(i - 2), s.charCodeAt(i - 1), s.charCodeAt(i)))) return false;
    return true;
  }

  /** False when `re` cannot match anywhere in the text the grams were built from. */
  mayMatch(re: RegExp): boolean {
    const literals = requiredLiterals(re);
    return literals === null || literals.some((s) => this.mayContain(s));
  }
}

/** `re` may match in the text `grams` cover; no grams (a caller without them) means it may. */
export function mayMatch(grams: TextGrams | undefined, re: RegExp): boolean {
  return grams === undefined || grams.mayMatch(re);
}
