/**
 * The Lua scripts that make each ingest decision atomic in Redis. Each one checks the inbound
 * dedupe record first, so a message handled twice (a crash between commit and acknowledging the
 * job, a UIDVALIDITY re-scan, a re-delivered copy) changes nothing the second time.
 *
 * Key layout (P = prefix): P:seen (hash dedupe → outcome), P:thread (hash Message-ID → case ID),
 * P:case:<id> (case record: binary, see case-codec.ts — scripts move its bytes, never look inside),
 * P:cases (zset id → received ms), P:open (zset of cases with open clocks), P:seq:<year> (case
 * counter), P:skip:<key> (skip JSON), P:skips (zset key → ms).
 */

/**
 * Create a case: the dedupe check, the next number of the year and every index in one script, so no
 * number is ever skipped or given twice. KEYS: seen, thread, seq, cases, open. ARGV: dedupe, record
 * (its ID lives only in the key), year, prefix, score, then three counts — Message-IDs to index,
 * extra dedupe keys (e.g. the content hash) that name the same outcome, related-case index keys
 * (zsets under P:related:, each kept to its newest `relatedMax`) — then relatedMax and the lists.
 * Returns {1, id} when created, {0, outcome} when the dedupe key already had an outcome.
 */
export const CREATE_CASE = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {0, existing} end
local n = redis.call('INCR', KEYS[3])
local id = string.format('SEC-%s-%04d', ARGV[3], n)
redis.call('SET', ARGV[4] .. ':case:' .. id, ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[5], id)
redis.call('ZADD', KEYS[5], ARGV[5], id)
redis.call('HSET', KEYS[1], ARGV[1], 'case:' .. id)
local nIds, nSeen, nRel, relMax = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local i = 10
for _ = 1, nIds do redis.call('HSETNX', KEYS[2], ARGV[i], id); i = i + 1 end
for _ = 1, nSeen do redis.call('HSETNX', KEYS[1], ARGV[i], 'case:' .. id); i = i + 1 end
for _ = 1, nRel do
  local key = ARGV[4] .. ':related:' .. ARGV[i]
  redis.call('ZADD', key, ARGV[5], id)
  redis.call('ZREMRANGEBYRANK', key, 0, -(relMax + 1))
  i = i + 1
end
return {1, id}
`;

/**
 * Compare-and-set a case: write `new` only if the stored record still hashes to `old` (SHA-1 of the
 * bytes the caller read: an optimistic lock that works on a shared connection, unlike WATCH, without
 * sending the old record back). KEYS: case, seen, thread, open.
 * ARGV: old sha1, new, dedupe ('' for none), outcome, open flag ('1' open, '0' closed, '' unchanged),
 * score, then Message-IDs to index. Returns 1 written, 0 conflict, {2, outcome} already seen.
 */
export const UPDATE_CASE = `
if ARGV[3] ~= '' then
  local existing = redis.call('HGET', KEYS[2], ARGV[3])
  if existing then return {2, existing} end
end
local cur = redis.call('GET', KEYS[1])
if not cur or redis.sha1hex(cur) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) end
if ARGV[5] == '1' then redis.call('ZADD', KEYS[4], ARGV[6], ARGV[7]) end
if ARGV[5] == '0' then redis.call('ZREM', KEYS[4], ARGV[7]) end
for i = 8, #ARGV do redis.call('HSETNX', KEYS[3], ARGV[i], ARGV[7]) end
return 1
`;

/**
 * Record a skip once per dedupe key. KEYS: seen, skips. ARGV: dedupe, skip key, json, score, prefix.
 * Returns {1, key} recorded, {0, outcome} already seen.
 */
export const RECORD_SKIP = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {0, existing} end
redis.call('SET', ARGV[5] .. ':skip:' .. ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], 'skip:' .. ARGV[2])
return {1, ARGV[2]}
`;
