/**
 * The raw archive against a real redis-server: streamed writes and reads, what a crash half-way
 * leaves behind (nothing anyone reads), limits, damaged archives, and the old one-buffer format.
 */
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { parseMessage, RawReadError } from '../src/parse/parse-message';
import { startRedis, type SandboxRedis } from '../src/sandbox/redis-server';
import { bigAttachmentMessage } from '../src/sandbox/mail-factory';
import type { RawStore } from '../src/store/raw-store';
import { createRawStore, RAW_HEAD_BYTES, RAW_INLINE_BYTES, RAW_PIECE_BYTES, RawTooLargeError } from '../src/store/raw-store';

let server: SandboxRedis;
let redis: Redis;
let n = 0;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  await redis?.quit();
  await server?.close();
});

function fresh(): { raw: RawStore; prefix: string } {
  n += 1;
  return { raw: createRawStore({ redis, prefix: `r${n}` }), prefix: `r${n}` };
}

/** Incompressible bytes, so the archive spans several pieces in Redis. */
function noise(bytes: number): Buffer {
  return randomBytes(bytes);
}

/** `buf` in pieces of `size`, with an optional hook before each piece (to act mid-write). */
async function* inPieces(buf: Buffer, size: number, before?: (i: number) => Promise<void> | void): AsyncGenerator<Buffer> {
  for (let at = 0, i = 0; at < buf.length; at += size, i++) {
    await before?.(i);
    yield buf.subarray(at, at + size);
  }
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of it) chunks.push(c);
  return Buffer.concat(chunks);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('raw store (real Redis)', () => {
  it('a small message round-trips whole and is held in memory', async () => {
    const { raw } = fresh();
    const msg = Buffer.from('From: a@b.c\r\nSubject: hi\r\n\r\nbody\r\n');
    await raw.put('small', msg);
    expect(await raw.get('small')).toEqual(msg);
    expect(await raw.has('small')).toBe(true);
    const m = await raw.message('small');
    expect(m?.streamed).toBe(false);
    expect(await m?.bytes()).toEqual(msg);
    expect(await collect(m!)).toEqual(msg);
    expect(await raw.get('nope')).toBeNull();
    expect(await raw.open('nope')).toBeNull();
    expect(await raw.message('nope')).toBeNull();
  });

  it('a big message streamed in comes back the same, in pieces, whichever way it is read', async () => {
    const { raw, prefix } = fresh();
    const msg = noise(5 * 1024 * 1024 + 123);
    const { bytes } = await raw.putStream('big', inPieces(msg, 300 * 1024));
    expect(bytes).toBe(msg.length);
    // More than one piece in Redis, and no scratch key left behind.
    expect(await redis.strlen(`${prefix}:raw:big`)).toBeGreaterThan(RAW_PIECE_BYTES);
    expect(await redis.keys(`${prefix}:raw-part:*`)).toEqual([]);
    expect(await redis.ttl(`${prefix}:raw:big`)).toBe(-1);

    expect(sha((await raw.get('big'))!)).toBe(sha(msg));
    expect(sha(await collect((await raw.open('big'))!))).toBe(sha(msg));
    const m = (await raw.message('big'))!;
    expect(m.streamed).toBe(true);
    expect(m.head).toEqual(msg.subarray(0, RAW_HEAD_BYTES));
    // Each iteration reads the store again.
    expect(sha(await collect(m))).toBe(sha(msg));
    expect(sha(await collect(m))).toBe(sha(msg));
    expect(sha(await m.bytes())).toBe(sha(msg));
  });

  it('a message that inflates past the in-memory limit is streamed even though its archive is one piece', async () => {
    const { raw } = fresh();
    const msg = Buffer.alloc(RAW_INLINE_BYTES + 1, 'a');
    await raw.putStream('zeros', inPieces(msg, 64 * 1024));
    const m = (await raw.message('zeros'))!;
    expect(m.streamed).toBe(true);
    expect((await m.bytes()).equals(msg)).toBe(true);
  });

  it('scan finds a marker across piece boundaries, and not past maxBytes', async () => {
    const { raw } = fresh();
    const msg = Buffer.alloc(3 * 1024 * 1024, 'x');
    // gunzip hands out 16 KB chunks: put one marker across a chunk boundary, one at 2.5 MB.
    msg.write('-----BEGIN PGP MESSAGE-----', 16 * 1024 * 10 - 7, 'latin1');
    await raw.putStream('m', inPieces(msg, 100 * 1024));
    const m = (await raw.message('m'))!;
    expect(m.streamed).toBe(true);
    expect(await m.scan(/-----BEGIN PGP/, 4 * 1024 * 1024)).toBe(true);
    expect(await m.scan(/-----BEGIN PGP/, 16 * 1024 * 10 - 1)).toBe(false);

    const late = Buffer.alloc(3 * 1024 * 1024, 'y');
    late.write('application/pgp-encrypted', Math.floor(2.5 * 1024 * 1024), 'latin1');
    await raw.putStream('late', inPieces(late, 100 * 1024));
    const l = (await raw.message('late'))!;
    expect(await l.scan(/application\/pgp/g, 2 * 1024 * 1024)).toBe(false);
    expect(await l.scan(/application\/pgp/g, 3 * 1024 * 1024)).toBe(true);
  });

  it('crash safety: while a write is under way (or after its writer died) the key reads as missing', async () => {
    const { raw, prefix } = fresh();
    const msg = noise(4 * 1024 * 1024);
    let release!: () => void;
    const stalled = new Promise<void>((r) => (release = r));
    let midway!: () => void;
    const reachedMidway = new Promise<void>((r) => (midway = r));
    const writing = raw.putStream(
      'k',
      inPieces(msg, 512 * 1024, async (i) => {
        if (i === 6) {
          midway();
          await stalled; // the writer "hangs" here: as good as dead for a reader
          throw new Error('writer died');
        }
      }),
    );
    await reachedMidway;
    // Some of it is in Redis, under a scratch key with a TTL; the real key does not exist.
    const scratch = await redis.keys(`${prefix}:raw-part:k:*`);
    expect(scratch).toHaveLength(1);
    expect(await redis.strlen(scratch[0]!)).toBeGreaterThan(0);
    expect(await redis.ttl(scratch[0]!)).toBeGreaterThan(0);
    expect(await raw.has('k')).toBe(false);
    expect(await raw.get('k')).toBeNull();
    expect(await raw.message('k')).toBeNull();
    release();
    await expect(writing).rejects.toThrow('writer died');
    expect(await raw.has('k')).toBe(false);
    expect(await redis.keys(`${prefix}:raw-part:*`)).toEqual([]);
  });

  it('a failed rewrite leaves the complete archive that was there', async () => {
    const { raw } = fresh();
    const msg = noise(3 * 1024 * 1024);
    await raw.putStream('k', inPieces(msg, 256 * 1024));
    const again = raw.putStream(
      'k',
      inPieces(msg, 256 * 1024, (i) => {
        if (i === 8) throw new Error('connection lost');
      }),
    );
    await expect(again).rejects.toThrow('connection lost');
    expect(sha((await raw.get('k'))!)).toBe(sha(msg));
  });

  it('a scratch key that expired mid-write fails the write instead of storing a tail', async () => {
    const { raw, prefix } = fresh();
    const msg = noise(4 * 1024 * 1024);
    const write = raw.putStream(
      'k',
      inPieces(msg, 512 * 1024, async (i) => {
        if (i === 5) for (const k of await redis.keys(`${prefix}:raw-part:k:*`)) await redis.del(k);
      }),
    );
    await expect(write).rejects.toThrow(/scratch key is gone/);
    expect(await raw.has('k')).toBe(false);
  });

  it('two writers of the same message do not mix their pieces', async () => {
    const { raw } = fresh();
    const msg = noise(4 * 1024 * 1024);
    await Promise.all([raw.putStream('k', inPieces(msg, 200 * 1024)), raw.putStream('k', inPieces(msg, 333 * 1024))]);
    expect(sha((await raw.get('k'))!)).toBe(sha(msg));
  });

  it('limits: a source over maxBytes stores nothing and says how far it got', async () => {
    const { raw, prefix } = fresh();
    const msg = noise(3 * 1024 * 1024);
    const err = await raw.putStream('k', inPieces(msg, 256 * 1024), { maxBytes: 2 * 1024 * 1024 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RawTooLargeError);
    expect((err as RawTooLargeError).bytes).toBeGreaterThan(2 * 1024 * 1024);
    expect(await raw.has('k')).toBe(false);
    expect(await redis.keys(`${prefix}:raw-part:*`)).toEqual([]);
    // Exactly at the limit is fine.
    await raw.putStream('k', inPieces(msg.subarray(0, 2 * 1024 * 1024), 256 * 1024), { maxBytes: 2 * 1024 * 1024 });
    expect((await raw.get('k'))?.length).toBe(2 * 1024 * 1024);
  });

  it('a damaged archive fails to read (never reads as a shorter message); parsing it is a read error', async () => {
    const { raw, prefix } = fresh();
    const mail = bigAttachmentMessage(1, 3 * 1024 * 1024);
    await raw.putStream('k', inPieces(mail, 64 * 1024));
    const whole = await redis.getBuffer(`${prefix}:raw:k`);
    // Cut short, as a torn write would leave it.
    await redis.set(`${prefix}:raw:cut`, whole!.subarray(0, Math.floor(whole!.length * 0.7)));
    await expect(raw.get('cut')).rejects.toThrow();
    await expect(collect((await raw.open('cut'))!)).rejects.toThrow();
    const m = await raw.message('cut');
    if (m) await expect(parseMessage(m)).rejects.toBeInstanceOf(RawReadError);
    // A flipped byte in the middle: the CRC catches it.
    const flipped = Buffer.from(whole!);
    flipped[Math.floor(flipped.length / 2)]! ^= 0xff;
    await redis.set(`${prefix}:raw:flip`, flipped);
    await expect(raw.get('flip')).rejects.toThrow();
  });

  it('reads archives written whole by the earlier one-buffer format', async () => {
    const { raw, prefix } = fresh();
    const small = Buffer.from('From: a@b.c\r\n\r\nold\r\n');
    const big = noise(3 * 1024 * 1024);
    await redis.set(`${prefix}:raw:old-small`, gzipSync(small));
    await redis.set(`${prefix}:raw:old-big`, gzipSync(big, { level: 1 }));
    expect(await raw.get('old-small')).toEqual(small);
    expect(sha((await raw.get('old-big'))!)).toBe(sha(big));
    expect(sha(await collect((await raw.message('old-big'))!))).toBe(sha(big));
  });

  it('a big mail parses the same streamed from the store as from memory', async () => {
    const { raw } = fresh();
    const mail = bigAttachmentMessage(2, 4 * 1024 * 1024);
    await raw.putStream('mail', inPieces(mail, 1024 * 1024));
    const m = (await raw.message('mail'))!;
    expect(m.streamed).toBe(true);
    const [streamed, whole] = await Promise.all([parseMessage(m), parseMessage(mail)]);
    expect(streamed.contentHash).toBe(sha(mail));
    expect(streamed).toEqual(whole);
    expect(streamed.attachments[0]).toMatchObject({ filename: 'core.bin', size: 4 * 1024 * 1024, content: null });
  });
});
