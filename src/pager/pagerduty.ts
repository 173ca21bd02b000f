import { formatDuration } from '../duration';
import type { FetchFn } from './http';
import { postBody } from './http';
import type { PageEvent, PagerChannel } from './types';

export const PAGERDUTY_DEFAULT_URL = 'https://events.pagerduty.com/v2/enqueue';

export interface PagerDutyOptions {
  name: string;
  routingKey: string;
  url?: string;
  timeoutMs: number;
  fetchImpl?: FetchFn;
}

/**
 * PagerDuty Events API v2. `trigger` and `resolve` share the dedup_key (one incident per case and
 * clock), so a second trigger for the same clock updates the open incident instead of opening another,
 * and `resolve` closes exactly the incident that clock opened.
 */
export function createPagerDutyChannel(o: PagerDutyOptions): PagerChannel {
  const url = o.url ?? PAGERDUTY_DEFAULT_URL;
  const send = (body: unknown) =>
    postBody(url, JSON.stringify(body), { channel: o.name, timeoutMs: o.timeoutMs, fetchImpl: o.fetchImpl });
  return {
    name: o.name,
    type: 'pagerduty',
    async trigger(ev: PageEvent) {
      await send({
        routing_key: o.routingKey,
        event_action: 'trigger',
        dedup_key: ev.dedupKey,
        payload: {
          summary: ev.summary.slice(0, 1024), // PagerDuty's limit
          source: 'secdesk',
          severity: ev.severity,
          component: 'security-inbox',
          class: ev.clock,
          custom_details: {
            case: ev.caseId,
            clock: ev.clock,
            level: ev.level,
            age: formatDuration(ev.ageMs),
            reporter_domain: ev.reporterDomain,
            command: ev.caseCommand,
          },
        },
      });
    },
    async resolve(ev: PageEvent) {
      await send({ routing_key: o.routingKey, event_action: 'resolve', dedup_key: ev.dedupKey });
    },
  };
}
