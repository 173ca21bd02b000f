/**
 * Reporter correspondence, end to end: a report APPENDed to the security mailbox gets exactly one
 * acknowledgement at the SMTP sink, with the threading headers, the case tag, RFC 3834 markings and
 * the deterministic Message-ID; delivered into the reporter's own Dovecot mailbox it threads under
 * the original; it is never sent twice (job re-added, app restarted, report re-delivered).
 */
import { deriveMessageIdSecret, makeMessageId, messageIdDomain } from '../src/notify/message-id';
import { jobIds } from '../src/queues';
import { appendMessages } from '../src/sandbox';
import { plainMail, SECURITY, startHarness, waitFor, type Harness } from './helpers/harness';
import { caseFor, decodeHeader, fetchAsClient, header, mailQueueIdle, startObservedApp, sunkReplies, threadParent, type ObservedApp } from './helpers/notify-e2e';

const REPORTER = 'rita@reporter.example';

describe('the acknowledgement', () => {
  let h: Harness;
  let o: ObservedApp;
  beforeAll(async () => {
    h = await startHarness({ deliverLocal: true, users: [{ user: REPORTER, password: 'rita-pass' }] });
    o = await startObservedApp(h);
  });
  afterAll(async () => {
    await h.close();
  });

  test('one ack per report: threading headers, subject tag, Reply-To, Auto-Submitted, deterministic Message-ID', async () => {
    const report = plainMail({
      from: `Rita Reporter <${REPORTER}>`,
      id: 'report-1@reporter.example',
      subject: 'Re: RE: Heap overflow in the MIME parser',
      headers: ['References: <earlier-thread@reporter.example>'],
    });
    // The reporter's own copy of what they sent, where their client keeps it.
    const reporterUrl = h.sandbox.dovecot.imapUrl(REPORTER);
    await appendMessages(reporterUrl, 'Sent', [report]);
    await h.append([report]);

    const c = await caseFor(h, '<report-1@reporter.example>', (x) => !!x.acknowledged_at);
    const acks = sunkReplies(h, '<report-1@reporter.example>');
    expect(acks).toHaveLength(1);
    const ack = acks[0]!;

    // Envelope: only the reporter, from our own address (so a DSN comes back to us).
    expect(ack.envelope.to).toEqual([REPORTER]);
    expect(ack.envelope.from).toBe(SECURITY);

    const raw = ack.raw;
    const secret = deriveMessageIdSecret(h.cfg);
    const expectedId = makeMessageId({ caseId: c.id, purpose: 'ack' }, messageIdDomain(h.cfg), secret);
    expect(header(raw, 'message-id')).toEqual([expectedId]);
    expect(header(raw, 'in-reply-to')).toEqual(['<report-1@reporter.example>']);
    expect(header(raw, 'references')[0]!.split(/\s+/)).toEqual(['<earlier-thread@reporter.example>', '<report-1@reporter.example>']);
    expect(decodeHeader(header(raw, 'subject')[0]!)).toBe(`Re: Heap overflow in the MIME parser [${c.id}]`);
    expect(header(raw, 'reply-to')).toEqual([SECURITY]);
    expect(header(raw, 'auto-submitted')).toEqual(['auto-replied']);
    expect(header(raw, 'to')).toEqual([REPORTER]);
    expect(header(raw, 'cc')).toEqual([]);
    expect(header(raw, 'bcc')).toEqual([]);

    // The body tells them the case ID, what happens next and what to include; never the report body.
    const text = raw.toString('utf8');
    expect(text).toContain(c.id);
    expect(text).not.toContain('buffer overflow in src/mime/parse.c');

    // The case records it.
    expect(c.acknowledged_at).not.toBeNull();
    const sent = (c.notices ?? []).filter((n) => n.purpose === 'ack');
    expect(sent).toEqual([expect.objectContaining({ status: 'sent', to: REPORTER, message_id: expectedId })]);
    expect(c.messages.some((m) => m.direction === 'out' && m.message_id === expectedId)).toBe(true);
    // Sent from the report's ingest job (no mail job queued); that job carried IDs only: nothing of
    // the report (subject, addresses, body) sits in Redis job data.
    expect(await o.app.queues.mail.getJob(jobIds.mail({ caseId: c.id, purpose: 'ack' }))).toBeUndefined();
    const [ingestJob] = await o.app.queues.ingest.getJobs(['completed']);
    expect(Object.keys(ingestJob!.data).sort()).toEqual(['folder', 'internalDate', 'mailbox', 'rawKey', 'size', 'uid', 'uidValidity']);

    // In the reporter's own mailbox, as their mail client sees it: the ack threads under the report.
    const inbox = await waitFor('ack in the reporter INBOX', async () => {
      const msgs = await fetchAsClient(reporterUrl, 'INBOX');
      return msgs.length > 0 ? msgs : null;
    });
    const sentBox = await fetchAsClient(reporterUrl, 'Sent');
    expect(inbox).toHaveLength(1);
    const got = inbox[0]!;
    const original = sentBox.find((m) => m.messageId === '<report-1@reporter.example>');
    expect(original).toBeDefined();
    expect(got.messageId).toBe(expectedId);
    expect(got.inReplyTo).toBe(original!.messageId);
    expect(got.references).toContain(original!.messageId);
    expect(got.subject).toBe(`Re: Heap overflow in the MIME parser [${c.id}]`);
    expect(got.autoSubmitted).toBe('auto-replied');
    expect(threadParent(got, [...sentBox, ...inbox])?.messageId).toBe('<report-1@reporter.example>');
  });

  test("the ack goes to the report's Reply-To (RFC 3834 §4), never to anyone in Cc", async () => {
    const report = plainMail({
      from: 'Mia <mia@corp.example>',
      id: 'report-rt@corp.example',
      subject: 'IDOR in the API',
      headers: ['Reply-To: Mia Team <psirt-desk@corp.example>'],
      cc: 'boss@corp.example, press@news.example',
    });
    await h.append([report]);
    const c = await caseFor(h, '<report-rt@corp.example>', (x) => !!x.acknowledged_at);
    expect(c.reply_to).toBe('psirt-desk@corp.example');
    const acks = sunkReplies(h, '<report-rt@corp.example>');
    expect(acks).toHaveLength(1);
    expect(acks[0]!.envelope.to).toEqual(['psirt-desk@corp.example']);
    expect(header(acks[0]!.raw, 'to')).toEqual(['psirt-desk@corp.example']);
    expect(header(acks[0]!.raw, 'cc')).toEqual([]);
    for (const a of ['mia@corp.example', 'boss@corp.example', 'press@news.example']) {
      expect(h.sandbox.smtp.messages.some((m) => m.envelope.to.includes(a))).toBe(false);
    }
  });

  test('the ack also threads when the original sits in the same mailbox (INBOX) as the reply', async () => {
    const reporterUrl = h.sandbox.dovecot.imapUrl(REPORTER);
    const report = plainMail({ from: REPORTER, id: 'report-2@reporter.example', subject: 'SQL injection in search' });
    await appendMessages(reporterUrl, 'INBOX', [report]);
    await h.append([report]);
    const c = await caseFor(h, '<report-2@reporter.example>', (x) => !!x.acknowledged_at);
    const inbox = await waitFor('ack for report-2 in the reporter INBOX', async () => {
      const msgs = await fetchAsClient(reporterUrl, 'INBOX');
      return msgs.some((m) => m.inReplyTo === '<report-2@reporter.example>') ? msgs : null;
    });
    const ack = inbox.find((m) => m.inReplyTo === '<report-2@reporter.example>')!;
    expect(ack.subject).toBe(`Re: SQL injection in search [${c.id}]`);
    expect(threadParent(ack, inbox)?.messageId).toBe('<report-2@reporter.example>');
  });

  test('never a second ack: the job re-added, the app restarted, the report re-delivered', async () => {
    const report = plainMail({ from: REPORTER, id: 'report-3@reporter.example', subject: 'Path traversal' });
    await h.append([report]);
    const c = await caseFor(h, '<report-3@reporter.example>', (x) => !!x.acknowledged_at);
    expect(sunkReplies(h, '<report-3@reporter.example>')).toHaveLength(1);

    // The same job ID again is a no-op in BullMQ; a fresh ID reaches the worker, which re-reads the case.
    const again = await o.app.queues.mail.add('ack', { caseId: c.id, purpose: 'ack' }, { jobId: `readd-${c.id}` });
    await o.app.queues.mail.add('ack', { caseId: c.id, purpose: 'ack' }, { jobId: jobIds.mail({ caseId: c.id, purpose: 'ack' }) });
    await waitFor('re-added ack job finished', async () => ((await again.getState()) === 'completed' ? true : null));
    const job = await o.app.queues.mail.getJob(again.id!);
    expect(job?.returnvalue).toEqual({ status: 'done' });

    // Restart: a new app over the same Redis, and the same report delivered again.
    await o.app.close();
    o = await startObservedApp(h);
    const [appended] = await h.append([report]);
    const res = await o.waitIngested(appended!.uid);
    expect(res).toEqual({ outcome: 'seen', previous: `case:${c.id}` });
    const readd = await o.app.queues.mail.add('ack', { caseId: c.id, purpose: 'ack' }, { jobId: `readd2-${c.id}` });
    await waitFor('ack job after restart finished', async () => ((await readd.getState()) === 'completed' ? true : null));
    await waitFor('mail queue idle', () => mailQueueIdle(o.app));

    expect(sunkReplies(h, '<report-3@reporter.example>')).toHaveLength(1);
    const after = await o.app.store.mustGet(c.id);
    expect(after.acknowledged_at).toBe(c.acknowledged_at);
    expect((after.notices ?? []).filter((n) => n.purpose === 'ack')).toHaveLength(1);
  });

  test('the same mail queued six times at once (other job IDs, concurrent workers) goes out once', async () => {
    const report = plainMail({ from: REPORTER, id: 'report-4@reporter.example', subject: 'Auth bypass' });
    await h.append([report]);
    const c = await caseFor(h, '<report-4@reporter.example>', (x) => !!x.acknowledged_at);
    await o.app.store.update(c.id, (x) => ({ value: { ...x, state: 'resolved', advisory_url: 'https://larkspur.test/advisories/LSA-2026-01' }, result: undefined }));
    const job = { caseId: c.id, purpose: 'resolution' as const };
    await Promise.all(Array.from({ length: 6 }, (_, i) => o.app.queues.mail.add('resolution', job, { jobId: `${jobIds.mail(job)}-copy${i}` })));
    await caseFor(h, '<report-4@reporter.example>', (x) => (x.notices ?? []).some((n) => n.purpose === 'resolution' && n.status === 'sent'));
    await waitFor('mail queue idle', () => mailQueueIdle(o.app));
    const mails = sunkReplies(h, '<report-4@reporter.example>');
    expect(mails).toHaveLength(2); // the ack and one resolution notice
    const resolution = mails.find((m) => header(m.raw, 'message-id')[0]!.includes('.resolution.'))!;
    expect(resolution.raw.toString('utf8')).toContain('https://larkspur.test/advisories/LSA-2026-01');
    const final = await o.app.store.mustGet(c.id);
    expect((final.notices ?? []).filter((n) => n.purpose === 'resolution')).toEqual([expect.objectContaining({ status: 'sent' })]);
  });
});
