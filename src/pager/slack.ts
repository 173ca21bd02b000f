import type { FetchFn } from './http';
import { postBody } from './http';
import type { PageEvent, PagerChannel } from './types';

export interface SlackOptions {
  name: string;
  /** The incoming-webhook URL is itself the secret: it is never logged or put in an error. */
  webhookUrl: string;
  timeoutMs: number;
  fetchImpl?: FetchFn;
}

/** Slack has no incident to close, so `resolve` posts a "resolved" line into the same channel. */
export function createSlackChannel(o: SlackOptions): PagerChannel {
  const post = (text: string) =>
    postBody(
      o.webhookUrl,
      JSON.stringify({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] }),
      { channel: o.name, timeoutMs: o.timeoutMs, fetchImpl: o.fetchImpl },
    );
  return {
    name: o.name,
    type: 'slack',
    async trigger(ev: PageEvent) {
      const icon = ev.severity === 'warning' ? ':warning:' : ':rotating_light:';
      await post(`${icon} ${escapeMrkdwn(ev.summary)}\n\`${escapeMrkdwn(ev.caseCommand)}\``);
    },
    async resolve(ev: PageEvent) {
      await post(`:white_check_mark: ${escapeMrkdwn(ev.caseId)}: ${ev.clock} clock met, page resolved`);
    },
  };
}

/** Slack treats &, < and > as control characters in mrkdwn. */
function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
