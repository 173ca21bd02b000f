/**
 * `npm run bench -- --smoke`: every benchmark scenario runs end to end at tiny sizes and reports a
 * number for each metric. No timing is asserted here — numbers belong in `npm run bench`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

test('the benchmark suite runs every scenario in its smoke variant', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'secdesk-bench-smoke-'));
  try {
    const out = path.join(dir, 'smoke.json');
    let stdout: string;
    try {
      stdout = execFileSync(process.execPath, [path.join(__dirname, '..', 'dist', 'bench', 'run.js'), '--smoke', '--out', out], { encoding: 'utf8', timeout: 240_000, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      // The bench's progress lines (timestamped) say which scenario ran out of time.
      const e = err as Error & { stderr?: string };
      throw new Error(`${e.message}\n--- bench stderr ---\n${String(e.stderr ?? '').slice(-4000)}`, { cause: err });
    }
    expect(stdout).toMatch(/secdesk bench/);
    const result = JSON.parse(readFileSync(out, 'utf8')) as { smoke: boolean; rows: { scenario: string; metric: string; value: number | null; note?: string }[] };
    expect(result.smoke).toBe(true);
    const scenarios = new Set(result.rows.map((r) => r.scenario));
    expect([...scenarios].sort()).toEqual(['1 backlog ingest', '1b backlog, scaled out', '2 arrival latency', '3 big mail', '4 open cases', '5 pgp']);
    for (const r of result.rows) {
      expect(typeof r.value).toBe('number');
      expect(Number.isFinite(r.value)).toBe(true);
    }
    // Every small message of the latency scenarios became a case and got its acknowledgement.
    expect(result.rows.filter((r) => /without case \/ ack/.test(r.metric)).map((r) => r.value)).toEqual([0, 0]);
    // The CPU budget of both backlog shapes, for secdesk and for the bare pipeline: busy shares of
    // the machine and of a JavaScript thread, a positive CPU cost per message that includes the
    // measured processes, and the rate it allows.
    const budget = (what: RegExp): { metric: string; value: number | null; note?: string }[] => result.rows.filter((r) => what.test(r.metric));
    for (const busy of [/^(secdesk|bare): machine CPU busy$/, /^(secdesk|bare): busiest JS thread busy$/]) {
      expect(budget(busy).map((r) => r.value! > 0 && r.value! <= 100)).toEqual([true, true, true, true]);
    }
    const perMsg = budget(/^(secdesk|bare): CPU\/msg, whole machine$/);
    expect(perMsg.map((r) => r.value! > 0 && /\b(secdesk|bare) \d/.test(r.note ?? ''))).toEqual([true, true, true, true]);
    expect(budget(/^(secdesk|bare): rate CPU allows$/).map((r) => r.value! > 0)).toEqual([true, true, true, true]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);
