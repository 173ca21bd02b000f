/**
 * Start-up reconcile: every open case's pending steps are re-armed, and steps whose time passed
 * while secdesk was stopped fire once — not skipped, not twice. Clocks start at the message's IMAP
 * INTERNALDATE, so mail that arrived while secdesk was down is already late when it is read.
 */
import type { App } from '../src/app';
import { fetchAll } from '../src/sandbox';
import { SECURITY, startHarness, waitFor, type Harness } from './helpers/harness';
import { ONCALL, pageMails, report, settled, slaConfig, watchQueues, type QueueWatch } from './helpers/pager-fixtures';
import { startPagerServer, type PagerServer } from './helpers/pager-server';

const ACK_MS = 5000;
const RESPOND_MS = 7000;

describe('start-up reconcile', () => {
  let srv: PagerServer;
  let h: Harness;
  let queues: QueueWatch;

  beforeAll(async () => {
    srv = await startPagerServer();
    h = await startHarness({ config: slaConfig(srv, { warning: '4s', acknowledge: `${ACK_MS / 1000}s`, respond: `${RESPOND_MS / 1000}s` }) });
    queues = watchQueues(h);
  });
  afterAll(async () => {
    await queues?.close();
    await h?.close();
    await srv?.close();
  });

  const pd = (id: string): string[] => srv.pdEvents().filter((e) => e.dedupKey.startsWith(`${id}-`)).map((e) => `${e.action} ${e.dedupKey}`);
  const allPagesOnce = (id: string): void => {
    expect(pd(id)).toEqual(expect.arrayContaining([`trigger ${id}-acknowledge`, `trigger ${id}-respond`]));
    expect(pd(id)).toHaveLength(2);
    expect(srv.delivered('slack').filter((r) => r.rawBody.includes(id))).toHaveLength(1);
    expect(pageMails(h).filter((m) => m.subject.includes(id) && m.to.includes(ONCALL))).toHaveLength(1);
  };
  const stopped = async (app: App): Promise<void> => app.close();

  test('timers lost while secdesk was stopped past both deadlines: re-armed at start, each step fires once', async () => {
    let app = await h.startApp();
    await h.append([await report({ from: 'dee@example.org', id: 'rec-1@example.org' }), await report({ from: 'eli@example.org', id: 'rec-2@example.org' })]);
    const cases = await waitFor('two acknowledged cases', async () => {
      const cs = await h.cases();
      return cs.length === 2 && cs.every((c) => c.acknowledged_at) ? cs : null;
    });
    await stopped(app);
    // The armed timers are lost (say, Redis was restored from a backup taken before they were added).
    // One armed timer per open case (the next step; later ones are armed as each fires).
    expect(await queues.dropDelayed('escalate')).toBe(2);
    const latest = Math.max(...cases.map((c) => Date.parse(c.received_at)));
    await waitFor('both deadlines past while stopped', async () => Date.now() > latest + RESPOND_MS + 1000, 20_000);
    expect(srv.requests).toHaveLength(0);

    app = await h.startApp();
    await waitFor('every page of both cases', async () => cases.every((c) => pd(c.id).length === 2) && srv.delivered('slack').length === 2, 20_000);
    await waitFor('settled', () => settled(queues), 20_000);
    for (const c of cases) {
      allPagesOnce(c.id);
      expect((await app.store.mustGet(c.id)).escalations.map((e) => `${e.clock}-${e.level}`).sort()).toEqual(['acknowledge-1', 'acknowledge-2', 'respond-1']);
    }

    // Another restart finds nothing left to arm, and pages nothing again.
    await stopped(app);
    app = await h.startApp();
    expect(await app.reconcile()).toBe(0);
    await waitFor('settled', () => settled(queues), 20_000);
    for (const c of cases) allPagesOnce(c.id);
    await stopped(app);
  });

  test('mail that arrived while secdesk was down: clocks run from INTERNALDATE, past steps fire once on start', async () => {
    // Sent "yesterday" according to its Date header: secdesk must ignore that and use the mailbox's date.
    await h.append([await report({ from: 'fay@example.org', id: 'rec-3@example.org', date: new Date(Date.now() - 24 * 3600_000) })]);
    const [stored] = (await fetchAll(h.sandbox.dovecot.imapUrl(SECURITY), 'INBOX')).slice(-1);
    const internalDate = stored!.internalDate.getTime();
    await waitFor('both deadlines past while stopped', async () => Date.now() > internalDate + RESPOND_MS + 1000, 20_000);

    const app = await h.startApp();
    const c0 = await waitFor('the case', async () => (await h.cases()).find((c) => c.messages[0]?.message_id === '<rec-3@example.org>'));
    expect(Date.parse(c0.received_at)).toBe(internalDate);
    await waitFor('its pages', async () => pd(c0.id).length === 2 && srv.delivered('slack').some((r) => r.rawBody.includes(c0.id)), 20_000);
    // Its deadlines had passed when the case was made, so the pages race the acknowledgement, which
    // goes out from the ingest job: wait for that job (and any mail job) too, not only the pages.
    await waitFor('settled', () => settled(queues, ['ingest', 'mail', 'escalate', 'page']), 20_000);
    allPagesOnce(c0.id);
    const c1 = await app.store.mustGet(c0.id);
    expect(c1.escalations.map((e) => `${e.clock}-${e.level}`).sort()).toEqual(['acknowledge-1', 'acknowledge-2', 'respond-1']);
    expect(c1.acknowledged_at).not.toBeNull();
    expect(c1.first_response_at).toBeNull();
    await stopped(app);
  });
});
