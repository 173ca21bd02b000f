import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { triageForIngest } from '../src/triage-adapter';
import { corpusSet, corpusVariants, generatedSet, sampleConfig } from './triage-sample';

/**
 * Golden outputs of triage, for changes that must not change them (speed-ups, refactors):
 *
 *   node dist/scripts/triage-golden.js --write   record every result (before the change)
 *   node dist/scripts/triage-golden.js           compare: byte-identical JSON, else list the differences
 *
 * Runs triage as ingest does (`triageForIngest`) over the labelled corpus, variants of it and ~2,000
 * generated messages. The file is one JSON line per message and is not committed (it is derived).
 */

const DEFAULT_FILE = join(__dirname, '..', '..', '.triage-golden.jsonl');

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const write = args.includes('--write');
  const file = args.find((a) => !a.startsWith('--')) ?? DEFAULT_FILE;
  const corpus = await corpusSet();
  const samples = [...corpus, ...corpusVariants(corpus), ...(await generatedSet())];
  const run = triageForIngest(sampleConfig());
  const lines = samples.map((s) => JSON.stringify({ name: s.name, result: run(s.msg) }));
  const digest = createHash('sha256').update(lines.join('\n')).digest('hex');

  if (write) {
    writeFileSync(file, `${lines.join('\n')}\n`);
    console.log(`wrote ${lines.length} results to ${file} (sha256 ${digest})`);
    return;
  }
  if (!existsSync(file)) throw new Error(`no golden file at ${file}: record one first with --write`);
  const golden = readFileSync(file, 'utf8').trimEnd().split('\n');
  const diffs: string[] = [];
  for (let i = 0; i < Math.max(golden.length, lines.length); i++) {
    if (golden[i] !== lines[i]) diffs.push(`- ${golden[i] ?? '(none)'}\n+ ${lines[i] ?? '(none)'}`);
  }
  if (diffs.length > 0) {
    console.log(diffs.slice(0, 10).join('\n\n'));
    console.log(`\n${diffs.length} of ${lines.length} results differ from ${file}`);
    process.exit(1);
  }
  console.log(`${lines.length} results byte-identical to ${file} (sha256 ${digest})`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
