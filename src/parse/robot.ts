import type { ParsedMessage } from '../types';

export type RobotKind = 'auto_reply' | 'bounce' | 'list';
export interface RobotVerdict {
  kind: RobotKind;
  reason: string;
}

const ROBOT_LOCALPART = /^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|auto-?reply)([+-].*)?$/i;

function first(msg: ParsedMessage, name: string): string | undefined {
  return msg.headers[name]?.[0];
}

/**
 * Mail written by machines (RFC 3834 auto-replies, DSNs, mailing lists). It opens no case and is
 * never answered — answering a robot is how mail loops start.
 */
export function detectRobot(msg: ParsedMessage, ctx: { ownAddresses: Set<string> }): RobotVerdict | null {
  if (msg.isDsn) return { kind: 'bounce', reason: 'delivery status notification (multipart/report)' };
  const local = msg.from?.split('@')[0] ?? '';
  if (/^(mailer-daemon|postmaster)$/i.test(local) && /undeliver|delivery|returned|failure|failed/i.test(msg.subject)) {
    return { kind: 'bounce', reason: `bounce from ${local}` };
  }
  const autoSubmitted = first(msg, 'auto-submitted');
  if (autoSubmitted !== undefined && !/^no\b/i.test(autoSubmitted)) {
    return { kind: 'auto_reply', reason: `Auto-Submitted: ${autoSubmitted.slice(0, 40)}` };
  }
  if (first(msg, 'x-autoreply') !== undefined || first(msg, 'x-autorespond') !== undefined || /^auto-?reply$/i.test(first(msg, 'x-auto-response-suppress') ?? '')) {
    return { kind: 'auto_reply', reason: 'X-Autoreply/X-Autorespond header' };
  }
  const precedence = first(msg, 'precedence')?.toLowerCase();
  if (precedence && /^(bulk|junk|list|auto_reply)$/.test(precedence)) {
    return { kind: precedence === 'list' ? 'list' : precedence === 'auto_reply' ? 'auto_reply' : 'list', reason: `Precedence: ${precedence}` };
  }
  if (first(msg, 'list-id') !== undefined) return { kind: 'list', reason: 'List-Id header' };
  if (first(msg, 'list-unsubscribe') !== undefined) return { kind: 'list', reason: 'List-Unsubscribe header' };
  if (msg.returnPath === '') return { kind: 'auto_reply', reason: 'null return path (<>)' };
  if (ROBOT_LOCALPART.test(local)) return { kind: 'auto_reply', reason: `sender ${local}@ is a robot address` };
  if (msg.from && ctx.ownAddresses.has(msg.from) && msg.headers['auto-submitted']) {
    return { kind: 'auto_reply', reason: 'our own automatic mail' };
  }
  return null;
}
