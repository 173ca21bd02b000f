import type { Config } from '../config';
import { ownAddresses } from '../config';
import type { ParsedMessage } from '../types';
import { isBareAddress, normalizeAddress, robotAddressKind } from './address';
import { isOwnMessageId, messageIdDomain } from './message-id';

/**
 * May secdesk send an automatic mail in answer to this message? A pure function of the parsed message
 * and config: secdesk must never become a mail loop (answering robots, itself, its own aliases) or a
 * spam reflector (answering forged senders). RFC 3834 is the reference: §2 (when not to respond),
 * §3.1.5 (who to respond to) and §4 (Reply-To, never Cc).
 *
 * Every "no" carries a stable `code` and a human `reason` that the worker records on the case.
 */

export type SuppressCode =
  | 'auto_submitted'
  | 'precedence'
  | 'mailing_list'
  | 'auto_response_suppress'
  | 'dsn'
  | 'null_return_path'
  | 'robot_return_path'
  | 'no_sender'
  | 'robot_sender'
  | 'invalid_recipient'
  | 'own_address'
  | 'maintainer'
  | 'own_message'
  | 'auth_failed';

export type AutoReplyDecision = { allowed: true; to: string } | { allowed: false; code: SuppressCode; reason: string };

/** The verdicts of one Authentication-Results header (as produced by src/auth's parser). */
export interface AuthVerdicts {
  /** The header's authserv-id; when present it must be listed in `trust.authserv_id`. */
  authservId?: string | null;
  spf?: string | null;
  dkim?: string | null;
  dmarc?: string | null;
}

export interface AutoReplyContext {
  cfg: Config;
  /**
   * Extra knowledge of Message-IDs we sent (e.g. the case store's record). Our own generated format
   * (see message-id.ts) is recognised without it.
   */
  ownMessageIds?: ((id: string) => boolean) | ReadonlySet<string>;
  /**
   * The verdicts of the trusted Authentication-Results header, if there is one. The caller should
   * pass only a header from a trusted authserv-id; if `authservId` is set it is checked here too.
   */
  authResults?: AuthVerdicts | null;
}

function header(msg: ParsedMessage, name: string): string[] {
  return msg.headers[name] ?? [];
}

function deny(code: SuppressCode, reason: string): AutoReplyDecision {
  return { allowed: false, code, reason };
}

/** Show a hostile header value in a reason without letting it run on or carry controls. */
function show(v: string): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  const clean = v.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  return JSON.stringify(clean.length > 60 ? `${clean.slice(0, 60)}…` : clean);
}

/** Verdict words are the first token of the result ("fail (reason)" → "fail"). */
function verdict(v: string | null | undefined): string {
  return (v ?? '').trim().toLowerCase().split(/[\s(;]/)[0] ?? '';
}

function robotHeaders(msg: ParsedMessage): AutoReplyDecision | null {
  for (const v of header(msg, 'auto-submitted')) {
    const kw = v.split(';')[0]?.trim().toLowerCase() ?? '';
    // RFC 3834 §5: anything but "no" (auto-generated, auto-replied, auto-notified, unknown) is automatic.
    if (kw !== 'no') return deny('auto_submitted', `Auto-Submitted: ${show(v)} (automatic mail, RFC 3834)`);
  }
  for (const v of header(msg, 'precedence')) {
    const p = v.trim().toLowerCase();
    if (p === 'bulk' || p === 'junk' || p === 'list') return deny('precedence', `Precedence: ${p} (bulk or list mail)`);
  }
  for (const name of ['list-id', 'list-unsubscribe']) {
    if (header(msg, name).length > 0) return deny('mailing_list', `${name === 'list-id' ? 'List-Id' : 'List-Unsubscribe'} present (mailing-list mail)`);
  }
  // Microsoft's flag asking responders to stay quiet; out-of-office replies carry it.
  for (const v of header(msg, 'x-auto-response-suppress')) {
    if (/\b(all|autoreply|oof)\b/i.test(v)) return deny('auto_response_suppress', `X-Auto-Response-Suppress: ${show(v)}`);
  }
  for (const name of ['x-autoreply', 'x-autorespond']) {
    if (header(msg, name).length > 0) return deny('auto_submitted', `${name} present (automatic reply)`);
  }
  return null;
}

function isOwnId(id: string, ctx: AutoReplyContext): boolean {
  if (isOwnMessageId(id, messageIdDomain(ctx.cfg))) return true;
  const known = ctx.ownMessageIds;
  if (!known) return false;
  return typeof known === 'function' ? known(id) : known.has(id);
}

export function mayAutoReply(msg: ParsedMessage, ctx: AutoReplyContext): AutoReplyDecision {
  const { cfg } = ctx;

  const robot = robotHeaders(msg);
  if (robot) return robot;
  if (msg.isDsn) return deny('dsn', 'delivery status notification (bounce)');

  if (msg.messageId && isOwnId(msg.messageId, ctx)) return deny('own_message', 'a message secdesk itself sent (its Message-ID is ours)');

  // Return-Path: '' is the null path of bounces and auto-replies (RFC 5321 §4.5.5); null = not recorded.
  if (msg.returnPath !== null) {
    const rp = normalizeAddress(msg.returnPath);
    if (rp === '') return deny('null_return_path', 'null return path (<>): bounce or automatic mail');
    const kind = robotAddressKind(rp);
    if (kind) return deny('robot_return_path', `return path is a ${kind} address`);
  }

  if (!msg.from) return deny('no_sender', 'no From address');
  const from = normalizeAddress(msg.from);
  const fromKind = robotAddressKind(from);
  if (fromKind) return deny('robot_sender', `From is a ${fromKind} address`);

  // RFC 3834 §4: Reply-To if present, else From. Cc is never a recipient of an automatic reply.
  const to = msg.replyTo ? normalizeAddress(msg.replyTo) : from;
  if (!isBareAddress(to)) return deny('invalid_recipient', `recipient ${show(to)} is not a usable address`);
  const toKind = robotAddressKind(to);
  if (toKind) return deny('robot_sender', `Reply-To is a ${toKind} address`);

  const own = ownAddresses(cfg);
  if (own.has(from) || own.has(to)) return deny('own_address', 'sender or recipient is the security address or one of its aliases');
  const maintainers = new Set(cfg.maintainers);
  if (maintainers.has(from) || maintainers.has(to)) return deny('maintainer', 'sender or recipient is a maintainer');

  const auth = ctx.authResults;
  if (auth && cfg.suppress_on_auth_fail) {
    const trusted = auth.authservId == null || cfg.trust.authserv_id.some((t) => t.toLowerCase() === auth.authservId?.trim().toLowerCase());
    const spf = verdict(auth.spf);
    // softfail counts: a domain publishing ~all plus a failing DMARC is the classic forged sender, and
    // answering it would reflect our mail at whoever owns the forged address.
    if (trusted && (spf === 'fail' || spf === 'softfail') && verdict(auth.dmarc) === 'fail') {
      return deny('auth_failed', `trusted Authentication-Results${auth.authservId ? ` (${auth.authservId})` : ''}: SPF ${spf} and DMARC fail — sender likely forged`);
    }
  }

  return { allowed: true, to };
}
