/**
 * Fixtures for the SLA unit tests: a config in whole hours (the defaults), a case, an
 * in-memory case store and queues that record what was added. No Redis, no network.
 */
import { buildConfig, type Config } from '../../src/config';
import type { CaseStore, UpdateResult } from '../../src/store/case-store';
import type { Case } from '../../src/types';

export const T0 = '2026-03-03T14:05:00.000Z';
export const HOUR = 3600_000;
export const at = (ms: number): Date => new Date(Date.parse(T0) + ms);

export function unitConfig(over: Record<string, unknown> = {}): Config {
  return buildConfig({
    address: 'security@example.test',
    imap: { url: 'imap://u:p@127.0.0.1:1143' },
    smtp: { url: 'smtp://127.0.0.1:2525', from: 'Example Security <security@example.test>' },
    maintainers: ['alice@example.test', 'bob@example.test'],
    escalation: [
      { clock: 'acknowledge', at: '20h', notify: ['team-email'] },
      { clock: 'acknowledge', at: '24h', notify: ['pagerduty'] },
      { clock: 'respond', at: '48h', notify: ['pagerduty', 'slack'] },
      { on: 'chaser', notify: ['pagerduty'] },
    ],
    pager: {
      pagerduty: { type: 'pagerduty', routing_key: 'R'.repeat(32), url: 'https://pd.example.test/v2/enqueue' },
      slack: { type: 'slack', webhook_url: 'https://hooks.example.test/services/T/B/X' },
      'team-email': { type: 'email', to: ['oncall@example.test'] },
    },
    ...over,
  });
}

export function unitCase(over: Partial<Case> = {}): Case {
  return {
    id: 'SEC-2026-0001',
    kind: 'report',
    state: 'new',
    subject: 'Heap overflow in the MIME parser',
    reporter: 'rita@reporter.example',
    reply_to: 'rita@reporter.example',
    received_at: T0,
    messages: [{ message_id: '<r1@reporter.example>', from: 'rita@reporter.example', date: T0, direction: 'in', kind: 'report', subject: 'Heap overflow in the MIME parser' }],
    acknowledged_at: null,
    first_response_at: null,
    next_steps_at: null,
    escalations: [],
    encrypted: false,
    signature: 'none',
    fields: {},
    participants: ['rita@reporter.example'],
    timeline: [],
    related: [],
    ...over,
  };
}

/** A CaseStore with only what the SLA workers use; `beforeWrite` lets a test slip a change in between a read and a write. */
export function memoryStore(cases: Case[]): CaseStore & { data: Map<string, Case>; beforeWrite?: (c: Case) => void } {
  const data = new Map(cases.map((c) => [c.id, structuredClone(c)]));
  const s = {
    data,
    beforeWrite: undefined as ((c: Case) => void) | undefined,
    async get(id: string) {
      const c = data.get(id);
      return c ? structuredClone(c) : null;
    },
    async mustGet(id: string) {
      const c = data.get(id);
      if (!c) throw new Error(`case ${id} not found`);
      return structuredClone(c);
    },
    async update<T>(id: string, mutate: (c: Case) => { value: Case; result: T } | null): Promise<UpdateResult<T>> {
      const cur = data.get(id);
      if (!cur) throw new Error(`case ${id} not found`);
      if (s.beforeWrite) {
        const hook = s.beforeWrite;
        s.beforeWrite = undefined;
        hook(cur);
      }
      const out = mutate(structuredClone(cur));
      if (!out) return { applied: false, outcome: 'unchanged' };
      data.set(id, structuredClone(out.value));
      return { applied: true, value: out.value, result: out.result, stored: Buffer.from(JSON.stringify(out.value)) };
    },
  };
  return s as unknown as CaseStore & { data: Map<string, Case>; beforeWrite?: (c: Case) => void };
}

export interface AddedJob {
  queue: string;
  name: string;
  data: Record<string, unknown>;
  opts: { jobId?: string; delay?: number; attempts?: number } & Record<string, unknown>;
}

/** Queues that record adds and ignore a duplicate job ID while the first is kept (as BullMQ does). */
export function recordingQueues(states: Record<string, string> = {}): { added: AddedJob[]; escalate: never; page: never; mail: never } {
  const added: AddedJob[] = [];
  const q = (queue: string) => ({
    async add(name: string, data: Record<string, unknown>, opts: AddedJob['opts'] = {}) {
      if (!opts.jobId || !added.some((j) => j.queue === queue && j.opts.jobId === opts.jobId)) added.push({ queue, name, data, opts });
      return { id: opts.jobId };
    },
    async addBulk(jobs: { name: string; data: Record<string, unknown>; opts?: AddedJob['opts'] }[]) {
      for (const j of jobs) await this.add(j.name, j.data, j.opts);
      return [];
    },
    async getJobState(id: string) {
      return states[id] ?? (added.some((j) => j.opts.jobId === id) ? 'delayed' : 'unknown');
    },
    async getJob(id: string) {
      return states[id] ? { retry: async () => void (states[id] = 'waiting') } : undefined;
    },
  });
  return { added, escalate: q('escalate') as never, page: q('page') as never, mail: q('mail') as never };
}
