/**
 * The language a message is written in: 'en' | 'de' | 'es' | 'zh', or 'und' when it cannot be told
 * (too little prose, or another language). Function words, not dictionaries: they are frequent in
 * any prose and rare in code, paths and URLs, which are stripped first anyway.
 */

export type Language = 'en' | 'de' | 'es' | 'zh' | 'und';

const STOPWORDS: Record<'en' | 'de' | 'es', Set<string>> = {
  en: new Set('the and is are was were to of in it you for with that this on not have has i we my our your be can if when from there which will would please thanks found'.split(' ')),
  de: new Set('der die das und ist sind nicht ich wir mit für ein eine einen auf den dem im zu wird bei es von dass auch noch nach wenn sich oder bitte danke über ihre unsere wie kann'.split(' ')),
  es: new Set('el la los las de que y en un una es por para con no se del al lo como su sus pero hay este esta está muy gracias cuando puede hola también'.split(' ')),
};

const HAN = /[\u3400-\u4dbf\u4e00-\u9fff]/g;
const KANA_HANGUL = /[\u3040-\u30ff\uac00-\ud7af]/g;

/** Words are runs of these letters (lower case). */
const LETTER = 'a-zäöüßáéíóúñ';
const WORD = new RegExp(`[${LETTER}]+`, 'g');
/** Languages per stopword ("es" is German and Spanish). */
const STOPWORD_LANGS = new Map<string, ('en' | 'de' | 'es')[]>();
for (const lang of ['en', 'de', 'es'] as const) {
  // A stopword with another character could never be a whole word; the pattern below relies on that.
  for (const w of STOPWORDS[lang]) if (new RegExp(`^[${LETTER}]+$`).test(w)) STOPWORD_LANGS.set(w, [...(STOPWORD_LANGS.get(w) ?? []), lang]);
}
/**
 * A whole word that is a stopword: one pass over the text finds them all, instead of collecting
 * every word and looking each one up.
 */
const STOPWORD = new RegExp(`(?<![${LETTER}])(?:${[...STOPWORD_LANGS.keys()].join('|')})(?![${LETTER}])`, 'g');
/**
 * A token (between whitespace) that holds a path, a URL, code or an address, or starts like a URL,
 * with the whitespace before it (kept by the replacement). Tried only at the start of a token, so
 * the scan stays linear on a long token.
 */
const NOT_PROSE = /(^|\s)(?:[^\s/\\`@]*[/\\`@]|https?:)\S*/g;

/**
 * Prose only: code blocks, URLs, paths and inline code say nothing about the writer's language.
 * Tokens stay separated by the whitespace they had: every count below is a sum over tokens.
 */
function prose(text: string): string {
  return (text.includes('```') || text.startsWith('    ') || text.includes('\n    ') ? proseLines(text) : text).replace(NOT_PROSE, '$1');
}

/** Lines outside fenced blocks that are not indented (mail without either keeps every line). */
function proseLines(text: string): string {
  const kept: string[] = [];
  let inFence = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) inFence = !inFence;
    else if (!inFence && !/^ {4}/.test(line)) kept.push(line);
  }
  return kept.join('\n');
}

function count(text: string, re: RegExp): number {
  return (text.match(re) ?? []).length;
}

export function detectLanguage(subject: string, body: string): Language {
  const text = prose(`${subject}\n${body.slice(0, 20_000)}`);
  const han = count(text, HAN);
  const kana = count(text, KANA_HANGUL);
  if (kana > han / 2 && kana >= 5) return 'und';
  const lower = text.toLowerCase();
  if (han >= 6 && han >= count(lower, WORD) * 0.5) return 'zh';
  const counts = { en: 0, de: 0, es: 0 };
  for (const w of lower.match(STOPWORD) ?? []) for (const lang of STOPWORD_LANGS.get(w) ?? []) counts[lang] += 1;
  // Letters only one language uses tip a close call.
  counts.de += count(text, /[äöüß]/gi) * 0.5;
  counts.es += count(text, /[ñ¿¡]/g) * 2 + count(text, /ción\b/g);
  const ranked = (Object.entries(counts) as [Language, number][]).sort((a, b) => b[1] - a[1]);
  const [top, second] = ranked;
  if (!top || top[1] < 2) return han >= 3 ? 'zh' : 'und';
  if (second && top[1] === second[1]) return 'und';
  return top[0];
}
