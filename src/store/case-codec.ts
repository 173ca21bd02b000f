import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { CorruptCaseError } from '../errors';
import type { Case } from '../types';
import { CASE_DICTIONARY_V1 } from './case-dictionary';

/**
 * How a case record is stored under `P:case:<id>`: one format tag byte, then the case JSON without
 * its `id` (the key carries it), deflated (raw, no zlib header) against a preset dictionary of the
 * JSON's key names. A new case's 1.4 KB of mostly key names shrinks to a few hundred bytes, which is
 * most of the Redis memory an open case costs.
 *
 * Records written before the codec are plain JSON (first byte `{`) and are still read; the next
 * update rewrites them in the current format. Pure: no I/O.
 */

/** Format tag of v1 records. Never `{` (0x7b), which starts a legacy JSON record. */
export const CASE_FORMAT_V1 = 0x01;
const LEGACY_JSON = 0x7b;

// Records are 1-3 KB and written on every update (three times per acknowledged report). An 8 KB
// window still holds the 4.4 KB dictionary and a typical record, and small hash tables make each
// call allocate ~40 KB instead of ~270 KB: half the time of the defaults, within 1 % of level 9's
// size (measured on the bench's records). Any window inflates with the default one.
const DEFLATE = { dictionary: CASE_DICTIONARY_V1, level: 6, windowBits: 13, memLevel: 2 };
const INFLATE = { dictionary: CASE_DICTIONARY_V1 };

/** The stored bytes of a case (any `id` on it is left out). */
export function encodeCase(c: Omit<Case, 'id'> & { id?: string }): Buffer {
  const rest: Record<string, unknown> = { ...c };
  delete rest.id;
  const body = deflateRawSync(Buffer.from(JSON.stringify(rest), 'utf8'), DEFLATE);
  return Buffer.concat([Buffer.from([CASE_FORMAT_V1]), body]);
}

/**
 * The JSON text inside a stored record (v1 or legacy), for whoever must look at what is stored
 * rather than at a `Case` (e.g. a scan for plaintext that must not be there).
 * Throws CorruptCaseError for bytes that are neither.
 */
export function caseJsonBytes(stored: Buffer, what = 'case record'): Buffer {
  if (stored.length === 0) throw new CorruptCaseError(what, 'empty value');
  const tag = stored[0];
  if (tag === LEGACY_JSON) return stored;
  if (tag !== CASE_FORMAT_V1) throw new CorruptCaseError(what, `unknown format tag 0x${(tag ?? 0).toString(16).padStart(2, '0')}`);
  try {
    return inflateRawSync(stored.subarray(1), INFLATE);
  } catch (e) {
    throw new CorruptCaseError(what, `cannot inflate (${(e as Error).message})`, e);
  }
}

/** The case stored under `P:case:<id>`; `id` is taken from the key. Throws CorruptCaseError. */
export function decodeCase(id: string, stored: Buffer): Case {
  const what = `case ${id}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(caseJsonBytes(stored, what).toString('utf8'));
  } catch (e) {
    if (e instanceof CorruptCaseError) throw e;
    throw new CorruptCaseError(what, `not JSON (${(e as Error).message})`, e);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CorruptCaseError(what, 'not a JSON object');
  // `id` first, as the JSON has always been printed; the key wins over anything stored.
  const c = { id, ...(parsed as Omit<Case, 'id'>) } as Case;
  c.id = id;
  return c;
}
