/**
 * The sandbox: private, throwaway Redis, Dovecot and SMTP sink on free loopback ports, for the test
 * suite, the demo and the benchmarks. Every part's `close()` is idempotent and leaves no process.
 */
import type { SandboxLog } from './child-group';
import { startDovecot, type SandboxDovecot, type SandboxUser } from './dovecot-server';
import { appendMessages } from './imap-append';
import { startRedis, type SandboxRedis } from './redis-server';
import { startSmtpSink, type SmtpSink, type SunkMail } from './smtp-sink';

export type { SandboxLog } from './child-group';
export { groupAlive } from './child-group';
export { freePort } from './free-port';
export { startRedis, type SandboxRedis, type StartRedisOptions } from './redis-server';
export { startDovecot, dovecotConfig, type SandboxDovecot, type SandboxUser, type StartDovecotOptions } from './dovecot-server';
export { startSmtpSink, type SmtpSink, type SmtpFailure, type SunkMail, type StartSmtpSinkOptions } from './smtp-sink';
export { appendMessages, fetchAll, parseImapUrl, type FetchedMessage, type ImapTarget } from './imap-append';

export interface Sandbox {
  redis: SandboxRedis;
  dovecot: SandboxDovecot;
  smtp: SmtpSink;
  /** Close all three (in parallel). Safe to call twice. */
  close(): Promise<void>;
}

export interface StartSandboxOptions {
  users: SandboxUser[];
  /**
   * When true, mail the sink accepts for a recipient that is a Dovecot user (compared
   * case-insensitively) is also appended to that user's INBOX, so a test can read an
   * acknowledgement in the reporter's own mailbox. Mail to anyone else is only recorded.
   */
  deliverLocal?: boolean;
  keepDirs?: boolean;
  log?: SandboxLog;
}

/** Append `mail` to the INBOX of every recipient that has a mailbox in `dovecot`. */
export async function deliverToDovecot(dovecot: SandboxDovecot, mail: SunkMail): Promise<void> {
  const byAddress = new Map(dovecot.users.map((u) => [u.user.toLowerCase(), u.user]));
  const local = [...new Set(mail.envelope.to.map((a) => byAddress.get(a.toLowerCase())).filter((u): u is string => !!u))];
  for (const user of local) await appendMessages(dovecot.imapUrl(user), 'INBOX', [mail.raw]);
}

export async function startSandbox(opts: StartSandboxOptions): Promise<Sandbox> {
  let dovecotRef: SandboxDovecot | null = null;
  // allSettled, not all: when one part fails the others must finish starting so they can be closed.
  const [r, d, s] = await Promise.allSettled([
    startRedis({ keepDir: opts.keepDirs, log: opts.log }),
    startDovecot({ users: opts.users, keepDir: opts.keepDirs, log: opts.log }),
    startSmtpSink({
      log: opts.log,
      deliver: opts.deliverLocal
        ? async (mail) => {
            if (dovecotRef) await deliverToDovecot(dovecotRef, mail);
          }
        : undefined,
    }),
  ]);
  if (r.status === 'rejected' || d.status === 'rejected' || s.status === 'rejected') {
    const parts = [r, d, s];
    await Promise.allSettled(parts.map((p) => (p.status === 'fulfilled' ? p.value.close() : undefined)));
    const failed = parts.find((p): p is PromiseRejectedResult => p.status === 'rejected');
    throw failed?.reason;
  }
  const redis = r.value;
  const dovecot = d.value;
  const smtp = s.value;
  dovecotRef = dovecot;
  let closing: Promise<void> | null = null;
  return {
    redis,
    dovecot,
    smtp,
    close() {
      closing ??= Promise.allSettled([smtp.close(), dovecot.close(), redis.close()]).then((results) => {
        const failed = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
        if (failed) throw failed.reason;
      });
      return closing;
    },
  };
}
