/**
 * Reply subjects built from a hostile subject. Two jobs:
 *
 * 1. Safety: whatever the sender put in their Subject — raw CR/LF/NUL, or RFC 2047 encoded-words that
 *    decode to them — ends up as one line of printable text in ours, so it can never become a header
 *    of our mail (or of a downstream parser that decodes encoded-words once more).
 * 2. Threading: `Re: <their subject> [SEC-2026-0001]`, never `Re: Re:` or `AW: RE:` chains, never the
 *    case tag twice.
 */

/** Subject text we keep from theirs, in code points. Long enough to recognise, short enough to fold. */
export const MAX_SUBJECT_CHARS = 200;

const ENCODED_WORD_RE = /=\?([^?\s]{1,64})\?([bBqQ])\?([^?\s]*)\?=/g;

function decodeCharset(bytes: Buffer, charset: string): string {
  const cs = charset.split('*')[0]?.trim().toLowerCase() || 'utf-8'; // RFC 2231 language suffix
  try {
    return new TextDecoder(cs).decode(bytes);
  } catch {
    return bytes.toString('latin1'); // unknown charset: keep the bytes visible, never fail
  }
}

function decodeWord(charset: string, enc: string, text: string): string {
  const bytes =
    enc.toLowerCase() === 'b'
      ? Buffer.from(text, 'base64')
      : Buffer.from(
          text.replace(/_/g, ' ').replace(/=([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
          'latin1',
        );
  return decodeCharset(bytes, charset);
}

/** Decode RFC 2047 encoded-words (whitespace between adjacent words dropped, as the RFC says). */
export function decodeEncodedWords(s: string): string {
  return s.replace(/(\?=)\s+(?==\?)/g, '$1').replace(ENCODED_WORD_RE, (_m, cs: string, enc: string, text: string) => decodeWord(cs, enc, text));
}

// C0/C1 controls, DEL, line/paragraph separators, and bidi/zero-width formatting that can disguise text.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE_CHARS_RE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/** One printable line: controls become spaces, runs of whitespace collapse, length is bounded. */
export function sanitizeLine(s: string, maxChars = MAX_SUBJECT_CHARS): string {
  const flat = s.replace(UNSAFE_CHARS_RE, ' ').replace(/\s+/g, ' ').trim();
  const cps = Array.from(flat); // cut on code points, never inside a surrogate pair
  return cps.length > maxChars ? `${cps.slice(0, maxChars - 1).join('').trimEnd()}…` : flat;
}

/**
 * Their subject as safe display text: encoded-words decoded (a few rounds, for words that decode to
 * more words), then flattened to one line. Anything still looking like an encoded-word afterwards is
 * broken up so no later decoder can turn it into a line break.
 */
export function sanitizeSubject(raw: string, maxChars = MAX_SUBJECT_CHARS): string {
  let s = raw.length > 4 * 4096 ? raw.slice(0, 4 * 4096) : raw;
  for (let i = 0; i < 4; i++) {
    const next = decodeEncodedWords(s);
    if (next === s) break;
    s = next;
  }
  s = s.replace(/=\?/g, '= ?');
  return sanitizeLine(s, maxChars);
}

/**
 * Reply and forward-reply prefixes mail clients put in front of subjects, in the languages we see:
 * Re/RE/re, Aw/AW (de), Sv (sv/da/no), Antw (nl), Vs (fi), Odp (pl), Rif/R (it), Res (pt), Réf (fr),
 * Απ (el), Ответ (ru), 回复/回覆/答复 (zh), 답장 (ko); with optional counters `Re[2]:`, `Re(3):`, `Re^2:` and
 * full-width colons.
 */
const REPLY_PREFIX_RE =
  /^\s*(?:re|aw|sv|antw|vs|odp|rif|r|res|réf|απ|ответ|回复|回覆|答复|답장)\s*(?:\[\d{1,4}\]|\(\d{1,4}\)|\^\d{1,4})?\s*[:：]\s*/iu;

/** Remove every leading reply prefix (and whatever bracket noise sits between them). */
export function stripReplyPrefixes(subject: string): string {
  let s = subject;
  for (let i = 0; i < 50; i++) {
    const next = s.replace(REPLY_PREFIX_RE, '');
    if (next === s) break;
    s = next;
  }
  return s.trim();
}

/** A bracketed tag (`[SEC-2026-0001]`, spaces allowed inside the brackets) and what surrounds it. */
const ANY_TAG_RE = /\s*\[\s*([^\]\s]{1,64})\s*\]\s*/g;

/** `Re: <their subject> [CASE]` from a hostile subject. With `tagOnly`, just `[CASE]` (PGP outer subject). */
export function replySubject(theirs: string, caseId: string, opts: { tagOnly?: boolean } = {}): string {
  const tag = `[${caseId}]`;
  if (opts.tagOnly) return tag;
  // Strip prefixes, drop our tag wherever it sits, strip again (the tag may have preceded "Re:").
  // One fixed pattern for every case: a RegExp built from each case ID would be compiled afresh
  // for every case (V8 caches compiled patterns by source), which showed in a backlog's profile.
  const ours = caseId.toUpperCase();
  let core = stripReplyPrefixes(sanitizeSubject(theirs));
  core = core.replace(ANY_TAG_RE, (m: string, id: string) => (id.toUpperCase() === ours ? ' ' : m));
  core = stripReplyPrefixes(core.replace(/\s+/g, ' ').trim());
  return core ? `Re: ${core} ${tag}` : `Re: ${tag}`;
}
