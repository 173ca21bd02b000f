import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { NotFoundError, TransientError } from '../errors';
import type { Case, SkipRecord } from '../types';
import { decodeCase, encodeCase } from './case-codec';
import type { RawStore } from './raw-store';
import { createRawStore } from './raw-store';
import { CREATE_CASE, RECORD_SKIP, UPDATE_CASE } from './store-scripts';

/**
 * The case store: cases, skips, the dedupe record of every inbound message, the Message-ID → case
 * index used for threading, and the raw messages (gzip) kept for audit. Redis is the only state;
 * every write that decides what a message became is one atomic script (see store-scripts.ts).
 * Case records are stored compressed (case-codec.ts); nothing else should read `P:case:` keys.
 */

/** What an inbound message became: `case:<id>` or `skip:<key>`. */
export type Outcome = `case:${string}` | `skip:${string}`;

export interface CreateIndexes {
  alsoSeen?: string[];
  related?: string[];
  relatedMax?: number;
}

export interface CreateResult {
  created: boolean;
  caseId: string | null;
  outcome: string;
  /** When created: the bytes written (the base for an update that follows, see UpdateOptions). */
  stored?: Buffer;
}

export interface UpdateOptions {
  /** Dedupe key of the inbound message this update records; the update is skipped if already seen. */
  dedupe?: string;
  /** Message-IDs that now belong to the case (threading index). */
  messageIds?: string[];
  /**
   * The record's bytes as this caller last read or wrote them (`getStored`, or `stored` of an
   * update): the first attempt starts from them instead of reading the case again. A stale base
   * costs nothing but a failed compare-and-set and a fresh read.
   */
  base?: Buffer;
}

export type UpdateResult<T> = { applied: true; value: Case; result: T; stored: Buffer } | { applied: false; outcome: string };

/** A case and the exact bytes it was decoded from (the base for a following update). */
export interface StoredCase {
  value: Case;
  stored: Buffer;
}

export interface CaseStore {
  /**
   * Create a case from `draft` (its `id` is allocated here) unless `dedupe` was seen before. In the
   * same atomic write: `alsoSeen` dedupe keys get the same outcome (if they have none), and the case
   * is filed under each `related` key (P:related:<key>, newest `relatedMax` kept).
   */
  createCase(draft: Omit<Case, 'id'>, dedupe: string, messageIds: string[], more?: CreateIndexes): Promise<CreateResult>;
  get(id: string): Promise<Case | null>;
  mustGet(id: string): Promise<Case>;
  /** Like mustGet, with the stored bytes, so that an update can follow without reading again. */
  mustGetStored(id: string): Promise<StoredCase>;
  getMany(ids: string[]): Promise<(Case | null)[]>;
  /**
   * Read-modify-write with optimistic locking. `mutate` may be called more than once (on conflict)
   * and must be a pure function of the case it is given. Returning `null` makes no change.
   */
  update<T = void>(id: string, mutate: (c: Case) => { value: Case; result: T } | null, opts?: UpdateOptions): Promise<UpdateResult<T>>;
  /** Case IDs in order of arrival (oldest first). */
  listIds(opts?: { openOnly?: boolean }): Promise<string[]>;
  /** The case a Message-ID belongs to. */
  caseForMessageId(messageId: string): Promise<string | null>;
  casesForMessageIds(messageIds: string[]): Promise<(string | null)[]>;
  /** What a dedupe key became, if anything. */
  outcome(dedupe: string): Promise<string | null>;
  /** Record an extra dedupe key (e.g. the content hash) for an outcome, if it has none yet. */
  markSeen(dedupe: string, outcome: string): Promise<void>;
  recordSkip(skip: Omit<SkipRecord, 'key'>, dedupe: string): Promise<{ recorded: boolean; key: string; outcome: string }>;
  listSkips(): Promise<SkipRecord[]>;
  /**
   * Mark one mail of a case (`ack`, `chaser_reply#3`, …) as being sent, for `ttlMs` (P:sending:…):
   * false when it already is. At most one run sends a mail; the mark outlives a run that died.
   */
  claimSend(caseId: string, mail: string, ttlMs: number): Promise<boolean>;
  releaseSend(caseId: string, mail: string): Promise<void>;
  isSending(caseId: string, mail: string): Promise<boolean>;
  /** Raw messages, gzip'd: see RawStore in raw-store.ts. */
  putRaw: RawStore['put'];
  putRawStream: RawStore['putStream'];
  getRaw: RawStore['get'];
  openRaw: RawStore['open'];
  hasRaw: RawStore['has'];
  rawMessage: RawStore['message'];
}

export interface CaseStoreDeps {
  redis: Redis;
  prefix: string;
}

const CMD_CREATE = 'secdeskCreateCase';
const CMD_UPDATE = 'secdeskUpdateCase';
const CMD_SKIP = 'secdeskRecordSkip';
const MAX_CONFLICT_RETRIES = 50;

type Cmd = (...args: (string | number | Buffer)[]) => Promise<unknown>;

function scoreOf(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : t;
}

/** `open` means a clock or the case is still running: SLA reconcile walks only these. */
export function isOpenCase(c: Case): boolean {
  // `rejected` stays open: its acknowledge clock may still be running (see sla-decide isClockOpen).
  return c.state !== 'resolved' && c.kind !== 'support';
}

export function createCaseStore({ redis, prefix: p }: CaseStoreDeps): CaseStore {
  if (!(CMD_CREATE in redis)) {
    redis.defineCommand(CMD_CREATE, { numberOfKeys: 5, lua: CREATE_CASE });
    redis.defineCommand(CMD_UPDATE, { numberOfKeys: 4, lua: UPDATE_CASE });
    redis.defineCommand(CMD_SKIP, { numberOfKeys: 2, lua: RECORD_SKIP });
  }
  const cmd = (name: string): Cmd => (redis as unknown as Record<string, Cmd>)[name] as Cmd;
  const k = {
    seen: `${p}:seen`,
    thread: `${p}:thread`,
    cases: `${p}:cases`,
    open: `${p}:open`,
    skips: `${p}:skips`,
    case: (id: string) => `${p}:case:${id}`,
    skip: (key: string) => `${p}:skip:${key}`,
    seq: (year: string) => `${p}:seq:${year}`,
    sending: (id: string, mail: string) => `${p}:sending:${id}:${mail}`,
  };

  // Raw messages (see raw-store.ts): big ones are streamed in and out rather than held whole.
  const raw = createRawStore({ redis, prefix: p });

  /** The stored bytes of a case; an ID that cannot be one (hostile input: a subject tag) reads nothing. */
  const readStored = async (id: string): Promise<Buffer | null> => (/^[A-Za-z0-9-]{1,40}$/.test(id) ? redis.getBuffer(k.case(id)) : null);

  const store: CaseStore = {
    async createCase(draft, dedupe, messageIds, more = {}) {
      const alsoSeen = more.alsoSeen ?? [];
      const related = more.related ?? [];
      // The ID is allocated inside the script and is not part of the record: the key carries it.
      const year = String(new Date(draft.received_at).getUTCFullYear() || new Date().getUTCFullYear());
      const stored = encodeCase(draft);
      const res = (await cmd(CMD_CREATE).call(
        redis,
        k.seen,
        k.thread,
        k.seq(year),
        k.cases,
        k.open,
        dedupe,
        stored,
        year,
        p,
        scoreOf(draft.received_at),
        messageIds.length,
        alsoSeen.length,
        related.length,
        more.relatedMax ?? 200,
        ...messageIds,
        ...alsoSeen,
        ...related,
      )) as [number, string];
      if (res[0] === 1) return { created: true, caseId: res[1], outcome: `case:${res[1]}`, stored };
      const outcome = res[1];
      return { created: false, caseId: outcome.startsWith('case:') ? outcome.slice(5) : null, outcome };
    },

    async get(id) {
      const stored = await readStored(id);
      return stored === null ? null : decodeCase(id, stored);
    },

    async mustGet(id) {
      const c = await store.get(id);
      if (!c) throw new NotFoundError(`case ${id}`);
      return c;
    },

    async mustGetStored(id) {
      const stored = await readStored(id);
      if (!stored) throw new NotFoundError(`case ${id}`);
      return { value: decodeCase(id, stored), stored };
    },

    async getMany(ids) {
      const out: (Case | null)[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        if (chunk.length === 0) break;
        const vals = await redis.mgetBuffer(chunk.map(k.case));
        chunk.forEach((id, j) => {
          const v = vals[j];
          out.push(v ? decodeCase(id, v) : null);
        });
      }
      return out;
    },

    async update(id, mutate, opts = {}) {
      for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
        const old = attempt === 0 && opts.base ? opts.base : await redis.getBuffer(k.case(id));
        if (old === null) throw new NotFoundError(`case ${id}`);
        // A message already seen is not checked here: the script checks the dedupe key atomically
        // (and mutate is pure, so running it for nothing costs only the time).
        const current = decodeCase(id, old);
        const wasOpen = isOpenCase(current);
        // `current` is our own fresh parse: mutate may change it in place.
        const out = mutate(current);
        if (out === null) return { applied: false, outcome: 'unchanged' };
        const openFlag = wasOpen === isOpenCase(out.value) ? '' : isOpenCase(out.value) ? '1' : '0';
        const stored = encodeCase(out.value);
        const res = (await cmd(CMD_UPDATE).call(
          redis,
          k.case(id),
          k.seen,
          k.thread,
          k.open,
          // The lock hashes the exact bytes read, whatever their format (a legacy JSON record too).
          createHash('sha1').update(old).digest('hex'),
          stored,
          opts.dedupe ?? '',
          `case:${id}`,
          openFlag,
          scoreOf(out.value.received_at),
          id,
          ...(opts.messageIds ?? []),
        )) as number | [number, string];
        if (Array.isArray(res)) return { applied: false, outcome: res[1] };
        if (res === 1) return { applied: true, value: out.value, result: out.result, stored };
        // someone else changed the case between our read and write: read again
      }
      throw new TransientError('EConflict', `case ${id}: too many concurrent updates`);
    },

    async listIds(opts = {}) {
      return redis.zrange(opts.openOnly ? k.open : k.cases, '0', '-1');
    },

    async caseForMessageId(messageId) {
      return redis.hget(k.thread, messageId);
    },

    async casesForMessageIds(messageIds) {
      if (messageIds.length === 0) return [];
      return redis.hmget(k.thread, ...messageIds);
    },

    async outcome(dedupe) {
      return redis.hget(k.seen, dedupe);
    },

    async markSeen(dedupe, outcome) {
      await redis.hsetnx(k.seen, dedupe, outcome);
    },

    async recordSkip(skip, dedupe) {
      const key = `${Date.parse(skip.at) || Date.now()}-${randomBytes(4).toString('hex')}`;
      const json = JSON.stringify({ key, ...skip });
      const res = (await cmd(CMD_SKIP).call(redis, k.seen, k.skips, dedupe, key, json, scoreOf(skip.at), p)) as [number, string];
      return { recorded: res[0] === 1, key: res[0] === 1 ? key : res[1].replace(/^skip:/, ''), outcome: res[0] === 1 ? `skip:${key}` : res[1] };
    },

    async listSkips() {
      const keys = await redis.zrange(k.skips, '0', '-1');
      const out: SkipRecord[] = [];
      for (let i = 0; i < keys.length; i += 500) {
        const vals = await redis.mget(keys.slice(i, i + 500).map(k.skip));
        for (const v of vals) if (v) out.push(JSON.parse(v) as SkipRecord);
      }
      return out;
    },

    async claimSend(id, mail, ttlMs) {
      return (await redis.set(k.sending(id, mail), '1', 'PX', ttlMs, 'NX')) === 'OK';
    },

    async releaseSend(id, mail) {
      await redis.del(k.sending(id, mail));
    },

    async isSending(id, mail) {
      return (await redis.exists(k.sending(id, mail))) === 1;
    },

    putRaw: raw.put,
    putRawStream: raw.putStream,
    getRaw: raw.get,
    openRaw: raw.open,
    hasRaw: raw.has,
    rawMessage: raw.message,
  };
  return store;
}
