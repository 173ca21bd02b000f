import type { Case, MessageKind, ParsedMessage } from '../types';
import { isStatusChaser, newText } from '../sla/chaser';
import { isClockOpen } from '../sla/sla-decide';
import type { InboundMeta } from './case-draft';
import { caseMessage, participants } from './case-draft';
import type { CommandResult } from './commands';
import { applyCommands, parseCommands } from './commands';

/**
 * What a message that threads into an existing case does to it: pure, given the case, the message
 * and the verdict on its sender. Returns the follow-up work for the caller to queue.
 */

export interface SenderVerdict {
  authenticated: boolean;
  method: string | null;
  reason: string;
}

export interface AttachInput {
  msg: ParsedMessage;
  meta: InboundMeta;
  kind: MessageKind;
  folder: 'inbox' | 'sent';
  /** For mail claiming a maintainer (null otherwise). The Sent folder is trusted as is. */
  sender: SenderVerdict | null;
  maintainers: ReadonlySet<string>;
  own: ReadonlySet<string>;
}

export interface AttachEffects {
  /** A maintainer's answer met the acknowledge clock, or commands met the respond clock. */
  clocksMet: ('acknowledge' | 'respond')[];
  commandResults: CommandResult[];
  /** Reporter asked for status while the acknowledge clock was open. */
  chaser: boolean;
  spoof: string | null;
  resolved: boolean;
  bounced: boolean;
}

/** The reporter is among the recipients: "reply all, keep security@ in Cc". */
function answersReporter(c: Case, msg: ParsedMessage): boolean {
  const rcpts = new Set([...msg.to, ...msg.cc]);
  return rcpts.has(c.reporter) || rcpts.has(c.reply_to);
}

export function attachToCase(c: Case, input: AttachInput): AttachEffects {
  const { msg, meta } = input;
  const at = meta.internalDate;
  const fx: AttachEffects = { clocksMet: [], commandResults: [], chaser: false, spoof: null, resolved: false, bounced: false };
  const wasOpen = { acknowledge: isClockOpen(c, 'acknowledge'), respond: isClockOpen(c, 'respond') };

  if (input.kind === 'maintainer_reply' && input.folder === 'inbox' && !input.sender?.authenticated) {
    // Claims a maintainer but could not prove it: kept as evidence, changes nothing.
    const why = input.sender?.reason ?? 'not authenticated';
    fx.spoof = why;
    c.messages.push(caseMessage(msg, meta, 'maintainer_reply', `spoofing attempt: ${why}`));
    c.timeline.push({ at, event: 'spoof_attempt', detail: `mail claiming to be from maintainer ${msg.from ?? '?'} was not authenticated: ${why}` });
    return fx;
  }

  if (input.kind === 'bounce') {
    c.messages.push(caseMessage(msg, meta, 'bounce'));
    const bouncing = new Set(c.bouncing ?? []);
    bouncing.add(c.reply_to);
    c.bouncing = [...bouncing];
    c.timeline.push({ at, event: 'bounce', detail: `our mail to ${c.reply_to} bounced` });
    fx.bounced = true;
    return fx;
  }

  if (input.kind === 'maintainer_reply') {
    const toReporter = input.folder === 'sent' || answersReporter(c, msg);
    const kind: MessageKind = toReporter ? 'maintainer_reply' : 'maintainer_note';
    const by = msg.from ?? 'maintainer';
    c.messages.push(caseMessage(msg, meta, kind, input.sender ? `authenticated: ${input.sender.reason}` : 'from the Sent folder'));
    if (toReporter) {
      c.first_response_at ??= at;
      if (c.state === 'new') c.state = 'acknowledged';
      c.timeline.push({ at, event: 'maintainer.response', by, detail: input.folder === 'sent' ? 'reply in the Sent folder' : 'reply to the reporter' });
    } else {
      c.timeline.push({ at, event: 'maintainer.note', by });
    }
    const commands = parseCommands(newText(msg.text));
    if (commands.length > 0) {
      fx.commandResults = applyCommands(c, commands, at, by, input.maintainers);
      // A reply to the reporter that records next steps answers them too: both clocks are met.
      if (toReporter && c.next_steps_at) c.first_response_at ??= at;
    }
    if (c.state === 'resolved') fx.resolved = true;
  } else {
    c.messages.push(caseMessage(msg, meta, 'followup'));
    c.timeline.push({ at, event: 'followup', by: msg.from ?? undefined });
    const text = newText(msg.text);
    if (wasOpen.acknowledge && isStatusChaser(text, msg.subject)) {
      fx.chaser = true;
      c.timeline.push({ at, event: 'chaser', detail: 'the reporter asked for status while the acknowledge clock was open' });
    }
  }

  const more = participants(msg, input.own).filter((a) => !c.participants.includes(a) && input.kind === 'maintainer_reply');
  if (more.length > 0) c.participants = [...c.participants, ...more].slice(0, 100);
  if (wasOpen.acknowledge && !isClockOpen(c, 'acknowledge')) fx.clocksMet.push('acknowledge');
  if (wasOpen.respond && !isClockOpen(c, 'respond')) fx.clocksMet.push('respond');
  return fx;
}
