/**
 * Looking for plaintext where it must not be: every value in a Redis database (gzip'd values and
 * compressed case records unpacked), and everything a logger wrote. A phrase is found as text (any case) and also as base64
 * at any of the three byte alignments, so a decrypted body stored base64-encoded is found too.
 */
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import Redis from 'ioredis';
import { caseJsonBytes } from '../../src/store/case-codec';

export interface Found {
  key: string;
  phrase: string;
}

/** Base64 forms of `phrase` wherever it sits in a byte stream (edge groups, which depend on neighbours, dropped). */
function base64Forms(phrase: string): string[] {
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const b64 = Buffer.concat([Buffer.alloc(k), Buffer.from(phrase, 'utf8')]).toString('base64');
    const core = b64.slice(k === 0 ? 0 : 4, -4);
    if (core.length >= 8) out.push(core);
  }
  return out;
}

export function findPhrases(buf: Buffer, phrases: string[]): string[] {
  const latin = buf.toString('latin1');
  const lower = latin.toLowerCase();
  return phrases.filter((p) => lower.includes(p.toLowerCase()) || base64Forms(p).some((f) => latin.includes(f)));
}

/** `P:case:<id>`, not `P:q:…` or anything else that merely contains `:case:`. */
const CASE_KEY = /^[^:]+:case:[A-Za-z0-9-]+$/;

function unpack(buf: Buffer): Buffer[] {
  if (buf.length > 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      return [buf, gunzipSync(buf)];
    } catch {
      return [buf];
    }
  }
  return [buf];
}

/** Every value of every key (strings, hashes, lists, sets, sorted sets, streams), as buffers. */
export async function dumpRedis(url: string): Promise<{ key: string; values: Buffer[] }[]> {
  const redis = new Redis(url, { maxRetriesPerRequest: 2 });
  redis.on('error', () => undefined);
  try {
    const keys: Buffer[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scanBuffer(cursor, 'COUNT', 1000);
      cursor = next.toString();
      keys.push(...batch);
    } while (cursor !== '0');
    const out: { key: string; values: Buffer[] }[] = [];
    for (const k of keys) {
      const type = await redis.type(k);
      let values: Buffer[] = [];
      if (type === 'string') values = [(await redis.getBuffer(k)) ?? Buffer.alloc(0)];
      else if (type === 'hash') values = Object.entries(await redis.hgetallBuffer(k)).flatMap(([f, v]) => [Buffer.from(f), v]);
      else if (type === 'list') values = await redis.lrangeBuffer(k, 0, -1);
      else if (type === 'set') values = await redis.smembersBuffer(k);
      else if (type === 'zset') values = await redis.zrangeBuffer(k, '0', '-1');
      else if (type === 'stream') values = ((await redis.xrangeBuffer(k, '-', '+')) as [Buffer, Buffer[]][]).flatMap(([id, fields]) => [id, ...fields]);
      else values = [(await redis.dumpBuffer(k)) ?? Buffer.alloc(0)];
      const key = k.toString('latin1');
      // A case record is compressed: scan its JSON. One that cannot be unpacked throws (a scan that
      // quietly looked at deflated bytes would find nothing and pass).
      const cases = type === 'string' && CASE_KEY.test(key) ? values.map((v) => caseJsonBytes(v, key)) : [];
      out.push({ key, values: [k, ...values, ...cases].flatMap(unpack) });
    }
    return out;
  } finally {
    redis.disconnect();
  }
}

/** Where in Redis any of the phrases appears. */
export async function scanRedis(url: string, phrases: string[]): Promise<{ found: Found[]; keys: number }> {
  const dump = await dumpRedis(url);
  const found: Found[] = [];
  for (const { key, values } of dump) {
    for (const v of values) for (const phrase of findPhrases(v, phrases)) found.push({ key, phrase });
  }
  return { found, keys: dump.length };
}

/** A pino destination that keeps every line in memory. */
export function captureLog(): { stream: Writable; lines: () => string[]; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const text = (): string => chunks.join('');
  return { stream, text, lines: () => text().split('\n').filter(Boolean) };
}

/** One header of a raw message's top-level header block (unfolded), or null. */
export function headerOf(raw: Buffer, name: string): string | null {
  const text = raw.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const head = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const line = head.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line ? line.slice(name.length + 1).trim() : null;
}
