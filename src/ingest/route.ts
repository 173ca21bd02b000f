import type { Case, MessageKind, ParsedMessage } from '../types';
import type { RobotVerdict } from '../parse/robot';

/**
 * Where an inbound message goes: the pure threading decision. It sees the parsed message, what the
 * store said about the Message-IDs it references and about a case tag in its subject, and the
 * config's idea of who is who. No I/O.
 */

export const CASE_TAG = /\[(SEC-\d{4}-\d{4,})\]/i;

export type Route =
  | { action: 'skip'; reason: SkipReason; detail: string; caseId?: string | null }
  | { action: 'attach'; caseId: string; kind: MessageKind; by: 'headers' | 'subject-tag' | 'bounce' }
  | { action: 'create' };

export type SkipReason =
  | 'robot'
  | 'stranger_case_tag'
  | 'sent_unthreaded'
  | 'unparseable'
  | 'too_large'
  | 'spam'
  | 'own_mail'
  | 'duplicate';

export interface RouteInput {
  msg: ParsedMessage;
  /** 'inbox' or 'sent' (the shared mailbox's Sent folder: written by the account holder only). */
  folder: 'inbox' | 'sent';
  robot: RobotVerdict | null;
  /** The case each referenced Message-ID (In-Reply-To first, then References newest first) belongs to. */
  threadedCase: Case | null;
  /** The case named by a `[SEC-…]` tag in the subject, when it exists. */
  taggedCase: Case | null;
  /** The case a bounce's returned Message-ID belongs to. */
  bouncedCase: Case | null;
  maintainers: ReadonlySet<string>;
  ownAddresses: ReadonlySet<string>;
  /** The message is one secdesk sent (its Message-ID has our signature). */
  isOwnMessage: boolean;
}

/** Message-IDs to look up for threading, most specific first. */
export function threadingIds(msg: ParsedMessage): string[] {
  const out: string[] = [];
  for (const id of [...msg.inReplyTo, ...[...msg.references].reverse()]) if (!out.includes(id)) out.push(id);
  return out.slice(0, 50);
}

export function caseTag(subject: string): string | null {
  const m = CASE_TAG.exec(subject);
  return m?.[1] ? m[1].toUpperCase() : null;
}

/** Who is writing, relative to a case. */
export function senderRole(c: Case, from: string | null, maintainers: ReadonlySet<string>): 'maintainer' | 'reporter' | 'participant' | 'stranger' {
  if (!from) return 'stranger';
  if (maintainers.has(from)) return 'maintainer';
  if (from === c.reporter || from === c.reply_to) return 'reporter';
  if (c.participants.includes(from)) return 'participant';
  return 'stranger';
}

export function routeMessage(input: RouteInput): Route {
  const { msg, folder, robot, maintainers } = input;

  if (input.isOwnMessage) {
    // Our own mail come back (an echo, a forwarding loop, a copy the SMTP server filed): the mail
    // worker recorded it on its case when it sent it. Attaching it again would read as the reporter
    // writing (a follow-up, maybe a chaser that we answer): kept as a skip naming the case instead.
    return { action: 'skip', reason: 'own_mail', detail: 'a message secdesk itself sent', caseId: input.threadedCase?.id ?? null };
  }

  if (robot && robot.kind === 'bounce' && input.bouncedCase) {
    return { action: 'attach', caseId: input.bouncedCase.id, kind: 'bounce', by: 'bounce' };
  }

  // Mail in the inbox From our own address is either our automatic mail echoed back (perhaps with a
  // new Message-ID and Auto-Submitted stripped) or a forgery: anyone can write that From. Neither is
  // a reporter writing. Replies sent from the shared mailbox count through the Sent folder instead.
  if (folder === 'inbox' && msg.from && input.ownAddresses.has(msg.from)) {
    return { action: 'skip', reason: 'own_mail', detail: 'mail From our own address in the inbox (replies from the shared mailbox count through the Sent folder)', caseId: input.threadedCase?.id ?? null };
  }

  if (robot) {
    return { action: 'skip', reason: 'robot', detail: robot.reason, caseId: input.bouncedCase?.id ?? null };
  }

  if (folder === 'sent') {
    const c = input.threadedCase ?? input.taggedCase;
    if (c) return { action: 'attach', caseId: c.id, kind: 'maintainer_reply', by: input.threadedCase ? 'headers' : 'subject-tag' };
    return { action: 'skip', reason: 'sent_unthreaded', detail: 'mail in the Sent folder that belongs to no case' };
  }

  const threaded = input.threadedCase;
  if (threaded) {
    const role = senderRole(threaded, msg.from, maintainers);
    return { action: 'attach', caseId: threaded.id, kind: role === 'maintainer' ? 'maintainer_reply' : 'followup', by: 'headers' };
  }

  const tagged = input.taggedCase;
  if (tagged) {
    const role = senderRole(tagged, msg.from, maintainers);
    if (role === 'maintainer' || role === 'reporter') {
      return { action: 'attach', caseId: tagged.id, kind: role === 'maintainer' ? 'maintainer_reply' : 'followup', by: 'subject-tag' };
    }
    // A case number is no secret (it is in every subject); knowing it must not let a stranger write
    // into someone else's confidential case. The mail is kept as a skip a maintainer can look at.
    return {
      action: 'skip',
      reason: 'stranger_case_tag',
      detail: `names case ${tagged.id} in its subject but the sender is neither its reporter nor a maintainer`,
      caseId: tagged.id,
    };
  }

  return { action: 'create' };
}
