/**
 * Rate limits against backscatter: a flood of "reports" from one address (or one domain) gets no
 * more automatic mail than configured; what is held back is recorded on each case as a `held`
 * notice — visible, not dropped — and nobody else is held back by the flood.
 */
import { plainMail, startHarness, waitFor, type Harness } from './helpers/harness';
import { caseFor, mailQueueIdle, startObservedApp, sunkTo, type ObservedApp } from './helpers/notify-e2e';
import { jobIds } from '../src/queues';
import type { Case } from '../src/types';

describe('rate limits on automatic mail', () => {
  let h: Harness;
  let o: ObservedApp;
  beforeAll(async () => {
    h = await startHarness({
      config: {
        rate_limit: {
          per_recipient: { max: 3, per: '1h' },
          per_domain: { max: 6, per: '1h' },
          global: { max: 200, per: '1h' },
        },
      },
    });
    o = await startObservedApp(h);
  });
  afterAll(async () => {
    await h.close();
  });

  /** Every case of these reports once its ack was either sent or held back. */
  async function settled(ids: string[]): Promise<Case[]> {
    return waitFor(`${ids.length} acks sent or held`, async () => {
      const all = await h.cases();
      const got = ids.map((id) => all.find((c) => c.messages[0]?.message_id === id));
      const done = got.every((c) => c && (c.notices ?? []).some((n) => n.purpose === 'ack' && (n.status === 'sent' || n.status === 'held')));
      return done ? (got as Case[]) : null;
    }, 60_000);
  }

  test('50 reports from one sender within a minute: 3 acks, 47 held and visible on their cases', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `flood-${i}@reporter.example`);
    await h.append(ids.map((id, i) => plainMail({ from: 'Flo <flo@reporter.example>', id, subject: `Vulnerability report number ${i}` })));
    const cases = await settled(ids.map((id) => `<${id}>`));
    expect(cases).toHaveLength(50);

    const sent = cases.filter((c) => c.acknowledged_at);
    const held = cases.filter((c) => !c.acknowledged_at);
    expect(sent).toHaveLength(3);
    expect(held).toHaveLength(47);
    for (const c of held) {
      expect(c.notices).toEqual([
        expect.objectContaining({ purpose: 'ack', status: 'held', to: 'flo@reporter.example', detail: 'held back by the recipient rate limit' }),
      ]);
    }
    expect(sunkTo(h, 'flo@reporter.example')).toHaveLength(3);

    // The held acks are waiting (delayed until the window frees), not lost.
    expect((await o.app.queues.mail.getJobCounts('delayed')).delayed).toBe(47);

    // When the window frees, a held ack goes out once and its notice turns from held into sent.
    // (Freed here by clearing the recipient's window and promoting one delayed job, not by waiting an hour.)
    const one = held[0]!;
    await o.app.redis.del(`${h.cfg.redis.prefix}:rl:rcpt:flo@reporter.example`);
    await (await o.app.queues.mail.getJob(jobIds.mail({ caseId: one.id, purpose: 'ack' })))!.promote();
    const released = await caseFor(h, one.messages[0]!.message_id, (c) => !!c.acknowledged_at);
    expect(released.notices).toEqual([expect.objectContaining({ purpose: 'ack', status: 'sent', to: 'flo@reporter.example' })]);
    expect(sunkTo(h, 'flo@reporter.example')).toHaveLength(4);

    // Someone else is answered at once: the flood holds back only its own recipient.
    await h.append([plainMail({ from: 'bystander@elsewhere.example', id: 'bystander-1@elsewhere.example', subject: 'XSS report' })]);
    await caseFor(h, '<bystander-1@elsewhere.example>', (c) => !!c.acknowledged_at);
    expect(sunkTo(h, 'bystander@elsewhere.example')).toHaveLength(1);
    expect(sunkTo(h, 'flo@reporter.example')).toHaveLength(4);
  });

  test('many senders of one domain: the per-domain limit holds', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `dom-${i}@victim.example`);
    await h.append(ids.map((id, i) => plainMail({ from: `user${i}@victim.example`, id, subject: `Report ${i} from victim.example` })));
    const cases = await settled(ids.map((id) => `<${id}>`));
    const held = cases.filter((c) => !c.acknowledged_at);
    expect(cases.filter((c) => c.acknowledged_at)).toHaveLength(6);
    expect(held).toHaveLength(4);
    for (const c of held) expect(c.notices?.[0]).toEqual(expect.objectContaining({ status: 'held', detail: 'held back by the domain rate limit' }));
    const toDomain = h.sandbox.smtp.messages.filter((m) => m.envelope.to.some((a) => a.endsWith('@victim.example')));
    expect(toDomain).toHaveLength(6);
    expect(await mailQueueIdle(o.app)).toBe(false); // the held ones wait in the queue
  });
});
