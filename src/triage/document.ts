import type { ParsedAttachment, ParsedMessage } from '../types';
import { TextGrams } from './grams';
import { htmlToText } from './html-text';

/**
 * The text triage reads: the subject, the body (HTML-only mail converted with its structure kept),
 * and the text of attached write-ups (`report.md`), normalised so one set of patterns serves every
 * mail client and language.
 */

/**
 * A report's substance is in its first pages; reading further only costs time on hostile input
 * (parseMessage already truncates text at its own limit, this bounds the regex work per message).
 */
export const MAX_ANALYSED_CHARS = 120_000;
const MAX_DOCUMENT_CHARS = 32_000;
const MAX_HTML_CHARS = 600_000;

export type AttachmentRole = 'poc' | 'document' | 'other';

export interface TriageAttachment {
  filename: string;
  contentType: string;
  sha256: string;
  role: AttachmentRole;
}

export interface TriageDoc {
  subject: string;
  /** Body and attached write-ups, normalised; this is what the extractors search. */
  text: string;
  /**
   * `text` with paragraphs joined into one line each: plain mail wraps at 72 columns, and a phrase
   * ("passwords go over the wire in clear\ntext") must match across the break.
   */
  flowed: string;
  attachments: TriageAttachment[];
  /** Which character sequences the subject and text hold: lets extractors skip patterns that cannot match. */
  grams: TextGrams;
}

const POC_NAME = /(^|[^a-z])(poc|exploit|payload|crash|repro|reproducer|testcase|fuzz|sploit|attack)/i;
const CODE_EXT = /\.(py|sh|bash|zsh|rb|pl|php|js|mjs|ts|html?|svg|xml|json|c|cc|cpp|go|rs|java|ps1|bat|eml|mbox|ics|vcf|bin|raw|pcap|pcapng|req|http|sieve|sql|zip|gz|tgz|tar)$/i;
const DOC_EXT = /\.(md|markdown|txt|text|rst|patch|diff)$/i;
const MEDIA = /^(image|video|audio)\//i;

/**
 * Why the split: a script or an input file is the proof of concept; a write-up (`report.md`) is the
 * report itself and must be read like the body; a screenshot proves nothing by itself.
 */
export function attachmentRole(a: Pick<ParsedAttachment, 'filename' | 'contentType'>): AttachmentRole {
  const name = a.filename.toLowerCase();
  if (MEDIA.test(a.contentType) || /\.(png|jpe?g|gif|webp|bmp|mp4|mov|webm|pdf|docx?|odt)$/i.test(name)) return 'other';
  if (/\.(asc|sig|gpg|pgp|p7s)$/.test(name) || /pgp-signature|pkcs7-signature/.test(a.contentType)) return 'other';
  if (POC_NAME.test(name)) return 'poc';
  // "Forward as attachment": the report itself, sent on by someone else.
  if (/^message\/rfc822/.test(a.contentType)) return 'document';
  if (DOC_EXT.test(name) || /^text\/(plain|markdown|x-markdown)/.test(a.contentType)) return 'document';
  if (CODE_EXT.test(name) || /^(text\/(html|x-\w+)|application\/(x-sh|x-python|javascript|json|xml|octet-stream))/.test(a.contentType)) return 'poc';
  return 'other';
}

/**
 * The readable text of a write-up. For a forwarded message only a plain-text body is read (its header
 * block dropped); a multipart or encoded one would need the MIME parser, which is not run here.
 */
function documentText(a: ParsedAttachment): string {
  const raw = (a.content ?? Buffer.alloc(0)).subarray(0, MAX_DOCUMENT_CHARS * 4).toString('utf8');
  if (!/^message\/rfc822/.test(a.contentType)) return raw.slice(0, MAX_DOCUMENT_CHARS);
  const split = raw.search(/\r?\n\r?\n/);
  const headers = split < 0 ? raw : raw.slice(0, split);
  const plain = !/^content-type:\s*(?!text\/plain)/im.test(headers) && !/^content-transfer-encoding:\s*(base64|quoted-printable)/im.test(headers);
  const subject = /^subject:[ \t]*(.*)$/im.exec(headers)?.[1] ?? '';
  return plain && split >= 0 ? `${subject}\n\n${raw.slice(split).trim()}`.slice(0, MAX_DOCUMENT_CHARS) : subject;
}

const NORMALIZED_AWAY = /[\r\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad\u2028\u2029\t]/;

/**
 * Invisible and direction-changing characters are how a hostile sender makes two strings look alike
 * (or hides text); NFKC folds full-width punctuation (`：`, `（`) into the ASCII the patterns use.
 */
export function normalizeText(s: string): string {
  const n = s.normalize('NFKC');
  // Most text has none of the characters below: one scan says so, instead of four replacements.
  if (!NORMALIZED_AWAY.test(n)) return n;
  return n
    .replace(/\r\n?/g, '\n')
    .replace(/[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]/g, '')
    .replace(/[\u2028\u2029]/g, '\n')
    .replace(/\t/g, '    ');
}

/** Quote markers of forwarded or replied-to mail: the quoted part is often the report itself. */
function unquote(text: string): string {
  if (!text.includes('>')) return text;
  return text.replace(/^(?:[ \t]*>[ \t]?)+/gm, '');
}

/**
 * When a message has HTML, the HTML is read: it carries the structure (tables, `<pre>`, headings)
 * that the plain alternative or mailparser's rendering flattens. The plain text is the fallback.
 */
function bodyText(msg: ParsedMessage): string {
  if (msg.html !== null && msg.html.trim() !== '') {
    const converted = htmlToText((msg.html ?? '').slice(0, MAX_HTML_CHARS));
    if (converted.trim() !== '') return converted;
  }
  return msg.text;
}

export function flow(text: string): string {
  // Line by line rather than one regex: `\s*\n\s*` backtracks quadratically on a line of spaces.
  const out: string[] = [];
  let para: string[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '') {
      if (para.length > 0) out.push(para.join(' '));
      para = [];
      out.push('');
    } else para.push(t);
  }
  if (para.length > 0) out.push(para.join(' '));
  return out.join('\n');
}

export function buildDoc(msg: ParsedMessage): TriageDoc {
  const attachments: TriageAttachment[] = msg.attachments.map((a) => ({
    filename: a.filename,
    contentType: a.contentType,
    sha256: a.sha256,
    role: attachmentRole(a),
  }));
  const parts = [bodyText(msg)];
  msg.attachments.forEach((a, i) => {
    if (attachments[i]?.role === 'document' && a.content) {
      parts.push(`\n\n${documentText(a)}`);
    }
  });
  const text = unquote(normalizeText(parts.join('').slice(0, MAX_ANALYSED_CHARS)));
  const subject = normalizeText(msg.subject);
  return { subject, text, flowed: flow(text), attachments, grams: new TextGrams(`${subject}\n${text}`) };
}
