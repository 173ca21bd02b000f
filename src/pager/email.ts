import { coerceError, isRetryable } from '../errors';
import { formatDuration } from '../duration';
import { PagerPermanentError, PagerTransientError } from './errors';
import type { PageEvent, PagerChannel, SendMail } from './types';

export interface EmailChannelOptions {
  name: string;
  to: string[];
  from?: string;
  sendMail: SendMail;
}

/** Mail to the team (the default warning channel). Same no-content rule as every other pager. */
export function createEmailChannel(o: EmailChannelOptions): PagerChannel {
  const send = async (subject: string, text: string) => {
    try {
      await o.sendMail({
        from: o.from,
        to: o.to,
        subject,
        text,
        // RFC 3834: never answered by vacation responders, never answered by secdesk itself.
        headers: { 'Auto-Submitted': 'auto-generated', 'X-Secdesk-Page': 'yes' },
      });
    } catch (e) {
      const err = coerceError(e);
      if (isRetryable(err)) throw new PagerTransientError(o.name, `send failed: ${err.message}`, { cause: e });
      throw new PagerPermanentError(o.name, `send rejected: ${err.message}`, { cause: e });
    }
  };
  return {
    name: o.name,
    type: 'email',
    async trigger(ev: PageEvent) {
      await send(
        `[secdesk] ${ev.caseId}: ${ev.summary.replace(/^[^:]*:\s*/, '')}`,
        [
          ev.summary,
          '',
          `Case:            ${ev.caseId}`,
          `Clock:           ${ev.clock} (level ${ev.level})`,
          `Age:             ${formatDuration(ev.ageMs)}`,
          `Reporter domain: ${ev.reporterDomain}`,
          '',
          `See the case with: ${ev.caseCommand}`,
          '',
          'The report itself is not included in pages; read it with the command above.',
        ].join('\n'),
      );
    },
    async resolve(ev: PageEvent) {
      await send(`[secdesk] ${ev.caseId}: ${ev.clock} clock met`, `${ev.caseId}: the ${ev.clock} clock was met; no action needed.\n`);
    },
  };
}
