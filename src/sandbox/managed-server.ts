/**
 * The life cycle shared by the sandbox's Redis and Dovecot: a child process group on a loopback
 * port, in a directory of its own, that a test can kill (`stop`), bring back on the same port with
 * the same data (`start`), and finally `close` (idempotent) leaving no process and no directory.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnGroup, waitReady, type ChildGroup, type SandboxLog } from './child-group';
import { freePort } from './free-port';

export interface LaunchSpec {
  command: string;
  args: string[];
  /** The server's own log file, quoted in start-up errors. */
  logFile?: string;
}

export interface ManagedServerOptions {
  name: string;
  dir: string;
  /** Remove `dir` on close (true when the sandbox created it and was not asked to keep it). */
  removeDirOnClose: boolean;
  /** Fixed port; when absent a free one is picked (and re-picked if someone else wins the race). */
  port?: number;
  startTimeoutMs: number;
  log?: SandboxLog;
  /** Prepare files for `port` and say what to run. Called on every (re)start. */
  launch(port: number): Promise<LaunchSpec> | LaunchSpec;
  /** True once the server on `port`, with leader `pid`, answers as expected. */
  probe(port: number, pid: number): Promise<boolean>;
}

export interface ManagedServer {
  readonly port: number;
  /** Leader pid of the running server, or null while stopped. */
  readonly pid: number | null;
  /** Milliseconds from spawn to ready, of the last start. */
  readonly startupMs: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

const PORT_ATTEMPTS = 4;

/** Marks a sandbox directory with the process that owns it and the server's process group. */
const OWNER_FILE = '.secdesk-owner';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Servers whose owner died without closing them (a test runner killed with SIGKILL) live on in
 * their own process groups. Each new sandbox ends those first: their owner pid is gone.
 */
export async function reapOrphans(): Promise<number> {
  let reaped = 0;
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith('secdesk-'))) {
    const dir = join(tmpdir(), name);
    const owner = await readFile(join(dir, OWNER_FILE), 'utf8').catch(() => null);
    const [ownerPid, pgid] = (owner ?? '').trim().split(/\s+/).map(Number);
    if (!ownerPid || !pgid || alive(ownerPid)) continue;
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    reaped++;
  }
  return reaped;
}

export async function makeTempDir(prefix: string): Promise<string> {
  await reapOrphans();
  return mkdtemp(join(tmpdir(), `secdesk-${prefix}-`));
}

export async function startManagedServer(opts: ManagedServerOptions): Promise<ManagedServer> {
  let port = opts.port ?? 0;
  let group: ChildGroup | null = null;
  let startupMs = 0;
  let closing: Promise<void> | null = null;
  // Start/stop/close run one at a time, in the order called.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };

  const launchOnce = async (p: number): Promise<void> => {
    const spec = await opts.launch(p);
    const t0 = Date.now();
    const g = spawnGroup(spec.command, spec.args, { cwd: opts.dir, logFile: spec.logFile });
    try {
      await waitReady(`${opts.name} on 127.0.0.1:${p}`, g, () => opts.probe(p, g.pid), opts.startTimeoutMs);
    } catch (err) {
      await g.kill().catch(() => undefined);
      throw err;
    }
    startupMs = Date.now() - t0;
    group = g;
    await writeFile(join(opts.dir, OWNER_FILE), `${process.pid} ${g.pid}\n`).catch(() => undefined);
    opts.log?.info({ component: 'sandbox', server: opts.name, port: p, pid: g.pid, startupMs }, 'sandbox server ready');
  };

  const doStart = async (firstStart: boolean): Promise<void> => {
    if (closing) throw new Error(`${opts.name}: start() after close()`);
    if (group && !group.hasExited()) return;
    if (!firstStart || opts.port !== undefined) {
      await launchOnce(port);
      return;
    }
    let lastErr: unknown;
    for (let i = 0; i < PORT_ATTEMPTS; i++) {
      const candidate = await freePort();
      try {
        await launchOnce(candidate);
        port = candidate;
        return;
      } catch (err) {
        lastErr = err; // most likely the port was taken between freePort() and bind
      }
    }
    throw lastErr;
  };

  const killGroup = async (graceful: boolean): Promise<void> => {
    const g = group;
    group = null;
    if (!g) return;
    if (graceful) await g.terminate(2000);
    else await g.kill();
  };

  const server: ManagedServer = {
    get port() {
      return port;
    },
    get pid() {
      return group && !group.hasExited() ? group.pid : null;
    },
    get startupMs() {
      return startupMs;
    },
    start: () => serial(() => doStart(false)),
    stop: () => serial(() => killGroup(false)),
    close: () => {
      closing ??= serial(async () => {
        try {
          // A clean shutdown only matters when the data outlives us; SIGKILL saves ~100 ms a close.
          await killGroup(!opts.removeDirOnClose);
        } finally {
          if (opts.removeDirOnClose) await rm(opts.dir, { recursive: true, force: true });
        }
      });
      return closing;
    },
  };

  try {
    await serial(() => doStart(true));
  } catch (err) {
    await server.close().catch(() => undefined);
    throw err;
  }
  return server;
}
