import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { PermanentError } from '../src/errors';
import { parseMessage, RawReadError } from '../src/parse/parse-message';
import { bigAttachmentMessage } from '../src/sandbox/mail-factory';
import { detectRobot } from '../src/parse/robot';

const own = { ownAddresses: new Set(['security@example.test']) };

function eml(headers: string, body: string): Buffer {
  return Buffer.from(`${headers.trim().replace(/\n/g, '\r\n')}\r\n\r\n${body.replace(/\n/g, '\r\n')}`);
}

describe('parseMessage', () => {
  it('reads addresses, ids and text of a plain report', async () => {
    const m = await parseMessage(
      eml(
        `From: "Eve R" <Eve@Example.org>\nTo: security@example.test\nCc: friend@example.net\nSubject: XSS in login\nMessage-ID: <abc@example.org>\nIn-Reply-To: <x1@a>\nReferences: <x0@a> <x1@a>\nDate: Tue, 24 Nov 2026 10:00:00 +0000`,
        'There is an XSS in src/login.ts\n',
      ),
    );
    expect(m.from).toBe('eve@example.org');
    expect(m.fromName).toBe('Eve R');
    expect(m.cc).toEqual(['friend@example.net']);
    expect(m.messageId).toBe('<abc@example.org>');
    expect(m.references).toEqual(['<x0@a>', '<x1@a>']);
    expect(m.inReplyTo).toEqual(['<x1@a>']);
    expect(m.text).toContain('src/login.ts');
    expect(m.date).toBe('2026-11-24T10:00:00.000Z');
    expect(detectRobot(m, own)).toBeNull();
  });

  it('derives text from HTML-only mail', async () => {
    const m = await parseMessage(eml('From: a@b.c\nSubject: x\nContent-Type: text/html; charset=utf-8', '<p>Path <b>lib/a.c</b> overflows</p>'));
    expect(m.html).toContain('<b>');
    expect(m.text).toContain('lib/a.c');
  });

  it('decodes an encoded subject to one line: CRLF cannot survive', async () => {
    const evil = Buffer.from('hi\r\nBcc: victim@x').toString('base64');
    const m = await parseMessage(eml(`From: a@b.c\nSubject: =?UTF-8?B?${evil}?=`, 'x'));
    expect(m.subject).toBe('hi Bcc: victim@x');
    expect(m.subject).not.toMatch(/[\r\n]/);
  });

  it('hashes attachments and keeps only small ones', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 65).toString('base64').replace(/.{76}/g, '$&\r\n');
    const raw = eml(
      'From: a@b.c\nSubject: poc\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="BB"',
      `--BB\nContent-Type: text/plain\n\nsee attached\n--BB\nContent-Type: text/x-python; name="poc.py"\nContent-Disposition: attachment; filename="poc.py"\n\nprint(1)\n--BB\nContent-Type: application/zip; name="big.zip"\nContent-Disposition: attachment; filename="big.zip"\nContent-Transfer-Encoding: base64\n\n${big}\n--BB--\n`,
    );
    const m = await parseMessage(raw);
    const poc = m.attachments.find((a) => a.filename === 'poc.py');
    const zip = m.attachments.find((a) => a.filename === 'big.zip');
    expect(poc?.content?.toString()).toContain('print(1)');
    expect(zip?.content).toBeNull();
    expect(zip?.size).toBe(3 * 1024 * 1024);
    expect(zip?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('recognises a DSN and the Message-ID it returns', async () => {
    const raw = eml(
      'From: MAILER-DAEMON@mx.example.org\nTo: security@example.test\nSubject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="R"',
      '--R\nContent-Type: text/plain\n\nfailed\n--R\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; gone@example.org\nAction: failed\nStatus: 5.1.1\n--R\nContent-Type: text/rfc822-headers\n\nFrom: security@example.test\nTo: gone@example.org\nMessage-ID: <secdesk.SEC-2026-0001.ack.x@example.test>\nSubject: Re: x\n--R--\n',
    );
    const m = await parseMessage(raw);
    expect(m.isDsn).toBe(true);
    expect(m.bouncedMessageIds).toEqual(['<secdesk.SEC-2026-0001.ack.x@example.test>']);
    expect(detectRobot(m, own)?.kind).toBe('bounce');
  });

  it.each([
    ['Auto-Submitted: auto-replied', 'auto_reply'],
    ['Precedence: bulk', 'list'],
    ['List-Id: <dev.lists.example.org>', 'list'],
    ['Return-Path: <>', 'auto_reply'],
  ])('treats "%s" as robot mail', async (header, kind) => {
    const m = await parseMessage(eml(`From: someone@example.org\nSubject: hello\n${header}`, 'x'));
    expect(detectRobot(m, own)?.kind).toBe(kind);
  });

  it('does not treat Auto-Submitted: no as a robot', async () => {
    const m = await parseMessage(eml('From: someone@example.org\nSubject: hello\nAuto-Submitted: no', 'x'));
    expect(detectRobot(m, own)).toBeNull();
  });

  it('survives NUL bytes, bad base64, an unknown charset and 50-deep nesting', async () => {
    const nul = await parseMessage(Buffer.concat([eml('From: a@b.c\nSubject: n', 'a'), Buffer.from([0, 0, 0x41, 0])]));
    expect(nul.from).toBe('a@b.c');
    const b64 = await parseMessage(eml('From: a@b.c\nSubject: b\nContent-Transfer-Encoding: base64', '!!!not base64***\n'));
    expect(b64.subject).toBe('b');
    const cs = await parseMessage(eml('From: a@b.c\nSubject: c\nContent-Type: text/plain; charset=x-no-such-charset', 'caf\xe9'));
    expect(cs.text).toContain('caf');
    let body = 'deep text\n';
    for (let i = 49; i >= 0; i--) body = `--B${i}\nContent-Type: ${i === 49 ? 'text/plain' : `multipart/mixed; boundary="B${i + 1}"`}\n\n${body}\n--B${i}--\n`;
    const deep = await parseMessage(eml('From: a@b.c\nSubject: d\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B0"', body));
    expect(deep.subject).toBe('d');
  });

  describe('streamed input', () => {
    async function* pieces(buf: Buffer, size: number): AsyncGenerator<Buffer> {
      for (let at = 0; at < buf.length; at += size) yield buf.subarray(at, at + size);
    }

    it('gives the same message, hash included, whatever the pieces', async () => {
      const raw = bigAttachmentMessage(3, 3 * 1024 * 1024);
      const whole = await parseMessage(raw);
      expect(whole.contentHash).toBe(createHash('sha256').update(raw).digest('hex'));
      for (const size of [4093, 64 * 1024, 1024 * 1024]) expect(await parseMessage(pieces(raw, size))).toEqual(whole);
      const small = eml('From: a@b.c\nSubject: bytewise\nMessage-ID: <bw@x>', 'one byte at a time\n');
      expect(await parseMessage(pieces(small, 1))).toEqual(await parseMessage(small));
      expect(await parseMessage(Readable.from(pieces(raw, 10_000)))).toEqual(whole);
    });

    it('an input that fails is a read error (retried), not an unparseable message', async () => {
      const raw = bigAttachmentMessage(4, 2 * 1024 * 1024);
      async function* failing(): AsyncGenerator<Buffer> {
        yield raw.subarray(0, 512 * 1024);
        throw new Error('redis went away');
      }
      const err = await parseMessage(failing()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RawReadError);
      expect((err as RawReadError).retryable).toBe(true);
      expect((err as Error).message).toContain('redis went away');
    });

    it('times out on an input that stalls, and releases it', async () => {
      const stalled = new Readable({ read() {} });
      stalled.push('From: a@b.c\r\nSubject: slow\r\n\r\nbody');
      const err = await parseMessage(stalled, { parse_timeout: 200 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermanentError);
      expect((err as PermanentError).code).toBe('EParseTimeout');
      expect(stalled.destroyed).toBe(true);
    });
  });
});
