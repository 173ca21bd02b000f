import { createServer } from 'node:net';

/**
 * A loopback port that was free a moment ago. Another process may take it before the server binds
 * it; the servers retry with a new port when that happens and no port was asked for.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the port'))));
    });
  });
}
