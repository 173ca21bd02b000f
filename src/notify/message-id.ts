import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config';
import { PermanentError } from '../errors';

/**
 * Deterministic Message-IDs for the mail secdesk sends:
 *
 *   <secdesk.SEC-2026-0001.ack.3f9c0a1b2c3d4e5f6a7b@example.test>
 *   <secdesk.SEC-2026-0001.chaser_reply.2.9e1d…@example.test>      (repeatable purpose, sequence 2)
 *
 * The same case + purpose (+ sequence) always gives the same ID, so a retried send is recognisably the
 * same mail (receivers and our own ingest dedupe on it) and a bounce or a reply can be tied back to its
 * case. The MAC, keyed with a secret only secdesk knows, stops a stranger from predicting the ID of an
 * acknowledgement and putting it in In-Reply-To to thread their mail into someone else's confidential
 * case: the case ID alone is guessable, the MAC is not.
 */

export const MESSAGE_ID_PREFIX = 'secdesk';

/** 20 hex chars = 80 bits of MAC: far beyond guessing, short enough to keep the header tidy. */
const MAC_HEX_CHARS = 20;

const CASE_ID_RE = /^[A-Z][A-Z0-9]*-\d{4}-\d{1,10}$/;
const PURPOSE_RE = /^[a-z][a-z0-9_]{0,39}$/;
const DOMAIN_RE = /^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/i;

const OWN_ID_RE = /^<?secdesk\.([A-Z][A-Z0-9]*-\d{4}-\d{1,10})\.([a-z][a-z0-9_]{0,39})(?:\.(\d{1,9}))?\.([0-9a-f]{20})@([^<>@\s]+?)>?$/;

export interface MessageIdParts {
  caseId: string;
  purpose: string;
  /** Sequence for repeatable purposes (chaser replies, command-error mails); undefined for one-off mail. */
  seq?: number;
}

export interface ParsedOwnMessageId extends MessageIdParts {
  mac: string;
  domain: string;
}

/** The domain of the security address: the right-hand side of every Message-ID we generate. */
export function messageIdDomain(cfg: Pick<Config, 'address'>): string {
  const at = cfg.address.lastIndexOf('@');
  return cfg.address.slice(at + 1).toLowerCase();
}

function macFor(parts: MessageIdParts, secret: string | Buffer): string {
  // Fields joined with a separator that cannot occur in any of them, so no two inputs collide.
  const input = `v1\n${parts.caseId}\n${parts.purpose}\n${parts.seq ?? ''}`;
  return createHmac('sha256', secret).update(input).digest('hex').slice(0, MAC_HEX_CHARS);
}

/** `<secdesk.<case>.<purpose>[.<seq>].<mac>@<domain>>`, with angle brackets. */
export function makeMessageId(parts: MessageIdParts, domain: string, secret: string | Buffer): string {
  if (!CASE_ID_RE.test(parts.caseId)) throw new PermanentError('EMessageId', `not a case ID: ${JSON.stringify(parts.caseId)}`);
  if (!PURPOSE_RE.test(parts.purpose)) throw new PermanentError('EMessageId', `not a mail purpose: ${JSON.stringify(parts.purpose)}`);
  if (parts.seq !== undefined && (!Number.isInteger(parts.seq) || parts.seq < 0 || parts.seq > 999_999_999)) {
    throw new PermanentError('EMessageId', `bad sequence: ${parts.seq}`);
  }
  if (!DOMAIN_RE.test(domain)) throw new PermanentError('EMessageId', `not a domain: ${JSON.stringify(domain)}`);
  const seq = parts.seq === undefined ? '' : `.${parts.seq}`;
  return `<${MESSAGE_ID_PREFIX}.${parts.caseId}.${parts.purpose}${seq}.${macFor(parts, secret)}@${domain.toLowerCase()}>`;
}

/** Split one of our Message-IDs into its parts (format only; use `isOwnMessageId` with a secret to trust it). */
export function parseOwnMessageId(id: string): ParsedOwnMessageId | null {
  const m = OWN_ID_RE.exec(id.trim());
  if (!m) return null;
  const [, caseId, purpose, seq, mac, domain] = m as unknown as [string, string, string, string | undefined, string, string];
  return { caseId, purpose, ...(seq === undefined ? {} : { seq: Number(seq) }), mac, domain: domain.toLowerCase() };
}

/**
 * Is this a Message-ID secdesk generated for `domain`? Without a secret the format and domain decide
 * (enough for loop prevention: nobody gains by making us *not* reply to them). With a secret the MAC
 * must verify too — use that whenever the answer grants something, e.g. threading into a case.
 */
export function isOwnMessageId(id: string | null | undefined, domain: string, secret?: string | Buffer): boolean {
  if (!id) return false;
  const p = parseOwnMessageId(id);
  if (!p || p.domain !== domain.toLowerCase()) return false;
  if (secret === undefined) return true;
  const want = Buffer.from(macFor(p, secret), 'utf8');
  const got = Buffer.from(p.mac, 'utf8');
  return want.length === got.length && timingSafeEqual(want, got);
}

/**
 * A default MAC key derived from secrets the config already holds (the IMAP and SMTP URLs carry the
 * account credentials; the PGP passphrase if any). A stranger knows none of them. Changing those
 * credentials changes the key: our older IDs are then still recognised by format (no loop), but no
 * longer verify — threading falls back to the Message-IDs stored on the case.
 */
export function deriveMessageIdSecret(
  cfg: Pick<Config, 'imap' | 'smtp' | 'address'> & { pgp?: { passphrase?: string }; notify?: { message_id_secret?: string } },
): Buffer {
  // An explicit secret survives credential rotation; the derived one changes with the URLs.
  if (cfg.notify?.message_id_secret) return createHmac('sha256', 'secdesk message-id key v1').update(cfg.notify.message_id_secret).digest();
  return createHmac('sha256', 'secdesk message-id key v1')
    .update([cfg.address, cfg.imap.url, cfg.smtp.url, cfg.pgp?.passphrase ?? ''].join('\0'))
    .digest();
}
