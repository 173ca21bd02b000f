/**
 * Crash safety and failover, with secdesk as real child processes (the built CLI) killed with
 * SIGKILL, against real Dovecot and Redis.
 */
import type { ChildProcess } from 'node:child_process';
import { variedMessage } from '../src/sandbox/mail-factory';
import { plainMail, startHarness, waitFor, type Harness } from './helpers/harness';

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function uniqueReports(h: Harness): Promise<{ cases: number; unique: number }> {
  const cases = await h.cases();
  return { cases: cases.length, unique: new Set(cases.map((c) => c.messages[0]?.message_id)).size };
}

describe('crash safety (kill -9) and failover', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  test('kill -9 at random moments while 300 messages arrive → exactly 300 cases, none twice, none missing', async () => {
    const seed = Date.now() % 100000;
    let state = seed;
    const rand = (): number => ((state = (state * 48271) % 2147483647) / 2147483647);
    const mails = Array.from({ length: 300 }, (_, i) => variedMessage(i, { tag: `crash${seed}` }));
    let daemon = h.spawnDaemon('run');
    for (let batch = 0; batch < 10; batch++) {
      await h.append(mails.slice(batch * 30, batch * 30 + 30).map((m) => m.raw));
      // A random moment: sometimes right after the APPEND, sometimes mid-ingest.
      await sleep(Math.floor(rand() * 1500));
      if (batch % 2 === 0) {
        await killed(daemon);
        daemon = h.spawnDaemon('run');
      }
    }
    const done = await waitFor('300 cases', async () => {
      const r = await uniqueReports(h);
      return r.cases >= 300 ? r : null;
    }, 120_000, 250);
    // Quiet for a moment more: nothing late may add a duplicate.
    await sleep(1500);
    const after = await uniqueReports(h);
    await killed(daemon);
    expect(done.unique).toBe(300);
    expect(after).toEqual({ cases: 300, unique: 300 });
    const ids = new Set((await h.cases()).map((c) => c.messages[0]?.message_id));
    expect(mails.every((m) => ids.has(m.messageId))).toBe(true);
  });

  test('SIGTERM drains and exits 0; a second SIGTERM forces; nothing is lost either way', async () => {
    const exited = (child: ChildProcess): Promise<number | null> => new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
    const mails = Array.from({ length: 60 }, (_, i) => variedMessage(i, { tag: 'term' }));
    let daemon = h.spawnDaemon('run');
    await h.append(mails.slice(0, 30).map((m) => m.raw));
    await waitFor('some cases', async () => ((await h.cases()).length > 0 ? true : null), 60_000);
    daemon.kill('SIGTERM');
    expect(await exited(daemon)).toBe(0);

    daemon = h.spawnDaemon('run');
    await h.append(mails.slice(30).map((m) => m.raw));
    await waitFor('more cases', async () => ((await h.cases()).length > 30 ? true : null), 60_000);
    daemon.kill('SIGTERM');
    daemon.kill('SIGTERM');
    // Forced: it exits by itself (1 when the drain was cut short, 0 if it had already finished),
    // not by being killed.
    const code = await exited(daemon);
    expect(daemon.signalCode).toBeNull();
    expect([0, 1]).toContain(code);

    daemon = h.spawnDaemon('run');
    await waitFor('all 60 cases', async () => ((await uniqueReports(h)).unique === 60 ? true : null), 60_000);
    await sleep(1000);
    expect(await uniqueReports(h)).toEqual({ cases: 60, unique: 60 });
    await killed(daemon);
  });

  test('Dovecot restarted mid-run → the poller reconnects and catches up with nothing missed', async () => {
    const app = await h.startApp();
    await h.append([plainMail({ id: 'before-restart@example.org' })]);
    await waitFor('first case', async () => ((await h.cases()).length === 1 ? true : null));
    await h.sandbox.dovecot.stop();
    await sleep(1000);
    await h.sandbox.dovecot.start();
    // Arrived while the poller was reconnecting.
    await h.append([plainMail({ id: 'after-restart-1@example.org' }), plainMail({ id: 'after-restart-2@example.org' })]);
    await waitFor('cases after restart', async () => ((await h.cases()).length === 3 ? true : null), 60_000);
    await h.sandbox.dovecot.stop();
    await h.append([]).catch(() => undefined);
    await h.sandbox.dovecot.start();
    await h.append([plainMail({ id: 'after-restart-3@example.org' })]);
    await waitFor('case after second restart', async () => ((await h.cases()).length === 4 ? true : null), 60_000);
    expect(app.poller?.leader).toBe(true);
  });

  test('two pollers → one is active, no duplicates; killing the active one → the other takes over within 30 s', async () => {
    await h.startApp({ role: 'worker' });
    const a = h.spawnDaemon('poller');
    await waitFor('first poller holds the lease', async () => (await h.store().outcome('x')) === null && (await leaseHolder(h)) !== null);
    const b = h.spawnDaemon('poller');
    const mails = Array.from({ length: 40 }, (_, i) => variedMessage(i, { tag: 'two' }));
    await h.append(mails.slice(0, 20).map((m) => m.raw));
    await waitFor('20 cases', async () => ((await h.cases()).length >= 20 ? true : null), 60_000);
    const holder = await leaseHolder(h);
    expect(holder).not.toBeNull();
    // Which child holds it is not known from outside; kill the first, and if that was the standby,
    // the second. Either way a poller must be left that takes the lease.
    await killed(a);
    const killedAt = Date.now();
    await h.append(mails.slice(20).map((m) => m.raw));
    await waitFor('40 cases after failover', async () => ((await h.cases()).length >= 40 ? true : null), 45_000, 250);
    const took = Date.now() - killedAt;
    await sleep(1000);
    const r = await uniqueReports(h);
    await killed(b);
    expect(r).toEqual({ cases: 40, unique: 40 });
    expect(took).toBeLessThan(30_000 + 10_000);
  });
});

async function leaseHolder(h: Harness): Promise<string | null> {
  const Redis = (await import('ioredis')).default;
  const r = new Redis(h.cfg.redis.url);
  try {
    return await r.get(`${h.cfg.redis.prefix}:poller-lease`);
  } finally {
    r.disconnect();
  }
}
