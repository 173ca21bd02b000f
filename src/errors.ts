/**
 * Typed errors. Every error has a stable string `code`; `retryable` says whether trying the same
 * thing again later can succeed (an SMTP 4xx, a dropped connection) or never will (bad config, a
 * message that cannot be parsed, an SMTP 5xx).
 */
export class SecdeskError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** Config is wrong: start-up stops with exit code 2 and this message. */
export class ConfigError extends SecdeskError {
  constructor(message: string) {
    super('EConfig', message);
  }
}

/** A network peer (IMAP, SMTP, Redis, pager) failed in a way that may pass. */
export class TransientError extends SecdeskError {
  constructor(code: string, message: string, cause?: unknown) {
    super(code, message, { retryable: true, cause });
  }
}

/** Input that will never be accepted (a malformed message, a 5xx from SMTP, an unknown case). */
export class PermanentError extends SecdeskError {
  constructor(code: string, message: string, cause?: unknown) {
    super(code, message, { retryable: false, cause });
  }
}

export class NotFoundError extends PermanentError {
  constructor(what: string) {
    super('ENotFound', `${what} not found`);
  }
}

/** A stored record that cannot be read back (bad bytes in Redis): retrying will not fix it. */
export class CorruptCaseError extends PermanentError {
  constructor(what: string, why: string, cause?: unknown) {
    super('ECorruptCase', `${what}: stored record is unreadable: ${why}`, cause);
  }
}

/** One place that turns whatever was thrown into an Error with a code. */
export function coerceError(e: unknown): Error & { code?: string; retryable?: boolean } {
  // `instanceof Error` is false for errors made in another realm (Node core errors inside jest's VM),
  // so anything error-shaped is taken as it is rather than wrapped and stripped of its code.
  if (e instanceof Error || (typeof e === 'object' && e !== null && 'message' in e)) return e as Error & { code?: string };
  if (typeof e === 'string') return new Error(e);
  try {
    return new Error(JSON.stringify(e));
  } catch {
    return new Error(String(e));
  }
}

/** Network-level error codes from Node and the mail libraries that are worth retrying. */
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ESOCKET',
  'ECONNECTION',
  'ETIMEOUT',
  'NoConnection',
]);

export function isRetryable(e: unknown): boolean {
  const err = coerceError(e) as Error & { code?: string; retryable?: boolean; responseCode?: number };
  if (typeof err.retryable === 'boolean') return err.retryable;
  if (typeof err.responseCode === 'number') return err.responseCode >= 400 && err.responseCode < 500;
  return err.code !== undefined && RETRYABLE_CODES.has(err.code);
}
