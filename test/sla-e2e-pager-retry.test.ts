/**
 * Pager channels retry on their own: PagerDuty answering 500 for a while is retried on the
 * `pager_retry` schedule and delivered once it recovers, while Slack — same step — goes out at once.
 * A channel that never recovers is given up after its retries, recorded on the case and reported
 * to the maintainers by e-mail.
 */
import { createMetrics } from '../src/metrics';
import type { App } from '../src/app';
import { PAGER_RETRY } from '../src/pager/retry';
import { startHarness, waitFor, type Harness } from './helpers/harness';
import { ALICE, BOB, report, settled, slaConfig, sunk, watchQueues, type QueueWatch } from './helpers/pager-fixtures';
import { startPagerServer, type PagerServer } from './helpers/pager-server';

describe('a failing pager channel', () => {
  let srv: PagerServer;
  let h: Harness;
  let app: App;
  let queues: QueueWatch;

  beforeAll(async () => {
    srv = await startPagerServer();
    h = await startHarness({
      config: slaConfig(srv, {
        warning: '1s',
        acknowledge: '2s',
        respond: '10m',
        escalation: [
          { clock: 'acknowledge', at: '2s', notify: ['pagerduty', 'slack', 'hook'] },
          { clock: 'respond', at: '10m', notify: ['pagerduty'] },
        ],
        extraPager: { hook: { type: 'webhook', url: srv.hookUrl('ops'), secret: 'hook-secret' } },
        pagerRetry: ['1s', '1s', '2s'],
      }),
    });
    app = await h.startApp();
    queues = watchQueues(h);
  });
  afterAll(async () => {
    await queues?.close();
    await h?.close();
    await srv?.close();
  });

  test('PagerDuty failing 3 times is retried and delivered once; Slack is not held back; a dead webhook is reported', async () => {
    srv.failNext('pagerduty', 3);
    srv.failNext('hook', Infinity);
    await h.append([await report({ from: 'Yan <yan@example.org>', id: 'retry-report-1@example.org' })]);
    const c0 = await waitFor('the case', async () => (await h.cases()).find((c) => c.messages[0]?.message_id === '<retry-report-1@example.org>'));
    const id = c0.id;

    await waitFor('PagerDuty delivered', async () => srv.pdEvents().length > 0, 30_000);
    const report1 = await waitFor('the failure report to the maintainers', async () => sunk(h).find((m) => m.subject.includes(`pager channel hook failed for ${id}`)), 30_000);
    await waitFor('queues settled', async () => (await queues.busy()).page === 0 && (await settled(queues, ['page'])));

    const pdReqs = srv.requests.filter((r) => r.route === 'pagerduty');
    expect(pdReqs.map((r) => r.status)).toEqual([500, 500, 500, 202]);
    expect(new Set(pdReqs.map((r) => `${String(r.body?.event_action)} ${String(r.body?.dedup_key)}`))).toEqual(new Set([`trigger ${id}-acknowledge`]));
    // Slack went out once, before PagerDuty finally got through.
    const slack = srv.requests.filter((r) => r.route === 'slack');
    expect(slack.map((r) => r.status)).toEqual([200]);
    expect(slack[0]!.seq).toBeLessThan(pdReqs[3]!.seq);

    // The webhook: first try + 3 retries (pager_retry has 3 delays), each signed, then given up.
    const hook = srv.requests.filter((r) => r.route === 'hook');
    expect(hook).toHaveLength(4);
    expect(hook.every((r) => /^sha256=[0-9a-f]{64}$/.test(String(r.headers['x-secdesk-signature'])))).toBe(true);
    expect(report1.to.sort()).toEqual([ALICE, BOB]);
    expect(report1.text).toContain('HTTP 500');
    expect(report1.text).not.toContain(srv.hookUrl('ops'));

    const c = await app.store.mustGet(id);
    expect(c.timeline.filter((t) => t.event === 'page.failed').map((t) => t.detail)).toEqual([expect.stringMatching(/^hook: trigger acknowledge-1 .*HTTP 500/)]);
    expect(Number(await app.redis.hget(`${h.cfg.redis.prefix}:stats`, 'pages_failed:hook'))).toBe(1);
    // …and shown to Prometheus.
    const metrics = createMetrics(app.store, { redis: app.redis, key: `${h.cfg.redis.prefix}:stats` });
    expect(await metrics.registry.metrics()).toMatch(/secdesk_pages_failed_total\{channel="hook"\} 1/);
    expect(PAGER_RETRY.attempts).toBeGreaterThan(4); // the default schedule is longer: the config's wins
  });
});
