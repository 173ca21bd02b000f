/**
 * Never a loop, never a reflector: for every kind of robot or loop mail, secdesk sends nothing, and
 * the reason is recorded — on the case (its `auto_reply` decision and timeline) or on the skip.
 * Genuine reports sent alongside (and controls that differ in one header) do get their ack, so
 * "nothing was sent" is measured against a worker that demonstrably sends.
 */
import type { IngestResult } from '../src/ingest/ingest-message';
import type { Case } from '../src/types';
import { plainMail, SECURITY, startHarness, waitFor, type Harness } from './helpers/harness';
import { caseFor, header, mailQueueIdle, startObservedApp, sunkReplies, type ObservedApp } from './helpers/notify-e2e';

const ALIAS = 'psirt@example.test';

/** One robot/loop message, and where its reason must show up. */
interface LoopCase {
  name: string;
  m: { id: string; raw: string };
  /** The reason must be on a skip (robot mail opens no case) or on the case's auto_reply decision. */
  expect: { skip: RegExp; skipReason?: string } | { code: string; reason: RegExp };
}

let n = 0;
function mail(o: Parameters<typeof plainMail>[0]): { id: string; raw: string } {
  n += 1;
  const id = `loop-${n}@sender.example`;
  return { id: `<${id}>`, raw: plainMail({ id, body: 'I found an XSS in src/web/login.ts in version 0.8.1.', ...o }) };
}

describe('no automatic mail to robots, loops or forged senders', () => {
  let h: Harness;
  let o: ObservedApp;
  beforeAll(async () => {
    h = await startHarness({ config: { aliases: [ALIAS], trust: { authserv_id: ['mx.example.test'] } } });
    o = await startObservedApp(h);
  });
  afterAll(async () => {
    await h.close();
  });

  async function ingestAll(raws: string[]): Promise<IngestResult[]> {
    const uids = await h.append(raws);
    return Promise.all(uids.map((u) => o.waitIngested(u.uid)));
  }

  test('each robot/loop case: no mail sent, the reason recorded', async () => {
    const trustedFail = 'Authentication-Results: mx.example.test; spf=fail smtp.mailfrom=forged.example; dkim=none; dmarc=fail header.from=forged.example';
    const received = 'Received: from mail.forged.example (mail.forged.example [192.0.2.7]) by mx.example.test; Mon, 30 Nov 2026 10:00:00 +0000';
    const cases: LoopCase[] = [
      { name: 'Auto-Submitted: auto-generated', m: mail({ headers: ['Auto-Submitted: auto-generated'] }), expect: { skip: /Auto-Submitted/ } },
      { name: 'Auto-Submitted: auto-replied', m: mail({ subject: 'Out of office', headers: ['Auto-Submitted: auto-replied'] }), expect: { skip: /Auto-Submitted/ } },
      { name: 'Auto-Submitted: auto-notified', m: mail({ headers: ['Auto-Submitted: auto-notified'] }), expect: { skip: /Auto-Submitted/ } },
      { name: 'Precedence: bulk', m: mail({ headers: ['Precedence: bulk'] }), expect: { skip: /Precedence/ } },
      { name: 'Precedence: junk', m: mail({ headers: ['Precedence: junk'] }), expect: { skip: /Precedence/ } },
      { name: 'Precedence: list', m: mail({ headers: ['Precedence: list'] }), expect: { skip: /Precedence/ } },
      { name: 'List-Id', m: mail({ headers: ['List-Id: Larkspur users <users.lists.larkspur.test>'] }), expect: { skip: /List-Id/ } },
      { name: 'List-Unsubscribe', m: mail({ headers: ['List-Unsubscribe: <mailto:leave@lists.example>'] }), expect: { skip: /List-Unsubscribe/ } },
      { name: 'null Return-Path', m: mail({ headers: ['Return-Path: <>'] }), expect: { skip: /null return path/ } },
      { name: 'robot Return-Path', m: mail({ headers: ['Return-Path: <bounces+123@mailer.example>'] }), expect: { code: 'robot_return_path', reason: /bounce handler/ } },
      { name: 'MAILER-DAEMON sender', m: mail({ from: 'MAILER-DAEMON@mx.sender.example', subject: 'Hello' }), expect: { skip: /mailer-daemon/i } },
      { name: 'postmaster sender', m: mail({ from: 'postmaster@sender.example' }), expect: { skip: /postmaster/i } },
      { name: 'noreply sender', m: mail({ from: 'GitHub <noreply@github.example>' }), expect: { skip: /no-?reply/i } },
      { name: 'no_reply sender', m: mail({ from: 'Shop <no_reply@shop.example>' }), expect: { code: 'robot_sender', reason: /noreply/ } },
      // From our own address (or an alias) in the inbox is an echo or a forgery: a skip, never a case.
      { name: 'our own address', m: mail({ from: `Larkspur Security <${SECURITY}>` }), expect: { skip: /our own address/, skipReason: 'own_mail' } },
      { name: 'an alias', m: mail({ from: `PSIRT <${ALIAS}>` }), expect: { skip: /our own address/, skipReason: 'own_mail' } },
      { name: 'Reply-To our alias', m: mail({ from: 'eve@sender.example', headers: [`Reply-To: ${ALIAS}`] }), expect: { code: 'own_address', reason: /alias/ } },
      { name: 'a maintainer', m: mail({ from: 'Alice <alice@larkspur.test>' }), expect: { code: 'maintainer', reason: /maintainer/ } },
      {
        name: 'trusted Authentication-Results: SPF and DMARC fail',
        m: mail({ from: 'ceo@forged.example', headers: [trustedFail, received] }),
        expect: { code: 'auth_failed', reason: /SPF fail and DMARC fail/ },
      },
    ];
    // Controls: one header away from a suppressed case, and they must be answered.
    const controls = [
      mail({ from: 'human@sender.example', headers: ['Auto-Submitted: no'] }),
      mail({ from: 'other@forged.example', headers: ['Authentication-Results: evil.example; spf=fail; dmarc=fail', received] }),
      mail({ from: 'third@forged.example', headers: ['Authentication-Results: mx.example.test; spf=fail smtp.mailfrom=forged.example; dmarc=pass', received] }),
    ];

    const results = await ingestAll([...cases.map((c) => c.m.raw), ...controls.map((c) => c.raw)]);
    for (const r of results) expect(['case', 'skip']).toContain(r.outcome);

    // The controls are answered: the worker sends, so silence below means suppression.
    for (const c of controls) await caseFor(h, c.id, (x) => !!x.acknowledged_at);
    await waitFor('mail queue idle', () => mailQueueIdle(o.app));

    const all = await h.cases();
    const skips = await h.skips();
    for (const lc of cases) {
      const where = `${lc.name} (${lc.m.id})`;
      expect({ where, replies: sunkReplies(h, lc.m.id).length }).toEqual({ where, replies: 0 });
      const c = all.find((x) => x.messages[0]?.message_id === lc.m.id);
      if ('skip' in lc.expect) {
        const s = skips.find((x) => x.message_id === lc.m.id);
        expect({ where, case: c?.id ?? null, skip: s?.reason }).toEqual({ where, case: null, skip: lc.expect.skipReason ?? 'robot' });
        expect(s?.detail).toMatch(lc.expect.skip);
      } else {
        expect({ where, caseFound: !!c }).toEqual({ where, caseFound: true });
        const cc = c as Case;
        expect({ where, ...cc.auto_reply }).toEqual({ where, allowed: false, code: lc.expect.code, reason: expect.stringMatching(lc.expect.reason) });
        expect(cc.timeline.some((t) => t.event === 'auto_reply.suppressed')).toBe(true);
        expect(cc.acknowledged_at).toBeNull();
        expect(cc.notices ?? []).toEqual([]);
      }
    }
    // Only the controls were answered, each once.
    expect(h.sandbox.smtp.messages).toHaveLength(controls.length);
    expect(h.sandbox.smtp.messages.every((m) => !m.envelope.to.some((a) => [SECURITY, ALIAS, 'alice@larkspur.test'].includes(a)))).toBe(true);
  });

  test('a message secdesk itself sent, delivered back into the inbox, starts no case and triggers no mail', async () => {
    const report = mail({ from: 'rosa@sender.example', subject: 'CSRF in settings' });
    await ingestAll([report.raw]);
    const c = await caseFor(h, report.id, (x) => !!x.acknowledged_at);
    const before = h.sandbox.smtp.messages.length;
    const ack = sunkReplies(h, report.id)[0]!;
    const ackId = header(ack.raw, 'message-id')[0]!;
    const casesBefore = (await h.cases()).length;

    // Our ack comes back (a mailing list echo, a forwarding loop, a misrouted copy).
    const [res] = await ingestAll([ack.raw.toString('latin1')]);
    expect(res!.outcome).not.toBe('case');
    // And once more under another Message-ID-less disguise: a copy of the ack stripped of Auto-Submitted.
    const stripped = ack.raw.toString('latin1').replace(/^Auto-Submitted:.*\r\n/im, '');
    const [res2] = await ingestAll([stripped]);
    expect(res2!.outcome).not.toBe('case');

    await waitFor('mail queue idle', () => mailQueueIdle(o.app));
    expect((await h.cases()).length).toBe(casesBefore);
    expect(h.sandbox.smtp.messages.length).toBe(before);
    const after = await o.app.store.mustGet(c.id);
    // Not mistaken for the reporter writing again.
    expect(after.messages.filter((m) => m.direction === 'in')).toHaveLength(1);
    expect(after.messages.filter((m) => m.message_id === ackId)).toHaveLength(1);
    expect(after.timeline.some((t) => t.event === 'followup' || t.event === 'chaser')).toBe(false);
    const skip = (await h.skips()).find((s) => s.message_id === ackId);
    expect(skip).toEqual(expect.objectContaining({ reason: 'own_mail', case_id: c.id }));
  });

  test("a reporter's chaser gets one short reply; that reply echoed back under a new Message-ID gets none", async () => {
    const report = mail({ from: 'cara@sender.example', subject: 'RCE in the upload handler' });
    await ingestAll([report.raw]);
    const c = await caseFor(h, report.id, (x) => !!x.acknowledged_at);
    const chaser = plainMail({
      from: 'cara@sender.example',
      id: 'chaser-1@sender.example',
      subject: `Re: RCE in the upload handler [${c.id}]`,
      headers: [`In-Reply-To: ${report.id}`],
      body: 'Hello, any update? Nobody has answered my report so far.',
    });
    await ingestAll([chaser]);
    const chased = await caseFor(h, report.id, (x) => (x.notices ?? []).some((nn) => nn.purpose.startsWith('chaser_reply') && nn.status === 'sent'));
    const replies = sunkReplies(h, '<chaser-1@sender.example>');
    expect(replies).toHaveLength(1);
    const reply = replies[0]!;
    expect(reply.raw.toString('utf8')).toMatch(/escalated/);
    expect(header(reply.raw, 'auto-submitted')).toEqual(['auto-replied']);
    expect(chased.timeline.some((t) => t.event === 'chaser')).toBe(true);

    // A relay that rewrites Message-IDs and drops Auto-Submitted sends our reply back to us.
    const before = h.sandbox.smtp.messages.length;
    const echo = reply.raw
      .toString('latin1')
      .replace(/^Message-ID:.*\r\n/im, 'Message-ID: <echo-1@relay.example>\r\n')
      .replace(/^Auto-Submitted:.*\r\n/im, '');
    await ingestAll([echo]);
    await waitFor('mail queue idle', () => mailQueueIdle(o.app));
    expect(h.sandbox.smtp.messages.length).toBe(before);
    const after = await o.app.store.mustGet(c.id);
    const answered = (after.notices ?? []).filter((nn) => nn.purpose.startsWith('chaser_reply') && nn.status === 'sent');
    expect(answered).toHaveLength(1);
    // The echo reads like a chaser (it says "not heard from us yet"); the mail worker refuses to answer our own address.
    const refused = (after.notices ?? []).filter((nn) => nn.purpose.startsWith('chaser_reply') && nn.status === 'suppressed');
    for (const r of refused) expect(r.detail).toMatch(/our own address/);
  });
});
