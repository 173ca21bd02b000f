/**
 * Delivery: an SMTP outage or a temporary refusal loses no acknowledgement and duplicates none; a
 * permanent refusal is recorded on the case; a bounce of our ack attaches to its case, marks the
 * reporter address as bouncing and opens no new case. Retries run on a fast schedule from config
 * (`smtp.retry`) so the test waits on conditions, never on the production schedule.
 */
import { jobIds } from '../src/queues';
import type { Case } from '../src/types';
import { plainMail, SECURITY, startHarness, waitFor, type Harness } from './helpers/harness';
import { caseFor, header, mailQueueIdle, reconfigure, startObservedApp, sunkReplies, type ObservedApp } from './helpers/notify-e2e';

describe('delivery of reporter mail', () => {
  let h: Harness;
  let o: ObservedApp;
  beforeAll(async () => {
    h = await startHarness();
    // Fast retries (production: minutes to hours); ten of them outlast the outages below.
    reconfigure(h, (raw) => {
      raw.smtp = { ...(raw.smtp as object), retry: ['1s', '1s', '2s', '2s', '3s', '3s', '3s', '3s', '3s', '3s'] };
    });
    o = await startObservedApp(h);
  });
  afterAll(async () => {
    await h.close();
  });

  async function ackJob(caseId: string) {
    return o.app.queues.mail.getJob(jobIds.mail({ caseId, purpose: 'ack' }));
  }

  async function casesFor(ids: string[], pred: (c: Case) => boolean = () => true): Promise<Case[]> {
    return waitFor(`${ids.length} cases`, async () => {
      const all = await h.cases();
      const got = ids.map((id) => all.find((c) => c.messages[0]?.message_id === id));
      return got.every((c) => c && pred(c)) ? (got as Case[]) : null;
    }, 60_000);
  }

  test('SMTP down for a while, then up: every ack delivered exactly once', async () => {
    await h.sandbox.smtp.stop();
    const ids = Array.from({ length: 8 }, (_, i) => `outage-${i}@reporter.example`);
    await h.append(ids.map((id, i) => plainMail({ from: `r${i}@reporter${i}.example`, id, subject: `Outage report ${i}` })));
    const cases = await casesFor(ids.map((id) => `<${id}>`));
    // Down long enough that every ack has failed twice and waits for its next retry on the schedule
    // (delayed, not retried at once: an immediate retry loop would burn every attempt in seconds).
    await waitFor('every ack retried twice and waiting on the schedule', async () => {
      const jobs = await Promise.all(cases.map((c) => ackJob(c.id)));
      const states = await Promise.all(jobs.map((j) => j?.getState()));
      return jobs.every((j, i) => j && j.attemptsMade >= 2 && states[i] === 'delayed') ? true : null;
    }, 30_000);
    for (const c of cases) {
      const j = await ackJob(c.id);
      // The first try was made from the ingest job; the retries are a mail job carrying IDs only
      // (and the count of tries made before it).
      expect(j!.data).toEqual({ caseId: c.id, purpose: 'ack', tries: 1 });
      expect(j!.attemptsMade).toBeLessThanOrEqual(10);
      expect(j!.delay).toBeGreaterThanOrEqual(800); // 1 s ± 20 %
      const now = await o.app.store.mustGet(c.id);
      expect(now.acknowledged_at).toBeNull();
      // The case says its ack is waiting for SMTP, not silently nothing.
      expect(now.notices).toEqual([expect.objectContaining({ purpose: 'ack', status: 'queued', detail: expect.stringMatching(/temporary|connection/) })]);
    }
    expect(h.sandbox.smtp.messages).toHaveLength(0);

    await h.sandbox.smtp.start();
    await casesFor(ids.map((id) => `<${id}>`), (c) => !!c.acknowledged_at);
    await waitFor('mail queue idle', () => mailQueueIdle(o.app));
    for (const id of ids) expect({ id, acks: sunkReplies(h, `<${id}>`).length }).toEqual({ id, acks: 1 });
    expect(h.sandbox.smtp.messages).toHaveLength(ids.length);
    const after = await h.cases();
    for (const id of ids) {
      const c = after.find((x) => x.messages[0]?.message_id === `<${id}>`)!;
      expect(c.notices).toEqual([expect.objectContaining({ purpose: 'ack', status: 'sent' })]);
    }
  });

  test('451 from the server: retried, then delivered once', async () => {
    const before = h.sandbox.smtp.messages.length;
    h.sandbox.smtp.setFailure({ code: 451, message: '4.3.0 Try again later' });
    await h.append([plainMail({ from: 'tem@reporter.example', id: 'temp-451@reporter.example', subject: 'Temp failure report' })]);
    const c = await caseFor(h, '<temp-451@reporter.example>');
    await waitFor('ack retried after 451', async () => ((await ackJob(c.id))?.attemptsMade ?? 0) >= 2 || null);
    expect(h.sandbox.smtp.messages.length).toBe(before);
    h.sandbox.smtp.setFailure(null);
    await caseFor(h, '<temp-451@reporter.example>', (x) => !!x.acknowledged_at);
    await waitFor('mail queue idle', () => mailQueueIdle(o.app));
    expect(sunkReplies(h, '<temp-451@reporter.example>')).toHaveLength(1);
  });

  test('550 from the server: not retried, recorded on the case as failed', async () => {
    h.sandbox.smtp.setFailure({ code: 550, message: '5.7.1 Recipient refused by policy' });
    const refusedBefore = h.sandbox.smtp.refused;
    try {
      await h.append([plainMail({ from: 'perm@reporter.example', id: 'perm-550@reporter.example', subject: 'Permanent failure report' })]);
      const c = await caseFor(h, '<perm-550@reporter.example>', (x) => (x.notices ?? []).some((n) => n.status === 'failed'));
      const notice = (c.notices ?? []).find((n) => n.purpose === 'ack')!;
      expect(notice).toEqual(expect.objectContaining({ status: 'failed', to: 'perm@reporter.example', detail: expect.stringContaining('550') }));
      expect(c.acknowledged_at).toBeNull();
      expect(c.timeline.some((t) => t.event === 'mail.failed' && /550/.test(t.detail ?? ''))).toBe(true);
      // One attempt (made from the ingest job), no retry scheduled: no mail job was ever queued.
      expect(await ackJob(c.id)).toBeUndefined();
      expect(h.sandbox.smtp.refused - refusedBefore).toBe(1);
      await waitFor('mail queue idle', () => mailQueueIdle(o.app));
      expect(h.sandbox.smtp.refused - refusedBefore).toBe(1);
    } finally {
      h.sandbox.smtp.setFailure(null);
    }
    expect(sunkReplies(h, '<perm-550@reporter.example>')).toHaveLength(0);
  });

  test('a bounce of our ack attaches to its case, marks the address bouncing, opens no case, sends nothing', async () => {
    await h.append([plainMail({ from: 'gone@oldbox.example', id: 'bounce-me@oldbox.example', subject: 'Report from a dying mailbox' })]);
    const c = await caseFor(h, '<bounce-me@oldbox.example>', (x) => !!x.acknowledged_at);
    const ack = sunkReplies(h, '<bounce-me@oldbox.example>')[0]!;
    const ackId = header(ack.raw, 'message-id')[0]!;
    const ackHeaders = ack.raw.toString('latin1').split(/\r\n\r\n/)[0]!;
    const dsn = [
      'Return-Path: <>',
      'From: MAILER-DAEMON@mx.example.test (Mail Delivery System)',
      `To: ${SECURITY}`,
      'Subject: Undelivered Mail Returned to Sender',
      'Message-ID: <dsn-1@mx.example.test>',
      'Date: Mon, 30 Nov 2026 10:05:00 +0000',
      'Auto-Submitted: auto-replied',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="dsnb"',
      '',
      '--dsnb',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'Your message could not be delivered to gone@oldbox.example: user unknown.',
      '',
      '--dsnb',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.test',
      '',
      'Final-Recipient: rfc822; gone@oldbox.example',
      'Action: failed',
      'Status: 5.1.1',
      '',
      '--dsnb',
      'Content-Type: text/rfc822-headers',
      '',
      ackHeaders,
      '',
      '--dsnb--',
      '',
    ].join('\r\n');
    const casesBefore = (await h.cases()).length;
    const sentBefore = h.sandbox.smtp.messages.length;
    const [appended] = await h.append([dsn]);
    const res = await o.waitIngested(appended!.uid);
    expect(res).toEqual({ outcome: 'attached', caseId: c.id });

    const after = await o.app.store.mustGet(c.id);
    expect(after.bouncing).toEqual(['gone@oldbox.example']);
    expect(after.messages.some((m) => m.kind === 'bounce' && m.message_id === '<dsn-1@mx.example.test>')).toBe(true);
    expect(after.timeline.some((t) => t.event === 'bounce')).toBe(true);
    expect((await h.cases()).length).toBe(casesBefore);

    // Further automatic mail to a bouncing address is not sent, and the case says why.
    const job = await o.app.queues.mail.add('resolution', { caseId: c.id, purpose: 'resolution' }, { jobId: `bounce-test-${c.id}` });
    await waitFor('resolution job done', async () => ((await job.getState()) === 'completed' ? true : null));
    await waitFor('mail queue idle', () => mailQueueIdle(o.app));
    const final = await o.app.store.mustGet(c.id);
    expect((final.notices ?? []).find((n) => n.purpose === 'resolution')).toEqual(expect.objectContaining({ status: 'suppressed', detail: expect.stringMatching(/bouncing/) }));
    expect(h.sandbox.smtp.messages.length).toBe(sentBefore);
    expect(ackId).toMatch(/^<secdesk\./);
  });
});
