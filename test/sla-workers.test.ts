/**
 * The escalate and page processors and the pager channels, with an in-memory store, recording
 * queues, a fetch stand-in and a manual clock: what fires when, what is queued with which job ID,
 * and what each channel puts on the wire.
 */
import { UnrecoverableError } from 'bullmq';
import { ManualClock } from '../src/clock';
import { createLogger } from '../src/log';
import { createPagerChannels, PagerPermanentError, PagerTransientError, signWebhookBody, type PageEvent, type PagerChannel } from '../src/pager';
import { parseRetryAfter } from '../src/pager/http';
import { armTimers, queueResolve } from '../src/sla/arm-timers';
import { resolveEscalationPolicy } from '../src/sla/escalation-policy';
import { createEscalateProcessor } from '../workers/escalate-worker';
import { createPageFailureHandler, createPageProcessor } from '../workers/page-worker';
import { at, HOUR, memoryStore, recordingQueues, T0, unitCase, unitConfig } from './helpers/pager-unit';

const log = createLogger({ log: { level: 'silent', pretty: false } });
const cfg = unitConfig();
const policy = resolveEscalationPolicy(cfg);

function escalator(cases = [unitCase()], now = at(0)) {
  const store = memoryStore(cases);
  const queues = recordingQueues();
  const clock = new ManualClock(now);
  const run = createEscalateProcessor({ store, queues, policy, clock, log, pageAttempts: 4 });
  return { store, queues, clock, run };
}

describe('escalate processor', () => {
  test('a timed step fires once: pages per channel queued, then recorded; a second run does nothing', async () => {
    const e = escalator([unitCase()], at(24 * HOUR + 50));
    expect(await e.run({ caseId: 'SEC-2026-0001', action: 'step', stepId: 'acknowledge-2' })).toEqual({ status: 'fired', stepId: 'acknowledge-2', channels: ['pagerduty'] });
    const pages = () => e.queues.added.filter((j) => j.queue === 'page');
    expect(pages().map((j) => [j.queue, j.opts.jobId, j.opts.attempts])).toEqual([['page', 'page-SEC-2026-0001-acknowledge-2-pagerduty-trigger', 4]]);
    // Once this step has fired, the next pending one is armed (one timer per case at a time); in this
    // case acknowledge-1 never fired, so it is the next.
    expect(e.queues.added.filter((j) => j.queue === 'escalate').map((j) => j.data.stepId)).toEqual(['acknowledge-1']);
    expect(e.store.data.get('SEC-2026-0001')?.escalations).toEqual([{ clock: 'acknowledge', level: 2, at: at(24 * HOUR + 50).toISOString(), channels: ['pagerduty'], status: 'sent' }]);
    expect(await e.run({ caseId: 'SEC-2026-0001', action: 'step', stepId: 'acknowledge-2' })).toMatchObject({ status: 'nothing' });
    expect(pages()).toHaveLength(1);
  });

  test('a met clock pages nobody', async () => {
    const e = escalator([unitCase({ first_response_at: at(HOUR).toISOString() })], at(25 * HOUR));
    expect(await e.run({ caseId: 'SEC-2026-0001', action: 'step', stepId: 'acknowledge-2' })).toMatchObject({ status: 'nothing' });
    expect(e.queues.added.filter((j) => j.queue === 'page')).toEqual([]);
  });

  test('a clock met between the read and the write is not recorded (its queued pages stay silent)', async () => {
    const e = escalator([unitCase()], at(25 * HOUR));
    e.store.beforeWrite = (c) => void (c.first_response_at = at(24 * HOUR + 1).toISOString());
    expect(await e.run({ caseId: 'SEC-2026-0001', action: 'step', stepId: 'acknowledge-2' })).toMatchObject({ status: 'nothing' });
    expect(e.store.data.get('SEC-2026-0001')?.escalations).toEqual([]);
  });

  test('a timer that fires early waits again in a new job for the right time', async () => {
    const e = escalator([unitCase()], at(24 * HOUR - 5000));
    expect(await e.run({ caseId: 'SEC-2026-0001', action: 'step', stepId: 'acknowledge-2' })).toEqual({ status: 'early', fireAt: at(24 * HOUR).getTime() });
    const [again] = e.queues.added;
    expect(again?.opts.delay).toBe(5000);
    expect(again?.opts.jobId).toMatch(/^esc-SEC-2026-0001-acknowledge-2-\d+-early-\d+$/);
    expect(e.store.data.get('SEC-2026-0001')?.escalations).toEqual([]);
  });

  test('chaser: once per case, only while acknowledge is open', async () => {
    const e = escalator();
    expect(await e.run({ caseId: 'SEC-2026-0001', action: 'chaser' })).toMatchObject({ status: 'fired', stepId: 'chaser-1' });
    expect(await e.run({ caseId: 'SEC-2026-0001', action: 'chaser' })).toMatchObject({ status: 'nothing' });
    expect(e.queues.added.map((j) => j.opts.jobId)).toEqual(['page-SEC-2026-0001-chaser-1-pagerduty-trigger']);
  });

  test('resolve: every channel that was paged for a met clock, then marked resolved', async () => {
    const escalations = [
      { clock: 'acknowledge', level: 1, at: T0, channels: ['team-email'], status: 'sent' as const },
      { clock: 'acknowledge', level: 2, at: T0, channels: ['pagerduty'], status: 'sent' as const },
      { clock: 'respond', level: 1, at: T0, channels: ['pagerduty', 'slack'], status: 'sent' as const },
    ];
    const e = escalator([unitCase({ escalations, first_response_at: T0 })], at(50 * HOUR));
    expect(await e.run({ caseId: 'SEC-2026-0001', action: 'resolve' })).toEqual({ status: 'resolved', clocks: ['acknowledge'] });
    expect(e.queues.added.map((j) => `${String(j.data.channel)} ${String(j.data.action)}`)).toEqual(['team-email resolve', 'pagerduty resolve']);
    expect(e.store.data.get('SEC-2026-0001')?.escalations.map((x) => x.status)).toEqual(['resolved', 'resolved', 'sent']);
    expect(await e.run({ caseId: 'SEC-2026-0001', action: 'resolve' })).toMatchObject({ status: 'nothing' });
  });
});

describe('arming timers', () => {
  test('only the next open step is armed, with its delay (past ones at once); each later one once the earlier fired; support questions get none', async () => {
    const q = recordingQueues();
    const fired = (clock: string, level: number) => ({ clock, level, at: T0, channels: [], status: 'sent' as const });
    expect(await armTimers(unitCase(), policy, q, new ManualClock(at(22 * HOUR)))).toBe(1);
    expect(await armTimers(unitCase({ escalations: [fired('acknowledge', 1)] }), policy, q, new ManualClock(at(22 * HOUR)))).toBe(1);
    expect(await armTimers(unitCase({ escalations: [fired('acknowledge', 1), fired('acknowledge', 2)] }), policy, q, new ManualClock(at(22 * HOUR)))).toBe(1);
    expect(await armTimers(unitCase({ escalations: [fired('acknowledge', 1), fired('acknowledge', 2), fired('respond', 1)] }), policy, q, new ManualClock(at(22 * HOUR)))).toBe(0);
    expect(q.added.map((j) => [j.data.stepId, j.opts.delay])).toEqual([
      ['acknowledge-1', 0],
      ['acknowledge-2', 2 * HOUR],
      ['respond-1', 26 * HOUR],
    ]);
    // A met clock skips its remaining steps: the next armed one belongs to the other clock.
    const q2 = recordingQueues();
    await armTimers(unitCase({ first_response_at: T0 }), policy, q2, new ManualClock(at(1 * HOUR)));
    expect(q2.added.map((j) => j.data.stepId)).toEqual(['respond-1']);
    expect(await armTimers(unitCase({ kind: 'support' }), policy, recordingQueues(), new ManualClock(at(0)))).toBe(0);
  });

  test('on reconcile, a step whose job failed for good is retried; one whose job completed without it is armed again', async () => {
    const { pendingSteps } = await import('../src/sla/sla-decide');
    const c = unitCase();
    const first = pendingSteps(c, policy)[0]!.jobId;
    const states: Record<string, string> = { [first]: 'failed' };
    await armTimers(c, policy, recordingQueues(states), new ManualClock(at(30 * HOUR)), { recheck: true });
    expect(states[first]).toBe('waiting'); // retried

    const c2 = unitCase({ escalations: [{ clock: 'acknowledge', level: 1, at: T0, channels: [], status: 'sent' }] });
    const next = pendingSteps(c2, policy)[0]!;
    const q = recordingQueues({ [next.jobId]: 'completed' });
    await armTimers(c2, policy, q, new ManualClock(at(30 * HOUR)), { recheck: true });
    const again = q.added.filter((j) => String(j.opts.jobId).includes('-again-'));
    expect(again.map((j) => j.data.stepId)).toEqual(['acknowledge-2']);
    // Without recheck (ingest, a step that just fired) no job state is read.
    const q3 = recordingQueues({ [next.jobId]: 'completed' });
    await armTimers(c2, policy, q3, new ManualClock(at(30 * HOUR)));
    expect(q3.added.filter((j) => String(j.opts.jobId).includes('-again-'))).toEqual([]);
  });

  test('resolve is queued once per set of met clocks, and only when something was paged', async () => {
    const q = recordingQueues();
    await queueResolve(unitCase({ first_response_at: T0 }), q);
    expect(q.added).toEqual([]);
    const paged = { escalations: [{ clock: 'acknowledge', level: 2, at: T0, channels: ['pagerduty'], status: 'sent' as const }] };
    await queueResolve(unitCase({ ...paged, first_response_at: T0 }), q);
    await queueResolve(unitCase({ ...paged, first_response_at: T0 }), q);
    await queueResolve(unitCase({ ...paged, first_response_at: T0, next_steps_at: T0 }), q);
    expect(q.added.map((j) => j.opts.jobId)).toEqual(['res-SEC-2026-0001-acknowledge', 'res-SEC-2026-0001-acknowledge-respond']);
  });
});

function fakeChannel(o: { fail?: Error } = {}): PagerChannel & { calls: string[] } {
  const calls: string[] = [];
  return {
    name: 'pagerduty',
    type: 'pagerduty',
    calls,
    async trigger(ev: PageEvent) {
      calls.push(`trigger ${ev.dedupKey}`);
      if (o.fail) throw o.fail;
    },
    async resolve(ev: PageEvent) {
      calls.push(`resolve ${ev.dedupKey}`);
    },
  };
}

describe('page processor', () => {
  const job = { caseId: 'SEC-2026-0001', stepId: 'acknowledge-2', channel: 'pagerduty', action: 'trigger' as const, firedAt: at(24 * HOUR).toISOString() };

  test('sends; does not send a trigger for a clock met meanwhile', async () => {
    const ch = fakeChannel();
    const page = createPageProcessor({ cfg, store: memoryStore([unitCase()]), channels: new Map([['pagerduty', ch]]), policy, clock: new ManualClock(at(0)), log });
    expect(await page(job)).toBe('sent');
    const met = createPageProcessor({ cfg, store: memoryStore([unitCase({ first_response_at: T0 })]), channels: new Map([['pagerduty', ch]]), policy, clock: new ManualClock(at(0)), log });
    expect(await met(job)).toMatch(/clock met/);
    expect(await met({ ...job, action: 'resolve' })).toBe('sent');
    expect(ch.calls).toEqual(['trigger SEC-2026-0001-acknowledge', 'resolve SEC-2026-0001-acknowledge']);
  });

  test('a clock met while the trigger was on the wire is resolved right after', async () => {
    const store = memoryStore([unitCase()]);
    const ch = fakeChannel();
    const trigger = ch.trigger.bind(ch);
    ch.trigger = async (ev) => {
      await trigger(ev);
      store.data.get('SEC-2026-0001')!.first_response_at = T0;
    };
    const page = createPageProcessor({ cfg, store, channels: new Map([['pagerduty', ch]]), policy, clock: new ManualClock(at(0)), log });
    expect(await page(job)).toMatch(/resolved/);
    expect(ch.calls).toEqual(['trigger SEC-2026-0001-acknowledge', 'resolve SEC-2026-0001-acknowledge']);
  });

  test('a refused page ends the job (no retries); a transient failure is thrown for BullMQ to retry', async () => {
    const refused = createPageProcessor({ cfg, store: memoryStore([unitCase()]), channels: new Map([['pagerduty', fakeChannel({ fail: new PagerPermanentError('pagerduty', 'HTTP 400') })]]), policy, clock: new ManualClock(at(0)), log });
    await expect(refused(job)).rejects.toBeInstanceOf(UnrecoverableError);
    const flaky = createPageProcessor({ cfg, store: memoryStore([unitCase()]), channels: new Map([['pagerduty', fakeChannel({ fail: new PagerTransientError('pagerduty', 'HTTP 503') })]]), policy, clock: new ManualClock(at(0)), log });
    await expect(flaky(job)).rejects.toBeInstanceOf(PagerTransientError);
  });

  test('a page that failed for good is counted, recorded on the case and mailed to the maintainers', async () => {
    const store = memoryStore([unitCase()]);
    const counts: string[] = [];
    const mails: { to: string[]; subject: string; text: string }[] = [];
    const onFailed = createPageFailureHandler({
      cfg,
      store,
      redis: { hincrby: async (key: string, field: string) => (counts.push(`${key} ${field}`), 1) } as never,
      clock: new ManualClock(at(HOUR)),
      log,
      sendMail: async (m) => void mails.push(m),
    });
    await onFailed(job, new PagerTransientError('pagerduty', 'HTTP 500: internal error'));
    expect(counts).toEqual([`${cfg.redis.prefix}:stats pages_failed:pagerduty`]);
    expect(store.data.get('SEC-2026-0001')?.timeline).toEqual([{ at: at(HOUR).toISOString(), event: 'page.failed', detail: 'pagerduty: trigger acknowledge-2 not delivered after its retries: pagerduty: HTTP 500: internal error' }]);
    expect(mails[0]?.to).toEqual(cfg.maintainers);
    expect(mails[0]?.subject).toBe('[secdesk] pager channel pagerduty failed for SEC-2026-0001');
  });
});

describe('pager channels on the wire', () => {
  const ev: PageEvent = { caseId: 'SEC-2026-0001', clock: 'respond', level: 1, severity: 'error', dedupKey: 'SEC-2026-0001-respond', ageMs: 49 * HOUR, reporterDomain: 'reporter.example', summary: 'SEC-2026-0001: respond SLA breached (case age 2d1h), reporter domain reporter.example', caseCommand: 'secdesk case SEC-2026-0001' };

  function channels(status = 202, body = '{"status":"success"}', headers: Record<string, string> = {}) {
    const sent: { url: string; body: Record<string, unknown>; headers: Record<string, string> }[] = [];
    const fetchImpl = (async (url: string, init: { body: string; headers: Record<string, string> }) => {
      sent.push({ url, body: JSON.parse(init.body) as Record<string, unknown>, headers: init.headers });
      return new Response(body, { status, headers });
    }) as unknown as typeof fetch;
    const all = createPagerChannels(
      unitConfig({
        pager: {
          pagerduty: { type: 'pagerduty', routing_key: 'R'.repeat(32), url: 'https://pd.example.test/v2/enqueue' },
          opsgenie: { type: 'opsgenie', api_key: 'og-key', url: 'https://api.eu.opsgenie.test' },
          slack: { type: 'slack', webhook_url: 'https://hooks.example.test/services/T/B/X' },
          hook: { type: 'webhook', url: 'https://ops.example.test/secdesk', secret: 's3cret' },
          'team-email': { type: 'email', to: ['oncall@example.test'] },
        },
      }),
      { sendMail: async () => undefined, fetchImpl, clock: new ManualClock('2026-03-05T15:05:00Z') },
    );
    return { all, sent };
  }

  test('PagerDuty Events v2: trigger and resolve share the dedup_key', async () => {
    const { all, sent } = channels();
    await all.get('pagerduty')!.trigger(ev);
    await all.get('pagerduty')!.resolve(ev);
    expect(sent[0]).toMatchObject({ url: 'https://pd.example.test/v2/enqueue', body: { routing_key: 'R'.repeat(32), event_action: 'trigger', dedup_key: ev.dedupKey, payload: { summary: ev.summary, source: 'secdesk', severity: 'error' } } });
    expect(sent[1]?.body).toEqual({ routing_key: 'R'.repeat(32), event_action: 'resolve', dedup_key: ev.dedupKey });
  });

  test('Opsgenie: create with alias = dedup key, close by alias', async () => {
    const { all, sent } = channels();
    await all.get('opsgenie')!.trigger(ev);
    await all.get('opsgenie')!.resolve(ev);
    expect(sent[0]).toMatchObject({ url: 'https://api.eu.opsgenie.test/v2/alerts', body: { alias: ev.dedupKey, priority: 'P2' }, headers: { authorization: 'GenieKey og-key' } });
    expect(sent[1]?.url).toBe(`https://api.eu.opsgenie.test/v2/alerts/${ev.dedupKey}/close?identifierType=alias`);
  });

  test('Slack incoming webhook and the generic webhook with an HMAC-SHA256 signature', async () => {
    const { all, sent } = channels(200, 'ok');
    await all.get('slack')!.trigger(ev);
    expect(sent[0]?.body.text).toContain('SEC-2026-0001: respond SLA breached');
    await all.get('hook')!.trigger(ev);
    const hook = sent[1]!;
    expect(hook.body).toMatchObject({ event: 'trigger', case_id: ev.caseId, dedup_key: ev.dedupKey, timestamp: Date.parse('2026-03-05T15:05:00Z') / 1000 });
    expect(hook.headers['x-secdesk-signature']).toBe(signWebhookBody(JSON.stringify(hook.body), 's3cret'));
  });

  test('5xx, 408 and 429 are retried (Retry-After honoured); other 4xx are refused for good', async () => {
    await expect(channels(500, 'oops').all.get('pagerduty')!.trigger(ev)).rejects.toBeInstanceOf(PagerTransientError);
    await expect(channels(429, 'slow down', { 'retry-after': '30' }).all.get('slack')!.trigger(ev)).rejects.toMatchObject({ retryAfterMs: 30_000 });
    const refused = channels(400, '{"status":"invalid event"}').all.get('pagerduty')!.trigger(ev);
    await expect(refused).rejects.toBeInstanceOf(PagerPermanentError);
    await expect(refused).rejects.not.toThrow(/pd\.example\.test/); // never the URL in an error
    expect(parseRetryAfter('Thu, 05 Mar 2026 15:06:00 GMT', Date.parse('2026-03-05T15:05:00Z'))).toBe(60_000);
  });

  test('a missing secret or a non-http URL stops start-up', () => {
    expect(() => createPagerChannels(unitConfig({ escalation: [], pager: { pd: { type: 'pagerduty' } } }), { sendMail: async () => undefined })).toThrow(/pager\.pd: needs routing_key or routing_key_file/);
    expect(() => createPagerChannels(unitConfig({ escalation: [], pager: { s: { type: 'slack', webhook_url: 'file:///etc/passwd' } } }), { sendMail: async () => undefined })).toThrow(/must be an http\(s\) URL/);
    expect(() => createPagerChannels(unitConfig({ escalation: [], pager: { h: { type: 'webhook', url: 'https://x.test' } } }), { sendMail: async () => undefined })).toThrow(/needs secret or secret_file/);
  });
});
