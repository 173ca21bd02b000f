/**
 * Test-side IMAP helpers: put messages into a mailbox (as a mail server's delivery would) and read
 * a mailbox back for assertions. One short-lived imapflow connection per call.
 */
import { ImapFlow } from 'imapflow';

export interface ImapTarget {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  pass: string;
}

export interface FetchedMessage {
  uid: number;
  source: Buffer;
  flags: Set<string>;
  internalDate: Date;
}

/** Parse `imap://user:pass@host:port` (or `imaps://`); user and password are percent-decoded. */
export function parseImapUrl(imapUrl: string): ImapTarget {
  const u = new URL(imapUrl);
  if (u.protocol !== 'imap:' && u.protocol !== 'imaps:') throw new Error(`not an imap:// or imaps:// URL: ${u.protocol}`);
  const secure = u.protocol === 'imaps:';
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 993 : 143,
    secure,
    user: decodeURIComponent(u.username),
    pass: decodeURIComponent(u.password),
  };
}

async function withClient<T>(imapUrl: string, fn: (client: ImapFlow) => Promise<T>): Promise<T> {
  const t = parseImapUrl(imapUrl);
  const client = new ImapFlow({
    host: t.host,
    port: t.port,
    secure: t.secure,
    auth: { user: t.user, pass: t.pass },
    logger: false,
  });
  // Without a listener a dropped connection would be an unhandled 'error' event.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

/** APPEND each raw message to `mailbox`, in order; returns the UIDs Dovecot assigned (UIDPLUS). */
export async function appendMessages(
  imapUrl: string,
  mailbox: string,
  raws: (Buffer | string)[],
  opts: { internalDate?: Date; flags?: string[] } = {},
): Promise<{ uid: number }[]> {
  return withClient(imapUrl, async (client) => {
    const out: { uid: number }[] = [];
    for (const raw of raws) {
      const res = await client.append(mailbox, raw, opts.flags ?? [], opts.internalDate);
      if (!res || typeof res.uid !== 'number') throw new Error(`APPEND to ${mailbox} returned no UID (server without UIDPLUS?)`);
      out.push({ uid: res.uid });
    }
    return out;
  });
}

/** Every message of `mailbox` with its source, flags and INTERNALDATE, in UID order. */
export async function fetchAll(imapUrl: string, mailbox: string): Promise<FetchedMessage[]> {
  return withClient(imapUrl, async (client) => {
    const lock = await client.getMailboxLock(mailbox, { readOnly: true });
    try {
      if (client.mailbox === false || client.mailbox.exists === 0) return [];
      const msgs = await client.fetchAll('1:*', { uid: true, source: true, flags: true, internalDate: true }, { uid: true });
      return msgs
        .map((m) => ({
          uid: m.uid,
          source: m.source ?? Buffer.alloc(0),
          flags: m.flags ?? new Set<string>(),
          internalDate: m.internalDate instanceof Date ? m.internalDate : new Date(m.internalDate ?? 0),
        }))
        .sort((a, b) => a.uid - b.uid);
    } finally {
      lock.release();
    }
  });
}
