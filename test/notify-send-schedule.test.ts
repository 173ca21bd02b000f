import { createServer, type Server } from 'node:net';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { HOUR, MINUTE } from '../src/duration';
import { PermanentError, TransientError } from '../src/errors';
import {
  classifySmtpError,
  nextDelay,
  SEND_JITTER,
  SEND_MAX_ATTEMPTS,
  SEND_SCHEDULE,
} from '../src/notify/send-schedule';

describe('SEND_SCHEDULE', () => {
  it('starts within minutes, grows, and keeps retrying for at least 12 hours', () => {
    expect(SEND_SCHEDULE[0]).toEqual({ retry: 1, delayMs: MINUTE, totalMs: MINUTE });
    expect(SEND_SCHEDULE.slice(0, 7).map((s) => s.delayMs / MINUTE)).toEqual([1, 2, 5, 10, 20, 40, 60]);
    for (let i = 1; i < SEND_SCHEDULE.length; i++) {
      const [prev, cur] = [SEND_SCHEDULE[i - 1]!, SEND_SCHEDULE[i]!];
      expect(cur.delayMs).toBeGreaterThanOrEqual(prev.delayMs);
      expect(cur.totalMs).toBe(prev.totalMs + cur.delayMs);
    }
    expect(SEND_SCHEDULE[SEND_SCHEDULE.length - 1]!.totalMs).toBeGreaterThanOrEqual(12 * HOUR);
    expect(SEND_MAX_ATTEMPTS).toBe(SEND_SCHEDULE.length + 1);
  });
});

describe('nextDelay', () => {
  it('follows the schedule with bounded jitter', () => {
    expect(nextDelay(1, () => 0.5)).toBe(MINUTE);
    expect(nextDelay(1, () => 0)).toBe(Math.round(MINUTE * (1 - SEND_JITTER)));
    expect(nextDelay(1, () => 0.999999)).toBeLessThanOrEqual(Math.round(MINUTE * (1 + SEND_JITTER)));
    expect(nextDelay(3, () => 0.5)).toBe(5 * MINUTE);
    expect(nextDelay(7, () => 0.5)).toBe(HOUR);
  });

  it('spreads retries with the default random source', () => {
    const seen = new Set(Array.from({ length: 20 }, () => nextDelay(5)));
    expect(seen.size).toBeGreaterThan(1);
    for (const d of seen) {
      expect(d).toBeGreaterThanOrEqual(20 * MINUTE * (1 - SEND_JITTER));
      expect(d).toBeLessThanOrEqual(20 * MINUTE * (1 + SEND_JITTER));
    }
  });

  it('says stop (-1, as BullMQ expects) once the schedule is exhausted', () => {
    expect(nextDelay(SEND_SCHEDULE.length, () => 0.5)).toBeGreaterThan(0);
    expect(nextDelay(SEND_SCHEDULE.length + 1, () => 0.5)).toBe(-1);
    expect(nextDelay(0, () => 0.5)).toBe(-1);
  });
});

describe('classifySmtpError', () => {
  const smtpErr = (code: string, responseCode?: number, command?: string): Error =>
    Object.assign(new Error('server said no'), { code, responseCode, command });

  it.each([
    ['smtpErr(EENVELOPE, 450, RCPT TO)', smtpErr('EENVELOPE', 450, 'RCPT TO'), TransientError],
    ['smtpErr(EMESSAGE, 451, DATA)', smtpErr('EMESSAGE', 451, 'DATA'), TransientError],
    ['smtpErr(EENVELOPE, 421, MAIL FROM)', smtpErr('EENVELOPE', 421, 'MAIL FROM'), TransientError],
    ['smtpErr(EENVELOPE, 552, RCPT TO)', smtpErr('EENVELOPE', 552, 'RCPT TO'), TransientError],
    ['smtpErr(EAUTH, 535, AUTH PLAIN)', smtpErr('EAUTH', 535, 'AUTH PLAIN'), TransientError],
    ['smtpErr(ECONNECTION)', smtpErr('ECONNECTION'), TransientError],
    ['smtpErr(ETIMEDOUT)', smtpErr('ETIMEDOUT'), TransientError],
    ['ECONNREFUSED from net', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), TransientError],
    ['smtpErr(EENVELOPE, 550, RCPT TO)', smtpErr('EENVELOPE', 550, 'RCPT TO'), PermanentError],
    ['smtpErr(EMESSAGE, 552, DATA)', smtpErr('EMESSAGE', 552, 'DATA'), PermanentError],
    ['smtpErr(EMESSAGE, 554, DATA)', smtpErr('EMESSAGE', 554, 'DATA'), PermanentError],
    ['smtpErr(EENVELOPE)', smtpErr('EENVELOPE'), PermanentError],
    ['an unknown error', new Error('something odd'), PermanentError],
  ])('%s', (_label, err, cls) => {
    const out = classifySmtpError(err);
    expect(out).toBeInstanceOf(cls);
    expect(out.retryable).toBe(cls === TransientError);
    expect(out.cause).toBe(err);
  });

  describe('against real SMTP peers', () => {
    let sink: SMTPServer;
    let sinkPort = 0;
    let deadPort = 0;
    let rcptReply: { code: number; msg: string } = { code: 450, msg: 'try later' };

    beforeAll(async () => {
      sink = new SMTPServer({
        disabledCommands: ['STARTTLS', 'AUTH'],
        logger: false,
        onRcptTo(_addr, _s, cb) {
          cb(Object.assign(new Error(rcptReply.msg), { responseCode: rcptReply.code }));
        },
      });
      await new Promise<void>((res) => sink.listen(0, '127.0.0.1', res));
      sinkPort = (sink.server.address() as { port: number }).port;
      // a port that was free a moment ago: nothing listens, so connections are refused
      const probe: Server = createServer();
      await new Promise<void>((res) => probe.listen(0, '127.0.0.1', res));
      deadPort = (probe.address() as { port: number }).port;
      await new Promise<void>((res) => probe.close(() => res()));
    });
    afterAll(async () => {
      await new Promise<void>((res) => sink.close(() => res()));
    });

    const send = (port: number) =>
      nodemailer
        .createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, connectionTimeout: 3000 })
        .sendMail({ from: 'security@example.test', to: 'rita@reporter.example', subject: 's', text: 't' })
        .then(
          () => null,
          (e: unknown) => e,
        );

    it('a 4xx RCPT reply is retryable', async () => {
      rcptReply = { code: 450, msg: 'mailbox busy' };
      expect(classifySmtpError(await send(sinkPort))).toBeInstanceOf(TransientError);
    });

    it('a 5xx RCPT reply is permanent', async () => {
      rcptReply = { code: 550, msg: 'no such user' };
      const out = classifySmtpError(await send(sinkPort));
      expect(out).toBeInstanceOf(PermanentError);
      expect(out.message).toMatch(/550/);
    });

    it('a refused connection is retryable', async () => {
      const out = classifySmtpError(await send(deadPort));
      expect(out).toBeInstanceOf(TransientError);
      expect(out.code).toBe('ESOCKET');
    });
  });
});
