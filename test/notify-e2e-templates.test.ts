/**
 * Content of reporter mail: templates overridden from a config directory are used (file by file);
 * hostile subjects — encoded CR/LF that decodes to a header, markup — cannot inject a header or a
 * recipient into our mail nor markup into its HTML part; support questions get the redirect, not an
 * ack; a mail whose SMTP retries run out is recorded on its case as failed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { jobIds } from '../src/queues';
import { plainMail, SECURITY, startHarness, waitFor, type Harness } from './helpers/harness';
import { caseFor, decodeHeader, mailQueueIdle, rawHeaders, reconfigure, startObservedApp, sunkReplies, sunkTo, type ObservedApp } from './helpers/notify-e2e';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

describe('templates and hostile content', () => {
  let h: Harness;
  let o: ObservedApp;
  let tplDir: string;
  beforeAll(async () => {
    tplDir = mkdtempSync(path.join(tmpdir(), 'secdesk-tpl-'));
    // Only the ack is overridden; every other template falls back to the built-in one.
    writeFileSync(
      path.join(tplDir, 'ack.txt.hbs'),
      [
        'CUSTOM-ACK for {{case_id}} ({{project}})',
        'We got: {{received.subject}}',
        '{{#if has_missing}}Still missing:',
        '{{#each missing}}* {{this}}',
        '{{/each}}{{/if}}',
        '{{#if has_unsupported_versions}}Outside the supported range: {{#each unsupported_versions}}{{this}} {{/each}}{{/if}}',
        '{{#if received.has_attachments}}Attachments: {{#each received.attachments}}[{{this}}] {{/each}}{{/if}}',
        '',
      ].join('\n'),
    );
    writeFileSync(path.join(tplDir, 'ack.html.hbs'), '<p>CUSTOM-HTML for {{case_id}}: {{received.subject}}</p>\n');
    h = await startHarness({ config: { templates: { dir: tplDir } } });
    // Give up quickly in the retry test below: two retries, 300 ms apart.
    reconfigure(h, (raw) => {
      raw.smtp = { ...(raw.smtp as object), retry: ['300ms', '300ms'] };
    });
    o = await startObservedApp(h);
  });
  afterAll(async () => {
    await h.close();
    rmSync(tplDir, { recursive: true, force: true });
  });

  test('templates from templates.dir are used, with the case, the missing list and the version note', async () => {
    const report = [
      'From: Ted <ted@reporter.example>',
      `To: ${SECURITY}`,
      'Subject: <script>alert(1)</script> heap overflow',
      'Message-ID: <tpl-1@reporter.example>',
      'Date: Mon, 30 Nov 2026 10:00:00 +0000',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'I found a heap buffer overflow in src/mime/parse.c in version 0.5.2.',
      '',
      'Steps to reproduce: run ./parse crash.eml',
      'SECRET-BODY-MARKER',
      '--b1',
      'Content-Type: application/octet-stream; name="crash.eml"',
      'Content-Disposition: attachment; filename="crash.eml"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('ATTACHMENT-CONTENT-MARKER').toString('base64'),
      '--b1--',
      '',
    ].join('\r\n');
    await h.append([report]);
    const c = await caseFor(h, '<tpl-1@reporter.example>', (x) => !!x.acknowledged_at);
    const [ack] = sunkReplies(h, '<tpl-1@reporter.example>');
    const parsed = await simpleParser(ack!.raw);
    expect(parsed.text).toContain(`CUSTOM-ACK for ${c.id} (Larkspur)`);
    expect(parsed.text).toContain('We got: <script>alert(1)</script> heap overflow');
    expect(parsed.text).toContain('Outside the supported range: 0.5.2');
    expect(parsed.text).toContain('Attachments: [crash.eml]');
    // Names of what was received, never the report body or attachment contents.
    const out = ack!.raw.toString('utf8');
    for (const secret of ['SECRET-BODY-MARKER', 'ATTACHMENT-CONTENT-MARKER', b64('ATTACHMENT-CONTENT-MARKER'), 'Steps to reproduce']) expect(out).not.toContain(secret);
    // What the triage found missing, in the policy's words; what the report has is not asked for.
    expect(parsed.text).toMatch(/Still missing:\n(\* .+\n)+/);
    expect(parsed.text).not.toContain('Full paths of the source file');
    // The built-in text is not used.
    expect(parsed.text).not.toContain('Thank you for reporting a security issue');
    // HTML part: overridden too, and the subject is escaped there.
    expect(parsed.html).toContain(`CUSTOM-HTML for ${c.id}:`);
    expect(parsed.html).toContain('&lt;script&gt;');
    expect(parsed.html).not.toContain('<script>');
  });

  test('an encoded CR/LF in the subject cannot inject a header or a recipient', async () => {
    const hostile = [
      { from: 'inj1@reporter.example', subject: `=?UTF-8?B?${b64('x\r\nBcc: victim@example.net')}?=`, id: 'inj-1@reporter.example' },
      { from: 'inj2@reporter.example', subject: '=?UTF-8?Q?x=0D=0ABcc:=20victim@example.net?=', id: 'inj-2@reporter.example' },
      // An encoded word that decodes to another encoded word, for decoders that run twice.
      { from: 'inj3@reporter.example', subject: `=?UTF-8?B?${b64('=?UTF-8?Q?x=0D=0ABcc:_victim@example.net?=')}?=`, id: 'inj-3@reporter.example' },
      // Line separators other than CRLF.
      { from: 'inj4@reporter.example', subject: `=?UTF-8?B?${b64('x\u2028Bcc: victim@example.net\u0085To: victim@example.net')}?=`, id: 'inj-4@reporter.example' },
    ];
    await h.append(hostile.map((m) => plainMail({ from: m.from, id: m.id, subject: m.subject })));
    for (const m of hostile) {
      const c = await caseFor(h, `<${m.id}>`, (x) => !!x.acknowledged_at);
      const acks = sunkReplies(h, `<${m.id}>`);
      expect(acks).toHaveLength(1);
      const ack = acks[0]!;
      expect(ack.envelope.to).toEqual([m.from]);
      const names = rawHeaders(ack.raw).map((x) => x.name);
      expect(names).not.toContain('bcc');
      expect(names.filter((n) => n === 'to')).toHaveLength(1);
      expect(names.filter((n) => n === 'subject')).toHaveLength(1);
      const headerBlock = ack.raw.toString('latin1').split('\r\n\r\n')[0]!;
      expect(headerBlock).not.toMatch(/^bcc:/im);
      const subject = decodeHeader(rawHeaders(ack.raw).find((x) => x.name === 'subject')!.value);
      expect(subject).not.toMatch(/[\r\n\u2028\u0085]/);
      expect(subject).toMatch(new RegExp(`^Re: .*Bcc: victim@example\\.net.* \\[${c.id}\\]$`));
      // The body echoes the subject on one line: no line of it starts a header-looking "Bcc:".
      const parsed = await simpleParser(ack.raw);
      expect(parsed.text ?? '').not.toMatch(/^\s*(Bcc|To):/m);
      expect(parsed.bcc).toBeUndefined();
    }
    expect(sunkTo(h, 'victim@example.net')).toHaveLength(0);
  });

  test('a support question gets the support redirect instead of an ack', async () => {
    await h.append([
      plainMail({
        from: 'sam@user.example',
        id: 'support-1@user.example',
        subject: 'How do I reset my password?',
        body: 'Hi, I forgot my password for the admin panel and the reset link does not work. How can I reset it? Thanks',
      }),
    ]);
    const c = await caseFor(h, '<support-1@user.example>', (x) => (x.notices ?? []).some((n) => n.status === 'sent'));
    expect(c.kind).toBe('support');
    expect(c.acknowledged_at).toBeNull();
    expect(c.notices).toEqual([expect.objectContaining({ purpose: 'support_redirect', status: 'sent', to: 'sam@user.example' })]);
    const [mail] = sunkReplies(h, '<support-1@user.example>');
    const parsed = await simpleParser(mail!.raw);
    expect(parsed.subject).toBe(`Re: How do I reset my password? [${c.id}]`);
    expect(parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(parsed.text).toMatch(/looks\s+like a support or general question/);
    expect(parsed.text).not.toContain('CUSTOM-ACK');
  });

  test('the support-redirect path for a case marked support by hand: the redirect template, once', async () => {
    // Triage took it for a report (and it was acknowledged); a maintainer re-marks it as support.
    await h.append([plainMail({ from: 'kim@user.example', id: 'support-2@user.example', subject: 'Cannot log in' })]);
    const created = await caseFor(h, '<support-2@user.example>', (x) => !!x.acknowledged_at);
    await o.app.store.update(created.id, (x) => ({ value: { ...x, kind: 'support' }, result: undefined }));
    const before = sunkReplies(h, '<support-2@user.example>').length;
    const job = { caseId: created.id, purpose: 'support_redirect' as const };
    await o.app.queues.mail.add('support_redirect', job, { jobId: jobIds.mail(job) });
    await o.app.queues.mail.add('support_redirect', job, { jobId: `again-${created.id}` });
    await caseFor(h, '<support-2@user.example>', (x) => (x.notices ?? []).some((n) => n.purpose === 'support_redirect' && n.status === 'sent'));
    await waitFor('mail queue idle', () => mailQueueIdle(o.app));
    const redirects = sunkReplies(h, '<support-2@user.example>').slice(before);
    expect(redirects).toHaveLength(1);
    const parsed = await simpleParser(redirects[0]!.raw);
    expect(parsed.text).toMatch(/only\s+for\s+reporting\s+security\s+vulnerabilities/);
    expect(parsed.messageId).toMatch(new RegExp(`^<secdesk\\.${created.id}\\.support_redirect\\.`));
  });

  test('temporary failures until the retry schedule runs out: recorded on the case as failed, never sent', async () => {
    h.sandbox.smtp.setFailure({ code: 451, message: '4.7.1 Greylisted, try again' });
    const refusedBefore = h.sandbox.smtp.refused;
    try {
      await h.append([plainMail({ from: 'late@reporter.example', id: 'giveup-1@reporter.example', subject: 'Report during a long outage' })]);
      const c = await caseFor(h, '<giveup-1@reporter.example>', (x) => (x.notices ?? []).some((n) => n.status === 'failed'));
      expect(c.notices).toEqual([expect.objectContaining({ purpose: 'ack', status: 'failed', to: 'late@reporter.example', detail: expect.stringMatching(/gave up.*451/) })]);
      expect(c.timeline.some((t) => t.event === 'mail.failed')).toBe(true);
      expect(c.acknowledged_at).toBeNull();
      const job = await o.app.queues.mail.getJob(jobIds.mail({ caseId: c.id, purpose: 'ack' }));
      expect(await job?.getState()).toBe('failed');
      // The first try (made from the ingest job) and the two retries of smtp.retry (the job's runs).
      expect(job?.attemptsMade).toBe(2);
      expect(h.sandbox.smtp.refused - refusedBefore).toBe(3);
    } finally {
      h.sandbox.smtp.setFailure(null);
    }
    expect(sunkReplies(h, '<giveup-1@reporter.example>')).toHaveLength(0);
    expect(h.sandbox.smtp.messages.every((m) => m.envelope.to.every((a) => a !== SECURITY))).toBe(true);
  });
});
