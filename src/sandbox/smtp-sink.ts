/**
 * An SMTP server that accepts everything and records it: the outside world as secdesk's mailer
 * sees it. It can be told to fail (4xx/5xx on DATA) and to go away (`stop`: connections refused)
 * and come back (`start`) on the same port, to test retries and outages.
 */
import { EventEmitter } from 'node:events';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { SandboxLog } from './child-group';
import { freePort } from './free-port';

export interface SunkMail {
  envelope: { from: string; to: string[] };
  raw: Buffer;
  receivedAt: Date;
}

export interface SmtpFailure {
  code: number;
  message: string;
}

export interface SmtpSink {
  readonly port: number;
  /** `smtp://127.0.0.1:PORT` */
  readonly url: string;
  /** Every accepted message, in order of acceptance. */
  readonly messages: SunkMail[];
  /** Resolves with the messages once at least `n` were accepted; rejects after `timeoutMs`. */
  waitForCount(n: number, timeoutMs?: number): Promise<SunkMail[]>;
  on(event: 'message', fn: (mail: SunkMail) => void): void;
  off(event: 'message', fn: (mail: SunkMail) => void): void;
  /** Answer DATA with this code and text (451 temporary, 550 permanent), or accept again (null). */
  setFailure(failure: SmtpFailure | null): void;
  /** How many messages were answered with a `setFailure` failure so far (delivery attempts). */
  readonly refused: number;
  /** Close the listener and drop open connections: new connections are refused. */
  stop(): Promise<void>;
  /** Listen again on the same port (a no-op while listening). */
  start(): Promise<void>;
  /** Stop for good. Safe to call twice. */
  close(): Promise<void>;
}

export interface StartSmtpSinkOptions {
  port?: number;
  /** Called for each message before it is accepted; a throw makes the sink answer 451. */
  deliver?: (mail: SunkMail) => Promise<void>;
  /** Largest accepted message in bytes (default 50 MB: tests send 20 MB attachments). */
  maxSize?: number;
  log?: SandboxLog;
}

const DEFAULT_MAX_SIZE = 50 * 1024 * 1024;

function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

function readAll(stream: SMTPServerDataStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('error', reject);
    stream.once('end', () => resolve(Buffer.concat(chunks)));
  });
}

export async function startSmtpSink(opts: StartSmtpSinkOptions = {}): Promise<SmtpSink> {
  const events = new EventEmitter();
  const messages: SunkMail[] = [];
  const maxSize = opts.maxSize ?? DEFAULT_MAX_SIZE;
  let failure: SmtpFailure | null = null;
  let refused = 0;
  let server: SMTPServer | null = null;
  let closed = false;
  let closing: Promise<void> | null = null;

  const onData = (stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null) => void): void => {
    readAll(stream)
      .then(async (raw) => {
        // The failure is read after the body arrived: a test may flip it while a message is in flight.
        if (stream.sizeExceeded) throw smtpError(552, `Message exceeds ${maxSize} bytes`);
        const f = failure;
        if (f) {
          refused++;
          throw smtpError(f.code, f.message);
        }
        const env = session.envelope;
        const mail: SunkMail = {
          envelope: {
            from: env.mailFrom ? env.mailFrom.address : '',
            to: env.rcptTo.map((r) => r.address),
          },
          raw,
          receivedAt: new Date(),
        };
        if (opts.deliver) {
          try {
            await opts.deliver(mail);
          } catch (err) {
            throw smtpError(451, `Local delivery failed: ${(err as Error).message}`);
          }
        }
        messages.push(mail);
        opts.log?.info({ component: 'sandbox', server: 'smtp-sink', to: mail.envelope.to, size: raw.length }, 'sink accepted a message');
        events.emit('message', mail);
      })
      .then(
        () => callback(),
        (err: Error) => callback(err),
      );
  };

  const listen = (port: number): Promise<SMTPServer> =>
    new Promise((resolve, reject) => {
      const srv = new SMTPServer({
        // Its built-in certificate is expired: offering STARTTLS makes nodemailer fail (NOTES.md).
        disabledCommands: ['STARTTLS'],
        authOptional: true,
        size: maxSize,
        logger: false,
        banner: 'secdesk sandbox sink',
        closeTimeout: 1,
        onData,
      });
      srv.on('error', (err) => opts.log?.warn?.({ component: 'sandbox', server: 'smtp-sink', err: err.message }, 'sink error'));
      const onListenError = (err: Error): void => reject(err);
      srv.server.once('error', onListenError);
      srv.listen(port, '127.0.0.1', () => {
        srv.server.off('error', onListenError);
        resolve(srv);
      });
    });

  let port = opts.port ?? 0;
  if (opts.port !== undefined) {
    server = await listen(port);
  } else {
    // Listening on 0 would pick a port without a race, but `start()` after `stop()` must get the
    // same port back, which needs a number; retry if another process takes it meanwhile.
    let lastErr: unknown;
    for (let i = 0; i < 4 && !server; i++) {
      const candidate = await freePort();
      try {
        server = await listen(candidate);
        port = candidate;
      } catch (err) {
        lastErr = err;
      }
    }
    if (!server) throw lastErr;
  }

  const stopServer = async (): Promise<void> => {
    const srv = server;
    server = null;
    if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
  };

  return {
    get port() {
      return port;
    },
    get url() {
      return `smtp://127.0.0.1:${port}`;
    },
    messages,
    waitForCount(n: number, timeoutMs = 10_000): Promise<SunkMail[]> {
      if (messages.length >= n) return Promise.resolve(messages.slice());
      return new Promise((resolve, reject) => {
        const onMessage = (): void => {
          if (messages.length < n) return;
          clearTimeout(timer);
          events.off('message', onMessage);
          resolve(messages.slice());
        };
        const timer = setTimeout(() => {
          events.off('message', onMessage);
          reject(new Error(`smtp sink: ${messages.length} of ${n} messages after ${timeoutMs} ms`));
        }, timeoutMs);
        events.on('message', onMessage);
      });
    },
    on: (event, fn) => void events.on(event, fn),
    off: (event, fn) => void events.off(event, fn),
    setFailure(f: SmtpFailure | null): void {
      failure = f ? { ...f } : null;
    },
    get refused() {
      return refused;
    },
    stop: stopServer,
    async start(): Promise<void> {
      if (closed) throw new Error('smtp sink: start() after close()');
      if (!server) server = await listen(port);
    },
    close(): Promise<void> {
      closed = true;
      closing ??= stopServer();
      return closing;
    },
  };
}
