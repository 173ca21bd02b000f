import { join } from 'node:path';
import { formatEval } from '../src/triage/eval-report';
import { evaluateCorpus } from '../src/triage/evaluate';

/**
 * `npm run eval`: triage measured on the labelled corpus. `--mismatches` lists every field that
 * differs from its label; `--json` prints the raw result.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  // Compiled to dist/scripts/eval.js; the corpus stays in the source tree.
  const dir = join(__dirname, '..', '..', 'test', 'fixtures', 'corpus');
  const result = await evaluateCorpus(dir, { repetitions: 20 });
  if (args.includes('--json')) console.log(JSON.stringify(result, null, 2));
  else console.log(formatEval(result, { mismatches: args.includes('--mismatches') }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
