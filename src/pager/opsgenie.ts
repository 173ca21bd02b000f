import { formatDuration } from '../duration';
import type { FetchFn } from './http';
import { postBody } from './http';
import type { PageEvent, PagerChannel } from './types';

export const OPSGENIE_DEFAULT_URL = 'https://api.opsgenie.com';

export interface OpsgenieOptions {
  name: string;
  apiKey: string;
  /** API base; `https://api.eu.opsgenie.com` for the EU instance. */
  url?: string;
  timeoutMs: number;
  fetchImpl?: FetchFn;
}

const PRIORITY: Record<PageEvent['severity'], string> = { info: 'P5', warning: 'P3', error: 'P2', critical: 'P1' };

/** Opsgenie Alert API: create with `alias` = dedup key (Opsgenie dedupes open alerts by alias), close by alias. */
export function createOpsgenieChannel(o: OpsgenieOptions): PagerChannel {
  const base = (o.url ?? OPSGENIE_DEFAULT_URL).replace(/\/+$/, '');
  const headers = { authorization: `GenieKey ${o.apiKey}` };
  const send = (path: string, body: unknown) =>
    postBody(`${base}${path}`, JSON.stringify(body), { channel: o.name, headers, timeoutMs: o.timeoutMs, fetchImpl: o.fetchImpl });
  return {
    name: o.name,
    type: 'opsgenie',
    async trigger(ev: PageEvent) {
      await send('/v2/alerts', {
        message: ev.summary.slice(0, 130), // Opsgenie's limit
        alias: ev.dedupKey,
        description: `${ev.summary}\nSee: ${ev.caseCommand}`,
        source: 'secdesk',
        priority: PRIORITY[ev.severity],
        tags: ['secdesk', `clock:${ev.clock}`],
        details: {
          case: ev.caseId,
          clock: ev.clock,
          level: String(ev.level),
          age: formatDuration(ev.ageMs),
          reporter_domain: ev.reporterDomain,
          command: ev.caseCommand,
        },
      });
    },
    async resolve(ev: PageEvent) {
      await send(`/v2/alerts/${encodeURIComponent(ev.dedupKey)}/close?identifierType=alias`, {
        source: 'secdesk',
        note: `${ev.clock} clock met on ${ev.caseId}`,
      });
    },
  };
}
