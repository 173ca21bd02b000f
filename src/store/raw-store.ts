import { randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip, createGzip, gunzip as gunzipCb, gunzipSync, gzip as gzipCb, gzipSync } from 'node:zlib';
import type { Redis } from 'ioredis';
import { PermanentError, TransientError } from '../errors';

/**
 * The raw archive: every inbound message's bytes (and sealed copies) as one gzip stream in one Redis
 * string, `<prefix>:raw:<key>`. Small messages go in and out as one buffer. Big ones are streamed,
 * so a 20 MB attachment is never held whole in memory:
 *
 *   write  source → gzip → APPEND in pieces to `<prefix>:raw-part:<key>:<random>` (a TTL'd scratch key)
 *          → MULTI { RENAME to the real key, PERSIST }
 *   read   GETRANGE in pieces → gunzip → reader
 *
 * The real key only ever holds a complete archive: a writer that dies half-way leaves a scratch key
 * that nobody reads and that expires by itself. Each write has its own scratch key, so two writers
 * of the same message (a poller failover) cannot interleave their pieces. gzip's trailer (CRC-32 and
 * length) makes a damaged or cut archive fail to read instead of reading as a shorter message.
 */

export interface RawStore {
  /** Store a message held in memory (replaces what the key held). */
  put(key: string, raw: Buffer): Promise<void>;
  /**
   * Store a message streamed in, without holding it whole. The key is written only once the whole
   * message is stored; on any failure (the source, Redis, `maxBytes`) nothing is stored and the
   * error is thrown: a `RawTooLargeError` when the source went over `maxBytes`.
   */
  putStream(key: string, source: AsyncIterable<Buffer> | Readable, opts?: { maxBytes?: number }): Promise<{ bytes: number }>;
  /** The whole message, or null when the key does not exist. */
  get(key: string): Promise<Buffer | null>;
  /**
   * The message as a stream of its bytes, read from Redis in pieces, or null when the key does not
   * exist. The stream fails (never ends early) when the archive is damaged or Redis goes away.
   */
  open(key: string): Promise<Readable | null>;
  has(key: string): Promise<boolean>;
  /**
   * The message for the ingest stage, or null when the key does not exist: one read for a small
   * message (then held in memory), a handle that streams from Redis on each use for a big one.
   */
  message(key: string): Promise<RawMessage | null>;
}

/**
 * One stored message as the ingest stage uses it. Iterating it yields its bytes (from memory, or
 * streamed from Redis for a big one), which is what `parseMessage` reads; PGP and DKIM, which need
 * the bytes whole, ask for them explicitly, and only when the message needs them.
 */
export interface RawMessage extends AsyncIterable<Buffer> {
  /** Held in memory (small) or streamed from the store on each use (big). */
  readonly streamed: boolean;
  /** The beginning of the message: the header block unless it is longer than RAW_HEAD_BYTES. */
  readonly head: Buffer;
  /** The whole message in one buffer. */
  bytes(): Promise<Buffer>;
  /** Does `re` match within the first `maxBytes` (read as latin1)? Reads piece by piece. */
  scan(re: RegExp, maxBytes: number): Promise<boolean>;
}

export interface RawStoreDeps {
  redis: Redis;
  prefix: string;
}

/** Thrown by `putStream` when the source is longer than its `maxBytes`. */
export class RawTooLargeError extends PermanentError {
  constructor(readonly bytes: number, readonly maxBytes: number) {
    super('ERawTooLarge', `message is over ${maxBytes} bytes (${bytes} read so far)`);
  }
}

/**
 * Raw archives are compressed fast (level 1); big ones off the event loop (zlib runs on libuv's
 * thread pool), so a 20 MB attachment does not stall every other message for the time it takes.
 */
export const RAW_GZIP_LEVEL = 1;

/** Compressed bytes per APPEND when writing, and per GETRANGE when reading. */
export const RAW_PIECE_BYTES = 1024 * 1024;

/** Messages up to this size (uncompressed) are read whole by `message`; bigger ones are streamed. */
export const RAW_INLINE_BYTES = 2 * 1024 * 1024;

/** How much of a streamed message `RawMessage.head` holds (as much as header parsing ever reads). */
export const RAW_HEAD_BYTES = 512 * 1024;

/** Overlap between the windows `scan` tests, so a match across two pieces is still seen. */
const SCAN_OVERLAP = 256;

/** A scratch key outlives any write by far; it only matters when its writer died. */
const PARTIAL_TTL_SECONDS = 24 * 60 * 60;

const gzipAsync = promisify(gzipCb);
const gunzipAsync = promisify(gunzipCb);

/**
 * Up to this size (uncompressed) zlib runs inline. Off the event loop, each call pays for a stream,
 * thread-pool hand-offs and callbacks per 16 KB — twice the CPU of the work itself for a typical
 * 2–200 KB message (measured: 0.4 vs 0.7–0.9 ms per message for gzip + gunzip); inline, a 256 KB
 * message holds the loop for well under a millisecond at level 1.
 */
const INLINE_ZLIB_BYTES = 256 * 1024;

function gzip(buf: Buffer, opts: { level: number }): Promise<Buffer> {
  return buf.length <= INLINE_ZLIB_BYTES ? Promise.resolve(gzipSync(buf, opts)) : gzipAsync(buf, opts);
}

/** `size` is the archive's own length field (gzip trailer), when known; a lying one fails the read. */
function gunzip(z: Buffer, size?: number): Promise<Buffer> {
  if (size === undefined || size > INLINE_ZLIB_BYTES) return gunzipAsync(z);
  try {
    return Promise.resolve(gunzipSync(z, { maxOutputLength: INLINE_ZLIB_BYTES }));
  } catch (err) {
    return Promise.reject(err);
  }
}

/** The uncompressed length a whole gzip archive states in its trailer (ISIZE, RFC 1952). */
function trailerSize(z: Buffer): number | undefined {
  return z.length >= 18 ? z.readUInt32LE(z.length - 4) : undefined;
}

const CMD_APPEND = 'secdeskRawAppend';
/** APPEND to a scratch key that must still exist (an expired one would come back holding a tail). */
const APPEND_EXISTING = `
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('ERAWPART scratch key is gone') end
redis.call('APPEND', KEYS[1], ARGV[1])
return redis.call('EXPIRE', KEYS[1], ARGV[2])
`;

type AppendCmd = (key: string, piece: Buffer, ttl: number) => Promise<unknown>;

/** Counts what passes and fails the stream once more than `max` bytes went through. */
class ByteLimit extends Transform {
  bytes = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) return done(new RawTooLargeError(this.bytes, this.max));
    done(null, chunk);
  }
}

export function createRawStore({ redis, prefix: p }: RawStoreDeps): RawStore {
  if (!(CMD_APPEND in redis)) redis.defineCommand(CMD_APPEND, { numberOfKeys: 1, lua: APPEND_EXISTING });
  const append = (redis as unknown as Record<string, AppendCmd>)[CMD_APPEND] as AppendCmd;
  const keyOf = (key: string): string => `${p}:raw:${key}`;

  /** The compressed archive in pieces of at most RAW_PIECE_BYTES; stops when the key is gone. */
  async function* pieces(k: string, total: number): AsyncGenerator<Buffer> {
    for (let at = 0; at < total; at += RAW_PIECE_BYTES) {
      const piece = await redis.getrangeBuffer(k, at, Math.min(total, at + RAW_PIECE_BYTES) - 1);
      // Shorter than asked: the key went away or was replaced under us; gunzip reports the damage.
      yield piece;
      if (piece.length < Math.min(RAW_PIECE_BYTES, total - at)) return;
    }
  }

  /** Length of the uncompressed message, from the gzip trailer (ISIZE, RFC 1952). */
  async function storedLength(k: string, total: number): Promise<number | null> {
    if (total < 18) return null;
    const tail = await redis.getrangeBuffer(k, total - 4, total - 1);
    return tail.length === 4 ? tail.readUInt32LE(0) : null;
  }

  const raw: RawStore = {
    async put(key, buf) {
      await redis.set(keyOf(key), await gzip(buf, { level: RAW_GZIP_LEVEL }));
    },

    async putStream(key, source, opts = {}) {
      const scratch = `${p}:raw-part:${key}:${randomBytes(6).toString('hex')}`;
      const limit = new ByteLimit(opts.maxBytes ?? Infinity);
      let started = false;
      let queued: Buffer[] = [];
      let queuedBytes = 0;
      const flush = async (): Promise<void> => {
        const piece = queued.length === 1 ? (queued[0] as Buffer) : Buffer.concat(queued, queuedBytes);
        queued = [];
        queuedBytes = 0;
        if (!started) {
          await redis.set(scratch, piece, 'EX', PARTIAL_TTL_SECONDS);
          started = true;
        } else await append.call(redis, scratch, piece, PARTIAL_TTL_SECONDS);
      };
      // pipeline() reports a failing last stage as an abort: its own error is kept here.
      let storeFailed: unknown = null;
      try {
        await pipeline(source, limit, createGzip({ level: RAW_GZIP_LEVEL }), async (gz: AsyncIterable<Buffer>) => {
          try {
            for await (const chunk of gz) {
              queued.push(chunk);
              queuedBytes += chunk.length;
              if (queuedBytes >= RAW_PIECE_BYTES) await flush();
            }
            // gzip always writes a header and a trailer, so there is at least one piece.
            if (queuedBytes > 0 || !started) await flush();
          } catch (e) {
            storeFailed = e;
            throw e;
          }
        }).catch((e: unknown) => {
          throw storeFailed ?? e;
        });
        const res = await redis.multi().rename(scratch, keyOf(key)).persist(keyOf(key)).exec();
        const failed = res?.find(([err]) => err)?.[0];
        if (!res || failed) throw new TransientError('ERawStore', `raw ${key} could not be stored: ${failed?.message ?? 'transaction aborted'}`, failed);
        return { bytes: limit.bytes };
      } catch (e) {
        await redis.del(scratch).catch(() => undefined);
        throw e;
      }
    },

    async get(key) {
      const k = keyOf(key);
      const first = await redis.getrangeBuffer(k, 0, RAW_PIECE_BYTES - 1);
      if (first.length < RAW_PIECE_BYTES) {
        // One piece holds it all (or nothing: GETRANGE of a missing key is empty, as is no archive).
        if (first.length === 0) return (await redis.exists(k)) === 1 ? gunzip(first) : null;
        return gunzip(first, trailerSize(first));
      }
      // A big one: read and gunzip piece by piece (never the archive and the message both whole).
      const stream = await raw.open(key);
      if (!stream) return null;
      const chunks: Buffer[] = [];
      for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
      return Buffer.concat(chunks);
    },

    async open(key) {
      const k = keyOf(key);
      const total = await redis.strlen(k);
      if (total === 0 && (await redis.exists(k)) === 0) return null;
      const gz = createGunzip();
      // pipeline() destroys both ends on failure: a Redis error or a damaged archive fails the reader.
      pipeline(Readable.from(pieces(k, total), { objectMode: false }), gz).catch(() => undefined);
      return gz;
    },

    async has(key) {
      return (await redis.exists(keyOf(key))) === 1;
    },

    async message(key) {
      const k = keyOf(key);
      const first = await redis.getrangeBuffer(k, 0, RAW_PIECE_BYTES - 1);
      if (first.length === 0 && (await redis.exists(k)) === 0) return null;
      if (first.length < RAW_PIECE_BYTES) {
        // All of it came in one piece: small enough to hold unless it inflates to a big message.
        const size = trailerSize(first) ?? 0;
        if (size <= RAW_INLINE_BYTES) return inMemory(await gunzip(first, size));
      } else {
        const size = await storedLength(k, await redis.strlen(k));
        if (size !== null && size <= RAW_INLINE_BYTES) return inMemory((await raw.get(key)) ?? Buffer.alloc(0));
      }
      return streamedMessage(key, await readHead(key));
    },
  };

  /** The first RAW_HEAD_BYTES of a stored message (or all of it, if shorter). */
  async function readHead(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    const stream = await raw.open(key);
    if (!stream) throw new TransientError('ERawGone', `raw ${key} went away while being read`);
    try {
      for await (const c of stream as AsyncIterable<Buffer>) {
        chunks.push(c);
        size += c.length;
        if (size >= RAW_HEAD_BYTES) break;
      }
    } finally {
      stream.destroy();
    }
    return Buffer.concat(chunks, size).subarray(0, RAW_HEAD_BYTES);
  }

  function streamedMessage(key: string, head: Buffer): RawMessage {
    const open = async (): Promise<Readable> => {
      const stream = await raw.open(key);
      if (!stream) throw new TransientError('ERawGone', `raw ${key} went away while being read`);
      return stream;
    };
    return {
      streamed: true,
      head,
      async *[Symbol.asyncIterator]() {
        const stream = await open();
        try {
          yield* stream as AsyncIterable<Buffer>;
        } finally {
          stream.destroy();
        }
      },
      async bytes() {
        const buf = await raw.get(key);
        if (!buf) throw new TransientError('ERawGone', `raw ${key} went away while being read`);
        return buf;
      },
      async scan(pattern, maxBytes) {
        const re = oneShot(pattern);
        const stream = await open();
        let carry = '';
        let seen = 0;
        try {
          for await (const c of stream as AsyncIterable<Buffer>) {
            const piece = c.subarray(0, Math.max(0, maxBytes - seen));
            seen += piece.length;
            const window = carry + piece.toString('latin1');
            if (re.test(window)) return true;
            if (seen >= maxBytes) return false;
            carry = window.slice(-SCAN_OVERLAP);
          }
          return false;
        } finally {
          stream.destroy();
        }
      },
    };
  }
  return raw;
}

/** `re` without the g/y flags: `test` then looks at the whole string each time. */
function oneShot(re: RegExp): RegExp {
  return re.global || re.sticky ? new RegExp(re.source, re.flags.replace(/[gy]/g, '')) : re;
}

/** A message held in memory: iterating it hands out views of 64 KB, never copies. */
export function inMemory(buf: Buffer): RawMessage {
  return {
    streamed: false,
    head: buf,
    async *[Symbol.asyncIterator]() {
      for (let at = 0; at < buf.length; at += 64 * 1024) yield buf.subarray(at, at + 64 * 1024);
    },
    async bytes() {
      return buf;
    },
    async scan(pattern, maxBytes) {
      return oneShot(pattern).test(buf.subarray(0, Math.min(buf.length, maxBytes)).toString('latin1'));
    },
  };
}
