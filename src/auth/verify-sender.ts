import { Resolver as DnsResolver } from 'node:dns/promises';
import type { DkimResult, dkimVerify as DkimVerify } from 'mailauth/lib/dkim/verify';
import type { Clock } from '../clock';
import { systemClock } from '../clock';
import type { Config } from '../config';
import { ConfigError, coerceError } from '../errors';
import type { ParsedMessage } from '../types';
import { domainOf, isAligned } from './alignment';
import type { TrustedAuthResults } from './authentication-results';
import { readHeaderFields, trustedAuthResults } from './authentication-results';

/**
 * Does a mail that claims a From address really come from it? Used for maintainers, whose mail
 * counts only when authenticated, by one of (first that holds wins):
 *
 * 1. `pgp` — the PGP stage found a valid signature by a key whose fingerprint is a maintainer's;
 * 2. `authentication-results` — our own MX said so in a trusted Authentication-Results header
 *    (aligned DKIM pass, or DMARC pass) — see authentication-results.ts for which headers count;
 * 3. `dkim` — secdesk verifies the DKIM signatures itself (mailauth): one must be `pass`, aligned
 *    with the From domain, cover the From header and the whole body, and not be rsa-sha1.
 *
 * Not tests: "DKIM not fail" (a changed body gives `neutral`), or our own DMARC (over IMAP there is
 * no connecting IP, so SPF — and DMARC through SPF — cannot be evaluated here).
 *
 * The verifier says whether the From address is authentic; whether that address is a maintainer is
 * the caller's question. DNS work is bounded by a deadline; a temporary DNS failure or a deadline
 * gives `retryable: true` so the caller may try again later.
 */

/**
 * mailauth (with joi under it) is loaded on the first DKIM check, not at start: it is about a fifth
 * of the time a process spends loading modules, and most processes never verify a maintainer's
 * signature. That it can be found is checked at start (createSenderVerifier); a load that still
 * fails throws from the check, so the message is retried rather than judged unauthenticated.
 */
let dkimVerify: typeof DkimVerify | null = null;
async function loadDkimVerify(): Promise<typeof DkimVerify> {
  dkimVerify ??= (await import('mailauth/lib/dkim/verify')).dkimVerify;
  return dkimVerify;
}

/** Looks up DNS records; TXT answers as node:dns gives them (`string[][]`). Throws `{ code }` on failure. */
export type DnsLookup = (name: string, rrtype: string) => Promise<string[][] | string[]>;

export interface SenderVerifierDeps {
  cfg: Config;
  /** DNS for DKIM keys; defaults to node:dns on `cfg.dns.servers` (the system's when empty). */
  resolver?: DnsLookup;
  /** "Now" for signature expiry (x=). @defaultValue systemClock */
  clock?: Clock;
  /** Upper bound on DKIM verification, DNS included. @defaultValue DEFAULT_DKIM_DEADLINE_MS */
  deadlineMs?: number;
  /** Passed to trustedAuthResults: `Received:` headers allowed above our MX's Authentication-Results. */
  receivedAbove?: number;
}

/** What the PGP stage found (`SignatureStatus` in types.ts, plus the signer). */
export interface PgpSignatureResult {
  status: string;
  fingerprint?: string;
}

export type AuthMethod = 'dkim' | 'authentication-results' | 'pgp';

export interface SenderVerdict {
  authenticated: boolean;
  method: AuthMethod | null;
  /** One short human sentence for the case timeline. */
  reason: string;
  /** Set when the answer may change on a later try (DNS temporary failure, deadline). */
  retryable?: boolean;
  /** The trusted Authentication-Results verdicts, when there were any (for the auto-reply policy). */
  authResults?: TrustedAuthResults | null;
}

export interface SenderVerifier {
  verify(raw: Buffer, msg: ParsedMessage, pgp?: PgpSignatureResult | null, maintainerFingerprints?: ReadonlySet<string>): Promise<SenderVerdict>;
}

export const DEFAULT_DKIM_DEADLINE_MS = 10_000;
/** More DKIM signatures than this are not verified at all: each costs a DNS lookup. */
export const MAX_DKIM_SIGNATURES = 10;
/** Per query and attempts, for our own node:dns resolver (the deadline bounds the total). */
const DNS_TIMEOUT_MS = 4_000;
const DNS_TRIES = 2;
/** Below this, an RSA key gives `policy` (mailauth's own default, spelled out). */
const MIN_RSA_BITS = 1024;

/** Fingerprints compare as upper-case hex without spaces or a 0x prefix. */
export function normalizeFingerprint(fp: string): string {
  return fp.replace(/^0x/i, '').replace(/[\s:]/g, '').toUpperCase();
}

interface DkimOutcome {
  /** 0 accepted, 1 a pass we refuse, 2 temporary, 3 other verdicts, 4 unsigned. Lowest explains best. */
  rank: number;
  reason: string;
  retryable?: boolean;
}

function judgeSignature(r: DkimResult, fromDomain: string): DkimOutcome {
  const result = (r.status.result || 'none').toLowerCase();
  if (result === 'none') return { rank: 4, reason: 'no DKIM signature' };
  const d = (r.signingDomain ?? '').toLowerCase() || '(no domain)';
  if (result === 'pass') {
    const signed = (r.signingHeaders?.keys ?? '').split(':').map((k) => k.trim().toLowerCase());
    if ((r.algo ?? '').toLowerCase() === 'rsa-sha1') return { rank: 1, reason: `DKIM pass for ${d} but signed with rsa-sha1, which is not accepted` };
    if (!isAligned(fromDomain, d)) return { rank: 1, reason: `DKIM pass for ${d}, which is not aligned with the From domain ${fromDomain}` };
    if (!signed.includes('from')) return { rank: 1, reason: `DKIM pass for ${d}, but the signature does not cover the From header` };
    if (r.status.underSized) return { rank: 1, reason: `DKIM pass for ${d}, but ${r.status.underSized} bytes of the body are not signed (l= tag)` };
    return { rank: 0, reason: `DKIM pass for ${d} (aligned)` };
  }
  const detail = r.status.comment || Object.values(r.status.policy ?? {}).join(', ');
  const text = `DKIM ${result}${detail ? ` (${detail})` : ''}, d=${d}`;
  return result === 'temperror' ? { rank: 2, reason: text, retryable: true } : { rank: 3, reason: text };
}

function arSummary(ar: TrustedAuthResults): string {
  const parts = (['dkim', 'dmarc', 'spf'] as const).map((m) => `${m}=${ar[m] ?? 'none'}`);
  return `trusted Authentication-Results (${ar.authservId}) show no aligned DKIM pass or DMARC pass (${parts.join(', ')})`;
}

function pgpNote(pgp: PgpSignatureResult | null | undefined): string | null {
  if (!pgp || pgp.status === 'none') return null;
  if (pgp.status === 'valid') return `PGP signature valid but by a key that is not a maintainer's${pgp.fingerprint ? ` (${normalizeFingerprint(pgp.fingerprint)})` : ''}`;
  return `PGP signature ${pgp.status.replace(/_/g, ' ')}`;
}

function systemLookup(servers: readonly string[]): { lookup: DnsLookup; cancel(): void } {
  const r = new DnsResolver({ timeout: DNS_TIMEOUT_MS, tries: DNS_TRIES });
  if (servers.length > 0) r.setServers(servers as string[]);
  return { lookup: (name, rrtype) => r.resolve(name, rrtype) as Promise<string[][] | string[]>, cancel: () => r.cancel() };
}

type Raced<T> = { done: true; value: T } | { done: false };

/** Race the work against a timer; the timer never keeps the process alive. */
async function withDeadline<T>(work: Promise<T>, ms: number): Promise<Raced<T>> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<Raced<T>>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work.then((value): Raced<T> => ({ done: true, value })), expired]);
  } finally {
    clearTimeout(timer);
  }
}

export function createSenderVerifier(deps: SenderVerifierDeps): SenderVerifier {
  const { cfg } = deps;
  const clock = deps.clock ?? systemClock;
  const deadlineMs = deps.deadlineMs ?? DEFAULT_DKIM_DEADLINE_MS;
  const trusted = cfg.trust.authserv_id;
  if (!deps.resolver) {
    try {
      systemLookup(cfg.dns.servers); // fail at start-up, not on the first mail
    } catch (e) {
      throw new ConfigError(`dns.servers: ${coerceError(e).message} (give IP addresses, optionally with :port)`);
    }
  }
  require.resolve('mailauth/lib/dkim/verify'); // a broken install fails here, not on a maintainer's mail

  async function ownDkim(raw: Buffer, fromAddress: string, fromDomain: string, signatures: number): Promise<DkimOutcome> {
    if (signatures === 0) return { rank: 4, reason: 'no DKIM signature' };
    if (signatures > MAX_DKIM_SIGNATURES) return { rank: 3, reason: `${signatures} DKIM signatures (more than ${MAX_DKIM_SIGNATURES}); not verified` };
    const own = deps.resolver ? null : systemLookup(cfg.dns.servers);
    const resolver = deps.resolver ?? own?.lookup;
    // Outside the try below: failing to load the verifier says nothing about the mail.
    const verify = await loadDkimVerify();
    try {
      const raced = await withDeadline(verify(raw, { resolver, curTime: clock.now(), minBitLength: MIN_RSA_BITS }), deadlineMs);
      if (!raced.done) {
        own?.cancel();
        return { rank: 2, reason: `DKIM verification did not finish within ${Math.round(deadlineMs / 100) / 10} s (DNS)`, retryable: true };
      }
      const { headerFrom, results } = raced.value;
      // The verifier and our parser must agree on one sender, or a signature could vouch for another.
      if (headerFrom.length !== 1 || headerFrom[0]?.toLowerCase() !== fromAddress) {
        return { rank: 3, reason: `the From header names ${headerFrom.length === 1 ? 'another address to the DKIM verifier' : `${headerFrom.length} addresses`}; DKIM not accepted` };
      }
      const outcomes = results.map((r) => judgeSignature(r, fromDomain)).sort((a, b) => a.rank - b.rank);
      return outcomes[0] ?? { rank: 4, reason: 'no DKIM signature' };
    } catch (e) {
      return { rank: 3, reason: `DKIM verification failed: ${coerceError(e).message}` };
    }
  }

  async function verify(
    raw: Buffer,
    msg: ParsedMessage,
    pgp?: PgpSignatureResult | null,
    maintainerFingerprints?: ReadonlySet<string>,
  ): Promise<SenderVerdict> {
    // 1. PGP: the signature covers the content, whoever relayed it.
    if (pgp?.status === 'valid' && pgp.fingerprint && maintainerFingerprints) {
      const fp = normalizeFingerprint(pgp.fingerprint);
      const known = [...maintainerFingerprints].some((m) => normalizeFingerprint(m) === fp);
      if (known) return { authenticated: true, method: 'pgp', reason: `PGP signature valid by maintainer key ${fp}` };
    }
    const notes = [pgpNote(pgp)].filter((n): n is string => n !== null);
    const refuse = (reason: string, extra: Partial<SenderVerdict> = {}): SenderVerdict => ({
      authenticated: false,
      method: null,
      reason: [reason, ...notes].join('; '),
      ...extra,
    });

    // Header-based methods need exactly one sender to vouch for.
    if (!msg.from) return refuse('no From address');
    const fromCount = msg.headers.from?.length ?? 0;
    if (fromCount > 1) return refuse(`${fromCount} From headers; a mail must have exactly one`);
    const fromDomain = domainOf(msg.from);
    if (!fromDomain) return refuse(`From address ${JSON.stringify(msg.from.slice(0, 80))} has no usable domain`);

    const fields = readHeaderFields(raw);

    // 2. What our MX wrote, when we trust it.
    const ar = trustedAuthResults(fields, trusted, { receivedAbove: deps.receivedAbove });
    if (ar) {
      const aligned = ar.dkimDomains.find((d) => isAligned(fromDomain, d));
      if (aligned) {
        return { authenticated: true, method: 'authentication-results', reason: `trusted Authentication-Results (${ar.authservId}): DKIM pass for ${aligned} (aligned)`, authResults: ar };
      }
      if (ar.dmarc === 'pass' && (ar.dmarcFrom === null || ar.dmarcFrom === fromDomain)) {
        return { authenticated: true, method: 'authentication-results', reason: `trusted Authentication-Results (${ar.authservId}): DMARC pass for ${fromDomain}`, authResults: ar };
      }
    }

    // 3. Our own DKIM verification.
    const signatures = fields.filter((f) => f.name === 'dkim-signature').length;
    const dkim = await ownDkim(raw, msg.from, fromDomain, signatures);
    if (dkim.rank === 0) return { authenticated: true, method: 'dkim', reason: dkim.reason, authResults: ar };

    const reason = ar ? `${dkim.reason}; ${arSummary(ar)}` : dkim.rank === 4 ? `${dkim.reason} and no trusted Authentication-Results` : dkim.reason;
    return refuse(reason, { authResults: ar, ...(dkim.retryable ? { retryable: true } : {}) });
  }

  return { verify };
}
