import { HOUR, MINUTE } from '../duration';
import { coerceError, PermanentError, TransientError } from '../errors';

/**
 * When to retry an SMTP send that failed temporarily, as data (zone-mta's sender keeps its schedule
 * the same way). Early retries are quick — most failures are a server restarting — and later ones
 * spread out, so an SMTP outage of most of a day still loses no mail. `totalMs` is the running total
 * since the first attempt, which is what an operator wants to know ("we give up after ~25 hours").
 */

export interface RetryStep {
  /** 1-based number of the retry (attempt `retry + 1` overall). */
  retry: number;
  delayMs: number;
  totalMs: number;
}

const DELAYS_MS: readonly number[] = [
  1 * MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  20 * MINUTE,
  40 * MINUTE,
  1 * HOUR,
  2 * HOUR,
  3 * HOUR,
  3 * HOUR,
  3 * HOUR,
  4 * HOUR,
  4 * HOUR,
];

export const SEND_SCHEDULE: readonly RetryStep[] = DELAYS_MS.reduce<RetryStep[]>((acc, delayMs, i) => {
  const prev = acc[i - 1]?.totalMs ?? 0;
  acc.push({ retry: i + 1, delayMs, totalMs: prev + delayMs });
  return acc;
}, []);

/** BullMQ `attempts` for a send job: the first try plus one per schedule step. */
export const SEND_MAX_ATTEMPTS = SEND_SCHEDULE.length + 1;

/** ±20 %: enough that sends queued together during an outage do not all retry in the same second. */
export const SEND_JITTER = 0.2;

/**
 * Delay before the next attempt, after `attemptsMade` failed ones (BullMQ passes 1 after the first
 * failure), or -1 when the schedule is exhausted (BullMQ then fails the job for good). `rand` is a
 * number in [0, 1) — injected so tests are deterministic. Usable directly as BullMQ's
 * `settings.backoffStrategy`: `(attemptsMade) => nextDelay(attemptsMade)`.
 */
export function nextDelay(attemptsMade: number, rand: () => number = Math.random): number {
  const step = SEND_SCHEDULE[Math.floor(attemptsMade) - 1];
  if (!step) return -1;
  const r = Math.min(Math.max(rand(), 0), 1);
  return Math.round(step.delayMs * (1 - SEND_JITTER + 2 * SEND_JITTER * r));
}

/** Node/nodemailer error codes that mean "could not talk to the server (properly)": try again later. */
const CONNECTION_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EPIPE',
  'EPROTOCOL',
  'ETLS',
  'ENOTFOUND',
  // A credential problem is the operator's to fix; keep the mail queued until they do.
  'EAUTH',
]);

type SmtpErrorLike = Error & { code?: string; responseCode?: number; command?: string; response?: string };

/**
 * Retryable (4xx, connection trouble) or permanent (5xx, a message that can never be sent), as a
 * typed error for the worker: throw a PermanentError as BullMQ's UnrecoverableError and record it on
 * the case; let a TransientError go back through the schedule. The message names the code and
 * SMTP status only, never the mail.
 */
export function classifySmtpError(e: unknown): TransientError | PermanentError {
  if (e instanceof TransientError || e instanceof PermanentError) return e;
  // Error-like objects are read as they are: `instanceof Error` is false for errors made in another
  // realm (Node core errors seen from a jest vm context), and coerceError would then drop `code`.
  const err = (typeof e === 'object' && e !== null && 'message' in e ? e : coerceError(e)) as SmtpErrorLike;
  const code = err.code ?? 'ESMTP';
  const status = typeof err.responseCode === 'number' ? err.responseCode : undefined;
  const what = `SMTP ${code}${status ? ` ${status}` : ''}${err.command ? ` after ${err.command}` : ''}`;
  if (status !== undefined) {
    if (status >= 400 && status < 500) return new TransientError(code, `${what}: temporary failure`, e);
    // RFC 5321 §4.5.3.1.10: 552 "too much mail data" in reply to RCPT is really the temporary 452.
    if (status === 552 && /^RCPT/i.test(err.command ?? '')) return new TransientError(code, `${what}: mailbox full, treated as temporary`, e);
    if (status >= 500 && code === 'EAUTH') return new TransientError(code, `${what}: authentication failed (check smtp config)`, e);
    if (status >= 500) return new PermanentError(code, `${what}: permanent failure`, e);
  }
  if (CONNECTION_CODES.has(code)) return new TransientError(code, `${what}: connection problem`, e);
  return new PermanentError(code, `${what}: ${String(err.message).slice(0, 200)}`, e);
}
