/**
 * Foundation: IMAP → case, against real Dovecot, Redis and an SMTP sink.
 */
import type { App } from '../src/app';
import { variedMessage } from '../src/sandbox/mail-factory';
import { fetchAll } from '../src/sandbox';
import { plainMail, SECURITY, startHarness, waitFor, type Harness } from './helpers/harness';

describe('ingest against real Dovecot + Redis', () => {
  let h: Harness;
  let app: App;
  beforeAll(async () => {
    h = await startHarness();
    app = await h.startApp();
  });
  afterAll(async () => {
    await h.close();
  });

  test('200 varied messages become exactly 200 cases; a re-delivered copy adds nothing', async () => {
    const mails = Array.from({ length: 200 }, (_, i) => variedMessage(i, { tag: 'varied' }));
    await h.append(mails.slice(0, 100).map((m) => m.raw));
    await h.append(mails.slice(100).map((m) => m.raw));
    const cases = await waitFor('200 cases', async () => {
      const cs = await h.cases();
      return cs.length >= 200 ? cs : null;
    }, 60_000);
    expect(cases).toHaveLength(200);
    const ids = new Set(cases.map((c) => c.messages[0]?.message_id));
    for (const m of mails) expect(ids.has(m.messageId)).toBe(true);
    // Every variant came through with a subject and a sender.
    expect(cases.every((c) => c.subject.length > 0 && c.reporter.includes('@'))).toBe(true);
    const latin = cases.find((c) => c.messages[0]?.message_id === mails[3]?.messageId);
    expect(latin?.subject).toContain('Sicherheitslücke');

    // Re-delivery of the same message (same Message-ID) and a UIDVALIDITY change re-scan.
    await h.append([mails[0]!.raw, mails[1]!.raw]);
    await app.poller!.syncNow();
    const handled = await waitFor('the copies handled', async () => {
      const inflight = await app.redis.zcard(`${h.cfg.redis.prefix}:inflight:${(await import('../src/queues')).mailboxTag('INBOX')}`);
      return inflight === 0 ? true : null;
    });
    expect(handled).toBe(true);
    expect(await h.cases()).toHaveLength(200);

    // The keyword marks what was handled, for humans looking at the mailbox. It is set right after the
    // messages are queued, which can be after their ingest already finished: wait for it.
    const inbox = await waitFor('every message marked handled', async () => {
      const all = await fetchAll(h.sandbox.dovecot.imapUrl(SECURITY), 'INBOX');
      return all.every((m) => m.flags.has('$SecdeskHandled')) ? all : null;
    });
    // Nothing was deleted or moved.
    expect(inbox).toHaveLength(202);
  });

  test('a UIDVALIDITY change re-scans the mailbox without duplicating anything', async () => {
    const { mailboxTag } = await import('../src/queues');
    const before = (await h.cases()).length;
    await app.redis.hset(`${h.cfg.redis.prefix}:ckpt:${mailboxTag('INBOX')}`, { uidValidity: '1', lastUid: '999999' });
    await h.append([plainMail({ id: 'after-rescan@example.org', subject: 'New after rescan' })]);
    await app.poller!.syncNow();
    await waitFor('the new message', async () => ((await h.cases()).length === before + 1 ? true : null), 60_000);
    await app.poller!.syncNow();
    expect((await h.cases()).length).toBe(before + 1);
  });

  test('a different message reusing a known Message-ID is kept as a skip, not dropped or merged', async () => {
    await h.append([plainMail({ id: 'varied-5@example.org', from: 'Other <other@example.net>', subject: 'Not the same mail', body: 'different bytes' })]);
    const skip = await waitFor('duplicate skip', async () => (await h.skips()).find((s) => s.reason === 'duplicate'));
    expect(skip.message_id).toBe('<varied-5@example.org>');
    expect(skip.detail).toContain('already handled');
  });

  test('robot mail opens no case and is listed as a skip with the reason', async () => {
    await h.append([
      plainMail({ id: 'ooo-1@example.org', subject: 'Out of office', headers: ['Auto-Submitted: auto-replied'] }),
      plainMail({ id: 'list-1@example.org', subject: 'Digest', headers: ['List-Id: <dev.lists.example.org>'] }),
      plainMail({ id: 'bulk-1@example.org', subject: 'Newsletter', headers: ['Precedence: bulk'] }),
      plainMail({ id: 'daemon-1@example.org', from: 'MAILER-DAEMON@mx.example.org', subject: 'Undelivered Mail Returned to Sender' }),
    ]);
    const skips = await waitFor('4 robot skips', async () => {
      const s = (await h.skips()).filter((x) => x.reason === 'robot');
      return s.length >= 4 ? s : null;
    });
    expect(skips.map((s) => s.message_id).sort()).toEqual(['<bulk-1@example.org>', '<daemon-1@example.org>', '<list-1@example.org>', '<ooo-1@example.org>']);
    expect(skips.every((s) => (s.detail ?? '').length > 0)).toBe(true);
  });

  test('follow-ups thread by headers and by subject tag; a stranger quoting the tag does not join', async () => {
    await h.append([plainMail({ id: 'thread-root@example.org', from: 'Ana <ana@example.org>', subject: 'RCE in filter' })]);
    const root = await waitFor('root case', async () => (await h.cases()).find((c) => c.messages[0]?.message_id === '<thread-root@example.org>'));
    await h.append([
      plainMail({ id: 'thread-r1@example.org', from: 'Ana <ana@example.org>', subject: 'Re: RCE in filter', headers: ['In-Reply-To: <thread-root@example.org>'], body: 'More detail: it also affects 0.7.2.' }),
      plainMail({ id: 'thread-r2@example.org', from: 'ana@example.org', subject: `More info [${root.id}]`, body: 'Another PoC.' }),
      plainMail({ id: 'thread-s1@example.org', from: 'Mallory <mallory@evil.example>', subject: `Re: [${root.id}]`, body: 'Let me in.' }),
    ]);
    const updated = await waitFor('two follow-ups', async () => {
      const c = await app.store.get(root.id);
      return c && c.messages.length >= 3 ? c : null;
    });
    expect(updated.messages.map((m) => m.message_id)).toEqual(expect.arrayContaining(['<thread-r1@example.org>', '<thread-r2@example.org>']));
    const skip = await waitFor('stranger skip', async () => (await h.skips()).find((s) => s.message_id === '<thread-s1@example.org>'));
    expect(skip.reason).toBe('stranger_case_tag');
    expect(skip.case_id).toBe(root.id);
    const after = await app.store.get(root.id);
    expect(after?.messages.some((m) => m.message_id === '<thread-s1@example.org>')).toBe(false);
    expect((await h.cases()).some((c) => c.messages[0]?.message_id === '<thread-s1@example.org>')).toBe(false);
  });

  test('a report naming the same paths and issue type as an open case, or with a byte-identical PoC, is linked, not merged', async () => {
    const body = 'Heap buffer overflow in src/mime/qp-decode.c when decoding a long soft line break. Version 0.8.2.';
    const poc = (id: string, from: string, text: string): string =>
      [`From: ${from}`, `To: ${SECURITY}`, `Subject: PoC ${id}`, `Message-ID: <${id}>`, 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="pp"', '', '--pp', 'Content-Type: text/plain', '', text, '--pp', 'Content-Type: text/x-python; name="poc.py"', 'Content-Disposition: attachment; filename="poc.py"', '', 'print("A" * 70000)  # crashes the decoder', '--pp--', ''].join('\r\n');
    await h.append([plainMail({ id: 'rel-1@example.org', from: 'one@example.org', subject: 'overflow in qp decoder', body })]);
    const first = await waitFor('first', async () => (await h.cases()).find((c) => c.messages[0]?.message_id === '<rel-1@example.org>'));
    await h.append([plainMail({ id: 'rel-2@example.net', from: 'two@example.net', subject: 'qp decoder crash', body: `Same here: ${body}` })]);
    const second = await waitFor('second', async () => (await h.cases()).find((c) => c.messages[0]?.message_id === '<rel-2@example.net>'));
    expect(second.id).not.toBe(first.id);
    expect(second.related).toContain(first.id);

    await h.append([poc('rel-3@example.org', 'three@example.org', 'Something crashes, see the attached script.')]);
    const third = await waitFor('third', async () => (await h.cases()).find((c) => c.messages[0]?.message_id === '<rel-3@example.org>'));
    await h.append([poc('rel-4@example.com', 'four@example.com', 'Found a crash; PoC attached.')]);
    const fourth = await waitFor('fourth', async () => (await h.cases()).find((c) => c.messages[0]?.message_id === '<rel-4@example.com>'));
    expect(fourth.related).toContain(third.id);
    expect(fourth.related).not.toContain(first.id);
  });

  test('malformed messages each end as a case or a recorded skip, and the daemon keeps running', async () => {
    const nested = (depth: number): string => {
      let body = 'Content-Type: text/plain\r\n\r\ninnermost report text\r\n';
      for (let d = 0; d < depth; d++) body = `Content-Type: multipart/mixed; boundary="n${d}"\r\n\r\n--n${d}\r\n${body}--n${d}--\r\n`;
      return body;
    };
    const bad = [
      ['bad-boundary', 'Content-Type: multipart/mixed; boundary="nope"\r\n\r\n--other\r\nContent-Type: text/plain\r\n\r\nhello\r\n--other--\r\n'],
      ['bad-base64', 'Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not*base64@@@\r\n'],
      ['bad-charset', 'Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nbody in a charset nobody knows\r\n'],
      ['nul-bytes', 'Content-Type: text/plain\r\n\r\nbefore\0\0\0after\r\n'],
      ['deep-nesting', nested(50)],
    ] as const;
    await h.append(
      bad.map(([id, rest]) => `From: Fuzzer <fuzz@example.org>\r\nTo: ${SECURITY}\r\nSubject: ${id}\r\nMessage-ID: <${id}@example.org>\r\nMIME-Version: 1.0\r\n${rest}`),
    );
    await waitFor('every malformed message handled', async () => {
      const cases = await h.cases();
      const skips = await h.skips();
      const done = bad.filter(([id]) => cases.some((c) => c.messages[0]?.message_id === `<${id}@example.org>`) || skips.some((s) => s.message_id === `<${id}@example.org>` || (s.raw_key && s.reason === 'unparseable')));
      return done.length === bad.length ? true : null;
    });
    // Still alive: a normal report after the hostile ones is ingested.
    await h.append([plainMail({ id: 'after-malformed@example.org', subject: 'Normal report' })]);
    await waitFor('normal report after malformed ones', async () => (await h.cases()).find((c) => c.messages[0]?.message_id === '<after-malformed@example.org>'));
  });
});
