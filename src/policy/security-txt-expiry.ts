import { DAY } from '../duration';

/**
 * RFC 9116 §2.5.5: a security.txt MUST carry exactly one `Expires` and should be renewed well before
 * it; finders are told to treat an expired file as stale. `secdesk check` warns 30 days ahead so a
 * monthly look is enough to never publish a stale one.
 */

export const EXPIRY_WARNING = 30 * DAY;

/** RFC 3339 date-time (the "Internet profile of ISO 8601" RFC 9116 asks for). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/u;

/** Values of the `Expires` fields, ignoring comments and an OpenPGP cleartext signature's armour. */
function expiresValues(text: string): string[] {
  const values: string[] = [];
  for (const raw of text.split(/\r?\n/u)) {
    const line = raw.trim();
    if (line.startsWith('-----BEGIN PGP SIGNATURE')) break;
    const m = /^expires\s*:\s*(.*)$/iu.exec(line);
    if (m) values.push((m[1] ?? '').trim());
  }
  return values;
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A one-line warning when the security.txt is expired, expiring within 30 days, or has no valid Expires. */
export function securityTxtExpiryWarning(text: string, now: Date): string | null {
  const values = expiresValues(text);
  if (values.length === 0) return 'security.txt: no Expires field (RFC 9116 requires one)';
  if (values.length > 1) return `security.txt: ${values.length} Expires fields (RFC 9116 allows one)`;
  const value = values[0] ?? '';
  const expires = DATE_TIME.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(expires)) {
    return `security.txt: Expires "${value.slice(0, 60)}" is not an RFC 3339 date-time like 2026-01-31T00:00:00Z`;
  }
  const left = expires - now.getTime();
  if (left <= 0) {
    const ago = Math.floor(-left / DAY);
    return `security.txt: expired on ${day(expires)}${ago > 0 ? ` (${ago} days ago)` : ''}; publish a renewed one`;
  }
  if (left <= EXPIRY_WARNING) {
    const days = Math.ceil(left / DAY);
    return `security.txt: expires on ${day(expires)}, in ${days} day${days === 1 ? '' : 's'}; publish a renewed one`;
  }
  return null;
}
