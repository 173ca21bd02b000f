/**
 * A sandbox server runs as the leader of its own process group (`detached: true`), so one signal to
 * `-pid` reaches the server and every child it forked (Dovecot's imap, auth and login processes).
 * Killing only the leader would leave live sessions behind.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readSync, fstatSync } from 'node:fs';

/** The optional logger the sandbox modules accept (pino-compatible subset). Nothing prints without it. */
export interface SandboxLog {
  info(obj: object, msg?: string): void;
  warn?(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface ChildGroup {
  readonly pid: number;
  /** True once the leader has exited (its children may still be winding down). */
  hasExited(): boolean;
  /** Resolves when the leader exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Last lines the server wrote to stdout/stderr and to its own log file, for error messages. */
  outputTail(): string;
  /** SIGKILL the group at once and wait until no process of it is left. */
  kill(): Promise<void>;
  /** SIGTERM the group, SIGKILL after `graceMs`, and wait until no process of it is left. */
  terminate(graceMs?: number): Promise<void>;
}

const TAIL_BYTES = 4096;

/** Every group still running, killed synchronously if this process exits without closing them. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Why: a test that throws before close(), or a demo that exits on an error, must not leave a
  // Dovecot listening on a port. 'exit' handlers must be synchronous: a signal is all we can do.
  process.on('exit', () => {
    for (const pid of liveGroups) signalGroup(pid, 'SIGKILL');
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * Whether any process of group `pgid` is still alive. Zombies do not count: in some containers PID 1
 * does not reap the orphans (Dovecot's children after the master died), and a zombie holds no port,
 * no file and no session.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true; // no /proc (not Linux): trust kill(0)
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // Format: pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[2] === String(pgid) && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!groupAlive(pgid)) return true;
    if (Date.now() >= deadline) return false;
    await delay(15);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function fileTail(path: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function spawnGroup(
  command: string,
  args: string[],
  opts: { cwd?: string; logFile?: string } = {},
): ChildGroup {
  installExitHook();
  const child = spawn(command, args, {
    cwd: opts.cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-TAIL_BYTES);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  let exited = false;
  const exitedP = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err) => {
      // spawn failure (ENOENT): no process exists, report it like an exit.
      collect(Buffer.from(`spawn ${command}: ${err.message}\n`));
      exited = true;
      resolve({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    });
  });
  const pid = child.pid ?? -1;
  if (pid > 0) liveGroups.add(pid);

  const finish = async (signal: NodeJS.Signals, graceMs: number): Promise<void> => {
    if (pid <= 0) return;
    signalGroup(pid, signal);
    let gone = await waitGroupGone(pid, graceMs);
    if (!gone && signal !== 'SIGKILL') {
      signalGroup(pid, 'SIGKILL');
      gone = await waitGroupGone(pid, 3000);
    }
    if (!gone) throw new Error(`process group ${pid} (${command}) is still running after SIGKILL`);
    await exitedP;
    liveGroups.delete(pid);
  };

  return {
    pid,
    exited: exitedP,
    hasExited: () => exited,
    outputTail: () => {
      const fromFile = opts.logFile ? fileTail(opts.logFile) : '';
      return [output.trim(), fromFile.trim()].filter(Boolean).join('\n').slice(-TAIL_BYTES);
    },
    kill: () => finish('SIGKILL', 3000),
    terminate: (graceMs = 3000) => finish('SIGTERM', graceMs),
  };
}

/**
 * Poll `probe` until it returns true. Fails at once when the server exits, and on timeout, with the
 * server's log tail in the message: a bare "timed out" is useless in CI.
 */
export async function waitReady(
  what: string,
  group: ChildGroup,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (group.hasExited()) {
      const { code, signal } = await group.exited;
      throw new Error(`${what} exited during start-up (code ${code}, signal ${signal}):\n${group.outputTail()}`);
    }
    // Race the exit: a stranger holding the port may accept and never answer, and the probe
    // would wait out its timeout although our server died at once.
    const ok = await Promise.race([probe().catch(() => false), group.exited.then(() => false)]);
    if (ok && !group.hasExited()) return;
    if (Date.now() >= deadline) {
      throw new Error(`${what} not ready after ${timeoutMs} ms:\n${group.outputTail()}`);
    }
    await delay(10);
  }
}
