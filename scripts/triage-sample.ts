import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildConfig } from '../src/config';
import type { Config } from '../src/config';
import { parseMessage } from '../src/parse/parse-message';
import { variedMessage } from '../src/sandbox/mail-factory';
import { readLabels } from '../src/triage/evaluate';
import type { ParsedMessage } from '../src/types';

/**
 * Message sets shared by the triage golden harness and the triage benchmark (not a test file, not
 * shipped): the labelled corpus, variants of it, and the benchmark's generated mail.
 */

/** Compiled to dist/scripts/; the corpus stays in the source tree. */
export const CORPUS_DIR = join(__dirname, '..', '..', 'test', 'fixtures', 'corpus');

export interface Sample {
  name: string;
  msg: ParsedMessage;
}

/** A config as `secdesk` would build it, with the corpus's versions policy so `supported` is exercised. */
export function sampleConfig(): Config {
  return buildConfig({
    address: 'security@larkspur.test',
    project: 'Larkspur',
    imap: { url: 'imap://u:p@127.0.0.1:1143' },
    smtp: { url: 'smtp://127.0.0.1:2525', from: 'Larkspur Security <security@larkspur.test>' },
    maintainers: ['alice@larkspur.test'],
    versions: readLabels(CORPUS_DIR).policy.versions,
  });
}

/** The backlog benchmark's sizes (bench/scenarios/backlog.ts): log-uniform between 2 KB and 200 KB. */
export function backlogSize(i: number): number {
  const u = ((i * 2654435761) % 1000) / 1000;
  return Math.round(2048 * Math.pow(100, u));
}

/** The backlog benchmark's mail, parsed: what ingest hands to triage. */
export async function backlogSet(n: number): Promise<Sample[]> {
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) out.push({ name: `backlog-${i}`, msg: await parseMessage(variedMessage(i, { tag: 'backlog', size: backlogSize(i) }).raw) });
  return out;
}

/** Generated mail of several tags and sizes (every variant of the factory, small to past the caps). */
export async function generatedSet(): Promise<Sample[]> {
  const out: Sample[] = [];
  const fixed = [400, 1500, 5000, 13_000, 30_000, 90_000, 250_000];
  for (const tag of ['backlog', 'v', 'lat0', 'golden']) {
    for (let i = 0; i < 500; i++) {
      const size = tag === 'backlog' ? backlogSize(i) : tag === 'v' ? undefined : fixed[i % fixed.length];
      const opts = size === undefined ? { tag } : { tag, size };
      out.push({ name: `gen-${tag}-${i}`, msg: await parseMessage(variedMessage(i, opts).raw) });
    }
  }
  return out;
}

export async function corpusSet(): Promise<Sample[]> {
  const files = readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.eml')).sort();
  const out: Sample[] = [];
  for (const f of files) out.push({ name: `corpus-${f}`, msg: await parseMessage(readFileSync(join(CORPUS_DIR, f))) });
  return out;
}

/**
 * The generated mail repeats one filler line, so it exercises few branches; these variants of the
 * corpus do: bodies cut at odd places, two reports run together, text re-sent as HTML, the subject
 * moved into the body, and small doses of the hostile shapes from test/triage-hostile.test.ts.
 */
export function corpusVariants(corpus: Sample[]): Sample[] {
  const out: Sample[] = [];
  const hostile = ['a/', 'a.', '../', '1.', 'ab12', 'Impact: x\n', '> ', ' ', 'an attacker ', '```\n', '漏洞', ' \n', 'branch-', '`main` ', 'src/a.c ', 'http://x/'];
  corpus.forEach(({ name, msg }, k) => {
    const other = corpus[(k * 7 + 3) % corpus.length]!.msg;
    const text = msg.text;
    for (const frac of [0.3, 0.55, 0.8]) out.push({ name: `${name}#cut${frac}`, msg: { ...msg, html: null, text: text.slice(0, Math.floor(text.length * frac)) } });
    out.push({ name: `${name}#joined`, msg: { ...msg, text: `${text}\n\n${other.text}`, html: null } });
    out.push({ name: `${name}#subject-in-body`, msg: { ...msg, subject: other.subject, text: `${msg.subject}\n${text}`, html: null } });
    out.push({ name: `${name}#unwrapped`, msg: { ...msg, html: null, text: text.replace(/\n(?!\n)/g, ' ') } });
    out.push({ name: `${name}#crlf-tabs`, msg: { ...msg, html: null, text: text.replace(/\n/g, '\r\n').replace(/ {4}/g, '\t') } });
    const esc = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    out.push({ name: `${name}#as-html`, msg: { ...msg, html: `<html><body>${esc.split('\n\n').map((p) => `<p>${p}</p>`).join('\n')}</body></html>` } });
    const shape = hostile[k % hostile.length]!;
    out.push({ name: `${name}#hostile`, msg: { ...msg, html: null, text: `${text}\n${shape.repeat(Math.ceil(6000 / shape.length))}\n${other.text}` } });
  });
  return out;
}
