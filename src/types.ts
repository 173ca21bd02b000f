/**
 * Glossary — the words secdesk uses everywhere.
 *
 * - **message**: one email as it reached the security mailbox (or the Sent folder), identified by a
 *   `MessageRef` (mailbox, UIDVALIDITY, UID) and kept raw, gzip-compressed, for audit.
 * - **case**: one security report and everything attached to it. IDs look like `SEC-2026-0001`.
 * - **skip**: a message that became no case, with the reason (robot mail, a stranger quoting a case tag,
 *   a message that could not be parsed, …). Skips are listed by `secdesk skipped`; nothing is dropped.
 * - **clock**: an SLA promise on a case — `acknowledge` (a human answer) and `respond` (next steps).
 * - **maintainer**: an address in `maintainers:`; their mail counts only when authenticated.
 */

export type CaseState = 'new' | 'acknowledged' | 'triaged' | 'needs-info' | 'accepted' | 'rejected' | 'resolved';

export type MessageDirection = 'in' | 'out';

/** What a message is, as decided by classification. */
export type MessageKind =
  | 'report'
  | 'followup'
  | 'maintainer_reply'
  | 'maintainer_note'
  | 'support'
  | 'auto_reply'
  | 'bounce'
  | 'list'
  | 'spam'
  | 'ack'
  | 'notice';

export type SignatureStatus = 'valid' | 'invalid' | 'unknown_key' | 'none';

/** One message on a case, as shown in `secdesk case ID --json` (public contract). */
export interface CaseMessage {
  message_id: string;
  from: string;
  date: string; // ISO-8601: the IMAP INTERNALDATE for inbound mail, send time for outbound
  direction: MessageDirection;
  kind: MessageKind;
  subject?: string;
  /** Key of the gzip'd raw message in Redis (inbound only). */
  raw_key?: string;
  attachments?: { filename: string; content_type: string; size: number; sha256: string }[];
  /** The References we would carry when answering this message (bounded). */
  references?: string[];
  /** Why this message was recorded the way it was (e.g. a spoofing attempt, a command result). */
  note?: string;
  /** Where it came from in IMAP (inbound only). */
  source?: MessageRef;
}

export interface Escalation {
  clock: string; // 'acknowledge' | 'respond' | 'chaser'
  level: number;
  at: string; // ISO-8601
  channels: string[];
  status: 'sent' | 'resolved' | 'failed';
}

export interface TimelineEntry {
  at: string;
  event: string;
  detail?: string;
  by?: string;
}

/** A case as stored and as printed by `secdesk case ID --json`. Field names are a public contract. */
export interface Case {
  id: string;
  state: CaseState;
  subject: string;
  reporter: string;
  /** Where automatic replies go (Reply-To of the report, else From; RFC 3834 §4). */
  reply_to: string;
  received_at: string;
  messages: CaseMessage[];
  acknowledged_at: string | null;
  first_response_at: string | null;
  next_steps_at: string | null;
  escalations: Escalation[];
  encrypted: boolean;
  signature: SignatureStatus;
  fields: Record<string, unknown>;
  /** Every address seen in From/To/Cc of the case's mail: who may thread into it. */
  participants: string[];
  timeline: TimelineEntry[];
  related: string[];
  severity?: string | null;
  assignee?: string | null;
  resolved_at?: string | null;
  advisory_url?: string | null;
  /** What the report is: a security report, or a support question redirected elsewhere. */
  kind?: 'report' | 'support';
  /** The automatic-reply decision taken at ingest (RFC 3834 rules, our own addresses, trusted auth). */
  auto_reply?: { allowed: boolean; to?: string | null; code?: string; reason?: string };
  /** Every automatic mail secdesk sent, held back or could not send for this case. */
  notices?: Notice[];
  /** The key that made `signature` (see the PGP issue). */
  signature_key?: { fingerprint: string; user_id: string | null; source: string } | null;
  /** Key of the sealed (team-key encrypted) decrypted content of an encrypted report. */
  sealed_key?: string | null;
  /** Reporter addresses whose mail bounced. */
  bouncing?: string[];
}

export interface Notice {
  purpose: string;
  status: 'queued' | 'sent' | 'held' | 'suppressed' | 'failed';
  at: string;
  to?: string;
  message_id?: string;
  detail?: string;
}

/** Where one message lives in IMAP. UIDVALIDITY is a BigInt in imapflow; kept as a string here. */
export interface MessageRef {
  mailbox: string;
  uidValidity: string;
  uid: number;
}

/** A message that became no case. */
export interface SkipRecord {
  key: string;
  at: string;
  reason: string;
  detail?: string;
  message_id?: string | null;
  from?: string | null;
  subject?: string | null;
  raw_key?: string;
  case_id?: string | null;
}

/**
 * The parsed, size-limited view of a message that the pure core works on. No I/O happens after this
 * is built: classification, threading decisions and triage are functions of it.
 */
export interface ParsedMessage {
  messageId: string | null;
  /** sha256 of the raw bytes: the dedupe key when there is no Message-ID. */
  contentHash: string;
  inReplyTo: string[];
  references: string[];
  subject: string;
  from: string | null; // lower-cased address
  fromName: string | null;
  replyTo: string | null;
  to: string[];
  cc: string[];
  date: string | null; // Date header (sender-controlled): informational only
  /** Lower-cased header name → values (all occurrences, unfolded, decoded to text). */
  headers: Record<string, string[]>;
  text: string; // plain text (from text/plain, or derived from HTML), truncated to limits.max_text_chars
  html: string | null;
  attachments: ParsedAttachment[];
  /** Envelope-ish: the Return-Path as recorded by the delivering MTA, `''` for the null path. */
  returnPath: string | null;
  /** Message-IDs referenced by a DSN's returned headers (for bounces of our own mail). */
  bouncedMessageIds: string[];
  isDsn: boolean;
  /** Set when parsing hit a limit or a fault but still produced something usable. */
  warnings: string[];
}

export interface ParsedAttachment {
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  /** Kept only for small text-like parts and PGP payloads (see limits); otherwise null. */
  content: Buffer | null;
}
