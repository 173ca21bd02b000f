import type { Redis } from 'ioredis';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { IngestResult } from './ingest/ingest-message';
import type { EscalateJob, IngestJob, MailJob } from './queues';
import type { CaseStore } from './store/case-store';
import type { EscalateOutcome } from '../workers/escalate-worker';
import type { MailOutcome } from '../workers/mail-worker';

/**
 * Prometheus metrics, served at /metrics when `http.listen` is set. Counters are per process
 * (Prometheus sums them); the open-cases gauge is read from Redis at scrape time.
 */
export interface Metrics {
  registry: Registry;
  onIngested(job: IngestJob, r: IngestResult): void;
  onMail(job: MailJob, r: MailOutcome): void;
  onEscalate(job: EscalateJob, r: EscalateOutcome): void;
}

export function createMetrics(store: CaseStore, stats?: { redis: Redis; key: string }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'secdesk_process_' });
  const ingested = new Counter({ name: 'secdesk_messages_ingested_total', help: 'Inbound messages by outcome (case, attached, skip, seen) and folder', labelNames: ['outcome', 'folder', 'reason'], registers: [registry] });
  const mails = new Counter({ name: 'secdesk_mails_total', help: 'Automatic mails by purpose and status (sent, held, suppressed, failed)', labelNames: ['purpose', 'status'], registers: [registry] });
  const escalations = new Counter({ name: 'secdesk_escalations_total', help: 'Escalation jobs by action and status', labelNames: ['action', 'status'], registers: [registry] });
  new Gauge({
    name: 'secdesk_open_cases',
    help: 'Cases whose clocks are still running',
    registers: [registry],
    async collect() {
      this.set((await store.listIds({ openOnly: true })).length);
    },
  });
  if (stats) {
    // Shared across processes (a Redis hash), so it is read at scrape time rather than counted here.
    new Gauge({
      name: 'secdesk_pages_failed_total',
      help: 'Pages given up after their retries, per channel (all processes)',
      labelNames: ['channel'],
      registers: [registry],
      async collect() {
        const h = await stats.redis.hgetall(stats.key);
        for (const [field, n] of Object.entries(h)) if (field.startsWith('pages_failed:')) this.set({ channel: field.slice(13) }, Number(n));
      },
    });
  }
  return {
    registry,
    onIngested(job, r) {
      ingested.inc({ outcome: r.outcome, folder: job.folder, reason: r.outcome === 'skip' ? r.reason : '' });
    },
    onMail(job, r) {
      mails.inc({ purpose: job.purpose, status: r.status });
    },
    onEscalate(job, r) {
      escalations.inc({ action: job.action, status: r.status });
    },
  };
}
