/**
 * Varied messages for tests and benchmarks: plain, HTML-only, multipart with attachments, and
 * bodies in non-UTF-8 charsets (ISO-8859-1, windows-1252, Shift_JIS, GB2312-ish via base64),
 * each with a unique Message-ID. Deterministic for a given index.
 */

const CRLF = '\r\n';

function b64(buf: Buffer): string {
  return buf.toString('base64').replace(/.{76}/g, `$&${CRLF}`);
}

/** Filler text of about `bytes` bytes, so sizes spread realistically. */
function filler(i: number, bytes: number): string {
  const line = `Line ${i}: the parser in crates/mime/src/decode.rs mishandles a crafted header. `;
  return line.repeat(Math.max(1, Math.ceil(bytes / line.length))).slice(0, bytes).replace(/(.{70})/g, `$1${CRLF}`);
}

export interface VariedMail {
  raw: Buffer;
  messageId: string;
  variant: string;
}

export function variedMessage(i: number, opts: { domain?: string; to?: string; size?: number; tag?: string } = {}): VariedMail {
  const domain = opts.domain ?? 'example.org';
  const to = opts.to ?? 'security@example.test';
  const tag = opts.tag ?? 'v';
  const messageId = `<${tag}-${i}@${domain}>`;
  const from = `Reporter ${i} <reporter${i % 37}@${domain}>`;
  const head = (subject: string, ctype: string, extra: string[] = []): string =>
    [`From: ${from}`, `To: ${to}`, `Subject: ${subject}`, `Message-ID: ${messageId}`, 'Date: Mon, 30 Nov 2026 10:00:00 +0000', 'MIME-Version: 1.0', `Content-Type: ${ctype}`, ...extra, ''].join(CRLF);
  const wanted = opts.size ?? 2000 + ((i * 7919) % 8000);
  // Big mail is big because of what is attached (logs, dumps, archives), not because someone typed
  // 200 KB: past 12 KB the rest of the size goes into an attachment.
  if (wanted > 12 * 1024 && i % 8 !== 2) return withAttachment(i, wanted, { domain, to, messageId, from });
  const size = wanted;
  const variants = ['plain', 'html', 'attachment', 'latin1', 'cp1252', 'sjis', 'qp', 'alternative'] as const;
  const variant = variants[i % variants.length] as (typeof variants)[number];
  let raw: string | Buffer;
  switch (variant) {
    case 'plain':
      raw = head(`Buffer overflow report ${i}`, 'text/plain; charset=utf-8') + CRLF + `Version 0.8.${i % 5} crashes.${CRLF}${filler(i, size)}${CRLF}`;
      break;
    case 'html':
      raw = head(`XSS in admin ${i}`, 'text/html; charset=utf-8') + CRLF + `<html><body><p>Stored <b>XSS</b> in web/admin/users.tsx, version 0.7.${i % 4}.</p><pre>${filler(i, size)}</pre></body></html>${CRLF}`;
      break;
    case 'attachment': {
      const boundary = `b-${i}-mix`;
      const poc = Buffer.from(`#!/usr/bin/env python3\n# PoC ${i}\nprint("A" * ${1000 + i})\n` + 'x'.repeat(size));
      raw =
        head(`PoC attached ${i}`, `multipart/mixed; boundary="${boundary}"`) +
        CRLF +
        [`--${boundary}`, 'Content-Type: text/plain; charset=utf-8', '', `See attached PoC for report ${i}.`, `--${boundary}`, `Content-Type: text/x-python; name="poc-${i}.py"`, 'Content-Transfer-Encoding: base64', `Content-Disposition: attachment; filename="poc-${i}.py"`, '', b64(poc), `--${boundary}--`, ''].join(CRLF);
      break;
    }
    case 'latin1':
      raw = Buffer.concat([
        Buffer.from(head(`=?ISO-8859-1?Q?Sicherheitsl=FCcke_${i}?=`, 'text/plain; charset=iso-8859-1', ['Content-Transfer-Encoding: 8bit']) + CRLF),
        Buffer.from(`Sehr geehrte Damen und Herren, die Lücke betrifft Version 0.8.${i % 3}. Grüße${CRLF}${filler(i, size)}${CRLF}`, 'latin1'),
      ]);
      break;
    case 'cp1252':
      raw = Buffer.concat([
        Buffer.from(head(`Vulnerabilidad ${i}`, 'text/plain; charset=windows-1252', ['Content-Transfer-Encoding: 8bit']) + CRLF),
        Buffer.from(`Hola, encontré una inyección SQL \x93grave\x94 en la versión 0.7.${i % 3}.${CRLF}${filler(i, size)}${CRLF}`, 'latin1'),
      ]);
      break;
    case 'sjis':
      // Shift_JIS bytes for "脆弱性" (vulnerability), then ASCII filler.
      raw = Buffer.concat([
        Buffer.from(head(`Report ${i} (JP)`, 'text/plain; charset=Shift_JIS', ['Content-Transfer-Encoding: 8bit']) + CRLF),
        Buffer.from([0x90, 0x46, 0x8e, 0xe3, 0x90, 0xab]),
        Buffer.from(`${CRLF}${filler(i, size)}${CRLF}`),
      ]);
      break;
    case 'qp':
      raw = head(`Path traversal ${i}`, 'text/plain; charset=utf-8', ['Content-Transfer-Encoding: quoted-printable']) + CRLF + `Path traversal in crates/http/src/static.rs =E2=80=94 version 0.8.${i % 2}.=${CRLF}${filler(i, size).replace(/=/g, '=3D')}${CRLF}`;
      break;
    case 'alternative': {
      const boundary = `b-${i}-alt`;
      raw =
        head(`DoS via regex ${i}`, `multipart/alternative; boundary="${boundary}"`) +
        CRLF +
        [`--${boundary}`, 'Content-Type: text/plain; charset=utf-8', '', `ReDoS in src/filter/regex.c, 0.7.${i % 5}.`, filler(i, size / 2), `--${boundary}`, 'Content-Type: text/html; charset=utf-8', '', `<p>ReDoS in <code>src/filter/regex.c</code></p>`, `--${boundary}--`, ''].join(CRLF);
      break;
    }
  }
  return { raw: Buffer.isBuffer(raw) ? raw : Buffer.from(raw), messageId, variant };
}

/** multipart/mixed: a short text part and one base64 attachment. */
function attachmentMail(o: { from: string; to: string; subject: string; messageId: string; boundary: string; text: string[]; filename: string; data: Buffer }): Buffer {
  const head = [
    `From: ${o.from}`,
    `To: ${o.to}`,
    `Subject: ${o.subject}`,
    `Message-ID: ${o.messageId}`,
    'Date: Mon, 30 Nov 2026 10:00:00 +0000',
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${o.boundary}"`,
    '',
    `--${o.boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    ...o.text,
    `--${o.boundary}`,
    `Content-Type: application/octet-stream; name="${o.filename}"`,
    'Content-Transfer-Encoding: base64',
    `Content-Disposition: attachment; filename="${o.filename}"`,
    '',
    '',
  ].join(CRLF);
  return Buffer.concat([Buffer.from(head), Buffer.from(b64(o.data)), Buffer.from(`${CRLF}--${o.boundary}--${CRLF}`)]);
}

function withAttachment(i: number, size: number, o: { domain: string; to: string; messageId: string; from: string }): VariedMail {
  const raw = attachmentMail({
    from: o.from,
    to: o.to,
    subject: `Crash with log attached ${i}`,
    messageId: o.messageId,
    boundary: `b-${i}-log`,
    text: [`Heap overflow in src/mime/parse.c on version 0.8.${i % 4}; the full log is attached.`, 'Steps to reproduce: feed the attached message to the parser.'],
    filename: `crash-${i}.log.gz`,
    data: Buffer.from(filler(i, Math.max(1024, Math.round((size - 1500) * 0.75)))),
  });
  return { raw, messageId: o.messageId, variant: 'log-attachment' };
}

/** A message with one big attachment of `bytes` (random-ish, incompressible like real archives). */
export function bigAttachmentMessage(i: number, bytes: number, opts: { domain?: string; tag?: string } = {}): Buffer {
  const domain = opts.domain ?? 'example.org';
  const chunk = Buffer.alloc(64 * 1024);
  for (let k = 0; k < chunk.length; k++) chunk[k] = (k * 2654435761 + i) & 0xff;
  const parts: Buffer[] = [];
  for (let n = 0; n < bytes; n += chunk.length) parts.push(chunk.subarray(0, Math.min(chunk.length, bytes - n)));
  return attachmentMail({
    from: `Big ${i} <big${i}@${domain}>`,
    to: 'security@example.test',
    subject: `Core dump attached ${i}`,
    messageId: `<${opts.tag ?? 'big'}-${i}@${domain}>`,
    boundary: `big-${i}`,
    text: ['Crash dump of version 0.8.1 attached.'],
    filename: 'core.bin',
    data: Buffer.concat(parts),
  });
}
