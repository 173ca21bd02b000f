/**
 * Durable timers: the daemon (the built CLI, `secdesk run`) is SIGKILLed while SLA timers are
 * pending, Redis is killed and restarted from its AOF — once while secdesk is down and once under a
 * running daemon — and every page still fires exactly once.
 */
import type { ChildProcess } from 'node:child_process';
import { startHarness, waitFor, type Harness } from './helpers/harness';
import { ensureBuilt, ONCALL, pageMails, report, settled, slaConfig, sunk, watchQueues, type QueueWatch } from './helpers/pager-fixtures';
import { startPagerServer, type PagerServer } from './helpers/pager-server';

const REPORTERS = ['ada@example.org', 'ben@example.org', 'cy@example.org'];

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('pages survive daemon and Redis restarts', () => {
  let srv: PagerServer;
  let h: Harness;
  let queues: QueueWatch;

  beforeAll(async () => {
    ensureBuilt();
    srv = await startPagerServer();
    h = await startHarness({ config: slaConfig(srv, { warning: '8s', acknowledge: '12s', respond: '22s' }) });
    queues = watchQueues(h);
  });
  afterAll(async () => {
    await queues?.close();
    await h?.close();
    await srv?.close();
  });

  test('SIGKILL with timers pending, Redis restarted with AOF: every page fires exactly once', async () => {
    // 1. A daemon takes the reports in, acknowledges them and arms their timers; then it is killed.
    const a = h.spawnDaemon('run');
    await h.append(await Promise.all(REPORTERS.map((r, i) => report({ from: r, id: `restart-${i}@example.org` }))));
    const cases = await waitFor('three cases acknowledged', async () => {
      const cs = await h.cases();
      return cs.length === 3 && cs.every((c) => c.acknowledged_at) ? cs : null;
    }, 30_000);
    await waitFor('ingest and mail idle', async () => {
      const b = await queues.busy();
      return b.ingest === 0 && b.mail === 0;
    });
    expect((await queues.pending()).escalate).toBe(3); // 3 cases × the next timed step (one timer per case at a time)
    await killed(a);

    // 2. Redis dies too, and comes back from its append-only file.
    await h.sandbox.redis.stop();
    await h.sandbox.redis.start();
    expect((await queues.pending()).escalate).toBe(3);

    // 3. A new daemon: the acknowledge pages fire; it is killed once they are delivered, with the
    //    respond timers still pending.
    const b = h.spawnDaemon('run');
    await waitFor('acknowledge pages for all three cases', async () => cases.every((c) => srv.pdEvents().some((e) => e.dedupKey === `${c.id}-acknowledge`)), 40_000);
    await waitFor('page jobs finished', async () => (await queues.busy()).page === 0);
    await killed(b);
    await waitFor('the killed daemon gone from Redis', async () => (await queues.workers()) === 0);

    // 4. A third daemon; once it is up, Redis is restarted under it, before the respond pages are due.
    const c3 = h.spawnDaemon('run');
    await waitFor('the third daemon connected', async () => (await queues.workers()) > 0, 20_000);
    expect((await h.cases()).every((c) => !c.escalations.some((e) => e.clock === 'respond'))).toBe(true);
    await h.sandbox.redis.stop();
    await h.sandbox.redis.start();
    await waitFor('respond pages for all three cases', async () => cases.every((c) => srv.pdEvents().some((e) => e.dedupKey === `${c.id}-respond`)), 40_000);
    await waitFor('every timer and page done', () => settled(queues), 30_000);

    for (const c of cases) {
      expect(srv.pdEvents().filter((e) => e.dedupKey.startsWith(`${c.id}-`)).map((e) => `${e.action} ${e.dedupKey}`)).toEqual([`trigger ${c.id}-acknowledge`, `trigger ${c.id}-respond`]);
      expect(srv.delivered('slack').filter((r) => r.rawBody.includes(c.id))).toHaveLength(1);
      expect(pageMails(h).filter((m) => m.subject.includes(c.id) && m.to.includes(ONCALL))).toHaveLength(1);
      const stored = await h.store().mustGet(c.id);
      expect(stored.escalations.map((e) => `${e.clock}-${e.level}`)).toEqual(['acknowledge-1', 'acknowledge-2', 'respond-1']);
      // One acknowledgement per reporter, whatever the restarts.
      expect(sunk(h).filter((m) => m.to.includes(c.reporter) && m.subject.includes(c.id))).toHaveLength(1);
    }
    expect(srv.requests.every((r) => r.status < 300)).toBe(true);
    await killed(c3);
  });
});
