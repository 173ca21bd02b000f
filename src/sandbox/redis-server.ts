/**
 * A private Redis for tests, the demo and benchmarks. AOF is on (appendfsync everysec), so data
 * written before `stop()` (SIGKILL) is there again after `start()`: the page cache survives the
 * death of a process, only an OS crash would lose the last second.
 */
import { join } from 'node:path';
import type { SandboxLog } from './child-group';
import { makeTempDir, startManagedServer } from './managed-server';
import { talk } from './probe';

export interface SandboxRedis {
  readonly port: number;
  /** `redis://127.0.0.1:PORT/0` */
  readonly url: string;
  readonly dir: string;
  /** Leader pid while running, null while stopped. */
  readonly pid: number | null;
  /** Milliseconds from spawn to the first answered PING of the last start. */
  readonly startupMs: number;
  /** SIGKILL the server; the data directory stays. */
  stop(): Promise<void>;
  /** Start again on the same port and directory (a no-op while running). */
  start(): Promise<void>;
  /** Stop the server and remove the directory (unless kept). Safe to call twice. */
  close(): Promise<void>;
}

export interface StartRedisOptions {
  /** Data directory; when given it is never removed. Default: a new temp dir. */
  dir?: string;
  port?: number;
  /** Keep the temp dir after close (for post-mortems). */
  keepDir?: boolean;
  startTimeoutMs?: number;
  log?: SandboxLog;
  /** Path of the binary. */
  command?: string;
}

export async function startRedis(opts: StartRedisOptions = {}): Promise<SandboxRedis> {
  const dir = opts.dir ?? (await makeTempDir('redis'));
  const logFile = join(dir, 'redis.log');
  const server = await startManagedServer({
    name: 'redis-server',
    dir,
    removeDirOnClose: opts.dir === undefined && !opts.keepDir,
    port: opts.port,
    startTimeoutMs: opts.startTimeoutMs ?? 10_000,
    log: opts.log,
    launch: (port) => ({
      command: opts.command ?? 'redis-server',
      // From NOTES.md: BullMQ needs noeviction; no RDB snapshots, AOF only.
      args: [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--dir', dir,
        '--daemonize', 'no',
        '--save', '',
        '--appendonly', 'yes',
        '--appendfsync', 'everysec',
        '--maxmemory-policy', 'noeviction',
        // BullMQ keeps each job in a hash whose opts/data fields run past Redis's default 64-byte
        // listpack limit; 256 keeps them compact (about half the memory per armed SLA timer).
        '--hash-max-listpack-value', '256',
        '--logfile', logFile,
      ],
      logFile,
    }),
    // `+PONG` alone could come from a stranger's Redis that won the port race; INFO names our pid.
    // While the AOF loads, Redis answers `-LOADING`, and the probe simply tries again.
    probe: async (port, pid) => {
      const reply = await talk(port, 'INFO server\r\n', (r) => r.startsWith('-') || /process_id:\d+\r\n/.test(r));
      return reply.includes(`process_id:${pid}\r\n`);
    },
  });
  return {
    get port() {
      return server.port;
    },
    get url() {
      return `redis://127.0.0.1:${server.port}/0`;
    },
    dir,
    get pid() {
      return server.pid;
    },
    get startupMs() {
      return server.startupMs;
    },
    stop: () => server.stop(),
    start: () => server.start(),
    close: () => server.close(),
  };
}
