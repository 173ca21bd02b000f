/**
 * How secdesk sees a maintainer's answer, end to end: a reply-all from a mail client (DKIM-signed,
 * verified by secdesk through an injected DNS resolver, or vouched for by our MX's trusted
 * Authentication-Results), a reply written in the shared mailbox's Sent folder, an internal note,
 * and forged maintainer mail — against real Dovecot, Redis, the SMTP sink and a local PagerDuty /
 * Slack server.
 */
import type { App } from '../src/app';
import type { Case } from '../src/types';
import { SECURITY, startHarness, waitFor, type Harness } from './helpers/harness';
import { ALICE, BOB, buildMail, dkimResolver, report, settled, slaConfig, sunk, watchQueues, type QueueWatch } from './helpers/pager-fixtures';
import { startPagerServer, type PagerServer } from './helpers/pager-server';

const MX = 'mx.larkspur-security.test';
/** What our MX and the local delivery put on top of a mail (see authentication-results.ts). */
const LMTP = `Received: from ${MX} by imap.larkspur.test with LMTP; Tue, 01 Dec 2026 10:00:02 +0000\r\n`;
const INBOUND = `Received: from mail.larkspur.test ([192.0.2.7]) by ${MX} with ESMTPS; Tue, 01 Dec 2026 10:00:01 +0000\r\n`;
const AR_PASS = `Authentication-Results: ${MX}; dkim=pass header.d=larkspur.test header.a=rsa-sha256; dmarc=pass header.from=larkspur.test\r\n`;

describe('maintainer answers and the SLA clocks', () => {
  let srv: PagerServer;
  let h: Harness;
  let app: App;
  let queues: QueueWatch;

  beforeAll(async () => {
    srv = await startPagerServer();
    h = await startHarness({ config: { ...slaConfig(srv, { warning: '1s', acknowledge: '3s', respond: '15s' }), trust: { authserv_id: [MX] } } });
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
  const ackPaged = (id: string): Promise<boolean> => waitFor(`acknowledge page for ${id}`, async () => pd(id).includes(`trigger ${id}-acknowledge`), 20_000);

  test('reply-all with security@ in Cc meets acknowledge and resolves its page; a later `#secdesk triage accepted` meets respond', async () => {
    await h.append([await report({ from: 'Rita <rita@example.org>', id: 'mt-report-1@example.org' })]);
    const c0 = await caseOf('mt-report-1@example.org');
    await ackPaged(c0.id);

    await h.append([
      await buildMail({
        from: `Alice Maintainer <${ALICE}>`,
        to: 'Rita <rita@example.org>',
        cc: SECURITY,
        subject: `Re: Heap overflow in the MIME parser`,
        messageId: 'mt-reply-1@larkspur.test',
        inReplyTo: 'mt-report-1@example.org',
        text: 'Thanks Rita, we are looking into it.\n\n> I found a heap buffer overflow\n',
      }),
    ]);
    await waitFor('PagerDuty resolve for the acknowledge clock', async () => pd(c0.id).includes(`resolve ${c0.id}-acknowledge`), 20_000);
    const c1 = await app.store.mustGet(c0.id);
    const reply = c1.messages.find((m) => m.message_id === '<mt-reply-1@larkspur.test>');
    expect(reply?.kind).toBe('maintainer_reply');
    expect(reply?.note).toMatch(/authenticated: DKIM pass for larkspur\.test/);
    expect(c1.first_response_at).toBe(reply?.date);
    expect(c1.next_steps_at).toBeNull();
    expect(c1.state).toBe('acknowledged');
    expect(c1.escalations.find((e) => e.clock === 'acknowledge' && e.level === 2)?.status).toBe('resolved');

    // Next steps, from the mail client, to security@ only (an internal note carrying a command).
    await h.append([
      await buildMail({
        from: `Bob <${BOB}>`,
        to: SECURITY,
        subject: 'Re: Heap overflow in the MIME parser',
        messageId: 'mt-cmd-1@larkspur.test',
        inReplyTo: 'mt-reply-1@larkspur.test',
        references: ['mt-report-1@example.org', 'mt-reply-1@larkspur.test'],
        text: 'Reproduced.\n#secdesk triage accepted\n#secdesk severity high\n',
      }),
    ]);
    const c2 = await waitFor('next_steps_at', async () => {
      const c = await app.store.get(c0.id);
      return c?.next_steps_at ? c : null;
    });
    const cmd = c2.messages.find((m) => m.message_id === '<mt-cmd-1@larkspur.test>');
    expect(cmd?.kind).toBe('maintainer_note');
    expect(c2.next_steps_at).toBe(cmd?.date);
    expect(c2.state).toBe('accepted');
    expect(c2.severity).toBe('high');
    expect(c2.timeline.filter((t) => t.event.startsWith('command.')).map((t) => `${t.event} ${t.by}`)).toEqual([`command.triage ${BOB}`, `command.severity ${BOB}`]);

    // When the respond timer fires it finds the clock met and pages nobody.
    const job = await waitFor('the respond timer to fire', async () => {
      const j = await queues.job('escalate', `esc-${c0.id}-respond-1-${Date.parse(c0.received_at) + 15_000}`);
      return j?.state === 'completed' ? j : null;
    }, 30_000);
    expect(job.returnvalue).toMatchObject({ status: 'nothing' });
    await waitFor('queues settled', () => settled(queues), 10_000);
    expect(pd(c0.id)).toEqual([`trigger ${c0.id}-acknowledge`, `resolve ${c0.id}-acknowledge`]);
    expect(srv.delivered('slack').filter((r) => r.rawBody.includes(c0.id))).toHaveLength(0);
  });

  test('a reply written in the Sent folder counts the same; an internal note alone meets no clock', async () => {
    await h.append([await report({ from: 'Sam <sam@example.org>', id: 'mt-report-2@example.org' })]);
    const c0 = await caseOf('mt-report-2@example.org');

    // A note to security@ only: recorded, answers nobody, meets nothing.
    await h.append([
      await buildMail({ from: `Alice <${ALICE}>`, to: SECURITY, subject: 'Re: Heap overflow in the MIME parser', messageId: 'mt-note-2@larkspur.test', inReplyTo: 'mt-report-2@example.org', text: 'Bob, can you take this one?\n' }),
    ]);
    const noted = await waitFor('the note', async () => {
      const c = await app.store.get(c0.id);
      return c?.messages.some((m) => m.message_id === '<mt-note-2@larkspur.test>') ? c : null;
    });
    expect(noted.messages.find((m) => m.message_id === '<mt-note-2@larkspur.test>')?.kind).toBe('maintainer_note');
    expect(noted.first_response_at).toBeNull();
    await ackPaged(c0.id);

    // The answer, written in the shared mailbox's Sent folder (only the account holder writes there).
    await h.append(
      [
        await buildMail({
          from: `Larkspur Security <${SECURITY}>`,
          to: 'Sam <sam@example.org>',
          subject: 'Re: Heap overflow in the MIME parser',
          messageId: 'mt-sent-2@example.test',
          inReplyTo: 'mt-report-2@example.org',
          text: 'Hi Sam, thanks, confirmed; fix planned for 0.8.2.\n',
          dkim: 'none',
        }),
      ],
      'Sent',
    );
    await waitFor('PagerDuty resolve after the Sent-folder reply', async () => pd(c0.id).includes(`resolve ${c0.id}-acknowledge`), 20_000);
    const c1 = await app.store.mustGet(c0.id);
    const sent = c1.messages.find((m) => m.message_id === '<mt-sent-2@example.test>');
    expect(sent?.kind).toBe('maintainer_reply');
    expect(sent?.source?.mailbox).toBe('Sent');
    expect(c1.first_response_at).toBe(sent?.date);
    expect(c1.state).toBe('acknowledged');
    expect(c1.timeline.some((t) => t.event === 'maintainer.response' && t.detail === 'reply in the Sent folder')).toBe(true);
    expect(pd(c0.id)).toEqual([`trigger ${c0.id}-acknowledge`, `resolve ${c0.id}-acknowledge`]);
  });

  test('a reply vouched for by our MX (trusted Authentication-Results, no DKIM of our own) counts', async () => {
    await h.append([await report({ from: 'Tao <tao@example.org>', id: 'mt-report-3@example.org' })]);
    const c0 = await caseOf('mt-report-3@example.org');
    const unsigned = await buildMail({
      from: `Alice <${ALICE}>`,
      to: 'tao@example.org',
      cc: SECURITY,
      subject: 'Re: Heap overflow in the MIME parser',
      messageId: 'mt-ar-3@larkspur.test',
      inReplyTo: 'mt-report-3@example.org',
      text: 'Confirmed, thanks.\n#secdesk triage accepted\n',
      dkim: 'none',
    });
    await h.append([Buffer.concat([Buffer.from(LMTP + AR_PASS + INBOUND), unsigned])]);
    const c1 = await waitFor('both clocks met', async () => {
      const c = await app.store.get(c0.id);
      return c?.first_response_at && c.next_steps_at ? c : null;
    });
    const m = c1.messages.find((x) => x.message_id === '<mt-ar-3@larkspur.test>');
    expect(m?.kind).toBe('maintainer_reply');
    expect(m?.note).toContain(`trusted Authentication-Results (${MX})`);
    // A reply that carries the command meets both clocks at once.
    expect(c1.first_response_at).toBe(m?.date);
    expect(c1.next_steps_at).toBe(m?.date);
    expect(c1.state).toBe('accepted');
  });

  test('forged maintainer mail changes nothing, is recorded as a spoofing attempt and reported to the maintainers', async () => {
    await h.append([await report({ from: 'Uma <uma@example.org>', id: 'mt-report-4@example.org' })]);
    const c0 = await caseOf('mt-report-4@example.org');
    const forged = (id: string, dkim: 'none' | 'wrong-key'): Promise<Buffer> =>
      buildMail({
        from: `Alice Maintainer <${ALICE}>`,
        to: 'uma@example.org',
        cc: SECURITY,
        subject: 'Re: Heap overflow in the MIME parser',
        messageId: id,
        inReplyTo: 'mt-report-4@example.org',
        text: 'Not a bug, closing.\n#secdesk triage rejected\n#secdesk resolve https://example.org/advisory/1\n',
        dkim,
      });
    const unsigned = await forged('mt-spoof-4a@evil.example', 'none');
    const wrongKey = await forged('mt-spoof-4b@evil.example', 'wrong-key');
    // The forger writes their own "Authentication-Results" with our MX's name; it sits below our MX's Received.
    const fakeAr = Buffer.concat([Buffer.from(LMTP + INBOUND + AR_PASS), await forged('mt-spoof-4c@evil.example', 'none')]);
    await h.append([unsigned, wrongKey, fakeAr]);

    const c1 = await waitFor('three spoofing attempts recorded', async () => {
      const c = await app.store.get(c0.id);
      return c && c.timeline.filter((t) => t.event === 'spoof_attempt').length === 3 ? c : null;
    });
    expect(c1.first_response_at).toBeNull();
    expect(c1.next_steps_at).toBeNull();
    expect(c1.state).toBe('new');
    expect(c1.resolved_at ?? null).toBeNull();
    expect(c1.timeline.some((t) => t.event.startsWith('command.'))).toBe(false);
    const notes = Object.fromEntries(c1.messages.filter((m) => m.note?.startsWith('spoofing attempt')).map((m) => [m.message_id, m.note ?? '']));
    expect(notes['<mt-spoof-4a@evil.example>']).toMatch(/no DKIM signature/);
    expect(notes['<mt-spoof-4b@evil.example>']).toMatch(/DKIM (fail|neutral)/);
    expect(notes['<mt-spoof-4c@evil.example>']).toMatch(/no DKIM signature/);

    // The maintainers hear about each attempt.
    const reports = await waitFor('spoof reports to the maintainers', async () => {
      const r = sunk(h).filter((m) => m.subject.includes(c0.id) && m.subject.includes('unauthenticated mail'));
      return r.length === 3 ? r : null;
    });
    for (const r of reports) expect(r.to.sort()).toEqual([ALICE, BOB]);
    // Nothing reached the reporter in the maintainer's name, and the clock still escalates.
    await ackPaged(c0.id);
    expect(pd(c0.id)).toEqual([`trigger ${c0.id}-acknowledge`]);
    expect((await app.store.mustGet(c0.id)).first_response_at).toBeNull();
  });
});
