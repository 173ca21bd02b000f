import { coerceError } from '../errors';
import { PagerPermanentError, PagerTransientError } from './errors';

export type FetchFn = typeof fetch;

export interface PostOptions {
  channel: string;
  headers?: Record<string, string>;
  timeoutMs: number;
  fetchImpl?: FetchFn;
}

export interface PostResult {
  status: number;
  text: string;
}

/** Cap on what we read back from a pager: enough for an error message, never a memory sink. */
const MAX_RESPONSE_CHARS = 4096;

/** Retry-After is seconds or an HTTP date; anything else is ignored. */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : Math.max(0, t - nowMs);
}

/**
 * POST a body and classify the outcome. Redirects are not followed: a pager endpoint that redirects
 * is misconfigured, and following it would carry the routing key or signature to another host.
 */
export async function postBody(url: string, body: string, opts: PostOptions): Promise<PostResult> {
  const doFetch = opts.fetchImpl ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'user-agent': 'secdesk', ...opts.headers },
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (e) {
    const err = coerceError(e) as Error & { cause?: { code?: string } };
    // fetch wraps socket errors as TypeError('fetch failed') with the code in `cause`.
    const why = err.name === 'TimeoutError' ? `timed out after ${opts.timeoutMs} ms` : (err.cause?.code ?? err.message);
    throw new PagerTransientError(opts.channel, `request failed: ${why}`, { cause: e });
  }
  let text = '';
  try {
    text = (await res.text()).slice(0, MAX_RESPONSE_CHARS);
  } catch {
    // the status is what matters; a body cut off mid-way is not a reason to re-page
  }
  if (res.status >= 200 && res.status < 300) return { status: res.status, text };
  const detail = `HTTP ${res.status}${text ? `: ${text.slice(0, 200).replace(/\s+/g, ' ')}` : ''}`;
  if (res.status === 408 || res.status === 429 || res.status >= 500) {
    throw new PagerTransientError(opts.channel, detail, {
      status: res.status,
      retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), Date.now()),
    });
  }
  throw new PagerPermanentError(opts.channel, detail, { status: res.status });
}
