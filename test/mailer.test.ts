/**
 * The SMTP adapter against a real smtp-server sink: mail is gathered into one piece before it is
 * written (one socket write for a small message's body, not one per MIME piece), and what arrives
 * is the same mail — headers, text, HTML and attachments intact, big ones streamed past the cap.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import { buildConfig } from '../src/config';
import { createLogger } from '../src/log';
import { Coalesce, createMailer } from '../src/mailer';
import { startSmtpSink } from '../src/sandbox';
import type { SmtpSink } from '../src/sandbox';

const log = createLogger({ log: { level: 'silent', pretty: false } });
let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink();
});
afterAll(async () => {
  await sink?.close();
});

async function collect(chunks: Buffer[], max: number): Promise<Buffer[]> {
  // 'data' events, not async iteration: read() would join whatever is buffered into one chunk.
  const out: Buffer[] = [];
  const t = Readable.from(chunks).pipe(new Coalesce(max));
  t.on('data', (c: Buffer) => out.push(c));
  await new Promise((resolve, reject) => t.on('end', resolve).on('error', reject));
  return out;
}

describe('Coalesce', () => {
  test('small: every chunk in one piece at the end', async () => {
    const parts = ['From: a\r\n', 'To: b\r\n', '\r\n', 'body\r\n'].map((s) => Buffer.from(s));
    const out = await collect(parts, 1024);
    expect(out).toHaveLength(1);
    expect(Buffer.concat(out).toString()).toBe('From: a\r\nTo: b\r\n\r\nbody\r\n');
  });

  test('over the cap: released in pieces of at least the cap, nothing lost or reordered', async () => {
    const parts = Array.from({ length: 100 }, (_, i) => Buffer.from(`${String(i).padStart(3, '0')}-`.repeat(10)));
    const out = await collect(parts, 1000);
    expect(Buffer.concat(out)).toEqual(Buffer.concat(parts));
    expect(out.length).toBeGreaterThan(1);
    expect(out.slice(0, -1).every((c) => c.length >= 1000)).toBe(true);
  });

  test('an empty stream stays empty', async () => {
    expect(await collect([], 10)).toEqual([]);
  });
});

describe('createMailer', () => {
  const cfg = (): ReturnType<typeof buildConfig> =>
    buildConfig({ address: 'security@example.test', imap: { url: 'imap://u:p@127.0.0.1:1143' }, smtp: { url: sink.url, from: 'Security <security@example.test>' } });

  test('a mail with text, HTML and a 600 KB attachment arrives whole', async () => {
    const m = createMailer(cfg(), log);
    const blob = randomBytes(600 * 1024);
    try {
      await m.send({
        from: 'Security <security@example.test>',
        to: 'rita@example.org',
        subject: 'Re: Heap overflow [SEC-2026-0001]',
        messageId: '<ack-1@example.test>',
        text: 'Thanks for your report.\n'.repeat(50),
        html: `<p>${'Thanks for your report. '.repeat(50)}</p>`,
        headers: { 'Auto-Submitted': 'auto-replied' },
        attachments: [{ filename: 'blob.bin', content: blob }],
      });
    } finally {
      m.close();
    }
    const raw = sink.messages.at(-1)!.raw;
    const parsed = await simpleParser(raw);
    expect(parsed.messageId).toBe('<ack-1@example.test>');
    expect(parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(parsed.text).toBe('Thanks for your report.\n'.repeat(50));
    expect(parsed.html).toContain('Thanks for your report. Thanks');
    expect(parsed.attachments.map((a) => [a.filename, createHash('sha256').update(a.content).digest('hex')])).toEqual([['blob.bin', createHash('sha256').update(blob).digest('hex')]]);
  });

  test('an acknowledgement-sized mail is written in a few pieces, not one per MIME piece', async () => {
    const m = createMailer(cfg(), log);
    const net = await import('node:net');
    const port = Number(new URL(sink.url).port);
    const proto = net.Socket.prototype as unknown as { _writeGeneric: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown };
    const orig = proto._writeGeneric;
    let writes = 0;
    proto._writeGeneric = function (this: { remotePort?: number }, ...a: unknown[]) {
      if (this.remotePort === port) writes++;
      return orig.apply(this, a);
    };
    try {
      const send = (i: number) => m.send({ from: 'security@example.test', to: `r${i}@example.org`, subject: `Re: report ${i}`, text: 'Thanks for your report.\n'.repeat(40), html: `<p>${'Thanks. '.repeat(200)}</p>` });
      await send(0); // the connection's greeting and EHLO are not counted below
      writes = 0;
      for (let i = 1; i <= 5; i++) await send(i);
    } finally {
      proto._writeGeneric = orig;
      m.close();
    }
    // MAIL FROM, RCPT TO, DATA, the message, the final dot (nodemailer streams it as ~11 pieces).
    expect(writes / 5).toBeLessThanOrEqual(5);
  });
});
