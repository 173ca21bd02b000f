import type { AuthVerdicts } from '../notify/auto-reply-policy';
import { domainOf, normalizeDomain } from './alignment';

/**
 * Authentication-Results (RFC 8601): parse one header value, and pick out the verdicts our own MX
 * wrote. Pure functions: no DNS, no clock.
 *
 * Anyone can put an Authentication-Results header in a mail they send, naming any authserv-id. Only
 * a header (a) whose authserv-id is listed in `trust.authserv_id` and (b) that sits above the
 * message's second `Received:` header is believed. Assumption behind (b): our MX adds its own
 * `Received:` (the hop from the internet) and its Authentication-Results on top of everything the
 * sender wrote, and at most one more `Received:` (local delivery, e.g. LMTP into Dovecot) lands above
 * them. Whatever the sender forged is therefore below the MX's `Received:`, which is at most the
 * second one. Set `receivedAbove` when the delivery path adds more hops. Your MX should also remove
 * incoming headers bearing its own authserv-id (RFC 8601 §5); this check does not rely on it.
 */

export interface AuthResult {
  /** Lower-cased method name without its version ("dkim", "spf", "dmarc", "arc", …). */
  method: string;
  /** Lower-cased result keyword ("pass", "fail", "neutral", …). */
  result: string;
  /** "reason" and "ptype.property" (lower-cased keys, e.g. "header.d") → value, unquoted. */
  props: Record<string, string>;
}

export interface ParsedAuthResults {
  authservId: string;
  results: AuthResult[];
}

/** One header field of the raw message, in message order (topmost first). */
export interface HeaderField {
  /** Lower-cased field name. */
  name: string;
  /** Unfolded value, trimmed. */
  value: string;
}

/** The believed verdicts of a message: one object, shaped to be passed as `AuthVerdicts`. */
export interface TrustedAuthResults extends AuthVerdicts {
  /** authserv-id of the topmost trusted header. */
  authservId: string;
  /** Verdict of the topmost trusted `spf` result, null when none was reported. */
  spf: string | null;
  /** `pass` if any trusted DKIM result passed, else the topmost DKIM verdict; null when none. */
  dkim: string | null;
  /** Verdict of the topmost trusted `dmarc` result, null when none was reported. */
  dmarc: string | null;
  /** Signing domains (header.d, else the domain of header.i) of the DKIM results that passed, rsa-sha1 excluded. */
  dkimDomains: string[];
  /** `header.from` of the topmost DMARC result (the From domain the MX evaluated), if it said. */
  dmarcFrom: string | null;
}

export interface TrustedAuthOptions {
  /** How many `Received:` headers may sit above our MX's Authentication-Results. @defaultValue 1 */
  receivedAbove?: number;
}

/** Bounds for hostile input: longer values are refused, extra results and properties ignored. */
export const AR_LIMITS = { maxChars: 16 * 1024, maxResults: 64, maxProps: 32, maxValueChars: 512, maxTokens: 4096 } as const;

/** Bounds on the raw header block read by `readHeaderFields`. */
export const HEADER_LIMITS = { maxBytes: 512 * 1024, maxFields: 2000 } as const;

type Token = { kind: 'word' | 'quoted' | ';' | '='; text: string };

// Controls (CR/LF included) and whitespace separate tokens; so does a comment.
// eslint-disable-next-line no-control-regex -- control characters are separators here on purpose
const SEPARATOR = /[\x00-\x20\x7f]/;
const KEYWORD = /^[a-z0-9](?:[a-z0-9_-]{0,62})$/;

/** Split a value into words, quoted strings, ";" and "=", dropping (nested (comments)). Linear time. */
function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length && out.length < AR_LIMITS.maxTokens) {
    const c = s[i] as string;
    if (SEPARATOR.test(c)) {
      i++;
    } else if (c === '(') {
      // Comments nest and may quote with backslash (RFC 5322 §3.2.2); an unclosed one runs to the end.
      let depth = 0;
      for (; i < s.length; i++) {
        const d = s[i];
        if (d === '\\') i++;
        else if (d === '(') depth++;
        else if (d === ')' && --depth === 0) break;
      }
      i++;
    } else if (c === '"') {
      let text = '';
      for (i++; i < s.length && s[i] !== '"'; i++) {
        if (s[i] === '\\') i++;
        if (i < s.length) text += s[i];
      }
      i++;
      out.push({ kind: 'quoted', text: text.slice(0, AR_LIMITS.maxValueChars) });
    } else if (c === ';' || c === '=') {
      out.push({ kind: c, text: c });
      i++;
    } else {
      const start = i;
      while (i < s.length && !SEPARATOR.test(s[i] as string) && !'();="'.includes(s[i] as string)) i++;
      out.push({ kind: 'word', text: s.slice(start, i).slice(0, AR_LIMITS.maxValueChars) });
    }
  }
  return out;
}

/**
 * Parse one Authentication-Results value (without the field name). Returns null when there is no
 * usable authserv-id or the value is over `AR_LIMITS.maxChars`. Malformed result entries are
 * skipped, not guessed at.
 */
export function parseAuthenticationResults(value: string): ParsedAuthResults | null {
  if (typeof value !== 'string' || value.length > AR_LIMITS.maxChars) return null;
  const toks = tokenize(value);
  let p = 0;
  const peek = (k = 0): Token | undefined => toks[p + k];
  const isValue = (t: Token | undefined): t is Token => t !== undefined && (t.kind === 'word' || t.kind === 'quoted');

  const id = peek();
  if (!isValue(id) || !id.text.trim()) return null;
  const authservId = id.text.trim();
  p++;
  if (peek()?.kind === 'word' && /^\d{1,9}$/.test(peek()?.text ?? '')) p++; // authres-version
  // After the id (and version) only ";" may follow: anything else is not a header we understand.
  if (p < toks.length && peek()?.kind !== ';') return null;

  const results: AuthResult[] = [];
  while (p < toks.length && results.length < AR_LIMITS.maxResults) {
    p++; // the ";"
    const m = peek();
    if (m?.kind !== 'word' || peek(1)?.kind !== '=' || !isValue(peek(2))) {
      // "; none" (no-result) or a malformed entry: skip to the next ";".
      while (p < toks.length && peek()?.kind !== ';') p++;
      continue;
    }
    const method = (m.text.split('/')[0] ?? '').toLowerCase();
    const result = (peek(2)?.text ?? '').toLowerCase();
    p += 3;
    const props: Record<string, string> = Object.create(null) as Record<string, string>;
    let count = 0;
    while (p < toks.length && peek()?.kind !== ';') {
      // ptype.property may be written with spaces around the dot ("header . d").
      let key = '';
      while (peek()?.kind === 'word' && (key === '' || key.endsWith('.') || peek()?.text.startsWith('.'))) {
        key += peek()?.text ?? '';
        p++;
      }
      if (key && peek()?.kind === '=' && isValue(peek(1))) {
        const k = key.toLowerCase();
        if (count < AR_LIMITS.maxProps && (k === 'reason' || /^[a-z0-9-]+\.[a-z0-9_.-]+$/.test(k)) && !(k in props)) {
          props[k] = peek(1)?.text ?? '';
          count++;
        }
        p += 2;
      } else if (!key) {
        p++; // a stray "=" or value
      }
    }
    if (KEYWORD.test(method) && KEYWORD.test(result)) results.push({ method, result, props });
  }
  return { authservId, results };
}

/**
 * The header fields of a raw message in order, unfolded. Reads at most `HEADER_LIMITS.maxBytes` of
 * header block and `HEADER_LIMITS.maxFields` fields; a line that is not a field is ignored.
 */
export function readHeaderFields(raw: Buffer | string): HeaderField[] {
  const buf = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  const head = buf.subarray(0, HEADER_LIMITS.maxBytes);
  let end = head.length;
  for (const sep of ['\r\n\r\n', '\n\n']) {
    const at = head.indexOf(sep);
    if (at >= 0 && at < end) end = at;
  }
  const lines = head.subarray(0, end).toString('utf8').split(/\r?\n/);
  const out: HeaderField[] = [];
  let cur: { name: string; parts: string[] } | null = null;
  const flush = (): void => {
    if (cur) out.push({ name: cur.name, value: cur.parts.join('').trim() });
    cur = null;
  };
  for (const line of lines) {
    if (/^[ \t]/.test(line)) {
      cur?.parts.push(line);
      continue;
    }
    flush();
    if (out.length >= HEADER_LIMITS.maxFields) break;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : '';
    if (name && /^[\x21-\x39\x3b-\x7e]+$/.test(name)) cur = { name, parts: [line.slice(colon + 1)] };
  }
  flush();
  return out;
}

/** Signing domain of a DKIM result: header.d, else the domain of header.i. */
function dkimDomain(props: Record<string, string>): string {
  return normalizeDomain(props['header.d']) || domainOf(props['header.i']);
}

/**
 * The verdicts of the Authentication-Results headers our own MX added: those with a trusted
 * authserv-id above the (`receivedAbove` + 1)-th `Received:` header (see the module comment).
 * Returns null when there is none. `source` is the raw message or its fields from `readHeaderFields`
 * (ParsedMessage.headers cannot be used: it loses the order between different fields).
 */
export function trustedAuthResults(
  source: Buffer | string | readonly HeaderField[],
  trusted: readonly string[],
  opts: TrustedAuthOptions = {},
): TrustedAuthResults | null {
  const trust = new Set(trusted.map((t) => t.trim().toLowerCase()).filter(Boolean));
  if (trust.size === 0) return null;
  const fields = Array.isArray(source) ? (source as readonly HeaderField[]) : readHeaderFields(source as Buffer | string);
  const receivedAbove = Math.max(0, opts.receivedAbove ?? 1);

  const headers: ParsedAuthResults[] = [];
  let received = 0;
  for (const f of fields) {
    if (f.name === 'received' && ++received > receivedAbove) break;
    if (f.name !== 'authentication-results') continue;
    const parsed = parseAuthenticationResults(f.value);
    if (parsed && trust.has(parsed.authservId.toLowerCase())) headers.push(parsed);
  }
  const top = headers[0];
  if (!top) return null;

  const all = headers.flatMap((h) => h.results);
  const first = (method: string): AuthResult | undefined => all.find((r) => r.method === method);
  const dkimPass = all.filter((r) => r.method === 'dkim' && r.result === 'pass');
  const dkimDomains = [
    ...new Set(
      dkimPass
        .filter((r) => (r.props['header.a'] ?? '').toLowerCase() !== 'rsa-sha1')
        .map((r) => dkimDomain(r.props))
        .filter(Boolean),
    ),
  ];
  const dmarc = first('dmarc');
  return {
    authservId: top.authservId,
    spf: first('spf')?.result ?? null,
    dkim: dkimPass.length > 0 ? 'pass' : (first('dkim')?.result ?? null),
    dmarc: dmarc?.result ?? null,
    dkimDomains,
    dmarcFrom: normalizeDomain(dmarc?.props['header.from']) || domainOf(dmarc?.props['header.from']) || null,
  };
}
