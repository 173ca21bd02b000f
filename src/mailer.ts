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
