import { performance } from 'node:perf_hooks';
import { triageForIngest } from '../src/triage-adapter';
import { backlogSet, sampleConfig } from './triage-sample';

/**
 * ms of triage per message on the backlog benchmark's mail (bench/scenarios/backlog.ts), parsed up
 * front so only triage is timed. Prints numbers, asserts nothing: the machine is shared and noisy, so
 * compare medians of several rounds within one run.
 *
 *   node dist/scripts/triage-bench.js [messages=1000] [rounds=7]
 */

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 1000);
  const rounds = Number(process.argv[3] ?? 7);
  const samples = await backlogSet(n);
  const run = triageForIngest(sampleConfig());
  // One untimed round: the JIT compiles the patterns and hot functions first.
  for (const s of samples) run(s.msg);
  const perMessage: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    for (const s of samples) run(s.msg);
    perMessage.push((performance.now() - start) / n);
  }
  const sorted = [...perMessage].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  console.log(`triage: ${n} messages × ${rounds} rounds; ms/message per round: ${perMessage.map((x) => x.toFixed(3)).join(' ')}`);
  console.log(`median ${median.toFixed(3)} ms/message, min ${(sorted[0] ?? 0).toFixed(3)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
