import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { parseMessage } from '../src/parse/parse-message';
import { buildDoc } from '../src/triage/document';
import { FOLD, foldsCaseless } from '../src/triage/fold';
import { TextGrams } from '../src/triage/grams';
import { requiredLiterals } from '../src/triage/literals';
import { BARE_FILE, DIR_PATH, bareFiles, dirPaths } from '../src/triage/path-scan';

/**
 * The prefilters that let triage skip work must never skip a match: a pattern the gram index rules
 * out cannot match, and the path scan finds exactly what a global scan finds. Checked on the
 * patterns triage uses, on the corpus, and on random patterns and text.
 */

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const corpusDir = join(__dirname, 'fixtures', 'corpus');
let corpusTexts: string[] = [];

beforeAll(async () => {
  for (const f of readdirSync(corpusDir).filter((n) => n.endsWith('.eml'))) {
    const doc = buildDoc(await parseMessage(readFileSync(join(corpusDir, f))));
    corpusTexts.push(`${doc.subject}\n${doc.text}`, doc.flowed);
  }
  corpusTexts = corpusTexts.filter((t) => t.trim() !== '');
});

/** Every regular expression literal in src/triage: the patterns the prefilter is asked about. */
function triagePatterns(): RegExp[] {
  const dir = join(__dirname, '..', 'src', 'triage');
  const out: RegExp[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const source = ts.createSourceFile(f, readFileSync(join(dir, f), 'utf8'), ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node): void => {
      if (ts.isRegularExpressionLiteral(node)) {
        const text = node.text;
        const end = text.lastIndexOf('/');
        out.push(new RegExp(text.slice(1, end), text.slice(end + 1)));
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return out;
}

describe('requiredLiterals', () => {
  it.each([
    [/steps to reproduce|\bto reproduce\b/i, ['to reproduce']],
    [/use[- ]after[- ]free/i, ['use-after-free', 'use-after free', 'use after-free', 'use after free']],
    [/\b(?:attackers?|anyone)\b[^.\n]{0,100}?\bcan\b/i, ['attacker', 'anyone']],
    [/configuraci[oó]n/i, ['configuracion', 'configuración']],
    [/Pufferüberlauf/i, ['pufferüberlauf']],
    [/allows?\s+users/, ['allow users', 'allows users']],
    [/\$\([^)\n]{1,80}\)/, ['$(']],
    [/漏洞|安全问题/, ['漏洞', '安全问题']],
    [/(?<=\s)kann(?![a-z])/, ['kann']],
    [/^\s*1[.)]\s+\S/, ['1. ', '1) ']],
    [/([`'"]?)([\w./-]{2,60})\1 branch/i, [' branch']],
    [/我(?:们)?(?:在[^。\n]{0,30})?发现/, ['发现']],
  ])('%s needs one of %j', (re, expected) => {
    expect(requiredLiterals(re)).toEqual(expected);
  });

  it.each([
    [/\w+/, 'only classes'],
    [/a?b?/, 'may match nothing'],
    [/x|\d/, 'one branch has no literal'],
    [/\u{1F600}/u, 'unicode mode'],
    [/\0abc/, 'an escape not followed'],
    [/[a-z]ÿ/i, 'a letter whose other case lies outside Latin-1'],
  ])('%s: no answer (%s)', (re) => {
    expect(requiredLiterals(re)).toBeNull();
  });
});

describe('folding', () => {
  it('maps every character a case-insensitive literal matches to what the literal folds to', () => {
    // What a non-unicode /i pattern compares: the single upper-case code unit, never non-ASCII → ASCII.
    const canonical = (c: number): number => {
      const u = String.fromCharCode(c).toUpperCase();
      if (u.length !== 1) return c;
      const cu = u.charCodeAt(0);
      return c >= 128 && cu < 128 ? c : cu;
    };
    const folds = new Map<number, Set<number>>();
    for (let c = 0; c < 0x10000; c++) {
      const k = canonical(c);
      const set = folds.get(k) ?? new Set<number>();
      set.add(FOLD[c]!);
      folds.set(k, set);
    }
    const bad: string[] = [];
    for (let c = 0; c < 0x10000; c++) {
      if (foldsCaseless(c) && folds.get(canonical(c))!.size !== 1) bad.push(c.toString(16));
    }
    expect(bad).toEqual([]);
  });

  it('agrees with the regex engine on the letters the patterns use', () => {
    const all = Array.from({ length: 0x10000 }, (_, c) => String.fromCharCode(c)).join('');
    for (const ch of 'aZäÖüßéñ¿漏 -') {
      for (const m of all.matchAll(new RegExp(ch.replace(/[-]/g, '\\$&'), 'gi'))) {
        expect([m[0], FOLD[m[0].charCodeAt(0)]]).toEqual([m[0], FOLD[ch.charCodeAt(0)]]);
      }
    }
  });

  it('folds exactly the characters \\s matches to a space', () => {
    const differ: number[] = [];
    for (let c = 0; c < 0x10000; c++) if ((FOLD[c] === 0x20) !== /\s/.test(String.fromCharCode(c))) differ.push(c);
    expect(differ).toEqual([]);
  });
});

describe('TextGrams', () => {
  it('holds every substring of the text, whatever its case and spacing', () => {
    const next = random(7);
    const alphabet = 'abcAB Ü ü\n\t-./漏洞xyz  ';
    for (let i = 0; i < 300; i++) {
      const text = Array.from({ length: 1 + Math.floor(next() * 40) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
      const grams = new TextGrams(text);
      for (let k = 0; k < 20; k++) {
        const a = Math.floor(next() * text.length);
        const b = a + Math.floor(next() * (text.length - a + 1));
        const folded = Array.from(text.slice(a, b), (ch) => String.fromCharCode(FOLD[ch.charCodeAt(0)]!)).join('').replace(/ {2,}/g, ' ');
        expect([text, folded, grams.mayContain(folded)]).toEqual([text, folded, true]);
      }
    }
  });

  it('rules out text that is not there', () => {
    const grams = new TextGrams('the parser in crates/mime/src/decode.rs mishandles a header');
    expect(grams.mayMatch(/\battacker\b/i)).toBe(false);
    expect(grams.mayMatch(/MISHANDLES\s+a/i)).toBe(true);
  });
});

describe('soundness: a pattern the grams rule out never matches', () => {
  it('for every pattern of src/triage, on the corpus', () => {
    const patterns = triagePatterns();
    expect(patterns.length).toBeGreaterThan(150);
    const misses: string[] = [];
    for (const re of patterns) {
      const global = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
      for (const text of corpusTexts) {
        let n = 0;
        for (const m of text.matchAll(global)) {
          // The match alone must pass: its text is in every text that holds it.
          if (!new TextGrams(m[0]).mayMatch(re)) misses.push(`${re} on ${JSON.stringify(m[0])}`);
          if (++n >= 20) break;
        }
      }
    }
    expect(misses).toEqual([]);
  });

  it('for random patterns on text built to match them', () => {
    const next = random(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    const chars = ['a', 'b', 'A', 'ü', 'Ü', 'ß', 'ÿ', 'µ', ' ', '-', '.', '/', '漏', 'k'];
    const esc = (c: string): string => (/[.\-/]/.test(c) ? `\\${c}` : c);
    let checked = 0;
    // [regex source, a string it may match] for a random pattern of the syntax triage uses.
    const gen = (depth: number): [string, string] => {
      const r = next();
      if (depth > 3 || r < 0.35) {
        const c = pick(chars);
        const cased = next() < 0.5 ? c.toUpperCase() : c;
        return [esc(c), cased.length === 1 ? cased : c];
      }
      if (r < 0.42) return pick<[string, string]>([['\\s', pick([' ', '\n', '\t', '\u00a0'])], ['\\w', 'x'], ['\\d', '7'], ['.', 'q'], ['[ab]', 'b'], ['[a-c]', 'c'], ['[^a]', 'z'], ['[üß]', 'Ü'], ['[- ]', '-']]);
      if (r < 0.47) return pick<[string, string]>([['\\b', ''], ['^', ''], ['$', ''], ['(?=a)', ''], ['(?<=\\s)', ''], ['(?!b)', ''], ['\\1', '']]);
      if (r < 0.62) {
        const [a, b] = [gen(depth + 1), gen(depth + 1)];
        return next() < 0.5 ? [`(?:${a[0]}|${b[0]})`, a[1]] : [`(${a[0]}|${b[0]})`, b[1]];
      }
      if (r < 0.8) {
        const [s, t] = gen(depth + 1);
        const [q, times] = pick<[string, number]>([['?', 0], ['?', 1], ['*', 0], ['*', 3], ['+', 1], ['+', 2], ['{2}', 2], ['{0,2}', 1], ['{1,3}?', 3]]);
        return [`(?:${s})${q}`, t.repeat(times)];
      }
      const parts = Array.from({ length: 2 + Math.floor(next() * 3) }, () => gen(depth + 1));
      return [parts.map((p) => p[0]).join(''), parts.map((p) => p[1]).join('')];
    };
    for (let i = 0; i < 4000; i++) {
      const [source, sample] = gen(0);
      let re: RegExp;
      try {
        re = new RegExp(source, next() < 0.5 ? 'i' : '');
      } catch {
        continue; // a back-reference without a group, say
      }
      const noise = (): string => Array.from({ length: Math.floor(next() * 4) }, () => pick(chars)).join('');
      const text = `${noise()}${sample}${noise()}`;
      if (!re.test(text)) continue;
      checked++;
      expect([re.source, re.flags, text, new TextGrams(text).mayMatch(re)]).toEqual([re.source, re.flags, text, true]);
    }
    expect(checked).toBeGreaterThan(1000);
  });
});

describe('path scan', () => {
  const shape = (m: RegExpExecArray): string => JSON.stringify([m.index, ...m]);

  it('finds what a global scan of each path pattern finds', () => {
    const next = random(3);
    const pieces = ['a', 'b', 'src', '/', '.', '.c', '.rs', '+', '-', '@', ':', ' ', '1', ':12', '~', '$', '\\', 'x:', '..', '/x.py', '\n'];
    const texts = [...corpusTexts];
    for (let i = 0; i < 3000; i++) texts.push(Array.from({ length: 1 + Math.floor(next() * 16) }, () => pieces[Math.floor(next() * pieces.length)]).join(''));
    for (const text of texts) {
      expect([text, [...dirPaths(text)].map(shape)]).toEqual([text, [...text.matchAll(DIR_PATH)].map(shape)]);
      expect([text, [...bareFiles(text)].map(shape)]).toEqual([text, [...text.matchAll(BARE_FILE)].map(shape)]);
    }
  });
});
