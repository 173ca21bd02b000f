import Redis from 'ioredis';
import type { Clock } from './clock';
import { systemClock } from './clock';
import type { Config } from './config';
import type { IngestDeps } from './ingest/ingest-message';
import { createIngest } from './ingest/ingest-message';
import type { Poller } from './ingest/poller';
import { createPoller } from './ingest/poller';
import type { Logger } from './log';
import type { Mailer } from './mailer';
import { createMailer } from './mailer';
import { deriveMessageIdSecret } from './notify/message-id';
import { createRateLimiter } from './notify/rate-limit';
import { createRenderer } from './notify/render';
import { nextDelay, SEND_JITTER } from './notify/send-schedule';
import { createPagerChannels } from './pager';
import type { FetchFn } from './pager/http';
import { pagerBackoff } from './pager/retry';
import type { MailJob, Queues } from './queues';
import { createQueues } from './queues';
import { armTimers } from './sla/arm-timers';
import { resolveEscalationPolicy } from './sla/escalation-policy';
import type { TimerSweep } from './sla/timer-sweep';
import { createTimerSweep } from './sla/timer-sweep';
import type { CaseStore } from './store/case-store';
import { createCaseStore } from './store/case-store';
import { createEscalateProcessor } from '../workers/escalate-worker';
import type { Workers } from '../workers';
import { createSendNow, createWorkers } from '../workers';
import type { MailOutcome } from '../workers/mail-worker';
import { createMailProcessor } from '../workers/mail-worker';
import { createPageFailureHandler, createPageProcessor, statsKey } from '../workers/page-worker';
import { createSecurityServices, loadPgpKeys } from './security-services';
import { createMetrics } from './metrics';
import type { HttpEndpoint } from './http-server';
import { startHttp } from './http-server';
import { exportTeamPublicKey, renderSecurityTxt } from './pgp/security-txt';

/**
 * The composition root: builds every adapter from one Config and wires the pure core to them.
 * `secdesk run` starts poller and workers, `secdesk poller` and `secdesk worker` one side each.
 */

export type Role = 'run' | 'poller' | 'worker';

export interface AppOptions {
  role: Role;
  log: Logger;
  clock?: Clock;
  /** Test seams: a DNS resolver for DKIM, an HTTP client for pagers. */
  resolver?: (name: string, rrtype: string) => Promise<string[][] | string[]>;
  fetchImpl?: FetchFn;
  leaseTtlMs?: number;
  hooks?: Pick<Parameters<typeof createWorkers>[0], 'onIngested' | 'onMail' | 'onEscalate'>;
}

export interface App {
  readonly redis: Redis;
  readonly store: CaseStore;
  readonly queues: Queues;
  readonly poller: Poller | null;
  /** The HTTP endpoint (metrics, health, security.txt) when `http.listen` is set. */
  readonly http: HttpEndpoint | null;
  start(): Promise<void>;
  /** Re-arm the SLA timers of every open case (start-up; idempotent). Returns how many were armed. */
  reconcile(): Promise<number>;
  /** First call drains in-flight work; `force` stops without waiting. Safe to call twice. */
  close(force?: boolean): Promise<void>;
}

/** Delays from config, or the built-in schedule, with ±20 % jitter. */
function scheduleFrom(delays: number[] | undefined, fallback: (n: number) => number): (n: number) => number {
  if (!delays) return fallback;
  return (attemptsMade) => {
    const d = delays[attemptsMade - 1];
    if (d === undefined) return -1;
    return Math.round(d * (1 - SEND_JITTER + 2 * SEND_JITTER * Math.random()));
  };
}

export async function createApp(cfg: Config, opts: AppOptions): Promise<App> {
  const clock = opts.clock ?? systemClock;
  const log = opts.log;
  // Keys first: a wrong passphrase or an unreadable key is a ConfigError that must stop start-up
  // before any connection is open (an open Redis connection would keep the process alive).
  const pgpKeys = await loadPgpKeys(cfg);
  // Two connections. BullMQ's carries its ~50 Lua scripts as custom commands, and ioredis copies
  // those into every pipeline made on it; the store, the poller and the rate limiter use their own
  // connection, with auto-pipelining: commands issued in the same tick by concurrent jobs go out
  // in one write (fewer syscalls on both ends — the cost that dominated a backlog's profile).
  const redis = new Redis(cfg.redis.url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
  const data = new Redis(cfg.redis.url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, enableAutoPipelining: true });
  for (const [name, conn] of [['redis', redis], ['redis-data', data]] as const) {
    conn.on('error', (err: Error) => log.warn({ component: name, err: { message: err.message } }, 'redis.error'));
  }
  const store = createCaseStore({ redis: data, prefix: cfg.redis.prefix });
  const queues = createQueues(redis, cfg.redis.prefix, log.child({ component: 'queue' }), { armAheadMs: cfg.sla.arm_ahead, data });
  const policy = resolveEscalationPolicy(cfg);
  const secret = deriveMessageIdSecret(cfg);
  const security = await createSecurityServices(cfg, { redis: data, log, clock, resolver: opts.resolver, pgpKeys });
  const metrics = createMetrics(store, { redis: data, key: statsKey(cfg.redis.prefix) });
  const wantsPoller = opts.role !== 'worker';
  const wantsWorkers = opts.role !== 'poller';

  let mailer: Mailer | null = null;
  let workers: Workers | null = null;
  if (wantsWorkers) {
    mailer = createMailer(cfg, log);
    const m = mailer;
    const renderer = createRenderer({ dir: cfg.templates.dir });
    renderer.check();
    const channels = createPagerChannels(cfg, { sendMail: (mail) => m.send({ ...mail, from: mail.from ?? cfg.smtp.from }), clock, fetchImpl: opts.fetchImpl });
    const mailLog = log.child({ component: 'mail' });
    const mailProcessor = createMailProcessor({
      cfg,
      store,
      mailer: m,
      renderer,
      rateLimiter: createRateLimiter({ redis: data, prefix: cfg.redis.prefix, limits: cfg.rate_limit, clock }),
      log: mailLog,
      clock,
      secret,
      pgp: security.pgpOut,
    });
    const mailBackoff = scheduleFrom(cfg.smtp.retry, (n) => nextDelay(n));
    const onMail = (job: MailJob, r: MailOutcome): void => {
      metrics.onMail(job, r);
      opts.hooks?.onMail?.(job, r);
    };
    const ingestDeps: IngestDeps = {
      cfg,
      store,
      queues,
      redis: data,
      log: log.child({ component: 'ingest' }),
      clock,
      policy,
      messageIdSecret: secret,
      triage: security.triage,
      verifySender: security.verifySender,
      authVerdicts: security.authVerdicts,
      pgp: security.pgpIn,
      // A new case's first mail goes out from its ingest job (one job per message, not two).
      sendNow: createSendNow({ processor: mailProcessor, mailBackoff, now: () => clock.now().getTime(), onMail, log: mailLog }),
    };
    const ingest = createIngest(ingestDeps);
    workers = createWorkers({
      cfg,
      connection: redis,
      data,
      store,
      log,
      processors: {
        ingest,
        mail: mailProcessor,
        escalate: createEscalateProcessor({ store, queues, policy, clock, log: log.child({ component: 'escalate' }), pageAttempts: cfg.pager_retry ? cfg.pager_retry.length + 1 : undefined }),
        page: createPageProcessor({ cfg, store, channels, policy, clock, log: log.child({ component: 'page' }) }),
      },
      mailBackoff,
      pagerBackoff: scheduleFrom(cfg.pager_retry, (n) => pagerBackoff(n)),
      onPageFailed: createPageFailureHandler({ cfg, store, redis: data, clock, log: log.child({ component: 'page' }), sendMail: (mail) => m.send(mail) }),
      onIngested: (job, r) => {
        metrics.onIngested(job, r);
        opts.hooks?.onIngested?.(job, r);
      },
      onMail,
      onEscalate: (job, r) => {
        metrics.onEscalate(job, r);
        opts.hooks?.onEscalate?.(job, r);
      },
    });
  }

  // Far-off deadlines wait in the index; every worker process sweeps them into delayed jobs.
  const sweep: TimerSweep | null = wantsWorkers && queues.deadlines ? createTimerSweep({ index: queues.deadlines, queues, clock, log }) : null;
  const poller = wantsPoller ? createPoller({ cfg, redis: data, store, queues, log, clock, leaseTtlMs: opts.leaseTtlMs }) : null;

  let http: HttpEndpoint | null = null;
  const app: App = {
    redis,
    store,
    queues,
    poller,
    get http() {
      return http;
    },
    async start() {
      if (cfg.http.listen) {
        const teamKeys = security.teamKeys;
        http = await startHttp(cfg.http.listen, {
          metrics,
          log: log.child({ component: 'http' }),
          healthy: async () => (await redis.ping().catch(() => null)) === 'PONG',
          publicKey: () => (teamKeys.length ? exportTeamPublicKey(teamKeys) : null),
          securityTxt: () => renderSecurityTxt(cfg, { now: clock.now() }),
        });
        log.info({ port: http.port }, 'http.listening');
      }
      if (wantsWorkers) {
        const n = await app.reconcile();
        log.info({ armed: n }, 'sla.reconciled');
        sweep?.start();
      }
      if (poller) void poller.start();
    },
    async reconcile() {
      const ids = await store.listIds({ openOnly: true });
      let armed = 0;
      for (let i = 0; i < ids.length; i += 500) {
        const cases = await store.getMany(ids.slice(i, i + 500));
        for (const c of cases) if (c) armed += await armTimers(c, policy, queues, clock, { recheck: true });
      }
      return armed;
    },
    close: (() => {
      let closing: Promise<void> | null = null;
      return (force = false) => {
        closing ??= (async () => {
          await http?.close();
          await poller?.close();
          await sweep?.close();
          await workers?.close(force);
          await queues.close();
          mailer?.close();
          await security.close();
          redis.disconnect();
          data.disconnect();
        })();
        return closing;
      };
    })(),
  };
  return app;
}
