/**
 * Identifier alignment (RFC 7489 §3.1) in the simple form secdesk uses: a signing domain is aligned
 * with the From domain when it is the same domain or a parent of it ("relaxed" alignment without a
 * Public Suffix List). Only someone who controls DNS at the signing domain can publish its key, so
 * a parent that is a public suffix (co.uk, github.io) only helps its registry, never an attacker; a
 * bare TLD (no dot) is refused all the same.
 */

/** Lower-cased, without a trailing root dot; '' for anything that is not a plausible domain name. */
export function normalizeDomain(d: string | null | undefined): string {
  const s = (d ?? '').trim().toLowerCase().replace(/\.$/, '');
  return /^[a-z0-9_](?:[a-z0-9_.-]{0,251}[a-z0-9])?$/.test(s) && !s.includes('..') ? s : '';
}

/** The domain of an address ("Alice@Example.Test" → "example.test", "@example.test" too); '' if none. */
export function domainOf(address: string | null | undefined): string {
  const s = (address ?? '').trim();
  const at = s.lastIndexOf('@');
  return at < 0 ? '' : normalizeDomain(s.slice(at + 1).replace(/>$/, ''));
}

/** Is `signingDomain` the From domain or a parent of it? */
export function isAligned(fromDomain: string, signingDomain: string): boolean {
  const from = normalizeDomain(fromDomain);
  const d = normalizeDomain(signingDomain);
  if (!from || !d || !d.includes('.')) return false;
  return from === d || from.endsWith(`.${d}`);
}
