import pino from 'pino';
import type { Logger } from 'pino';
import type { Config } from './config';

export type { Logger };

/**
 * Paths that must never reach a log line: message bodies, decrypted content, credentials. Callers
 * should not log these in the first place; redaction is the net under that rule.
 */
export const REDACT_PATHS = [
  'text',
  'html',
  'body',
  'raw',
  'content',
  'decrypted',
  'password',
  'passphrase',
  'secret',
  'routing_key',
  'api_key',
  'url',
  '*.text',
  '*.html',
  '*.body',
  '*.raw',
  '*.content',
  '*.decrypted',
  '*.password',
  '*.passphrase',
  '*.secret',
  '*.url',
  'err.config',
  'err.response',
];

/** Strip credentials from a URL before it is shown (logs, `secdesk check`). */
export function safeUrl(u: string): string {
  try {
    const url = new URL(u);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(invalid url)';
  }
}

/** The one root logger; components take `log.child({ component })`. */
export function createLogger(cfg: Pick<Config, 'log'>, destination?: pino.DestinationStream): Logger {
  const opts: pino.LoggerOptions = {
    level: cfg.log.level,
    base: { app: 'secdesk' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(opts, destination);
  if (cfg.log.pretty) {
    return pino({ ...opts, transport: { target: 'pino-pretty', options: { colorize: true, singleLine: true, translateTime: 'HH:MM:ss', ignore: 'app,pid,hostname' } } });
  }
  return pino(opts);
}
