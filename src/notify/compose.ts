import type { SendMailOptions } from 'nodemailer';
import type { Config } from '../config';
import { fromAddress } from '../config';
import { PermanentError } from '../errors';
import type { Case } from '../types';
import { isBareAddress, normalizeAddress } from './address';
import { makeMessageId, messageIdDomain } from './message-id';
import { replySubject } from './subject';

/**
 * Build one automatic reply as nodemailer `SendMailOptions`. Pure: the same case, purpose and inbound
 * message always give the same headers (Message-ID included), so a retried send is the same mail.
 *
 * Every value that came from the reporter's mail (subject, Message-ID, References) is checked or
 * rebuilt here before it goes near a header.
 */

export type AutoReplyPurpose =
  | 'ack'
  | 'support_redirect'
  | 'chaser_reply'
  | 'resolution'
  | 'command_errors'
  | 'undecryptable'
  | 'encrypted_no_key';

/** Purposes that can happen more than once per case and so need a sequence number in their Message-ID. */
export const REPEATABLE_PURPOSES: ReadonlySet<AutoReplyPurpose> = new Set(['chaser_reply', 'command_errors']);

export interface InboundRef {
  /** Message-ID of the mail we answer, as parsed (`<…>`), or null when it had none. */
  messageId: string | null;
  references: string[];
  subject: string;
}

export interface RenderedBody {
  text: string;
  html?: string;
}

export interface ComposeOptions {
  /** Sequence for repeatable purposes (required for them, refused for the others). */
  seq?: number;
  /** Outer subject carries only the case tag (the real one travels in PGP protected headers). */
  subjectTagOnly?: boolean;
  /** Send to this address instead of the case's reply_to (e.g. command errors go back to a maintainer). */
  to?: string;
}

/** References we carry: the thread root plus the most recent ones, like most mail clients. */
export const MAX_REFERENCES = 20;
const MAX_MSGID_CHARS = 250;

/** A Message-ID we are willing to echo: `<…>`, printable ASCII, no brackets or spaces inside, bounded. */
export function normalizeMessageId(id: string | null | undefined): string | null {
  if (!id) return null;
  let s = id.trim();
  if (!s.startsWith('<')) s = `<${s}`;
  if (!s.endsWith('>')) s = `${s}>`;
  if (s.length > MAX_MSGID_CHARS || !/^<[\x21-\x3b\x3d\x3f-\x7e]+>$/.test(s)) return null;
  return s;
}

/** Their References + their Message-ID, cleaned, de-duplicated, bounded to root + latest. */
export function buildReferences(references: string[], messageId: string | null): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const r of [...references.slice(0, 500), messageId]) {
    const id = normalizeMessageId(r);
    if (id && !seen.has(id)) {
      seen.add(id);
      out.push(id);
    }
  }
  if (out.length <= MAX_REFERENCES) return out;
  return [out[0] as string, ...out.slice(out.length - (MAX_REFERENCES - 1))];
}

export function composeAutoReply(
  purpose: AutoReplyPurpose,
  c: Case,
  inbound: InboundRef,
  rendered: RenderedBody,
  cfg: Config,
  secret: string | Buffer,
  opts: ComposeOptions = {},
): SendMailOptions {
  const repeatable = REPEATABLE_PURPOSES.has(purpose);
  if (repeatable && opts.seq === undefined) throw new PermanentError('ECompose', `${purpose} needs a sequence number`);
  if (!repeatable && opts.seq !== undefined) throw new PermanentError('ECompose', `${purpose} is sent once per case; no sequence`);

  const to = normalizeAddress(opts.to ?? c.reply_to);
  // reply_to came from a hostile header: refuse rather than let a crafted value reach the envelope.
  if (!isBareAddress(to)) throw new PermanentError('EBadRecipient', `case ${c.id}: recipient is not a usable address`);

  const messageId = makeMessageId({ caseId: c.id, purpose, ...(repeatable ? { seq: opts.seq } : {}) }, messageIdDomain(cfg), secret);
  const inReplyTo = normalizeMessageId(inbound.messageId);
  const references = buildReferences(inbound.references, inbound.messageId);

  const mail: SendMailOptions = {
    from: cfg.smtp.from,
    to,
    replyTo: cfg.address,
    subject: replySubject(inbound.subject, c.id, { tagOnly: opts.subjectTagOnly }),
    messageId,
    ...(inReplyTo ? { inReplyTo } : {}),
    ...(references.length ? { references } : {}),
    headers: {
      // RFC 3834 §5: marks this as an automatic response so well-behaved responders stay quiet.
      'Auto-Submitted': 'auto-replied',
      // Exchange/Outlook: no out-of-office or other auto-replies to this message.
      'X-Auto-Response-Suppress': 'All',
      // Lets a bounce or a reply be tied to its case even when a server strips our Message-ID.
      'X-Secdesk-Case': c.id,
    },
    // Explicit envelope: only the one recipient, never anyone else the headers could name. The
    // envelope sender is our own address (not <>) so a DSN of this mail comes back and attaches to
    // the case — the ingest side recognises our Message-ID and never answers it.
    envelope: { from: fromAddress(cfg), to: [to] },
    text: rendered.text,
    ...(rendered.html !== undefined ? { html: rendered.html } : {}),
  };
  return mail;
}
