import { readFileSync } from 'node:fs';
import type { Clock } from '../clock';
import { systemClock } from '../clock';
import type { Config } from '../config';
import { ConfigError } from '../errors';
import { createEmailChannel } from './email';
import type { FetchFn } from './http';
import { createOpsgenieChannel } from './opsgenie';
import { createPagerDutyChannel } from './pagerduty';
import { createSlackChannel } from './slack';
import type { PagerChannel, SendMail } from './types';
import { createWebhookChannel } from './webhook';

export type { PageEvent, PagerChannel, PagerChannelType, PagerMail, SendMail } from './types';
export { PagerPermanentError, PagerTransientError } from './errors';
export { PAGER_RETRY, PAGER_RETRY_DELAYS, pagerBackoff } from './retry';
export { signWebhookBody, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './webhook';

export const DEFAULT_PAGER_TIMEOUT_MS = 10_000;

export interface PagerDeps {
  sendMail: SendMail;
  /** Reads a `*_file` secret (default: the file's contents, trimmed). Relative paths are the caller's business. */
  readSecret?: (file: string) => string;
  /** `From` of pager mail (default: cfg.smtp.from). */
  from?: string;
  clock?: Clock;
  timeoutMs?: number;
  fetchImpl?: FetchFn;
}

type ChannelConfig = Config['pager'][string];

function defaultReadSecret(file: string): string {
  return readFileSync(file, 'utf8').trim();
}

/** `key` inline, else `key_file` through the reader; a missing or empty secret stops start-up. */
function secret(name: string, ch: ChannelConfig, key: 'routing_key' | 'api_key' | 'webhook_url' | 'secret', read: (f: string) => string): string {
  const inline = ch[key];
  if (typeof inline === 'string' && inline.trim()) return inline.trim();
  const file = ch[`${key}_file`];
  if (typeof file === 'string' && file) {
    let v: string;
    try {
      v = read(file).trim();
    } catch (e) {
      throw new ConfigError(`pager.${name}.${key}_file: cannot read ${file}: ${(e as Error).message}`);
    }
    if (!v) throw new ConfigError(`pager.${name}.${key}_file: ${file} is empty`);
    return v;
  }
  throw new ConfigError(`pager.${name}: needs ${key} or ${key}_file`);
}

function httpUrl(name: string, key: string, value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new ConfigError(`pager.${name}.${key}: not a valid URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ConfigError(`pager.${name}.${key}: must be an http(s) URL`);
  return value;
}

function timeoutOf(ch: ChannelConfig, fallback: number): number {
  const t = (ch as Record<string, unknown>).timeout_ms;
  return typeof t === 'number' && t > 0 ? t : fallback;
}

/** Build every channel under `cfg.pager`, reading secrets now so a bad one stops start-up. */
export function createPagerChannels(cfg: Config, deps: PagerDeps): Map<string, PagerChannel> {
  const read = deps.readSecret ?? defaultReadSecret;
  const clock = deps.clock ?? systemClock;
  const out = new Map<string, PagerChannel>();
  for (const [name, ch] of Object.entries(cfg.pager)) {
    const timeoutMs = timeoutOf(ch, deps.timeoutMs ?? DEFAULT_PAGER_TIMEOUT_MS);
    const common = { name, timeoutMs, fetchImpl: deps.fetchImpl };
    switch (ch.type) {
      case 'pagerduty':
        out.set(name, createPagerDutyChannel({
          ...common,
          routingKey: secret(name, ch, 'routing_key', read),
          url: ch.url ? httpUrl(name, 'url', ch.url) : undefined,
        }));
        break;
      case 'opsgenie':
        out.set(name, createOpsgenieChannel({
          ...common,
          apiKey: secret(name, ch, 'api_key', read),
          url: ch.url ? httpUrl(name, 'url', ch.url) : undefined,
        }));
        break;
      case 'slack': {
        // `url` is accepted as a synonym: people paste the webhook there.
        const hook = ch.webhook_url || ch.webhook_url_file ? secret(name, ch, 'webhook_url', read) : (ch.url ?? '');
        if (!hook) throw new ConfigError(`pager.${name}: needs webhook_url or webhook_url_file`);
        out.set(name, createSlackChannel({ ...common, webhookUrl: httpUrl(name, 'webhook_url', hook) }));
        break;
      }
      case 'webhook':
        if (!ch.url) throw new ConfigError(`pager.${name}: needs url`);
        out.set(name, createWebhookChannel({
          ...common,
          clock,
          url: httpUrl(name, 'url', ch.url),
          // Unsigned pages would let anyone who finds the URL forge them: the secret is required.
          secret: secret(name, ch, 'secret', read),
        }));
        break;
      case 'email': {
        const to = ch.to && ch.to.length > 0 ? ch.to : cfg.maintainers;
        if (to.length === 0) throw new ConfigError(`pager.${name}.to: no recipients (and no maintainers to fall back on)`);
        out.set(name, createEmailChannel({ name, to, from: deps.from ?? cfg.smtp.from, sendMail: deps.sendMail }));
        break;
      }
    }
  }
  return out;
}
