import { createServer, type Server } from 'node:http';
import type { Logger } from './log';
import type { Metrics } from './metrics';

/**
 * The optional HTTP endpoint (`http.listen: 127.0.0.1:9464`): /metrics for Prometheus, /healthz,
 * and /.well-known/security.txt plus the team's public key when PGP is configured. Read-only,
 * no case data.
 */
export interface HttpEndpoint {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHttp(listen: string, deps: { metrics: Metrics; securityTxt: () => string | null; publicKey: () => string | null; healthy: () => Promise<boolean>; log: Logger }): Promise<HttpEndpoint> {
  const m = /^(?:(.*):)?(\d+)$/.exec(listen.trim());
  if (!m) throw new Error(`http.listen: expected [host:]port, got ${listen}`);
  const host = m[1] || '127.0.0.1';
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = (req.url ?? '/').split('?')[0];
      const send = (code: number, type: string, body: string): void => {
        res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(body);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
      if (url === '/metrics') return send(200, deps.metrics.registry.contentType, await deps.metrics.registry.metrics());
      if (url === '/healthz') return (await deps.healthy()) ? send(200, 'text/plain', 'ok\n') : send(503, 'text/plain', 'redis unreachable\n');
      if (url === '/.well-known/security.txt' || url === '/security.txt') {
        const txt = deps.securityTxt();
        return txt ? send(200, 'text/plain; charset=utf-8', txt) : send(404, 'text/plain', 'not configured\n');
      }
      if (url === '/.well-known/pgp-key.asc' || url === '/pgp-key.asc') {
        const key = deps.publicKey();
        return key ? send(200, 'application/pgp-keys', key) : send(404, 'text/plain', 'no team key\n');
      }
      return send(404, 'text/plain', 'not found\n');
    })().catch((err: Error) => {
      deps.log.warn({ err: { message: err.message } }, 'http.error');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), host, () => resolve());
  });
  const addr = server.address();
  let closing: Promise<void> | null = null;
  return {
    port: typeof addr === 'object' && addr ? addr.port : Number(m[2]),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
