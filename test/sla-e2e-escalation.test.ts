/**
 * SLA escalation end to end: a report nobody answers gets the warning (team e-mail), then a page at
 * the acknowledge breach, then a page at the respond breach (PagerDuty + Slack) — in that order, once
 * each — against real Dovecot, Redis, the SMTP sink and a local server speaking PagerDuty Events v2
 * and the Slack incoming-webhook shapes. Durations are seconds.
 */
import type { App } from '../src/app';
import { startHarness, waitFor, type Harness } from './helpers/harness';
import { ensureBuilt, ONCALL, pageMails, report, runCli, settled, slaConfig, watchQueues, type QueueWatch } from './helpers/pager-fixtures';
import { startPagerServer, type PagerServer } from './helpers/pager-server';

describe('SLA escalation with nobody answering', () => {
  let srv: PagerServer;
  let h: Harness;
  let app: App;
  let queues: QueueWatch;

  beforeAll(async () => {
    ensureBuilt();
    srv = await startPagerServer();
    // arm_ahead 1 s: every step here is more than 1 s off when it is armed, so each waits in the
    // deadline index and is armed by the timer sweep (the other SLA tests keep the default, 10 min,
    // and arm their seconds-long timers as delayed jobs at once).
    h = await startHarness({ config: slaConfig(srv, { warning: '2s', acknowledge: '4s', respond: '8s', armAhead: '1s' }) });
    app = await h.startApp();
    queues = watchQueues(h);
  });
  afterAll(async () => {
    await queues?.close();
    await h?.close();
    await srv?.close();
  });

  test('warning, then the acknowledge page, then the respond page: in order, once each, no report contents', async () => {
    await h.append([await report({ from: 'Rita Reporter <rita@example.org>', id: 'esc-report-1@example.org', subject: 'Heap overflow in the MIME parser' })]);
    const c0 = await waitFor('the case', async () => (await h.cases()).find((c) => c.messages[0]?.message_id === '<esc-report-1@example.org>'));
    const id = c0.id;

    await waitFor('the respond page on PagerDuty and Slack', async () => srv.pdEvents().some((e) => e.dedupKey === `${id}-respond`) && srv.delivered('slack').length > 0, 40_000);
    // Every timed step has fired: nothing is left in the escalate or page queues.
    await waitFor('queues settled', () => settled(queues), 20_000);
    const c = await app.store.mustGet(id);

    // PagerDuty: one trigger per clock, dedup_key per case and clock, acknowledge before respond.
    const pd = srv.pdEvents().map((e) => `${e.action} ${e.dedupKey}`);
    expect(pd).toEqual([`trigger ${id}-acknowledge`, `trigger ${id}-respond`]);
    // Slack: the respond breach only.
    expect(srv.delivered('slack')).toHaveLength(1);
    // The warning: one mail to the team, before the acknowledge page.
    const warnings = pageMails(h).filter((m) => m.subject.includes(id));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.to).toEqual([ONCALL]);
    expect(warnings[0]?.subject).toMatch(/acknowledge SLA due in/);
    const [ackPage, respondPage] = srv.pdEvents();
    expect(warnings[0]!.receivedAt.getTime()).toBeLessThanOrEqual(ackPage!.req.receivedAt);
    expect(ackPage!.req.seq).toBeLessThan(respondPage!.req.seq);

    // Recorded on the case in the same order, and no step fired before its time.
    expect(c.escalations.map((e) => `${e.clock}-${e.level} ${e.channels.join('+')} ${e.status}`)).toEqual([
      'acknowledge-1 team-email sent',
      'acknowledge-2 pagerduty sent',
      'respond-1 pagerduty+slack sent',
    ]);
    const received = Date.parse(c.received_at);
    const offsets = c.escalations.map((e) => Date.parse(e.at) - received);
    expect(offsets[0]).toBeGreaterThanOrEqual(2000);
    expect(offsets[1]).toBeGreaterThanOrEqual(4000);
    expect(offsets[2]).toBeGreaterThanOrEqual(8000);
    expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
    // Each step's job was made by the sweep about arm_ahead before it fell due, not at ingest (or
    // when the step before it fired): the timers went through the deadline index.
    for (const [stepId, at] of [['acknowledge-1', 2000], ['acknowledge-2', 4000], ['respond-1', 8000]] as const) {
      const job = await app.queues.escalate.getJob(`esc-${id}-${stepId}-${received + at}`);
      expect(job?.timestamp).toBeGreaterThanOrEqual(received + at - 1000);
      expect(app.queues.deadlines).not.toBeNull();
    }
    expect(await app.queues.deadlines!.size()).toBe(0);
    expect(c.first_response_at).toBeNull();
    expect(c.next_steps_at).toBeNull();
    // The automatic acknowledgement went out and did not meet the acknowledge clock.
    expect(c.acknowledged_at).not.toBeNull();

    // Pages name the case, clock, age, reporter domain and the command — never the report.
    const trigger = ackPage!.req.body as { payload: { summary: string; severity: string; custom_details: Record<string, unknown> } };
    expect(trigger.payload.summary).toContain(id);
    expect(trigger.payload.severity).toBe('error');
    expect(trigger.payload.custom_details).toMatchObject({ case: id, clock: 'acknowledge', reporter_domain: 'example.org', command: `secdesk case ${id}` });
    const everything = [...srv.requests.map((r) => r.rawBody), ...warnings.map((m) => m.raw)].join('\n');
    for (const secret of ['Heap overflow', 'parse.c', 'boundary of 70', 'rita@', 'Rita']) expect(everything).not.toContain(secret);
  });

  test('`secdesk cases` shows both clocks overdue for the unanswered case', async () => {
    const id = (await h.cases())[0]!.id;
    const out = await runCli(h, ['cases']);
    expect(out.code).toBe(0);
    const row = out.stdout.split('\n').find((l) => l.startsWith(id));
    expect(row).toMatch(/OVERDUE \d+s\s+OVERDUE \d+s/);
    const json = await runCli(h, ['cases', '--json']);
    const [view] = JSON.parse(json.stdout) as { id: string; sla: { acknowledge: { breached: boolean; overdue_ms: number }; respond: { breached: boolean } } }[];
    expect(view?.id).toBe(id);
    expect(view?.sla.acknowledge.breached).toBe(true);
    expect(view?.sla.acknowledge.overdue_ms).toBeGreaterThan(0);
    expect(view?.sla.respond.breached).toBe(true);
  });
});
