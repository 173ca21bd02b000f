import { Socket } from 'node:net';

/**
 * Connect to 127.0.0.1:port, optionally write `send`, and resolve with what the server said once
 * `complete(received)` holds; reject on error, close or timeout. A readiness probe: the server
 * answered, and (by what it said) it is ours and not a stranger that grabbed the port first.
 */
export function talk(
  port: number,
  send: string | null,
  complete: (received: string) => boolean,
  timeoutMs = 1000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    let buf = '';
    let settled = false;
    const done = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(buf);
    };
    const timer = setTimeout(() => done(new Error('probe timed out')), timeoutMs);
    sock.once('error', (err) => done(err));
    sock.once('close', () => done(new Error('closed before a complete reply')));
    sock.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      if (complete(buf)) done(null);
    });
    sock.connect(port, '127.0.0.1', () => {
      if (send !== null) sock.write(send);
    });
  });
}
