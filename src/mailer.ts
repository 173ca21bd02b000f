import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import nodemailer from 'nodemailer';
import type { SendMailOptions, Transporter } from 'nodemailer';
import type { Config } from './config';
import type { Logger } from './log';

/**
 * The SMTP adapter: one pooled nodemailer transport. `send` takes either composed options or a
 * prebuilt MIME message (PGP/MIME is built by us, then sent as is with an explicit envelope).
 */
export interface Mailer {
  send(mail: SendMailOptions | { raw: Buffer; envelope: { from: string; to: string[] }; messageId?: string }): Promise<{ messageId: string; response: string }>;
  verify(): Promise<void>;
  close(): void;
}

export function createMailer(cfg: Config, log: Logger): Mailer {
  const u = new URL(cfg.smtp.url);
  const transport: Transporter = nodemailer.createTransport({
    host: u.hostname,
    port: u.port ? Number(u.port) : u.protocol === 'smtps:' ? 465 : 587,
    secure: u.protocol === 'smtps:',
    ...(u.username ? { auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } } : {}),
    tls: { rejectUnauthorized: cfg.smtp.tls_reject_unauthorized },
    pool: true,
    maxConnections: 4,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
  });
  // nodemailer streams a message as it builds it: a header here, a base64 line there, each piped
  // to the socket as its own write (~15 syscalls per acknowledgement). Gathered into one piece
  // first, a mail costs one write for its body; profiled under a backlog, the writes were the
  // largest single cost of a worker.
  transport.use('stream', (mail, done) => {
    mail.message.transform(() => new Coalesce(COALESCE_MAX_BYTES));
    done();
  });
  const mlog = log.child({ component: 'mailer' });
  let closed = false;
  return {
    async send(mail) {
      const info = (await transport.sendMail(mail as SendMailOptions)) as { messageId: string; response: string };
      mlog.debug({ messageId: info.messageId }, 'mail.sent');
      return info;
    },
    async verify() {
      await transport.verify();
    },
    close() {
      if (closed) return;
      closed = true;
      transport.close();
    },
  };
}

/** Mail up to this size is written to the socket in one piece; bigger mail streams on after it. */
const COALESCE_MAX_BYTES = 256 * 1024;

/** Holds chunks until the stream ends or `max` bytes are held, then passes them on as one. */
export class Coalesce extends Transform {
  private held: Buffer[] = [];
  private bytes = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer | string, encoding: BufferEncoding, done: TransformCallback): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    this.held.push(b);
    this.bytes += b.length;
    if (this.bytes >= this.max) this.release();
    done();
  }
  override _flush(done: TransformCallback): void {
    this.release();
    done();
  }
  private release(): void {
    if (this.bytes === 0) return;
    this.push(this.held.length === 1 ? this.held[0] : Buffer.concat(this.held, this.bytes));
    this.held = [];
    this.bytes = 0;
  }
}
