/**
 * Chasers, `#secdesk` command lines and the same commands on the command line, end to end: a
 * reporter's "any update?" pages once per case, `#secdesk resolve` closes the case and its pages,
 * bad commands are recorded and mailed back, `secdesk case ID triage accepted` meets respond, and
 * `secdesk cases` shows what is left.
 */
import type { App } from '../src/app';
import type { Case } from '../src/types';
import { SECURITY, startHarness, waitFor, type Harness } from './helpers/harness';
import { ALICE, BOB, buildMail, dkimResolver, ensureBuilt, report, runCli, slaConfig, sunk, watchQueues, type QueueWatch } from './helpers/pager-fixtures';
import { startPagerServer, type PagerServer } from './helpers/pager-server';

const ADVISORY = 'https://github.com/larkspur/larkspur/security/advisories/GHSA-4x9q-7m2p-vv3c';

describe('chasers and commands', () => {
  let srv: PagerServer;
  let h: Harness;
  let app: App;
  let queues: QueueWatch;

  beforeAll(async () => {
    ensureBuilt();
    srv = await startPagerServer();
    // Long clocks: nothing here may breach while the test runs.
    h = await startHarness({ config: slaConfig(srv, { warning: '5m', acknowledge: '10m', respond: '20m' }) });
    app = await h.startApp({ resolver: dkimResolver });
    queues = watchQueues(h);
  });
  afterAll(async () => {
    await queues?.close();
    await h?.close();
    await srv?.close();
  });

  const caseOf = (messageId: string): Promise<Case> => waitFor(`case for ${messageId}`, async () => (await h.cases()).find((c) => c.messages[0]?.message_id === `<${messageId}>`));
  const pd = (id: string): string[] => srv.pdEvents().filter((e) => e.dedupKey.startsWith(`${id}-`)).map((e) => `${e.action} ${e.dedupKey}`);
  const mailsTo = (addr: string, id: string) => sunk(h).filter((m) => m.to.includes(addr) && m.subject.includes(id));
  const fromReporter = (o: { from: string; id: string; inReplyTo: string; text: string; subject?: string }) =>
    buildMail({ from: o.from, to: SECURITY, subject: o.subject ?? 'Re: Heap overflow in the MIME parser', messageId: o.id, inReplyTo: o.inReplyTo, text: o.text, dkim: 'none' });

  test('a chaser on an unanswered case pages once (dedup <case>-chaser) and gets a chaser reply; `#secdesk resolve` closes everything', async () => {
    await h.append([await report({ from: 'Vera <vera@example.org>', id: 'cmd-report-1@example.org' })]);
    const c0 = await caseOf('cmd-report-1@example.org');
    await waitFor('the acknowledgement', async () => mailsTo('vera@example.org', c0.id).length >= 1);

    // More technical detail is not a chaser.
    await h.append([await fromReporter({ from: 'vera@example.org', id: 'cmd-detail-1@example.org', inReplyTo: 'cmd-report-1@example.org', text: 'Additional details: it also crashes in src/mime/header.c with a 0x41414141 read.\n' })]);
    await h.append([await fromReporter({ from: 'Vera <vera@example.org>', id: 'cmd-chase-1@example.org', inReplyTo: 'cmd-report-1@example.org', text: 'Hello, any update on this? Nobody has answered my report yet.\n\n> I found a heap buffer overflow\n' })]);
    await waitFor('the chaser page', async () => pd(c0.id).includes(`trigger ${c0.id}-chaser`), 20_000);
    const reply = await waitFor('the chaser reply', async () => mailsTo('vera@example.org', c0.id).find((m) => /have not heard from us yet/.test(m.text)));
    expect(reply.raw).toMatch(/^In-Reply-To: <cmd-chase-1@example\.org>/im);
    const chase = (await app.store.mustGet(c0.id)).escalations.filter((e) => e.clock === 'chaser');
    expect(chase.map((e) => `${e.level} ${e.channels.join('+')} ${e.status}`)).toEqual(['1 pagerduty sent']);

    // A second chaser (in German) does not page again.
    await h.append([await fromReporter({ from: 'vera@example.org', id: 'cmd-chase-2@example.org', inReplyTo: 'cmd-chase-1@example.org', text: 'Gibt es schon Neuigkeiten? Ich habe noch keine Antwort bekommen.\n' })]);
    await waitFor('the second chaser recorded', async () => ((await app.store.get(c0.id))?.timeline.filter((t) => t.event === 'chaser').length === 2 ? true : null));
    await waitFor('escalate and page queues idle', async () => {
      const b = await queues.busy();
      return b.escalate === 0 && b.page === 0 && b.ingest === 0;
    });
    const cc = await app.store.mustGet(c0.id);
    expect(cc.timeline.filter((t) => t.event === 'followup')).toHaveLength(3);
    expect(pd(c0.id)).toEqual([`trigger ${c0.id}-chaser`]);

    // A maintainer resolves the case from the mail client (internal note to security@).
    await h.append([
      await buildMail({
        from: `Alice <${ALICE}>`,
        to: SECURITY,
        subject: 'Re: Heap overflow in the MIME parser',
        messageId: 'cmd-resolve-1@larkspur.test',
        inReplyTo: 'cmd-chase-2@example.org',
        references: ['cmd-report-1@example.org', 'cmd-chase-1@example.org', 'cmd-chase-2@example.org'],
        text: `Fixed in 0.8.2.\n#secdesk severity high\n#secdesk resolve ${ADVISORY}\n`,
      }),
    ]);
    await waitFor('the chaser page resolved', async () => pd(c0.id).includes(`resolve ${c0.id}-chaser`), 20_000);
    const notice = await waitFor('the resolution notice', async () => mailsTo('vera@example.org', c0.id).find((m) => /marked case .* as resolved/s.test(m.text)));
    expect(notice.text).toContain(ADVISORY);
    const c1 = await app.store.mustGet(c0.id);
    expect(c1.state).toBe('resolved');
    expect(c1.advisory_url).toBe(ADVISORY);
    expect(c1.severity).toBe('high');
    expect(c1.resolved_at).toBe(c1.messages.find((m) => m.message_id === '<cmd-resolve-1@larkspur.test>')?.date);
    expect(c1.timeline.filter((t) => t.event.startsWith('command.')).map((t) => t.event)).toEqual(['command.severity', 'command.resolve']);
    expect(c1.escalations.find((e) => e.clock === 'chaser')?.status).toBe('resolved');
    // Both clocks are closed: no timer is left for the case.
    const view = await runCli(h, ['case', c0.id, '--json']);
    const sla = (JSON.parse(view.stdout) as { sla: Record<string, { closed: boolean; met_at: string | null }> }).sla;
    expect(sla.acknowledge).toMatchObject({ closed: true, met_at: null });
    expect(sla.respond?.met_at).not.toBeNull();
    expect(pd(c0.id)).toEqual([`trigger ${c0.id}-chaser`, `resolve ${c0.id}-chaser`]);
  });

  test('unknown or invalid commands are recorded as errors and mailed back to that maintainer; valid ones apply in order', async () => {
    await h.append([await report({ from: 'Wim <wim@example.org>', id: 'cmd-report-2@example.org' })]);
    const c0 = await caseOf('cmd-report-2@example.org');
    await h.append([
      await buildMail({
        from: `Bob <${BOB}>`,
        to: SECURITY,
        subject: 'Re: Heap overflow in the MIME parser',
        messageId: 'cmd-bad-2@larkspur.test',
        inReplyTo: 'cmd-report-2@example.org',
        text: '#secdesk triage maybe\n#secdesk frobnicate now\n#secdesk assign mallory@evil.example\n#secdesk severity critical\n#secdesk resolve not-a-url\n> #secdesk triage accepted\n',
      }),
    ]);
    const errMail = await waitFor('the error reply to Bob', async () => mailsTo(BOB, c0.id).find((m) => /were not\s+applied/.test(m.text)));
    expect(errMail.to).toEqual([BOB]);
    expect(errMail.text).toMatch(/#secdesk triage maybe: triage takes one of accepted, needs-info, rejected/);
    expect(errMail.text).toMatch(/unknown command "frobnicate"/);
    expect(errMail.text).toMatch(/#secdesk assign mallory@evil\.example: assign takes a maintainer address/);
    expect(errMail.text).toMatch(/#secdesk resolve not-a-url: resolve takes the advisory URL/);
    const c1 = await app.store.mustGet(c0.id);
    expect(c1.timeline.filter((t) => t.event.startsWith('command.')).map((t) => t.event)).toEqual(['command.error', 'command.error', 'command.error', 'command.severity', 'command.error']);
    expect(c1.severity).toBe('critical');
    expect(c1.assignee ?? null).toBeNull();
    expect(c1.state).toBe('new');
    // No valid triage: the respond clock is still open (and the quoted command did not run).
    expect(c1.next_steps_at).toBeNull();
    expect(c1.first_response_at).toBeNull();
    // Nobody else got the error reply.
    expect(mailsTo(ALICE, c0.id).filter((m) => /were not\s+applied/.test(m.text))).toHaveLength(0);

    // Another maintainer's mistake later on the same case: her reply lists her error only.
    await h.append([
      await buildMail({ from: `Alice <${ALICE}>`, to: SECURITY, subject: 'Re: Heap overflow in the MIME parser', messageId: 'cmd-bad-2b@larkspur.test', inReplyTo: 'cmd-report-2@example.org', text: '#secdesk triage perhaps\n' }),
    ]);
    const aliceMail = await waitFor('the error reply to Alice', async () => mailsTo(ALICE, c0.id).find((m) => /were not\s+applied/.test(m.text)));
    expect(aliceMail.text).toContain('#secdesk triage perhaps');
    expect(aliceMail.text).not.toContain('frobnicate');
    expect(aliceMail.raw).toMatch(/^In-Reply-To: <cmd-bad-2b@larkspur\.test>/im);
  });

  test('`secdesk case ID triage accepted` meets respond; `secdesk cases` shows time left and met clocks', async () => {
    await h.append([await report({ from: 'Xia <xia@example.org>', id: 'cmd-report-3@example.org' })]);
    const c0 = await caseOf('cmd-report-3@example.org');

    const before = await runCli(h, ['cases']);
    expect(before.code).toBe(0);
    expect(before.stdout.split('\n').find((l) => l.startsWith(c0.id))).toMatch(/^\S+\s+new\s+(?:\d+m)?\d*s? ?\S*left\s+\S+ left/);

    const out = await runCli(h, ['case', c0.id, 'triage', 'accepted', '--by', 'carol']);
    expect(out).toMatchObject({ code: 0 });
    expect(out.stdout).toContain('ok: triage accepted');
    const c1 = await app.store.mustGet(c0.id);
    expect(c1.next_steps_at).not.toBeNull();
    expect(c1.state).toBe('accepted');
    expect(c1.timeline.find((t) => t.event === 'command.triage')).toMatchObject({ by: 'carol', detail: 'triage accepted' });
    // Next steps recorded without answering the reporter: acknowledge is still open.
    expect(c1.first_response_at).toBeNull();

    const after = await runCli(h, ['cases']);
    const row = after.stdout.split('\n').find((l) => l.startsWith(c0.id));
    expect(row).toMatch(/accepted\s+\S+ left\s+met\s/);

    const bad = await runCli(h, ['case', c0.id, 'triage', 'bogus']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('error: triage takes one of');
    const missing = await runCli(h, ['case', 'SEC-1999-0001', 'triage', 'accepted']);
    expect(missing.code).not.toBe(0);
  });
});
