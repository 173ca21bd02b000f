/**
 * Small address helpers shared by the auto-reply policy, composition and the rate limiter. Every
 * address here came from hostile mail: nothing that fails `isBareAddress` is ever used as a recipient.
 */

/** A bare addr-spec as we are willing to send to: no display name, brackets, spaces or controls. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const BARE_ADDRESS_RE = /^[^\s@<>()[\]\\,;:"\x00-\x1f\x7f]{1,64}@[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/i;

export function isBareAddress(addr: string): boolean {
  return addr.length <= 254 && BARE_ADDRESS_RE.test(addr) && !addr.includes('..');
}

/** Lower-case, trim and strip one pair of angle brackets; `''` for the null path `<>`. */
export function normalizeAddress(addr: string): string {
  let a = addr.trim();
  if (a.startsWith('<') && a.endsWith('>')) a = a.slice(1, -1).trim();
  return a.toLowerCase();
}

export function localPart(addr: string): string {
  const at = addr.lastIndexOf('@');
  return at < 0 ? addr : addr.slice(0, at);
}

export function domainOf(addr: string): string {
  const at = addr.lastIndexOf('@');
  return at < 0 ? '' : addr.slice(at + 1).toLowerCase();
}

/**
 * Local parts that belong to software, not people: bounce handlers, list managers and "do not reply"
 * senders. Replying to them is at best wasted and at worst the start of a loop (RFC 3834 §2, §3.2).
 * Matched against the local part with any `+tag` removed.
 */
const ROBOT_LOCAL_RES: [RegExp, string][] = [
  [/^mailer[-_.]?daemon$/, 'mailer-daemon'],
  [/^postmaster$/, 'postmaster'],
  [/no[-_.]?reply/, 'noreply'],
  [/do[-_.]?not[-_.]?reply/, 'noreply'],
  [/^(bounces?|bounce[-_.].*|.*[-_.]bounces?)$/, 'bounce handler'],
  [/^(listserv|majordomo|mailman|owner-.+|.+-owner|.+-request)$/, 'mailing-list manager'],
];

/** Which kind of robot the address belongs to, or null for a plausible human. */
export function robotAddressKind(addr: string): string | null {
  const local = localPart(addr).toLowerCase().replace(/\+.*$/, '');
  for (const [re, kind] of ROBOT_LOCAL_RES) if (re.test(local)) return kind;
  return null;
}
