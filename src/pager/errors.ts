import { PermanentError, TransientError } from '../errors';

/**
 * Pager failures, split the way BullMQ needs them: a retryable one (network, timeout, 408, 429, 5xx)
 * is thrown as is and retried on the channel's schedule; a permanent one (any other 4xx — a wrong
 * routing key or webhook URL will not fix itself) should end the job (the lead wraps it in BullMQ's
 * UnrecoverableError) and be reported to the maintainers.
 * Messages name the channel and status, never the URL (Slack/webhook URLs are secrets).
 */
export class PagerTransientError extends TransientError {
  readonly channel: string;
  readonly status: number | null;
  /** From a 429's Retry-After header, when the service sent one. */
  readonly retryAfterMs: number | null;
  constructor(channel: string, message: string, opts: { status?: number; retryAfterMs?: number | null; cause?: unknown } = {}) {
    super('EPagerTransient', `${channel}: ${message}`, opts.cause);
    this.channel = channel;
    this.status = opts.status ?? null;
    this.retryAfterMs = opts.retryAfterMs ?? null;
  }
}

export class PagerPermanentError extends PermanentError {
  readonly channel: string;
  readonly status: number | null;
  constructor(channel: string, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super('EPagerRejected', `${channel}: ${message}`, opts.cause);
    this.channel = channel;
    this.status = opts.status ?? null;
  }
}
