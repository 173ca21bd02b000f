import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { TriageOutcome } from '../src/ingest/ingest-message';
import { triageForIngest } from '../src/triage-adapter';
import type { ParsedMessage } from '../src/types';
import type { Sample } from './triage-sample';
import { backlogSet, sampleConfig } from './triage-sample';

/**
 * ms of triage per message on the backlog benchmark's mail (bench/scenarios/backlog.ts), parsed up
 * front so only triage is timed. Prints numbers, asserts nothing.
 *
 *   node dist/scripts/triage-bench.js [messages=1000] [rounds=7] [--baseline OTHER_DIST]
 *
 * The machine is shared and noisy: compare medians, and CPU time rather than wall time. With
 * `--baseline` (another build's `dist`, e.g. of main) both builds run in this process, round by
 * round in turn, so both see the same noise.
 */

type Triage = (msg: ParsedMessage) => TriageOutcome;

interface Round {
  wall: number;
  cpu: number;
}

function round(run: Triage, samples: Sample[]): Round {
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (const s of samples) run(s.msg);
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wall: wall / samples.length, cpu: (used.user + used.system) / 1000 / samples.length };
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function report(name: string, rounds: Round[]): { wall: number; cpu: number } {
  const wall = median(rounds.map((r) => r.wall));
  const cpu = median(rounds.map((r) => r.cpu));
  console.log(`${name}: median ${wall.toFixed(3)} ms/message wall, ${cpu.toFixed(3)} CPU (rounds, wall: ${rounds.map((r) => r.wall.toFixed(3)).join(' ')})`);
  return { wall, cpu };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--baseline');
  const baselineDir = at >= 0 ? args.splice(at, 2)[1] : undefined;
  const n = Number(args[0] ?? 1000);
  const rounds = Number(args[1] ?? 7);
  const samples = await backlogSet(n);
  const builds: [string, Triage][] = [['this build', triageForIngest(sampleConfig())]];
  if (baselineDir) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const other = require(resolve(baselineDir, 'src', 'triage-adapter.js')) as { triageForIngest: typeof triageForIngest };
    builds.unshift(['baseline', other.triageForIngest(sampleConfig())]);
  }
  console.log(`triage: ${n} backlog messages, ${rounds} rounds per build`);
  // One untimed round each: the JIT compiles the patterns and hot functions first.
  for (const [, run] of builds) round(run, samples);
  const timings = builds.map((): Round[] => []);
  for (let r = 0; r < rounds; r++) builds.forEach(([, run], i) => timings[i]!.push(round(run, samples)));
  const results = builds.map(([name], i) => report(name, timings[i]!));
  if (results.length === 2) {
    const [base, mine] = results as [{ wall: number; cpu: number }, { wall: number; cpu: number }];
    console.log(`speed-up: ${(base.wall / mine.wall).toFixed(2)}× wall, ${(base.cpu / mine.cpu).toFixed(2)}× CPU`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
