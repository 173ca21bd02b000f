/**
 * A local HTTP server that speaks the request/response shapes of the pagers secdesk talks to, for
 * the SLA integration tests:
 *
 * - PagerDuty Events API v2: `POST /v2/enqueue` with `{routing_key, event_action, dedup_key, payload}`
 *   → 202 `{status: 'success', message: 'Event processed', dedup_key}`; an event PagerDuty would refuse
 *   → 400 `{status: 'invalid event', message, errors}`.
 * - Slack incoming webhook: `POST /services/T…/B…/…` with JSON `{text, …}` → 200 `ok`; anything else
 *   → 400 `invalid_payload`.
 * - A generic webhook at `/hook/<name>` → 200 `{"ok":true}` (for a channel that is told to fail).
 *
 * Every request is recorded (with its status) in arrival order. A route can be told to answer 500
 * for its next N requests, or for every request until told otherwise.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type PagerRoute = 'pagerduty' | 'slack' | 'hook';

export interface PagerRequest {
  route: PagerRoute;
  path: string;
  headers: IncomingMessage['headers'];
  /** Parsed JSON (null when the body was not JSON). */
  body: Record<string, unknown> | null;
  rawBody: string;
  status: number;
  /** Arrival order across all routes, from 1. */
  seq: number;
  receivedAt: number;
}

export interface PagerServer {
  readonly url: string;
  /** `<url>/v2/enqueue` */
  readonly pagerDutyUrl: string;
  /** `<url>/services/T000/B000/…` */
  readonly slackUrl: string;
  hookUrl(name: string): string;
  readonly requests: PagerRequest[];
  /** Requests answered with 2xx. */
  delivered(route?: PagerRoute): PagerRequest[];
  /** PagerDuty events accepted, as `action dedup_key` strings in arrival order. */
  pdEvents(): { action: string; dedupKey: string; req: PagerRequest }[];
  /** Answer the next `n` requests of `route` with HTTP 500 (`Infinity`: until set again). */
  failNext(route: PagerRoute, n: number): void;
  close(): Promise<void>;
}

const PD_ACTIONS = new Set(['trigger', 'acknowledge', 'resolve']);
const PD_SEVERITIES = new Set(['critical', 'error', 'warning', 'info']);

/** What PagerDuty's Events API v2 checks before it answers 202 (a subset: the fields secdesk sends). */
export function pagerDutyErrors(body: Record<string, unknown> | null): string[] {
  if (!body) return ['Event object is invalid'];
  const errors: string[] = [];
  if (typeof body.routing_key !== 'string' || body.routing_key.length !== 32) errors.push("'routing_key' must be 32 characters");
  if (!PD_ACTIONS.has(String(body.event_action))) errors.push("'event_action' is invalid");
  if (body.event_action !== 'trigger' && typeof body.dedup_key !== 'string') errors.push("'dedup_key' is required for acknowledge and resolve");
  if (typeof body.dedup_key === 'string' && body.dedup_key.length > 255) errors.push("'dedup_key' is too long");
  if (body.event_action === 'trigger') {
    const p = body.payload as Record<string, unknown> | undefined;
    if (!p || typeof p !== 'object') errors.push("'payload' is missing");
    else {
      if (typeof p.summary !== 'string' || !p.summary || p.summary.length > 1024) errors.push("'payload.summary' is missing or too long");
      if (typeof p.source !== 'string' || !p.source) errors.push("'payload.source' is missing");
      if (!PD_SEVERITIES.has(String(p.severity))) errors.push("'payload.severity' is invalid");
    }
  }
  return errors;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('error', reject);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

export async function startPagerServer(): Promise<PagerServer> {
  const requests: PagerRequest[] = [];
  const failures: Record<PagerRoute, number> = { pagerduty: 0, slack: 0, hook: 0 };
  let seq = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const rawBody = await readBody(req);
    const path = req.url ?? '/';
    let body: Record<string, unknown> | null = null;
    try {
      const parsed: unknown = JSON.parse(rawBody);
      body = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
    } catch {
      body = null;
    }
    const route: PagerRoute | null =
      req.method === 'POST' && path === '/v2/enqueue' ? 'pagerduty' : req.method === 'POST' && path.startsWith('/services/') ? 'slack' : req.method === 'POST' && path.startsWith('/hook/') ? 'hook' : null;
    const send = (status: number, type: string, text: string): void => {
      if (route) requests.push({ route, path, headers: req.headers, body, rawBody, status, seq: ++seq, receivedAt: Date.now() });
      res.writeHead(status, { 'content-type': type });
      res.end(text);
    };
    if (!route) return send(404, 'text/plain', 'not found');
    if (failures[route] > 0) {
      failures[route] -= 1;
      return send(500, route === 'pagerduty' ? 'application/json' : 'text/plain', route === 'pagerduty' ? JSON.stringify({ status: 'error', message: 'internal error' }) : 'internal_error');
    }
    if (route === 'pagerduty') {
      const errors = pagerDutyErrors(body);
      if (errors.length > 0) return send(400, 'application/json', JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors }));
      const dedup = typeof body?.dedup_key === 'string' ? body.dedup_key : `generated-${seq + 1}`;
      return send(202, 'application/json', JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: dedup }));
    }
    if (route === 'slack') {
      if (!body || typeof body.text !== 'string' || !body.text) return send(400, 'text/plain', 'invalid_payload');
      return send(200, 'text/plain', 'ok');
    }
    return send(200, 'application/json', '{"ok":true}');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closing: Promise<void> | null = null;

  return {
    url,
    pagerDutyUrl: `${url}/v2/enqueue`,
    slackUrl: `${url}/services/T0000TEST/B0000TEST/0123456789abcdefABCDEF`,
    hookUrl: (name) => `${url}/hook/${name}`,
    requests,
    delivered: (route) => requests.filter((r) => r.status >= 200 && r.status < 300 && (!route || r.route === route)),
    pdEvents: () =>
      requests
        .filter((r) => r.route === 'pagerduty' && r.status === 202)
        .map((r) => ({ action: String(r.body?.event_action), dedupKey: String(r.body?.dedup_key), req: r })),
    failNext(route, n) {
      failures[route] = n;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
