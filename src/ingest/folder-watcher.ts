import { ImapFlow } from 'imapflow';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { Logger } from '../log';
import type { IngestJob, Queues } from '../queues';
import { jobIds, mailboxTag } from '../queues';
import type { CaseStore } from '../store/case-store';
import { RawTooLargeError } from '../store/raw-store';

/**
 * Watches one IMAP folder and hands every new message on to the ingest queue, exactly once:
 *
 *   raw bytes → Redis (gzip; big ones streamed in ranges)  →  ingest job (deterministic ID)  →  checkpoint (UIDVALIDITY, last UID)
 *   →  handled keyword on the message
 *
 * Each step is idempotent, so a crash anywhere only repeats steps. A changed UIDVALIDITY resets
 * the checkpoint and re-scans the folder; the ingest stage recognises what it has seen (by
 * Message-ID, or a content hash) so nothing is duplicated. Nothing is ever deleted or moved.
 *
 * IDLE is imapflow's auto-IDLE (a NOOP poll on servers without IDLE); `exists` events and a
 * safety-net timer trigger a sync. A dropped connection is replaced with a new ImapFlow after a
 * backoff (imapflow does not reconnect by itself), and the sync catches up from the checkpoint.
 */

export interface FolderWatcherDeps {
  cfg: Config;
  redis: Redis;
  store: CaseStore;
  queues: Queues;
  log: Logger;
  clock: Clock;
}

export interface FolderWatcher {
  readonly folder: 'inbox' | 'sent';
  start(): void;
  /** Resolves when the next sync that starts after this call has finished (tests, `secdesk check`). */
  syncNow(): Promise<void>;
  close(): Promise<void>;
}

/** Fetch bodies in batches of this many messages or bytes, whichever comes first. */
const BATCH_MESSAGES = 200;
const BATCH_BYTES = 16 * 1024 * 1024;

/**
 * Messages at least this big are not fetched in a batch: each is fetched alone, in ranges of
 * FETCH_RANGE_BYTES (BODY.PEEK[]<offset.length>), and streamed through gzip into the raw store, so
 * the poller holds about one range of it at a time, never the whole message.
 */
export const STREAM_MESSAGE_BYTES = 1024 * 1024;
const FETCH_RANGE_BYTES = 1024 * 1024;

interface Meta {
  uid: number;
  size: number;
  internalDate: Date;
}

export function imapOptions(cfg: Config): ConstructorParameters<typeof ImapFlow>[0] {
  const u = new URL(cfg.imap.url);
  const secure = u.protocol === 'imaps:';
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 993 : 143,
    secure,
    auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) },
    logger: false,
    tls: { rejectUnauthorized: cfg.imap.tls_reject_unauthorized },
    maxIdleTime: Math.min(cfg.imap.poll_interval, 5 * 60_000),
    // IDLE is what makes new mail show up within a second; imapflow waits 15 s by default.
    autoIdleDelay: 250,
  };
}

export function createFolderWatcher(deps: FolderWatcherDeps, folder: 'inbox' | 'sent', mailbox: string): FolderWatcher {
  const { cfg, redis, store, queues, clock } = deps;
  const log = deps.log.child({ component: 'poller', folder, mailbox });
  const tag = mailboxTag(mailbox);
  const ckptKey = `${cfg.redis.prefix}:ckpt:${tag}`;
  const inflightKey = `${cfg.redis.prefix}:inflight:${tag}`;
  let client: ImapFlow | null = null;
  let closed = false;
  let running: Promise<void> | null = null;
  let syncing: Promise<void> | null = null;
  let again = false;
  let waiters: (() => void)[] = [];
  let safetyTimer: NodeJS.Timeout | null = null;
  let wakeLoop: (() => void) | null = null;

  async function checkpoint(): Promise<{ uidValidity: string | null; lastUid: number }> {
    const h = await redis.hgetall(ckptKey);
    return { uidValidity: h.uidValidity ?? null, lastUid: Number(h.lastUid ?? 0) };
  }

  /** One pass: everything above the checkpoint is stored, queued and marked. */
  async function syncOnce(c: ImapFlow): Promise<void> {
    const mb = c.mailbox;
    if (!mb) return;
    const uidValidity = String(mb.uidValidity);
    const ckpt = await checkpoint();
    const seenValidity = ckpt.uidValidity;
    let lastUid = ckpt.lastUid;
    if (seenValidity !== uidValidity) {
      if (seenValidity !== null) log.warn({ old: seenValidity, new: uidValidity }, 'poller.uidvalidity_changed');
      lastUid = 0;
      await redis.hset(ckptKey, { uidValidity, lastUid: 0 });
    }
    // uidNext is only as fresh as the last SELECT; `exists` follows untagged EXISTS responses.
    if (mb.exists === 0) return;

    // Envelope-free listing first: sizes decide the batches so one 20 MB mail never shares memory.
    const metas: Meta[] = [];
    for await (const m of c.fetch(`${lastUid + 1}:*`, { uid: true, size: true, internalDate: true }, { uid: true })) {
      // `n:*` always returns the last message, even when its UID is below n.
      if (m.uid > lastUid) metas.push({ uid: m.uid, size: m.size ?? 0, internalDate: m.internalDate instanceof Date ? m.internalDate : new Date(String(m.internalDate ?? clock.now().toISOString())) });
    }
    metas.sort((a, b) => a.uid - b.uid);
    let batch: typeof metas = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await handOn(c, uidValidity, batch);
      batch = [];
      bytes = 0;
    };
    for (const m of metas) {
      if (closed) return;
      if (batch.length > 0 && (batch.length >= BATCH_MESSAGES || bytes + m.size > BATCH_BYTES)) await flush();
      batch.push(m);
      bytes += m.size;
    }
    await flush();
  }

  async function handOn(c: ImapFlow, uidValidity: string, metas: Meta[]): Promise<void> {
    const byUid = new Map(metas.map((m) => [m.uid, m]));
    const max = cfg.limits.max_message_bytes;
    const jobs: IngestJob[] = [];
    const rawKeyOf = (uid: number): string => `${tag}-${uidValidity}-${uid}`;
    const queue = (meta: Meta, size = meta.size): void => {
      jobs.push({ folder, mailbox, uidValidity, uid: meta.uid, rawKey: rawKeyOf(meta.uid), internalDate: meta.internalDate.toISOString(), size });
    };
    const fetched = async (uids: number[], query: { source?: boolean; headers?: boolean }, sizes?: Map<number, number>): Promise<void> => {
      if (uids.length === 0) return;
      const raws: { uid: number; raw: Buffer }[] = [];
      for await (const m of c.fetch(uids.join(','), { uid: true, ...query }, { uid: true })) {
        // imapflow hands each literal over as a Buffer of its own: no copy needed.
        const raw = query.source ? m.source : m.headers;
        if (raw) raws.push({ uid: m.uid, raw });
      }
      for (const { uid, raw } of raws) {
        const meta = byUid.get(uid);
        if (!meta) continue;
        await store.putRaw(rawKeyOf(uid), raw);
        queue(meta, sizes?.get(uid));
      }
    };
    await fetched(metas.filter((m) => m.size < STREAM_MESSAGE_BYTES && m.size <= max).map((m) => m.uid), { source: true });
    // Big ones alone, in ranges, straight through gzip into Redis: never held whole.
    const overLimit = new Map<number, number>();
    for (const m of metas.filter((x) => x.size >= STREAM_MESSAGE_BYTES && x.size <= max)) {
      if (closed) return; // nothing queued or checkpointed: the next run does this batch again
      const dl = await c.download(String(m.uid), undefined, { uid: true, chunkSize: FETCH_RANGE_BYTES });
      if (!dl.content) continue; // gone since it was listed (expunged): as with a batch FETCH
      try {
        const { bytes } = await store.putRawStream(rawKeyOf(m.uid), dl.content, { maxBytes: max });
        if (bytes !== m.size) log.warn({ uid: m.uid, size: m.size, bytes }, 'poller.size_mismatch');
        queue(m);
      } catch (e) {
        // Longer than RFC822.SIZE said and over the limit: handled like any message over it.
        if (!(e instanceof RawTooLargeError)) throw e;
        overLimit.set(m.uid, e.bytes);
      }
    }
    // Too big to parse: the headers are kept and the ingest stage records why it went no further.
    await fetched([...metas.filter((m) => m.size > max).map((m) => m.uid), ...overLimit.keys()], { headers: true }, overLimit);
    jobs.sort((a, b) => a.uid - b.uid);
    if (jobs.length > 0) {
      await redis.zadd(inflightKey, ...jobs.flatMap((j) => [j.uid, String(j.uid)]));
      await queues.ingest.addBulk(jobs.map((data) => ({ name: 'ingest', data, opts: { jobId: jobIds.ingest(data), attempts: 20, backoff: { type: 'exponential', delay: 1000 } } })));
    }
    const maxUid = Math.max(...metas.map((m) => m.uid));
    await redis.hset(ckptKey, { uidValidity, lastUid: maxUid });
    log.info({ count: jobs.length, lastUid: maxUid }, 'poller.queued');
    try {
      await c.messageFlagsAdd(metas.map((m) => m.uid).join(','), [cfg.imap.handled_keyword], { uid: true });
    } catch (err) {
      // The keyword is for humans looking at the mailbox; the checkpoint is what counts.
      log.warn({ err: { message: (err as Error).message } }, 'poller.keyword_failed');
    }
  }

  function requestSync(): Promise<void> {
    const done = new Promise<void>((resolve) => waiters.push(resolve));
    if (syncing) {
      again = true;
      return done;
    }
    const c = client;
    if (!c || !c.usable) return done; // the connect loop syncs on connect and releases the waiters
    const w = waiters;
    waiters = [];
    syncing = syncOnce(c)
      .catch((err: Error) => {
        log.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'poller.sync_failed');
        // A failing sync usually means the connection is gone: drop it so the loop reconnects.
        c.close();
      })
      .finally(() => {
        syncing = null;
        w.forEach((f) => f());
        if (again && !closed) {
          again = false;
          void requestSync();
        }
      });
    return done;
  }

  async function connectLoop(): Promise<void> {
    let delay = 500;
    while (!closed) {
      const c = new ImapFlow(imapOptions(cfg));
      const gone = new Promise<void>((resolve) => {
        c.on('close', () => resolve());
        c.on('error', (err: Error) => {
          log.warn({ err: { message: err.message } }, 'poller.connection_error');
          resolve();
        });
      });
      try {
        await c.connect();
        await c.mailboxOpen(mailbox);
        client = c;
        delay = 500;
        log.info({ exists: c.mailbox ? c.mailbox.exists : 0 }, 'poller.connected');
        c.on('exists', () => void requestSync());
        await requestSync();
        // close() may have run while we connected: its wakeLoop() call is then already spent.
        if (!closed) await Promise.race([gone, new Promise<void>((resolve) => (wakeLoop = resolve))]);
      } catch (err) {
        const e = err as Error & { authenticationFailed?: boolean };
        log.warn({ err: { message: e.message, authenticationFailed: e.authenticationFailed } }, 'poller.connect_failed');
      } finally {
        client = null;
        c.close();
      }
      if (closed) break;
      // Waiters of a sync that could not run are released; they can ask again.
      const w = waiters;
      waiters = [];
      w.forEach((f) => f());
      await new Promise<void>((resolve) => {
        wakeLoop = resolve;
        setTimeout(resolve, delay).unref();
      });
      delay = Math.min(delay * 2, cfg.imap.reconnect_max);
    }
  }

  return {
    folder,
    start() {
      if (running || closed) return;
      running = connectLoop();
      safetyTimer = setInterval(() => void requestSync(), cfg.imap.poll_interval);
      safetyTimer.unref();
    },
    syncNow: requestSync,
    async close() {
      if (closed) return running ?? undefined;
      closed = true;
      if (safetyTimer) clearInterval(safetyTimer);
      wakeLoop?.();
      if (syncing) await syncing.catch(() => undefined);
      if (client) await client.logout().catch(() => client?.close());
      await running;
      waiters.forEach((f) => f());
    },
  };
}
