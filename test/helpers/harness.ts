/**
 * The integration harness: a private Redis, Dovecot and SMTP sink per test file (real servers on
 * free loopback ports), a config pointing at them, and secdesk either in-process (createApp) or as
 * a child process running the built CLI (for kill -9 tests). Waits poll the store; no fixed sleeps
 * decide a result.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type { App, AppOptions } from '../../src/app';
import { createApp } from '../../src/app';
import type { Config } from '../../src/config';
import { buildConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import type { Sandbox, SandboxUser } from '../../src/sandbox';
import { appendMessages, startSandbox } from '../../src/sandbox';
import type { Case, SkipRecord } from '../../src/types';
import Redis from 'ioredis';
import type { CaseStore } from '../../src/store/case-store';
import { createCaseStore } from '../../src/store/case-store';

export const SECURITY = 'security@example.test';
export const PASSWORD = 'test-pass';

export interface Harness {
  sandbox: Sandbox;
  raw: Record<string, unknown>;
  cfg: Config;
  dir: string;
  configFile: string;
  /** Start secdesk in this process. */
  startApp(opts?: Partial<AppOptions>): Promise<App>;
  /** Start `secdesk <role>` as a child process (built CLI from dist/). */
  spawnDaemon(role?: 'run' | 'poller' | 'worker'): ChildProcess;
  append(raws: (string | Buffer)[], mailbox?: string, opts?: { internalDate?: Date }): Promise<{ uid: number }[]>;
  /** The case store over its own Redis connection (works without an app in this process). */
  store(): CaseStore;
  cases(): Promise<Case[]>;
  skips(): Promise<SkipRecord[]>;
  close(): Promise<void>;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface HarnessOptions {
  users?: SandboxUser[];
  config?: Record<string, unknown>;
  deliverLocal?: boolean;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const users = [{ user: SECURITY, password: PASSWORD }, ...(opts.users ?? [])];
  const sandbox = await startSandbox({ users, deliverLocal: opts.deliverLocal });
  const dir = mkdtempSync(path.join(tmpdir(), 'secdesk-test-'));
  const raw: Record<string, unknown> = {
    address: SECURITY,
    project: 'Larkspur',
    imap: { url: sandbox.dovecot.imapUrl(SECURITY), inbox: 'INBOX', sent: 'Sent', poll_interval: '5s', reconnect_max: '2s' },
    smtp: { url: sandbox.smtp.url, from: `Larkspur Security <${SECURITY}>` },
    redis: { url: sandbox.redis.url, prefix: `t${Math.random().toString(36).slice(2, 8)}` },
    maintainers: ['alice@larkspur.test', 'bob@larkspur.test'],
    versions: { supported: ['0.8.x', '0.7.x'], unsupported: ['<0.6'] },
    log: { level: process.env.SECDESK_TEST_LOG ?? 'silent', pretty: false },
    ...opts.config,
  };
  const configFile = path.join(dir, 'secdesk.yml');
  writeFileSync(configFile, stringify(raw));
  let cfg: Config;
  try {
    cfg = buildConfig(raw);
  } catch (e) {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const apps: App[] = [];
  let ownRedis: Redis | null = null;
  let ownStore: CaseStore | null = null;
  const children: ChildProcess[] = [];
  let closing: Promise<void> | null = null;

  const h: Harness = {
    sandbox,
    raw,
    cfg,
    dir,
    configFile,
    async startApp(o = {}) {
      const app = await createApp(cfg, { role: 'run', log: createLogger(cfg), leaseTtlMs: 3000, ...o });
      apps.push(app);
      await app.start();
      return app;
    },
    spawnDaemon(role = 'run') {
      const child = spawn(process.execPath, [path.join(__dirname, '..', '..', 'bin', 'secdesk.js'), '--config', configFile, role], {
        stdio: ['ignore', 'ignore', process.env.SECDESK_TEST_LOG ? 'inherit' : 'ignore'],
        env: { ...process.env, SECDESK_CONFIG: configFile },
      });
      children.push(child);
      return child;
    },
    append(raws, mailbox = 'INBOX', o = {}) {
      return appendMessages(sandbox.dovecot.imapUrl(SECURITY), mailbox, raws, o);
    },
    store() {
      if (!ownStore) {
        ownRedis = new Redis(cfg.redis.url, { maxRetriesPerRequest: null });
        ownRedis.on('error', () => undefined);
        ownStore = createCaseStore({ redis: ownRedis, prefix: cfg.redis.prefix });
      }
      return ownStore;
    },
    async cases() {
      const store = h.store();
      return (await store.getMany(await store.listIds())).filter((c): c is Case => c !== null);
    },
    async skips() {
      return h.store().listSkips();
    },
    close() {
      closing ??= (async () => {
        for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
        await Promise.allSettled(apps.map((a) => a.close(true)));
        ownRedis?.disconnect();
        await sandbox.close();
        rmSync(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
  return h;
}

/** A plain report. */
export function plainMail(o: { from?: string; to?: string; subject?: string; id?: string; body?: string; headers?: string[]; cc?: string }): string {
  return [
    `From: ${o.from ?? 'Reporter <reporter@example.org>'}`,
    `To: ${o.to ?? SECURITY}`,
    ...(o.cc ? [`Cc: ${o.cc}`] : []),
    `Subject: ${o.subject ?? 'Security issue'}`,
    ...(o.id ? [`Message-ID: <${o.id}>`] : []),
    'Date: Mon, 30 Nov 2026 10:00:00 +0000',
    ...(o.headers ?? []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    o.body ?? 'I found a buffer overflow in src/mime/parse.c in version 0.8.1.',
    '',
  ].join('\r\n');
}
