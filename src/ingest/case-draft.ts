import type { Case, CaseMessage, MessageKind, MessageRef, ParsedMessage } from '../types';
import { buildReferences } from '../notify/compose';

/** Pure builders of what goes into the store for an inbound message. */

export interface InboundMeta {
  ref: MessageRef;
  /** IMAP INTERNALDATE, ISO. */
  internalDate: string;
  rawKey: string;
}

/** The dedupe key of an inbound message: its Message-ID, or a hash of its bytes when it has none. */
export function dedupeKey(msg: Pick<ParsedMessage, 'messageId' | 'contentHash'>): string {
  return msg.messageId ? `mid:${msg.messageId}` : `sha:${msg.contentHash}`;
}

export function caseMessage(msg: ParsedMessage, meta: InboundMeta, kind: MessageKind, note?: string): CaseMessage {
  return {
    message_id: msg.messageId ?? `<sha256-${msg.contentHash.slice(0, 32)}@secdesk.invalid>`,
    from: msg.from ?? '',
    date: meta.internalDate,
    direction: 'in',
    kind,
    subject: msg.subject.slice(0, 300),
    raw_key: meta.rawKey,
    attachments: msg.attachments.slice(0, 50).map((a) => ({ filename: a.filename, content_type: a.contentType, size: a.size, sha256: a.sha256 })),
    references: buildReferences(msg.references, msg.messageId),
    source: meta.ref,
    ...(note ? { note } : {}),
  };
}

/** Everyone named in From/To/Cc/Reply-To except our own addresses: who may thread into the case. */
export function participants(msg: ParsedMessage, own: ReadonlySet<string>): string[] {
  const all = [msg.from, msg.replyTo, ...msg.to, ...msg.cc].filter((a): a is string => !!a && !own.has(a));
  return [...new Set(all)].slice(0, 50);
}

export interface DraftInput {
  msg: ParsedMessage;
  meta: InboundMeta;
  kind: 'report' | 'support';
  fields: Record<string, unknown>;
  kindReason: string;
  own: ReadonlySet<string>;
  autoReply: NonNullable<Case['auto_reply']>;
  encrypted: boolean;
  signature: Case['signature'];
  signatureKey: Case['signature_key'];
  /** The subject to show (a protected subject from inside the encryption wins over the outer one). */
  subject: string;
  warnings: string[];
}

export function draftCase(d: DraftInput): Omit<Case, 'id'> {
  const reporter = d.msg.from ?? '';
  const replyTo = d.autoReply.allowed && d.autoReply.to ? d.autoReply.to : (d.msg.replyTo ?? reporter);
  const timeline: Case['timeline'] = [
    { at: d.meta.internalDate, event: 'received', detail: d.kind === 'support' ? `support question: ${d.kindReason}` : 'report received' },
  ];
  for (const w of d.warnings.slice(0, 10)) timeline.push({ at: d.meta.internalDate, event: 'parse.warning', detail: w });
  if (!d.autoReply.allowed) timeline.push({ at: d.meta.internalDate, event: 'auto_reply.suppressed', detail: d.autoReply.reason });
  return {
    state: 'new',
    kind: d.kind,
    subject: d.subject.slice(0, 300),
    reporter,
    reply_to: replyTo,
    received_at: d.meta.internalDate,
    messages: [caseMessage(d.msg, d.meta, d.kind === 'support' ? 'support' : 'report')],
    acknowledged_at: null,
    first_response_at: null,
    next_steps_at: null,
    escalations: [],
    encrypted: d.encrypted,
    signature: d.signature,
    signature_key: d.signatureKey,
    fields: d.fields,
    participants: participants(d.msg, d.own),
    timeline,
    related: [],
    severity: null,
    assignee: null,
    resolved_at: null,
    advisory_url: null,
    auto_reply: d.autoReply,
    notices: [],
  };
}
