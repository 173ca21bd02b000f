import { ImapFlow } from 'imapflow';
import Redis from 'ioredis';
import type { Config } from './config';
import { imapOptions } from './ingest/folder-watcher';
import type { Logger } from './log';
import { safeUrl } from './log';
import { createMailer } from './mailer';
import { createRenderer } from './notify/render';

/**
 * `secdesk check`: is the config usable? Every line says what was checked and, on failure, why.
 * Connectivity to IMAP (login, inbox, Sent folder), SMTP (EHLO and auth), Redis (PING, eviction
 * policy) and that every template compiles. Extra checks (PGP keys, policy drift) are appended by
 * the caller.
 */

export interface CheckLine {
  ok: boolean;
  warn?: boolean;
  what: string;
  detail: string;
}

async function timed<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000}s`)), ms)))]);
  } finally {
    clearTimeout(t);
  }
}

export async function runChecks(cfg: Config, log: Logger): Promise<CheckLine[]> {
  const out: CheckLine[] = [];
  const push = (ok: boolean, what: string, detail: string, warn = false): void => void out.push({ ok, what, detail, warn });

  const redis = new Redis(cfg.redis.url, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await timed(redis.connect(), 5000, 'redis');
    await redis.ping();
    const policy = ((await redis.config('GET', 'maxmemory-policy')) as string[])[1] ?? '';
    push(true, 'redis', `${safeUrl(cfg.redis.url)} answers`);
    if (policy !== 'noeviction') push(true, 'redis', `maxmemory-policy is ${policy}; BullMQ needs noeviction (cases could be evicted)`, true);
  } catch (e) {
    push(false, 'redis', `${safeUrl(cfg.redis.url)}: ${(e as Error).message}`);
  } finally {
    redis.disconnect();
  }

  const client = new ImapFlow({ ...imapOptions(cfg), connectionTimeout: 10_000 });
  client.on('error', () => undefined);
  try {
    await timed(client.connect(), 15_000, 'imap');
    const mb = await client.mailboxOpen(cfg.imap.inbox, { readOnly: true });
    push(true, 'imap', `${safeUrl(cfg.imap.url)} mailbox ${cfg.imap.inbox}: ${mb.exists} messages`);
    if (cfg.imap.sent) {
      try {
        const sent = await client.mailboxOpen(cfg.imap.sent, { readOnly: true });
        push(true, 'imap', `Sent folder ${cfg.imap.sent}: ${sent.exists} messages`);
      } catch (e) {
        push(false, 'imap', `Sent folder ${cfg.imap.sent}: ${(e as Error).message}`);
      }
    }
  } catch (e) {
    const err = e as Error & { authenticationFailed?: boolean };
    push(false, 'imap', `${safeUrl(cfg.imap.url)}: ${err.authenticationFailed ? 'authentication failed' : err.message}`);
  } finally {
    await client.logout().catch(() => client.close());
  }

  const mailer = createMailer(cfg, log);
  try {
    await timed(mailer.verify(), 15_000, 'smtp');
    push(true, 'smtp', `${safeUrl(cfg.smtp.url)} accepts connections`);
  } catch (e) {
    push(false, 'smtp', `${safeUrl(cfg.smtp.url)}: ${(e as Error).message}`);
  } finally {
    mailer.close();
  }

  try {
    createRenderer({ dir: cfg.templates.dir }).check();
    push(true, 'templates', cfg.templates.dir ? `built-in templates, overridden from ${cfg.templates.dir}` : 'built-in templates compile');
  } catch (e) {
    push(false, 'templates', (e as Error).message);
  }
  return out;
}

export function formatChecks(lines: CheckLine[]): string {
  return lines.map((l) => `${l.ok ? (l.warn ? 'WARN' : 'OK  ') : 'FAIL'} ${l.what.padEnd(10)} ${l.detail}`).join('\n');
}
