import { FOLD, SPACE, collapseSpaces, foldsCaseless } from './fold';

/**
 * The literal strings a pattern's matches must contain, read from its source: every match of
 * /\b(?:attackers?|anyone)\b[^.\n]{0,100}?\bcan\b/i contains "attacker" or "anyone". Triage skips a
 * pattern on text that holds none of them (grams.ts), which is most patterns on most text.
 *
 * Sound rather than complete: the answer is always a necessary condition. What the reader does not
 * follow (ranges, classes like `\w`, back-references) counts as "any text", which only weakens the
 * answer, and syntax it does not know (u/v mode) gives no answer at all, so the pattern always runs.
 * Strings are folded as the text is (fold.ts).
 */

interface Info {
  /** Every string this part can match, when they are few and known; else null. */
  exact: string[] | null;
  /** Every match starts with one of these (`['']`: nothing known). */
  prefix: string[];
  /** Every match ends with one of these. */
  suffix: string[];
  /** Strings one of which every match contains; null when none is known. */
  some: string[] | null;
}

const ANY: Info = { exact: null, prefix: [''], suffix: [''], some: null };
const EMPTY: Info = { exact: [''], prefix: [''], suffix: [''], some: null };
/** Beyond these, sets are given up: a longer list costs more to check than it saves. */
const MAX_EXACT = 32;
const MAX_SOME = 64;

class Unsupported extends Error {}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** A set that says something: the empty string occurs in every text. */
function known(xs: string[] | null): string[] | null {
  return xs && xs.length > 0 && !xs.includes('') ? xs : null;
}

/** Each of `a` followed by each of `b`; null when there would be too many. */
function cross(a: string[], b: string[]): string[] | null {
  return a.length * b.length <= MAX_EXACT ? unique(a.flatMap((x) => b.map((y) => collapseSpaces(x + y)))) : null;
}

function union(a: string[], b: string[], max: number): string[] | null {
  return a.length + b.length <= max ? unique([...a, ...b]) : null;
}

/** The more selective of two requirements: longer shortest string, then fewer strings. */
function better(a: string[] | null, b: string[] | null): string[] | null {
  if (!a || !b) return a ?? b;
  const la = Math.min(...a.map((s) => s.length));
  const lb = Math.min(...b.map((s) => s.length));
  return lb > la || (lb === la && b.length < a.length) ? b : a;
}

/** What one of must occur in every match; null when the part may match the empty string or nothing is known. */
function needles(x: Info): string[] | null {
  if (x.exact) return known(x.exact);
  return [x.some, known(x.prefix), known(x.suffix)].reduce(better, null);
}

function exactly(s: string): Info {
  const one = [collapseSpaces(s)];
  return { exact: one, prefix: one, suffix: one, some: null };
}

function concat(a: Info, b: Info): Info {
  return {
    exact: a.exact && b.exact ? cross(a.exact, b.exact) : null,
    prefix: (a.exact && cross(a.exact, b.prefix)) ?? a.prefix,
    suffix: (b.exact && cross(a.suffix, b.exact)) ?? b.suffix,
    // Besides each side's own: where they meet, one of a's endings runs into one of b's beginnings.
    some: [needles(a), needles(b), known(cross(a.suffix, b.prefix))].reduce(better, null),
  };
}

function alternate(a: Info, b: Info): Info {
  const na = needles(a);
  const nb = needles(b);
  return {
    exact: a.exact && b.exact ? union(a.exact, b.exact, MAX_EXACT) : null,
    prefix: union(a.prefix, b.prefix, MAX_EXACT) ?? [''],
    suffix: union(a.suffix, b.suffix, MAX_EXACT) ?? [''],
    some: na && nb ? union(na, nb, MAX_SOME) : null,
  };
}

function repeat(x: Info, min: number, max: number): Info {
  // Any run of whitespace folds to one space, however long.
  if (x.exact?.length === 1 && x.exact[0] === ' ') {
    const space = min === 0 ? ['', ' '] : [' '];
    return { exact: space, prefix: space, suffix: space, some: null };
  }
  if (min === 0) {
    const exact = max === 1 && x.exact ? unique(['', ...x.exact]) : null;
    return { exact, prefix: exact ?? [''], suffix: exact ?? [''], some: null };
  }
  return { exact: min === 1 && max === 1 ? x.exact : null, prefix: x.prefix, suffix: x.suffix, some: needles(x) };
}

class Reader {
  private pos = 0;

  constructor(
    private readonly src: string,
    private readonly ignoreCase: boolean,
  ) {}

  read(): Info {
    const info = this.alternation();
    if (this.pos !== this.src.length) throw new Unsupported(`unexpected ${this.src[this.pos]}`);
    return info;
  }

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  private literal(c: number): Info {
    if (this.ignoreCase && !foldsCaseless(c)) return ANY;
    return exactly(String.fromCharCode(FOLD[c] ?? c));
  }

  private alternation(): Info {
    let info = this.sequence();
    while (this.peek() === '|') {
      this.pos++;
      info = alternate(info, this.sequence());
    }
    return info;
  }

  private sequence(): Info {
    let info = EMPTY;
    // Single characters are gathered and joined once: a concatenation per character is slow to read.
    let run = '';
    while (this.pos < this.src.length && this.peek() !== '|' && this.peek() !== ')') {
      const next = this.quantified();
      if (next.exact?.length === 1 && next.exact[0]?.length === 1) {
        run += next.exact[0];
        continue;
      }
      if (run !== '') info = concat(info, exactly(run));
      run = '';
      info = concat(info, next);
    }
    return run === '' ? info : concat(info, exactly(run));
  }

  private quantified(): Info {
    const atom = this.atom();
    const q = /^(?:([*+?])|\{(\d+)(?:(,)(\d*))?\})/.exec(this.src.slice(this.pos, this.pos + 24));
    if (!q) return atom;
    this.pos += q[0].length;
    if (this.peek() === '?') this.pos++; // lazy: matches the same strings
    if (q[1] === '*') return repeat(atom, 0, Infinity);
    if (q[1] === '+') return repeat(atom, 1, Infinity);
    if (q[1] === '?') return repeat(atom, 0, 1);
    const min = Number(q[2]);
    return repeat(atom, min, q[3] === undefined ? min : q[4] === '' ? Infinity : Number(q[4]));
  }

  private atom(): Info {
    const c = this.src[this.pos++] ?? '';
    switch (c) {
      case '(':
        return this.group();
      case '[':
        return this.charClass();
      case '\\':
        return this.escape();
      case '^':
      case '$':
        return EMPTY;
      case '.':
        return ANY;
      case '*':
      case '+':
      case '?':
        throw new Unsupported('nothing to repeat');
      default:
        return this.literal(c.charCodeAt(0));
    }
  }

  private group(): Info {
    let lookaround = false;
    if (this.src.startsWith('?:', this.pos)) this.pos += 2;
    else if (/^\?(?:[=!]|<[=!])/.test(this.src.slice(this.pos, this.pos + 3))) {
      lookaround = true;
      this.pos += this.src[this.pos + 1] === '<' ? 3 : 2;
    } else if (this.src.startsWith('?<', this.pos)) {
      const end = this.src.indexOf('>', this.pos);
      if (end < 0) throw new Unsupported('group name');
      this.pos = end + 1;
    } else if (this.peek() === '?') throw new Unsupported('group kind');
    const inner = this.alternation();
    if (this.src[this.pos++] !== ')') throw new Unsupported('unclosed group');
    // A lookaround constrains its surroundings but consumes nothing: ignoring it only weakens the answer.
    return lookaround ? EMPTY : inner;
  }

  /** The code unit of a character escape (`\n`, `\x41`, `\u00e9`, `\.`), or null for a class or assertion. */
  private charEscape(inClass: boolean): number | null {
    const c = this.src[this.pos++] ?? '';
    const hex = (n: number): number => {
      const h = this.src.slice(this.pos, this.pos + n);
      if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) throw new Unsupported('escape');
      this.pos += n;
      return parseInt(h, 16);
    };
    switch (c) {
      case 'n':
        return 0x0a;
      case 'r':
        return 0x0d;
      case 't':
        return 0x09;
      case 'v':
        return 0x0b;
      case 'f':
        return 0x0c;
      case 'x':
        return hex(2);
      case 'u':
        return hex(4);
      case 'b':
        return inClass ? 0x08 : null;
      case 'c':
      case '0':
      case 'k':
        throw new Unsupported('escape');
      default:
        // `\12` may be a back-reference or an octal escape, depending on the groups: not followed.
        if (/[1-9]/.test(c) && /[0-9]/.test(this.peek() ?? '')) throw new Unsupported('escape');
        if (/[dDwWsSB1-9]/.test(c)) return null;
        return c.charCodeAt(0);
    }
  }

  private escape(): Info {
    const kind = this.src[this.pos] ?? '';
    const code = this.charEscape(false);
    if (code !== null) return this.literal(code);
    if (kind === 'b' || kind === 'B') return EMPTY;
    if (kind === 's') return this.literal(SPACE);
    return ANY; // \d \w \S …, and back-references (which may match anything, even nothing)
  }

  /** A class of a few single characters (`[- ]`, `[oó]`) is a choice of literals; anything else is any character. */
  private charClass(): Info {
    const negated = this.peek() === '^';
    if (negated) this.pos++;
    const chars: number[] = [];
    let simple = !negated;
    while (this.peek() !== ']') {
      if (this.pos >= this.src.length) throw new Unsupported('unclosed class');
      let code: number | null;
      if (this.peek() === '\\') {
        this.pos++;
        code = this.charEscape(true);
      } else code = this.src.charCodeAt(this.pos++);
      if (code === null) simple = false;
      else chars.push(code);
      // A range (`a-z`): a dash between two members.
      if (this.peek() === '-' && this.src[this.pos + 1] !== ']' && chars.length > 0) simple = false;
    }
    this.pos++;
    if (!simple || chars.length === 0 || chars.length > MAX_EXACT) return ANY;
    let info: Info | null = null;
    for (const c of chars) info = info ? alternate(info, this.literal(c)) : this.literal(c);
    return info ?? ANY;
  }
}

const cache = new WeakMap<RegExp, string[] | null>();

/**
 * Strings (folded, see fold.ts) one of which every match of `re` contains; null when nothing is
 * known, and then the pattern must simply be run.
 */
export function requiredLiterals(re: RegExp): string[] | null {
  const hit = cache.get(re);
  if (hit !== undefined) return hit;
  let out: string[] | null = null;
  if (!/[uv]/.test(re.flags)) {
    try {
      const found = needles(new Reader(re.source, re.ignoreCase).read());
      // A string that contains another is implied by it: keep the shorter.
      out = found && !found.includes('') ? found.filter((s) => !found.some((t) => t !== s && s.includes(t))) : null;
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
    }
  }
  cache.set(re, out);
  return out;
}
