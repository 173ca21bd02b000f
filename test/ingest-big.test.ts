/**
 * Big mail against real Dovecot + Redis: fetched alone in ranges and streamed to the raw store,
 * streamed back into the parser, and every message still ends as a case or a recorded skip, also
 * when the daemon is killed in the middle of storing one.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import { fetchAll } from '../src/sandbox';
import { bigAttachmentMessage } from '../src/sandbox/mail-factory';
import { plainMail, SECURITY, startHarness, waitFor, type Harness } from './helpers/harness';

const MB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('big mail, in-process', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { limits: { max_message_bytes: 4 * MB } } });
    await h.startApp();
  });
  afterAll(async () => {
    await h.close();
  });

  test('big messages are streamed in and out: each becomes a case, its raw byte for byte; one over the limit is a skip', async () => {
    const bigs = [0, 1, 2].map((i) => bigAttachmentMessage(i, 2 * MB, { tag: 'stream' })); // ~2.7 MB each
    const over = bigAttachmentMessage(9, 3.5 * MB, { tag: 'over' }); // ~4.8 MB: over the limit
    expect(over.length).toBeGreaterThan(4 * MB);
    await h.append([bigs[0]!, plainMail({ id: 'between-1@example.org', subject: 'Small one' }), bigs[1]!, over, bigs[2]!, plainMail({ id: 'between-2@example.org', subject: 'Small two' })]);

    const cases = await waitFor('5 cases', async () => {
      const cs = await h.cases();
      return cs.length >= 5 ? cs : null;
    }, 60_000);
    const byId = new Map(cases.map((c) => [c.messages[0]?.message_id, c]));
    for (const id of ['<stream-0@example.org>', '<stream-1@example.org>', '<stream-2@example.org>', '<between-1@example.org>', '<between-2@example.org>']) expect(byId.has(id)).toBe(true);
    const skip = await waitFor('too_large skip', async () => (await h.skips()).find((s) => s.reason === 'too_large'));
    expect(skip.message_id).toBe('<over-9@example.org>');

    // What the store holds is what the mailbox holds.
    const inbox = await fetchAll(h.sandbox.dovecot.imapUrl(SECURITY), 'INBOX');
    for (let i = 0; i < 3; i++) {
      const c = byId.get(`<stream-${i}@example.org>`)!;
      const stored = await h.store().getRaw(c.messages[0]!.raw_key!);
      const source = inbox.find((m) => m.source.includes(`<stream-${i}@example.org>`))!.source;
      expect(stored?.length).toBe(source.length);
      expect(sha(stored!)).toBe(sha(source));
    }
    // Of the one over the limit, only the headers are kept.
    expect((await h.store().getRaw(skip.raw_key!))!.length).toBeLessThan(4096);
    // No write was left half-done.
    const redis = new Redis(h.cfg.redis.url);
    try {
      expect(await redis.keys(`${h.cfg.redis.prefix}:raw-part:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});

describe('big mail, kill -9 while one is being stored', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  test('a half-written raw is never read as a message; after a restart every big message is a case', async () => {
    const bigs = [0, 1, 2].map((i) => bigAttachmentMessage(i, 16 * MB, { tag: 'killed' }));
    const redis = new Redis(h.cfg.redis.url);
    try {
      let daemon = h.spawnDaemon('run');
      await h.append(bigs);
      // Kill it the moment a streamed write is under way (its scratch key exists).
      const scratch = await waitFor('a streamed write under way', async () => {
        const keys = await redis.keys(`${h.cfg.redis.prefix}:raw-part:*`);
        return keys.length > 0 ? keys : null;
      }, 60_000, 5);
      await killed(daemon);
      // The scratch key outlives its writer only until its TTL; the real key of that message is
      // not there, so nothing reads a part of it as the message.
      const left = await redis.keys(`${h.cfg.redis.prefix}:raw-part:*`);
      for (const k of left) expect(await redis.ttl(k)).toBeGreaterThan(0);
      const rawKeyOf = (k: string): string => k.slice(`${h.cfg.redis.prefix}:raw-part:`.length).replace(/:[0-9a-f]+$/, '');
      if (left.length > 0) expect(await h.store().hasRaw(rawKeyOf(left[0]!))).toBe(false);
      expect(scratch.length).toBeGreaterThan(0);

      daemon = h.spawnDaemon('run');
      const cases = await waitFor('3 cases', async () => {
        const cs = await h.cases();
        return cs.length >= 3 ? cs : null;
      }, 90_000, 250);
      await killed(daemon);
      expect(new Set(cases.map((c) => c.messages[0]?.message_id))).toEqual(new Set(['<killed-0@example.org>', '<killed-1@example.org>', '<killed-2@example.org>']));
      expect(await h.skips()).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
