import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import type { AddressObject, AttachmentStream, EmailAddress, HeaderLines } from 'mailparser';
import { MailParser, simpleParser } from 'mailparser';
import { decodeWords } from 'libmime';
import type { Config } from '../config';
import { PermanentError, TransientError } from '../errors';
import type { ParsedAttachment, ParsedMessage } from '../types';

export type ParseLimits = Config['limits'];

export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  max_message_bytes: 30 * 1024 * 1024,
  max_parts: 200,
  max_text_chars: 256 * 1024,
  max_inline_attachment_bytes: 1024 * 1024,
  parse_timeout: 30_000,
};

/** Headers we keep at most this many values of, and this long each: hostile mail repeats them. */
const MAX_HEADER_VALUES = 50;
const MAX_HEADER_CHARS = 8 * 1024;
const MAX_REFERENCES = 100;

/** Content types whose small bodies are kept for triage (PoC text) and PGP. */
const KEEP_CONTENT = /^(text\/|application\/(pgp|octet-stream|x-sh|json|xml|javascript)|message\/(rfc822|delivery-status)|text\/rfc822-headers)/i;

function unfold(line: string): string {
  const i = line.indexOf(':');
  const value = i >= 0 ? line.slice(i + 1) : '';
  return value.replace(/\r?\n[ \t]+/g, ' ').trim();
}

function safeDecode(value: string): string {
  try {
    return decodeWords(value);
  } catch {
    return value;
  }
}

/** Strips control characters (CR/LF included): a decoded header value must stay one line. */
export function oneLine(s: string, max = 998): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, max);
}

function collectHeaders(lines: HeaderLines): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const { key, line } of lines) {
    const k = key.toLowerCase();
    const list = (out[k] ??= []);
    if (list.length < MAX_HEADER_VALUES) list.push(oneLine(safeDecode(unfold(line)), MAX_HEADER_CHARS));
  }
  return out;
}

function addresses(v: AddressObject | AddressObject[] | undefined): EmailAddress[] {
  if (!v) return [];
  const list = Array.isArray(v) ? v : [v];
  const flat: EmailAddress[] = [];
  const walk = (a: EmailAddress): void => {
    if (a.group) a.group.forEach(walk);
    else flat.push(a);
  };
  list.forEach((o) => o.value.forEach(walk));
  return flat;
}

function addr(a: EmailAddress | undefined): string | null {
  const s = a?.address?.trim().toLowerCase();
  return s && /^[^\s@]+@[^\s@]+$/.test(s) ? s : null;
}

const MSGID = /<[^<>\s]{1,500}>/g;

/** Message-IDs out of an In-Reply-To/References value, bounded. */
export function messageIds(values: string[] | undefined): string[] {
  const out: string[] = [];
  for (const v of values ?? []) {
    for (const m of v.match(MSGID) ?? []) {
      if (!out.includes(m)) out.push(m);
      if (out.length >= MAX_REFERENCES) return out;
    }
  }
  return out;
}

function normalizeMessageId(v: string | undefined): string | null {
  if (!v) return null;
  const m = v.match(MSGID);
  return m?.[0] ?? null;
}

async function readBounded(stream: AttachmentStream['content'], keep: boolean, max: number): Promise<{ size: number; content: Buffer | null }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let kept = keep;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (kept) {
      if (size > max) {
        kept = false;
        chunks.length = 0;
      } else chunks.push(chunk);
    }
  }
  return { size, content: kept ? Buffer.concat(chunks) : null };
}

/** Message-IDs in the headers a DSN returns (message/rfc822 or text/rfc822-headers part). */
async function returnedMessageIds(content: Buffer): Promise<string[]> {
  try {
    const inner = await simpleParser(content.subarray(0, 64 * 1024), { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
    const id = normalizeMessageId(inner.messageId);
    return id ? [id] : [];
  } catch {
    return [];
  }
}

/** What `parseMessage` reads: the raw bytes whole, or streamed (e.g. from the raw store). */
export type RawInput = Buffer | AsyncIterable<Buffer>;

/** A whole buffer goes to the parser in views of this size, so its output can keep up (see feed). */
const FEED_BYTES = 64 * 1024;

/** Why the feed is stopped once the parse has settled, however it ended. */
const PARSE_SETTLED = 'parse settled';

/** Thrown by `parseMessage` when reading a streamed input failed: not the message's fault. */
export class RawReadError extends TransientError {
  constructor(cause: unknown) {
    super('ERawRead', `reading the raw message failed: ${(cause as Error)?.message ?? String(cause)}`, cause);
  }
}

/** Errors raised by the parser itself (not by the input it reads), for telling the two apart. */
const parseFailures = new WeakSet<object>();
function markParseFailure(e: Error): Error {
  parseFailures.add(e);
  return e;
}
function isParseFailure(e: unknown): boolean {
  return (typeof e === 'object' && e !== null && parseFailures.has(e)) || e instanceof PermanentError;
}

function* views(buf: Buffer): Generator<Buffer> {
  for (let at = 0; at < buf.length; at += FEED_BYTES) yield buf.subarray(at, at + FEED_BYTES);
}

/**
 * Parse a raw message into the bounded view the pure core works on. The raw bytes go in piece by
 * piece, waiting for the parser to drain: mailparser handed a whole 27 MB message in one write
 * turns all of it into lines and decoded parts at once (five times the message in memory). The
 * content hash is taken on the way in, attachments are streamed through a sha256 hasher and only
 * small ones kept, so a big attachment is never held whole. Throws a PermanentError (code EParse /
 * EParseTimeout) when nothing usable comes out, a RawReadError when a streamed input failed.
 */
export async function parseMessage(raw: RawInput, limits: Partial<ParseLimits> = {}): Promise<ParsedMessage> {
  const lim: ParseLimits = { ...DEFAULT_PARSE_LIMITS, ...limits };
  const warnings: string[] = [];
  const hash = createHash('sha256');
  const parser = new MailParser({
    checksumAlgo: 'sha256',
    skipImageLinks: true,
    skipTextToHtml: true,
    skipTextLinks: true,
    maxHtmlLengthToParse: 2 * 1024 * 1024,
    keepDeliveryStatus: true,
  });

  let headerLines: HeaderLines = [];
  const attachments: ParsedAttachment[] = [];
  let text = '';
  let html: string | null = null;
  const pending: Promise<void>[] = [];
  let parts = 0;

  const done = new Promise<void>((resolve, reject) => {
    parser.on('headerLines', (lines: HeaderLines) => {
      headerLines = lines;
    });
    parser.on('data', (data: { type: string } & Record<string, unknown>) => {
      if (data.type === 'text') {
        text = typeof data.text === 'string' ? data.text : '';
        html = typeof data.html === 'string' ? data.html : null;
        return;
      }
      const att = data as unknown as AttachmentStream;
      parts += 1;
      const overParts = parts > lim.max_parts;
      if (overParts && parts === lim.max_parts + 1) warnings.push(`more than ${lim.max_parts} parts: the rest are counted, not kept`);
      const keep = !overParts && KEEP_CONTENT.test(att.contentType) || /\.(asc|gpg|pgp|txt|py|sh|js|c|html?|patch|diff|eml)$/i.test(att.filename ?? '');
      pending.push(
        readBounded(att.content, keep && !overParts, lim.max_inline_attachment_bytes).then(({ size, content }) => {
          if (!overParts) {
            attachments.push({
              filename: oneLine(att.filename ?? '', 255),
              contentType: oneLine(att.contentType ?? 'application/octet-stream', 255).toLowerCase(),
              size,
              sha256: (att as unknown as { checksum?: string }).checksum ?? '',
              content,
            });
          }
          att.release?.();
        }),
      );
    });
    parser.on('error', (e: Error) => reject(markParseFailure(e)));
    parser.on('end', resolve);
  });

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PermanentError('EParseTimeout', `parsing took longer than ${lim.parse_timeout} ms`)), lim.parse_timeout);
    timer.unref();
  });
  const stop = new AbortController();
  // Rejections of `done` and `timeout` are taken by the race below; these only keep them handled
  // while the feed is still running.
  done.catch(() => undefined);
  timeout.catch(() => undefined);
  const feed = async (): Promise<void> => {
    const failed = Promise.race([done, timeout]);
    failed.catch(() => undefined);
    for await (const chunk of Buffer.isBuffer(raw) ? views(raw) : raw) {
      if (stop.signal.aborted) return;
      hash.update(chunk);
      if (!parser.write(chunk)) await Promise.race([once(parser, 'drain', { signal: stop.signal }), failed]);
    }
    parser.end();
  };
  try {
    const fed = feed().catch((e: unknown) => {
      // The parser's own failure (or the timeout) wins the race below; anything else is the input's.
      throw stop.signal.aborted || isParseFailure(e) ? e : new RawReadError(e);
    });
    fed.catch(() => undefined); // a failure after the race was decided (a timeout) is of no interest
    await Promise.race([fed.then(() => done).then(() => Promise.all(pending)), timeout]);
  } catch (e) {
    parser.destroy();
    if (e instanceof PermanentError || e instanceof RawReadError) throw e;
    throw new PermanentError('EParse', `cannot parse message: ${(e as Error).message}`, e);
  } finally {
    // With a reason of our own: abort() without one builds a DOMException (a stack capture) per message.
    stop.abort(PARSE_SETTLED);
    clearTimeout(timer);
    // A streamed input left half-read (the parse failed or timed out) is released here.
    if (!Buffer.isBuffer(raw)) (raw as Partial<Readable>).destroy?.();
  }
  const contentHash = hash.digest('hex');

  const headers = collectHeaders(headerLines);
  const fromList = addresses(parser.from);
  const replyTo = addresses(parser.replyTo);
  const subject = oneLine(typeof parser.subject === 'string' ? parser.subject : '', 998);
  if (text.length > lim.max_text_chars) {
    warnings.push(`text truncated to ${lim.max_text_chars} characters`);
    text = text.slice(0, lim.max_text_chars);
  }
  if (html !== null && (html as string).length > lim.max_text_chars * 4) html = (html as string).slice(0, lim.max_text_chars * 4);

  const returnPathRaw = headers['return-path']?.[0];
  const returnPath = returnPathRaw === undefined ? null : (/<\s*>/.test(returnPathRaw) ? '' : (returnPathRaw.match(/<([^>]*)>/)?.[1] ?? returnPathRaw).trim().toLowerCase());
  const contentType = (headers['content-type']?.[0] ?? '').toLowerCase();
  const isDsn = /multipart\/report/.test(contentType) && /report-type\s*=\s*"?delivery-status/.test(contentType);

  const bounced: string[] = [];
  if (isDsn) {
    for (const a of attachments) {
      if (a.content && /^(message\/rfc822|text\/rfc822-headers|message\/rfc822-headers)/.test(a.contentType)) {
        for (const id of await returnedMessageIds(a.content)) if (!bounced.includes(id)) bounced.push(id);
      }
    }
  }

  const date = parser.date instanceof Date && !Number.isNaN(parser.date.getTime()) ? parser.date.toISOString() : null;
  return {
    messageId: normalizeMessageId(headers['message-id']?.[0]),
    contentHash,
    inReplyTo: messageIds(headers['in-reply-to']),
    references: messageIds(headers['references']),
    subject,
    from: addr(fromList[0]),
    fromName: fromList[0]?.name ? oneLine(fromList[0].name, 200) : null,
    replyTo: addr(replyTo[0]),
    to: addresses(parser.to).map(addr).filter((a): a is string => a !== null).slice(0, 100),
    cc: addresses(parser.cc).map(addr).filter((a): a is string => a !== null).slice(0, 100),
    date,
    headers,
    text,
    html,
    attachments,
    returnPath,
    bouncedMessageIds: bounced,
    isDsn,
    warnings,
  };
}
