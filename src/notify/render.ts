import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { ConfigError, PermanentError } from '../errors';
import type { AutoReplyPurpose } from './compose';

/**
 * Templates for the mail reporters receive, rendered with Handlebars.
 *
 * Per template name there are up to three files: `<name>.txt.hbs` (required), `<name>.html.hbs` and
 * `<name>.subject.hbs` (both optional). A `templates.dir` from config overrides file by file: a file
 * present there wins, any other falls back to the built-in one in templates/.
 *
 * Templates are trusted (the operator writes them); variables are not (they echo the reporter's
 * subject and file names). So: HTML templates escape every `{{var}}`; text templates do not escape
 * (there is no markup to break) but every string variable has its control characters — line breaks
 * included — replaced by spaces before rendering, so a variable can neither inject lines into the
 * text nor hide text with bidi overrides.
 */

export const TEMPLATE_NAMES = [
  'ack',
  'support-redirect',
  'chaser-reply',
  'resolution',
  'command-errors',
  'undecryptable',
  'encrypted-no-key',
] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

export const TEMPLATE_FOR_PURPOSE: Record<AutoReplyPurpose, TemplateName> = {
  ack: 'ack',
  support_redirect: 'support-redirect',
  chaser_reply: 'chaser-reply',
  resolution: 'resolution',
  command_errors: 'command-errors',
  undecryptable: 'undecryptable',
  encrypted_no_key: 'encrypted-no-key',
};

export interface RenderedMail {
  subject?: string;
  text: string;
  html?: string;
}

export interface Renderer {
  render(name: string, vars: object): RenderedMail;
  /** Compile every known template now (start-up / `secdesk check`): a broken override fails early. */
  check(): void;
  /** Which file a template part comes from (for logs and `secdesk check`). */
  resolve(name: string, part: TemplatePart): string | null;
}

export type TemplatePart = 'txt' | 'html' | 'subject';

/** templates/ at the project root, from src/notify (ts-jest) or dist/src/notify (built). */
function findBuiltinDir(): string {
  const candidates = [path.resolve(__dirname, '../../templates'), path.resolve(__dirname, '../../../templates')];
  return candidates.find((d) => existsSync(path.join(d, 'ack.txt.hbs'))) ?? (candidates[0] as string);
}

export const BUILTIN_TEMPLATES_DIR = findBuiltinDir();

// C0 (tab kept) and C1 controls, DEL, line/paragraph separators, bidi and zero-width formatting.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const VAR_UNSAFE_RE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/** A copy of `v` with every string made single-line and control-free. Bounded depth; drops functions. */
export function sanitizeVars(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return v.replace(VAR_UNSAFE_RE, ' ');
  if (v === null || typeof v !== 'object' || depth > 6) return typeof v === 'function' ? undefined : v;
  if (Array.isArray(v)) return v.map((x) => sanitizeVars(x, depth + 1));
  if (v instanceof Date) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = sanitizeVars(x, depth + 1);
  return out;
}

/** Tidy rendered text: no trailing spaces (but the signature's `-- `), at most one blank line in a row, one final newline. */
function tidyText(s: string): string {
  return `${s
    .replace(/\r\n?/g, '\n')
    .replace(/^(?!-- $)(.*?)[ \t]+$/gm, '$1') // keeps the "-- " signature separator
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}

export function createRenderer(opts: { dir?: string } = {}): Renderer {
  const overrideDir = opts.dir ? path.resolve(opts.dir) : undefined;
  if (overrideDir && !(existsSync(overrideDir) && statSync(overrideDir).isDirectory())) {
    throw new ConfigError(`templates.dir: ${overrideDir} is not a directory`);
  }
  const htmlEnv = Handlebars.create();
  const textEnv = Handlebars.create();
  const cache = new Map<string, Handlebars.TemplateDelegate>();

  function resolve(name: string, part: TemplatePart): string | null {
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(name)) throw new PermanentError('ETemplate', `bad template name ${JSON.stringify(name)}`);
    const file = `${name}.${part}.hbs`;
    for (const dir of overrideDir ? [overrideDir, BUILTIN_TEMPLATES_DIR] : [BUILTIN_TEMPLATES_DIR]) {
      const p = path.join(dir, file);
      if (existsSync(p)) return p;
    }
    return null;
  }

  function compiled(file: string, part: TemplatePart): Handlebars.TemplateDelegate {
    const key = `${part}:${file}`;
    let fn = cache.get(key);
    if (!fn) {
      const src = readFileSync(file, 'utf8');
      try {
        fn =
          part === 'html'
            ? htmlEnv.compile(src, { strict: false })
            : textEnv.compile(src, { noEscape: true, strict: false });
        // Handlebars compiles lazily: force it now so syntax errors name the file.
        fn({});
      } catch (e) {
        throw new PermanentError('ETemplate', `template ${file}: ${(e as Error).message.split('\n')[0]}`, e);
      }
      cache.set(key, fn);
    }
    return fn;
  }

  function run(file: string, part: TemplatePart, vars: unknown): string {
    try {
      return compiled(file, part)(vars);
    } catch (e) {
      if (e instanceof PermanentError) throw e;
      throw new PermanentError('ETemplate', `template ${file}: ${(e as Error).message.split('\n')[0]}`, e);
    }
  }

  return {
    resolve,
    render(name, vars) {
      const txt = resolve(name, 'txt');
      if (!txt) throw new PermanentError('ETemplate', `no template ${name}.txt.hbs`);
      const safe = sanitizeVars(vars);
      const out: RenderedMail = { text: tidyText(run(txt, 'txt', safe)) };
      const html = resolve(name, 'html');
      if (html) out.html = run(html, 'html', safe);
      const subject = resolve(name, 'subject');
      if (subject) out.subject = run(subject, 'subject', safe).replace(/\s+/g, ' ').trim();
      return out;
    },
    check() {
      for (const name of TEMPLATE_NAMES) {
        for (const part of ['txt', 'html', 'subject'] as const) {
          const f = resolve(name, part);
          if (f) compiled(f, part);
          else if (part === 'txt') throw new PermanentError('ETemplate', `no template ${name}.txt.hbs`);
        }
      }
    },
  };
}
