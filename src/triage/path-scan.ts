/**
 * Where the path patterns match, found without running them at every position of the text.
 *
 * A global scan evaluates both patterns' lookbehind at every character, and retries a directory
 * path's `(?:dir/)+` from every start, which is quadratic on input like `+a/+a/+a/…`. Yet every match
 * holds a mark (`/`; `.` for a bare name), the characters from its start to the first mark are all name
 * characters, and the lookbehind allows only a start where that run begins or just after a `+` in it.
 * So only such starts are tried, with the pattern made sticky: same matches, groups and order as the
 * global scan.
 *
 * What follows the first mark does not depend on where the match started. So when an allowed start
 * fails, every other start before the same mark fails too; and for directory paths, so does every
 * start whose first `/` comes one whole directory name after that mark.
 */

/** A path with at least one directory and a file extension; segments are code-repo-like names. */
export const DIR_PATH = /(?<![\w.~$/\\@-])(?<!\w:)((?:[A-Za-z0-9_@+-][\w@+.-]*\/)+[\w@+-][\w@+.-]*\.[A-Za-z][A-Za-z0-9]{0,7})(?::\d+(?::\d+)?)?(?![\w/-])/g;
/** A file name with an extension (`session.c`); the caller keeps only source extensions. */
export const BARE_FILE = /(?<![\w.~$/\\@-])(?<!\w:)([A-Za-z_][\w-]*(?:\.[\w-]+)*\.([A-Za-z]{1,6}))(?::\d+(?::\d+)?)?(?![\w/-])/g;

/** ASCII characters of a class, as a table: the scan below looks at one character at a time. */
function table(cls: RegExp): Uint8Array {
  return Uint8Array.from({ length: 128 }, (_, c) => (cls.test(String.fromCharCode(c)) ? 1 : 0));
}

function has(t: Uint8Array, c: number): boolean {
  return c >= 0 && c < 128 && t[c] === 1;
}

const WORD = table(/\w/);
const COLON = 0x3a;
/** The lookbehind's `[\w.~$/\\@-]`. */
const NOT_BEFORE = table(/[\w.~$/\\@-]/);

/** The patterns' shared lookbehind, `(?<![\w.~$/\\@-])(?<!\w:)`, at `p`. */
function startAllowed(text: string, p: number): boolean {
  const prev = p > 0 ? text.charCodeAt(p - 1) : -1;
  if (has(NOT_BEFORE, prev)) return false;
  return !(prev === COLON && p >= 2 && has(WORD, text.charCodeAt(p - 2)));
}

interface Shape {
  sticky: RegExp;
  mark: string;
  /** What a match starts with. */
  first: Uint8Array;
  /** What lies between a match's start and its first mark. */
  run: Uint8Array;
  /** `(?:dir/)+`: from a mark after which nothing matches, neither does anything after the next directory name. */
  chained: boolean;
}

const DIR: Shape = { sticky: new RegExp(DIR_PATH.source, 'y'), mark: '/', first: table(/[A-Za-z0-9_@+-]/), run: table(/[\w@+.-]/), chained: true };
const BARE: Shape = { sticky: new RegExp(BARE_FILE.source, 'y'), mark: '.', first: table(/[A-Za-z_]/), run: table(/[\w-]/), chained: false };

function* matches(text: string, shape: Shape): Generator<RegExpExecArray> {
  const { sticky, mark, first, run } = shape;
  let at = 0;
  /** A position just after a mark from which no match can continue; -1 when none is known. */
  let dead = -1;
  for (;;) {
    const q = text.indexOf(mark, at);
    if (q < 0) return;
    let start = q;
    while (start > at && has(run, text.charCodeAt(start - 1))) start--;
    // The text since the dead mark is one more directory name: the continuation after `q` fails too.
    const doomed = shape.chained && dead === at && start === at && at < q && has(first, text.charCodeAt(at));
    let tried = false;
    let m: RegExpExecArray | null = null;
    for (let p = start; p < q && !doomed && !tried; p++) {
      if (!has(first, text.charCodeAt(p)) || !startAllowed(text, p)) continue;
      sticky.lastIndex = p;
      m = sticky.exec(text);
      // Start and lookbehind were fine: if this failed, the continuation after `q` did, for all starts.
      tried = true;
    }
    if (m) {
      yield m;
      at = m.index + m[0].length;
      dead = -1;
    } else {
      dead = doomed || tried ? q + 1 : -1;
      at = q + 1;
    }
  }
}

/** The matches of DIR_PATH, as `text.matchAll(DIR_PATH)` gives them. */
export function dirPaths(text: string): Generator<RegExpExecArray> {
  return matches(text, DIR);
}

/** The matches of BARE_FILE, as `text.matchAll(BARE_FILE)` gives them. */
export function bareFiles(text: string): Generator<RegExpExecArray> {
  return matches(text, BARE);
}
