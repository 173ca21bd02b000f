import type { FolderWatcher, FolderWatcherDeps } from './folder-watcher';
import { createFolderWatcher } from './folder-watcher';
import { createLease } from './lease';

/**
 * The poller: one active instance across all machines (a Redis lease), watching the inbox and, when
 * configured, the shared mailbox's Sent folder (maintainer replies written there count as answers).
 */

export interface Poller {
  /** Wait for the lease, then watch. Resolves once watching has started. */
  start(): Promise<void>;
  readonly leader: boolean;
  /** Sync every folder now (tests and the demo use it to avoid waiting for IDLE). */
  syncNow(): Promise<void>;
  close(): Promise<void>;
}

/** The lease outlives a renewal gap of ttl/3; a dead holder is replaced within ttl + ttl/3. */
export const LEASE_TTL_MS = 15_000;

export function createPoller(deps: FolderWatcherDeps & { leaseTtlMs?: number }): Poller {
  const log = deps.log.child({ component: 'poller' });
  let watchers: FolderWatcher[] = [];
  let closing: Promise<void> | null = null;
  let starting: Promise<void> | null = null;

  const stopWatchers = async (): Promise<void> => {
    const ws = watchers;
    watchers = [];
    await Promise.allSettled(ws.map((w) => w.close()));
  };

  const lease = createLease({
    redis: deps.redis,
    key: `${deps.cfg.redis.prefix}:poller-lease`,
    ttlMs: deps.leaseTtlMs ?? LEASE_TTL_MS,
    log,
    onLost: () => {
      // Someone else polls now: stop, then stand by for the lease again.
      void stopWatchers().then(() => {
        if (!closing) starting = run();
      });
    },
  });

  async function run(): Promise<void> {
    try {
      await lease.acquire();
    } catch {
      return; // closed while waiting
    }
    if (closing) return;
    watchers = [createFolderWatcher(deps, 'inbox', deps.cfg.imap.inbox)];
    if (deps.cfg.imap.sent) watchers.push(createFolderWatcher(deps, 'sent', deps.cfg.imap.sent));
    for (const w of watchers) w.start();
  }

  return {
    start() {
      starting ??= run();
      return starting;
    },
    get leader() {
      return lease.held;
    },
    async syncNow() {
      await Promise.all(watchers.map((w) => w.syncNow()));
    },
    close() {
      closing ??= (async () => {
        await stopWatchers();
        await lease.close();
        await starting?.catch(() => undefined);
      })();
      return closing;
    },
  };
}
