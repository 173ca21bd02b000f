/**
 * Shared pieces of the benchmarks: a sandbox with a secdesk config, secdesk as a child process
 * (so its RSS is its own), percentiles, and polling helpers. Benchmarks print numbers; they assert
 * nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { stringify } from 'yaml';
import type { Config } from '../src/config';
import { buildConfig } from '../src/config';
import type { Sandbox } from '../src/sandbox';
import { startSandbox } from '../src/sandbox';

export const SECURITY = 'security@example.test';
export const ROOT = path.join(__dirname, '..', '..');

export interface BenchEnv {
  sandbox: Sandbox;
  cfg: Config;
  configFile: string;
  redis: Redis;
  close(): Promise<void>;
}

export async function startEnv(extra: Record<string, unknown> = {}): Promise<BenchEnv> {
  const sandbox = await startSandbox({ users: [{ user: SECURITY, password: 'bench-pass' }] });
  const dir = mkdtempSync(path.join(tmpdir(), 'secdesk-bench-'));
  const raw = {
    address: SECURITY,
    imap: { url: sandbox.dovecot.imapUrl(SECURITY), inbox: 'INBOX', poll_interval: '30s' },
    smtp: { url: sandbox.smtp.url, from: `Bench <${SECURITY}>` },
    redis: { url: sandbox.redis.url, prefix: 'bench' },
    maintainers: ['alice@example.test'],
    // The benchmarks measure throughput, not the backscatter limits.
    rate_limit: { per_recipient: { max: 100000, per: '1h' }, per_domain: { max: 100000, per: '1h' }, global: { max: 1000000, per: '1h' } },
    log: { level: 'warn', pretty: false },
    ...extra,
  };
  const configFile = path.join(dir, 'secdesk.yml');
  writeFileSync(configFile, stringify(raw));
  const cfg = buildConfig(raw);
  const redis = new Redis(sandbox.redis.url, { maxRetriesPerRequest: null });
  return {
    sandbox,
    cfg,
    configFile,
    redis,
    async close() {
      redis.disconnect();
      await sandbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function spawnSecdesk(env: BenchEnv, role = 'run', extraArgs: string[] = []): ChildProcess {
  // SECDESK_BENCH_PROF=DIR writes a V8 CPU profile of each secdesk process there (node --cpu-prof).
  const prof = process.env.SECDESK_BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SECDESK_BENCH_PROF}`] : [];
  return spawn(process.execPath, [...prof, ...extraArgs, path.join(ROOT, 'bin', 'secdesk.js'), '--config', env.configFile, role], { stdio: ['ignore', 'ignore', 'inherit'] });
}

export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 20_000).unref();
  });
}

/** Peak resident set size of a process so far (VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) a process has used so far, in seconds (0 once it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    // Fields after the parenthesised command name: state is [0], utime [11], stime [12] (clock ticks).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * Where the machine's CPU went during a measured stretch: a snapshot of every process's CPU time,
 * grouped, and of the machine's busy time (/proc/stat), to diff against a later one. When the
 * machine is ~100 % busy, messages/s cannot exceed cores × 1000 / (CPU ms per message of all
 * groups together): the figure that says whether a throughput target is reachable at all.
 * Clock ticks are taken as 100 per second (USER_HZ on Linux x86-64 and arm64), as in cpuSeconds.
 */
export interface CpuSnapshot {
  /** Clock ticks of all CPUs: busy (user, nice, system, irq, softirq), stolen by the hypervisor, and all. */
  busy: number;
  steal: number;
  total: number;
  /**
   * CPU seconds so far of every process, keyed by pid and start time (a reused pid is another
   * process), with its group: the measured processes, redis, dovecot, harness (this process, with
   * the SMTP sink), other.
   */
  procs: Map<string, { group: string; secs: number }>;
}

const DOVECOT_PROCESSES = new Set(['dovecot', 'imap', 'imap-login', 'auth', 'anvil', 'log', 'config', 'stats', 'indexer', 'indexer-worker', 'dict']);

export function cpuSnapshot(measured: Record<string, (number | undefined)[]>): CpuSnapshot {
  const own = new Map<number, string>();
  for (const [group, pids] of Object.entries(measured)) for (const pid of pids) if (pid) own.set(pid, group);
  const procs = new Map<string, { group: string; secs: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const secs = (Number(f[11]) + Number(f[12])) / 100;
    const group = own.get(pid) ?? (pid === process.pid ? 'harness' : comm === 'redis-server' ? 'redis' : DOVECOT_PROCESSES.has(comm) ? 'dovecot' : 'other');
    procs.set(`${pid}:${f[19]}`, { group, secs });
  }
  // cpu  user nice system idle iowait irq softirq steal (guest time is already in user)
  const t = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = t.reduce((x, y) => x + y, 0);
  const steal = t[7] ?? 0;
  return { busy: total - (t[3] ?? 0) - (t[4] ?? 0) - steal, steal, total, procs };
}

export interface CpuBudget {
  /** Share of the machine's CPU time that was busy, and that the hypervisor gave to others (0–1). */
  busy: number;
  steal: number;
  /**
   * CPU ms per message by group, and all groups together. `unaccounted` is busy time no process
   * listed in the second snapshot was charged with: processes that came and went in between,
   * interrupts — and so anything else that ran on the machine meanwhile.
   */
  perMsg: Record<string, number>;
  totalMsPerMsg: number;
  /** Messages/s the machine's CPUs allow at 100 % busy with this much CPU per message. */
  ceilingRate: number;
}

/**
 * Per process, so that processes coming and going do not blur the groups: one started after `a`
 * counts in full; one that exited before `b` is missing (so `b` is taken while the measured
 * processes still run) and its CPU shows as `unaccounted`.
 */
export function cpuBudget(a: CpuSnapshot, b: CpuSnapshot, n: number): CpuBudget {
  const perMsg: Record<string, number> = {};
  let charged = 0;
  for (const [key, { group, secs }] of b.procs) {
    const d = secs - (a.procs.get(key)?.secs ?? 0);
    if (d <= 0) continue;
    charged += d;
    perMsg[group] = (perMsg[group] ?? 0) + (d * 1000) / n;
  }
  const busySecs = (b.busy - a.busy) / 100;
  if (busySecs > charged) perMsg.unaccounted = ((busySecs - charged) * 1000) / n;
  const totalMsPerMsg = Object.values(perMsg).reduce((x, y) => x + y, 0);
  const ticks = Math.max(1, b.total - a.total);
  return { busy: (b.busy - a.busy) / ticks, steal: (b.steal - a.steal) / ticks, perMsg, totalMsPerMsg, ceilingRate: (cpus().length * 1000) / totalMsPerMsg };
}

/**
 * CPU use of a set of child processes, sampled while they run (a process's figures are gone once it
 * has exited): their CPU seconds together, and the busiest one's main thread.
 */
export function processCpuWatch(pids: () => (number | undefined)[]): { sample(): void; cpuSeconds(): number; busiestThreadShare(seconds: number): number } {
  let cpu = 0;
  const thread = new Map<number, number>();
  return {
    sample() {
      const now = pids().filter((p): p is number => p !== undefined);
      cpu = Math.max(cpu, now.reduce((a, p) => a + cpuSeconds(p), 0));
      for (const p of now) thread.set(p, Math.max(thread.get(p) ?? 0, mainThreadSeconds(p)));
    },
    cpuSeconds: () => cpu,
    busiestThreadShare: (seconds) => Math.max(0, ...thread.values()) / seconds,
  };
}

/** CPU seconds of a process's main thread (its JavaScript thread, for node), 0 once it is gone. */
export function mainThreadSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

export async function until(fn: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface Row {
  scenario: string;
  metric: string;
  value: number;
  unit: string;
  floor?: number;
  target?: string;
  note?: string;
}
