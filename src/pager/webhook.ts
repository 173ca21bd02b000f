import { createHmac } from 'node:crypto';
import type { Clock } from '../clock';
import type { FetchFn } from './http';
import { postBody } from './http';
import type { PageEvent, PagerChannel } from './types';

export const SIGNATURE_HEADER = 'x-secdesk-signature';
export const TIMESTAMP_HEADER = 'x-secdesk-timestamp';

export interface WebhookOptions {
  name: string;
  url: string;
  secret: string;
  timeoutMs: number;
  clock: Clock;
  fetchImpl?: FetchFn;
}

/** `sha256=<hex HMAC-SHA256 of the exact body bytes>`: what a receiver recomputes and compares. */
export function signWebhookBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/**
 * Generic JSON webhook. The timestamp is sent as a header and also inside the signed body, so a
 * receiver can reject replays of an old body by checking the signed value, not just the header.
 */
export function createWebhookChannel(o: WebhookOptions): PagerChannel {
  const send = async (event: 'trigger' | 'resolve', ev: PageEvent) => {
    const timestamp = Math.floor(o.clock.now().getTime() / 1000);
    const body = JSON.stringify({
      event,
      timestamp,
      case_id: ev.caseId,
      clock: ev.clock,
      level: ev.level,
      severity: ev.severity,
      dedup_key: ev.dedupKey,
      age_ms: ev.ageMs,
      reporter_domain: ev.reporterDomain,
      summary: ev.summary,
      case_command: ev.caseCommand,
    });
    await postBody(o.url, body, {
      channel: o.name,
      timeoutMs: o.timeoutMs,
      fetchImpl: o.fetchImpl,
      headers: { [SIGNATURE_HEADER]: signWebhookBody(body, o.secret), [TIMESTAMP_HEADER]: String(timestamp) },
    });
  };
  return {
    name: o.name,
    type: 'webhook',
    trigger: (ev) => send('trigger', ev),
    resolve: (ev) => send('resolve', ev),
  };
}
