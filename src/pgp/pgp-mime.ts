/**
 * MIME plumbing for PGP: walking a message as a tree of raw entities, and building the PGP/MIME
 * containers of RFC 3156.
 *
 * Why not just mailparser: it flattens the tree (multipart/encrypted shows up as two attachments)
 * and re-decodes everything, while a multipart/signed signature covers the *exact raw bytes* of its
 * first part. So the tree is split here on the boundaries mailparser reports, keeping each entity's
 * raw bytes; headers and bodies are still decoded by mailparser, never by hand.
 */
import { simpleParser } from 'mailparser';
import type { AddressObject, ParsedMail, StructuredHeader } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Options as MailComposerOptions } from 'nodemailer/lib/mail-composer';
import MimeNode from 'nodemailer/lib/mime-node';

/** Options that keep mailparser to the work PGP needs (no HTML conversion, no link detection). */
const PARSE_OPTIONS = {
  skipHtmlToText: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
  maxChildNodes: 200,
} as const;

export interface RawEntity {
  /** The whole entity: headers, blank line, body. */
  raw: Buffer;
  /** Lower-cased media type, `text/plain` when absent (RFC 2045 default). */
  contentType: string;
  /** Content-Type parameters (lower-cased names). */
  params: Record<string, string>;
  /** Lower-cased From address of this entity's headers, when it has one. */
  from: string | null;
  subject: string | null;
  body: Buffer;
}

/** Split an entity at the first empty line. An entity with no empty line is all headers. */
export function splitHeaderBody(raw: Buffer): { header: Buffer; body: Buffer } {
  if (raw.length >= 2 && raw[0] === 0x0d && raw[1] === 0x0a) return { header: Buffer.alloc(0), body: raw.subarray(2) };
  if (raw.length >= 1 && raw[0] === 0x0a) return { header: Buffer.alloc(0), body: raw.subarray(1) };
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf < 0 && lf < 0) return { header: raw, body: Buffer.alloc(0) };
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { header: raw.subarray(0, crlf + 2), body: raw.subarray(crlf + 4) };
  return { header: raw.subarray(0, lf + 1), body: raw.subarray(lf + 2) };
}

function firstAddress(v: AddressObject | AddressObject[] | undefined): string | null {
  const obj = Array.isArray(v) ? v[0] : v;
  const addr = obj?.value?.[0]?.address;
  return addr ? addr.toLowerCase() : null;
}

/** Parse an entity's header block with mailparser (body left alone). */
export async function readEntity(raw: Buffer): Promise<RawEntity> {
  const { header, body } = splitHeaderBody(raw);
  const parsed = await simpleParser(Buffer.concat([header, Buffer.from('\r\n')]), PARSE_OPTIONS);
  const ct = parsed.headers.get('content-type') as StructuredHeader | undefined;
  return {
    raw,
    contentType: (ct?.value ?? 'text/plain').toLowerCase(),
    params: ct?.params ?? {},
    from: firstAddress(parsed.from),
    subject: typeof parsed.subject === 'string' ? parsed.subject : null,
    body,
  };
}

/** Decode a leaf entity (transfer encoding, charset) with mailparser. */
export async function decodeLeaf(raw: Buffer): Promise<{ parsed: ParsedMail; bytes: Buffer }> {
  const parsed = await simpleParser(raw, PARSE_OPTIONS);
  const att = parsed.attachments[0];
  const bytes = att ? att.content : Buffer.from(parsed.text ?? '', 'utf8');
  return { parsed, bytes };
}

/**
 * The children of a multipart body, each exactly as it sits between its delimiter lines (RFC 2046
 * §5.1.1: the line break before a delimiter belongs to the delimiter, so it is not part of the child).
 * Works for CRLF and bare-LF messages. A body with no delimiter yields no children.
 */
export function splitMultipart(body: Buffer, boundary: string, maxParts: number): Buffer[] {
  const dash = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let partStart = -1;
  let lineStart = 0;
  while (lineStart <= body.length) {
    let lineEnd = body.indexOf(0x0a, lineStart);
    if (lineEnd < 0) lineEnd = body.length;
    if (body[lineStart] === 0x2d && body.subarray(lineStart, lineStart + dash.length).equals(dash)) {
      const rest = body.subarray(lineStart + dash.length, lineEnd).toString('latin1');
      const closing = rest.startsWith('--');
      // A delimiter line may carry trailing whitespace (transport padding) and nothing else.
      if (/^(--)?[ \t]*\r?$/.test(rest)) {
        if (partStart >= 0) {
          let end = lineStart;
          if (end > partStart && body[end - 1] === 0x0a) end--;
          if (end > partStart && body[end - 1] === 0x0d) end--;
          parts.push(body.subarray(partStart, Math.max(end, partStart)));
          if (parts.length >= maxParts) return parts;
        }
        if (closing) return parts;
        partStart = lineEnd + 1;
      }
    }
    lineStart = lineEnd + 1;
  }
  // No closing delimiter: keep what we have, plus the unterminated last part (real mail is sloppy).
  if (partStart >= 0 && partStart < body.length) parts.push(body.subarray(partStart));
  return parts;
}

/** Canonical CRLF line endings (RFC 3156 §5: signatures are computed over the canonical form). */
export function toCrlf(buf: Buffer): Buffer {
  return Buffer.from(buf.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}

/** Build a top-level RFC 3156 container: MailComposer for the headers, two parts, then the type. */
async function buildContainer(
  outer: MailComposerOptions,
  contentType: string,
  parts: NonNullable<MailComposerOptions['attachments']>,
): Promise<Buffer> {
  const root = new MailComposer({ newline: 'win', ...outer, text: undefined, html: undefined, attachments: parts }).compile();
  // Two attachments make MailComposer choose multipart/mixed; the boundary it made is kept.
  root.setHeader('Content-Type', contentType);
  // MailComposer marks every non-text part as an attachment; the control part of RFC 3156 is not one,
  // and an empty value drops the header.
  root.childNodes[0]?.setHeader('Content-Disposition', '');
  return root.build();
}

/** `multipart/encrypted` (RFC 3156 §4) around an armored OpenPGP message. */
export function buildPgpMimeEncrypted(outer: MailComposerOptions, armored: string, filename = 'encrypted.asc'): Promise<Buffer> {
  return buildContainer(outer, 'multipart/encrypted; protocol="application/pgp-encrypted"', [
    {
      contentType: 'application/pgp-encrypted',
      content: 'Version: 1\r\n',
      filename: false,
      contentTransferEncoding: '7bit',
      headers: { 'Content-Description': 'PGP/MIME version identification' },
    },
    {
      contentType: 'application/octet-stream',
      content: armored,
      filename,
      contentDisposition: 'inline',
      contentTransferEncoding: '7bit',
      headers: { 'Content-Description': 'OpenPGP encrypted message' },
    },
  ]);
}

/** `multipart/signed` (RFC 3156 §5) around an already built entity and its detached signature. */
export function buildPgpMimeSigned(outer: MailComposerOptions, signedEntity: Buffer, armoredSignature: string, micalg: string): Promise<Buffer> {
  return buildContainer(outer, `multipart/signed; micalg=${micalg}; protocol="application/pgp-signature"`, [
    // raw: the signed bytes go out exactly as they were signed.
    { raw: signedEntity },
    {
      contentType: 'application/pgp-signature',
      content: armoredSignature,
      filename: 'signature.asc',
      contentDisposition: 'attachment',
      contentTransferEncoding: '7bit',
      headers: { 'Content-Description': 'OpenPGP digital signature' },
    },
  ]);
}

/**
 * Build a MIME entity (headers + body) with MailComposer. `protectedHeaders` marks it as carrying
 * protected headers (draft-autocrypt-lamps-protected-headers: `protected-headers="v1"` on the root
 * type). `nested` builds it as a part to be placed inside another entity: without the Date,
 * Message-ID and MIME-Version a message root gets.
 */
export async function buildEntity(opts: MailComposerOptions, flags: { protectedHeaders?: boolean; nested?: boolean } = {}): Promise<Buffer> {
  // CRLF throughout: the canonical form signatures are computed over (RFC 3156 §5) and what SMTP wants.
  const node = new MailComposer({ newline: 'win', ...opts }).compile();
  if (flags.protectedHeaders) {
    const ct = String(node.getHeader('Content-Type') ?? node.contentType ?? 'text/plain');
    node.setHeader('Content-Type', `${ct}; protected-headers="v1"`);
  }
  if (flags.nested) {
    // compile() always assigns a Message-ID; an empty value object is left out of the output. Under a
    // parent the node is no longer a root, so no Date or MIME-Version is added either.
    if (!opts.messageId) node.setHeader('Message-ID', { value: '' });
    new MimeNode('multipart/mixed').appendChild(node);
  }
  return node.build();
}
