import { Command, CommanderError } from 'commander';
import Redis from 'ioredis';
import type { App, Role } from './app';
import { createApp } from './app';
import { runCaseCommand } from './case-actions';
import { caseJson, casesTable, skipsTable } from './case-view';
import { formatChecks, runChecks } from './check';
import { systemClock } from './clock';
import type { Config } from './config';
import { loadConfig } from './config';
import { ConfigError, coerceError } from './errors';
import { createLogger } from './log';
import { createQueues } from './queues';
import { resolveEscalationPolicy } from './sla/escalation-policy';
import { createCaseStore } from './store/case-store';
import type { Case } from './types';
import { extraCommands } from './cli-extra';
import { policyChecks, registerPolicyCommands } from './cli-policy';

/**
 * `secdesk` — the command line. Command names, options and the JSON of `case --json` are a public
 * contract (README.md): add, never rename. Exit codes: 0 ok, 1 failure, 2 bad config or usage.
 */

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

const defaultIo: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), env: process.env };

function config(opts: { config?: string }, io: Io): Config {
  return loadConfig(opts.config, { env: io.env });
}

/** A Redis connection and the store, for the read-only and admin commands. */
async function withStore<T>(cfg: Config, fn: (ctx: { store: ReturnType<typeof createCaseStore>; redis: Redis }) => Promise<T>): Promise<T> {
  const redis = new Redis(cfg.redis.url, { maxRetriesPerRequest: 2, lazyConnect: true });
  redis.on('error', () => undefined);
  await redis.connect();
  try {
    return await fn({ store: createCaseStore({ redis, prefix: cfg.redis.prefix }), redis });
  } finally {
    redis.disconnect();
  }
}

/** Run a long-lived role until SIGINT/SIGTERM: the first drains, a second forces. */
export async function runRole(cfg: Config, role: Role, io: Io): Promise<number> {
  const log = createLogger(cfg);
  let app: App;
  try {
    app = await createApp(cfg, { role, log });
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    log.fatal({ err: { message: coerceError(e).message } }, 'start.failed');
    return 1;
  }
  await app.start();
  log.info({ role }, 'secdesk.started');
  return new Promise<number>((resolve) => {
    let signals = 0;
    const stop = (sig: string): void => {
      signals += 1;
      if (signals === 1) {
        log.info({ signal: sig }, 'secdesk.draining');
        const watchdog = setTimeout(() => {
          log.warn('secdesk.drain_timeout');
          void app.close(true).then(() => resolve(1));
        }, 60_000);
        watchdog.unref();
        void app.close(false).then(() => {
          clearTimeout(watchdog);
          log.info('secdesk.stopped');
          resolve(0);
        });
      } else {
        log.warn({ signal: sig }, 'secdesk.forced');
        void app.close(true).finally(() => resolve(1));
        // BullMQ jobs not finished go back to the queue (stalled) and run again: nothing is lost.
        setTimeout(() => process.exit(1), 2000).unref();
      }
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    void io;
  });
}

export function buildProgram(io: Io, setCode: (n: number) => void): Command {
  const program = new Command('secdesk')
    .description('Runs an open-source project\'s security inbox: reports in, acknowledgements out, SLA escalation.')
    .option('-c, --config <path>', 'config file (YAML); or set SECDESK_CONFIG')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  const g = (): { config?: string } => program.opts<{ config?: string }>();

  for (const [name, role, desc] of [
    ['run', 'run', 'poller and all workers in one process (the default)'],
    ['poller', 'poller', 'only the IMAP poller (one is active at a time; others stand by)'],
    ['worker', 'worker', 'only the workers (run as many as you like)'],
  ] as const) {
    program.command(name, { isDefault: name === 'run' }).description(desc).action(async () => setCode(await runRole(config(g(), io), role, io)));
  }

  program
    .command('check')
    .description('check config and connectivity to IMAP, SMTP and Redis')
    .option('--policy <SECURITY.md>', 'also compare the config with the project\'s SECURITY.md')
    .option('--security-txt <file>', 'also check a published security.txt (Expires within 30 days)')
    .action(async (o: { policy?: string; securityTxt?: string }) => {
      const cfg = config(g(), io);
      const lines = await runChecks(cfg, createLogger({ log: { level: 'silent', pretty: false } }));
      lines.push(...policyChecks(cfg, { policy: o.policy, securityTxt: o.securityTxt, now: systemClock.now() }));
      lines.push(...(await extraCommands.checks(cfg, { policy: o.policy, now: systemClock.now() })));
      io.out(`${formatChecks(lines)}\n`);
      setCode(lines.some((l) => !l.ok) ? 1 : 0);
    });

  program
    .command('cases')
    .description('list cases with their SLA clocks')
    .option('--state <state>', 'only cases in this state (new, acknowledged, accepted, needs-info, rejected, resolved, support)')
    .option('--json', 'JSON lines are for scripts: one array of cases')
    .action(async (o: { state?: string; json?: boolean }) => {
      const cfg = config(g(), io);
      await withStore(cfg, async ({ store }) => {
        const ids = await store.listIds();
        const now = systemClock.now();
        const keep = (c: Case | null): c is Case => c !== null && (!o.state || (o.state === 'support' ? c.kind === 'support' : c.state === o.state));
        if (!o.json) {
          io.out(`${casesTable((await store.getMany(ids)).filter(keep), cfg, now)}\n`);
          return;
        }
        // Streamed in chunks: 100,000 cases must not become one giant string.
        let first = true;
        io.out('[');
        for (let i = 0; i < ids.length; i += 1000) {
          const part = (await store.getMany(ids.slice(i, i + 1000))).filter(keep).map((c) => JSON.stringify(caseJson(c, cfg, now)));
          if (part.length === 0) continue;
          io.out(`${first ? '' : ','}${part.join(',')}`);
          first = false;
        }
        io.out(']\n');
      });
      setCode(0);
    });

  program
    .command('case <id> [verb] [args...]')
    .description('show a case; or change it: triage accepted|needs-info|rejected, severity LEVEL, assign ADDRESS, resolve ADVISORY-URL')
    .option('--json', 'print the case as JSON')
    .option('--by <who>', 'who is making the change (recorded on the timeline)', 'cli')
    .action(async (id: string, verb: string | undefined, args: string[], o: { json?: boolean; by: string }) => {
      const cfg = config(g(), io);
      const caseId = id.toUpperCase();
      await withStore(cfg, async ({ store, redis }) => {
        if (verb) {
          const log = createLogger({ log: { level: 'silent', pretty: false } });
          const queues = createQueues(redis, cfg.redis.prefix, log, { armAheadMs: cfg.sla.arm_ahead });
          try {
            const { results } = await runCaseCommand({ cfg, store, queues, policy: resolveEscalationPolicy(cfg), clock: systemClock }, caseId, verb, args, o.by);
            for (const r of results) io.out(`${r.ok ? 'ok' : 'error'}: ${r.message}\n`);
            setCode(results.every((r) => r.ok) ? 0 : 1);
          } finally {
            await queues.close();
          }
          return;
        }
        const c = await store.get(caseId);
        if (!c) {
          io.err(`secdesk: no case ${caseId}\n`);
          setCode(1);
          return;
        }
        const view = await extraCommands.caseView(cfg, c, caseJson(c, cfg, systemClock.now()), store);
        io.out(o.json ? `${JSON.stringify(view, null, 2)}\n` : `${formatCase(view)}\n`);
        setCode(0);
      });
    });

  program
    .command('skipped')
    .description('messages that became no case, with the reason')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const cfg = config(g(), io);
      await withStore(cfg, async ({ store }) => {
        const skips = await store.listSkips();
        io.out(o.json ? `${JSON.stringify(skips)}\n` : `${skipsTable(skips)}\n`);
      });
      setCode(0);
    });

  program
    .command('demo')
    .description('run secdesk on a private sandbox (Redis, Dovecot, SMTP sink) with sample reports')
    .option('--seconds <n>', 'stop by itself after n seconds (default: run until Ctrl-C)')
    .action(async (o: { seconds?: string }) => {
      const { runDemo } = await import('./demo');
      setCode(await runDemo({ out: io.out, seconds: o.seconds ? Number(o.seconds) : undefined }));
    });

  registerPolicyCommands(program, { out: io.out, err: io.err, setCode });
  extraCommands.register(program, { io, setCode, config: () => config(g(), io) });
  return program;
}

function formatCase(v: Record<string, unknown>): string {
  const lines: string[] = [];
  for (const [k, val] of Object.entries(v)) {
    if (k === 'messages' || k === 'timeline' || k === 'fields' || k === 'notices' || k === 'escalations') continue;
    lines.push(`${k.padEnd(18)} ${typeof val === 'object' ? JSON.stringify(val) : String(val)}`);
  }
  lines.push('', 'fields:', JSON.stringify(v.fields, null, 2), '', 'messages:');
  for (const m of (v.messages as { date: string; direction: string; kind: string; from: string; note?: string }[]) ?? []) {
    lines.push(`  ${m.date} ${m.direction.padEnd(3)} ${m.kind.padEnd(16)} ${m.from}${m.note ? `  (${m.note})` : ''}`);
  }
  lines.push('', 'timeline:');
  for (const t of (v.timeline as { at: string; event: string; detail?: string; by?: string }[]) ?? []) {
    lines.push(`  ${t.at} ${t.event.padEnd(22)} ${t.detail ?? ''}${t.by ? ` [${t.by}]` : ''}`);
  }
  return lines.join('\n');
}

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (n) => (code = n));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ConfigError) {
      io.err(`secdesk: ${e.message}\n`);
      return 2;
    }
    io.err(`secdesk: ${coerceError(e).message}\n`);
    return 1;
  }
}
