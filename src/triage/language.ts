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

/** Prose only: code blocks, URLs, paths and inline code say nothing about the writer's language. */
function prose(text: string): string {
  const kept: string[] = [];
  let inFence = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) inFence = !inFence;
    else if (!inFence && !/^ {4}/.test(line)) kept.push(line);
  }
  return kept
    .join('\n')
    .split(/\s+/)
    .filter((t) => !/[/\\`@]|^https?:/.test(t))
    .join(' ');
}

export function detectLanguage(subject: string, body: string): Language {
  const text = prose(`${subject}\n${body.slice(0, 20_000)}`);
  const han = (text.match(HAN) ?? []).length;
  const kana = (text.match(KANA_HANGUL) ?? []).length;
  const words = text.toLowerCase().match(/[a-zäöüßáéíóúñ]+/g) ?? [];
  if (kana > han / 2 && kana >= 5) return 'und';
  if (han >= 6 && han >= words.length * 0.5) return 'zh';
  const counts = { en: 0, de: 0, es: 0 };
  for (const w of words) {
    for (const lang of ['en', 'de', 'es'] as const) if (STOPWORDS[lang].has(w)) counts[lang] += 1;
  }
  // Letters only one language uses tip a close call.
  counts.de += (text.match(/[äöüß]/gi) ?? []).length * 0.5;
  counts.es += (text.match(/[ñ¿¡]/g) ?? []).length * 2 + (text.match(/ción\b/g) ?? []).length;
  const ranked = (Object.entries(counts) as [Language, number][]).sort((a, b) => b[1] - a[1]);
  const [top, second] = ranked;
  if (!top || top[1] < 2) return han >= 3 ? 'zh' : 'und';
  if (second && top[1] === second[1]) return 'und';
  return top[0];
}
