/**
 * The sandbox servers against themselves: real redis-server, real Dovecot, real smtp-server.
 * Every test checks that close() leaves no process behind.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type Server } from 'node:net';
import { ImapFlow } from 'imapflow';
import Redis from 'ioredis';
import nodemailer from 'nodemailer';
import {
  appendMessages,
  fetchAll,
  groupAlive,
  parseImapUrl,
  startDovecot,
  startRedis,
  startSandbox,
  startSmtpSink,
  type SandboxDovecot,
} from '../src/sandbox';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function expectGone(pid: number): void {
  expect(pidAlive(pid)).toBe(false);
  expect(groupAlive(pid)).toBe(false);
}

/** Processes whose command line mentions the port (redis-server retitles itself `redis-server 127.0.0.1:PORT`). */
function processesOnPort(port: number): string[] {
  const found: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(`:${port}`) || cmd.includes(`--port ${port}`)) found.push(`${name}: ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function message(i: number): string {
  return [
    `From: Reporter ${i} <reporter${i}@example.org>`,
    'To: security@example.test',
    `Subject: Report number ${i}`,
    `Message-ID: <report-${i}@example.org>`,
    'Date: Mon, 02 Feb 2026 10:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Body of report ${i}.`,
    '',
  ].join('\r\n');
}

function imapClient(dovecot: SandboxDovecot, user: string): ImapFlow {
  const t = parseImapUrl(dovecot.imapUrl(user));
  return new ImapFlow({ host: t.host, port: t.port, secure: false, auth: { user: t.user, pass: t.pass }, logger: false });
}

/** 'connected', or the error code of a plain TCP connect to the port. */
function connectionRefused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolve('connected');
    });
    sock.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const USERS = [
  { user: 'security@example.test', password: 'sekrit-1' },
  { user: 'reporter@example.org', password: 'p4ss%word' },
];

describe('startRedis', () => {
  it('serves on its own port, keeps data across stop()+start() through AOF, and close() leaves nothing', async () => {
    const redis = await startRedis();
    const firstPid = redis.pid!;
    try {
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}/0`);
      expect(firstPid).toBeGreaterThan(0);
      expect(redis.startupMs).toBeGreaterThan(0);
      expect(processesOnPort(redis.port)).toHaveLength(1);

      const c1 = new Redis(redis.url);
      await c1.set('sandbox:key', 'survives');
      c1.disconnect();

      await redis.stop();
      expect(redis.pid).toBeNull();
      expectGone(firstPid);
      expect(await connectionRefused(redis.port)).toBe('ECONNREFUSED');
      expect(existsSync(redis.dir)).toBe(true);

      await redis.start();
      const port = redis.port;
      expect(redis.pid).not.toBe(firstPid);
      const c2 = new Redis(redis.url);
      expect(await c2.get('sandbox:key')).toBe('survives');
      expect(await c2.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      c2.disconnect();
      expect(redis.port).toBe(port);
    } finally {
      const pid = redis.pid!;
      await redis.close();
      await redis.close(); // twice is fine
      expectGone(pid);
      expect(existsSync(redis.dir)).toBe(false);
    }
    await expect(redis.start()).rejects.toThrow(/after close/);
  });

  it('fails with the server log when its fixed port is taken, and leaves no process', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const addr = blocker.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    try {
      await expect(startRedis({ port, startTimeoutMs: 3000 })).rejects.toThrow(/redis-server on 127\.0\.0\.1:\d+ (exited|not ready)[\s\S]*(in use|bind)/i);
      expect(processesOnPort(port)).toEqual([]);
    } finally {
      blocker.close();
    }
  });
  it('reports a missing binary clearly, and never removes a directory it was given', async () => {
    await expect(startRedis({ command: '/nonexistent/redis-server' })).rejects.toThrow(/exited during start-up[\s\S]*ENOENT/);
    const dir = mkdtempSync(join(tmpdir(), 'secdesk-test-redis-'));
    try {
      const redis = await startRedis({ dir });
      expect(redis.dir).toBe(dir);
      await redis.close();
      expect(existsSync(join(dir, 'appendonlydir'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('startDovecot', () => {
  let dovecot: SandboxDovecot;
  beforeAll(async () => {
    dovecot = await startDovecot({ users: USERS });
  });
  afterAll(async () => {
    const pid = dovecot.pid;
    await dovecot.close();
    await dovecot.close();
    if (pid) expectGone(pid);
    expect(existsSync(dovecot.dir)).toBe(false);
  });

  it('builds percent-encoded IMAP URLs that parse back', () => {
    const url = dovecot.imapUrl('reporter@example.org');
    expect(url).toBe(`imap://reporter%40example.org:p4ss%25word@127.0.0.1:${dovecot.port}`);
    expect(parseImapUrl(url)).toEqual({ host: '127.0.0.1', port: dovecot.port, secure: false, user: 'reporter@example.org', pass: 'p4ss%word' });
    expect(() => dovecot.imapUrl('nobody@example.test')).toThrow(/no user/);
  });

  it('has an INBOX and an auto-subscribed \\Sent mailbox, and rejects a bad password', async () => {
    const client = imapClient(dovecot, 'security@example.test');
    client.on('error', () => undefined);
    await client.connect();
    try {
      const list = await client.list();
      const sent = list.find((m) => m.path === 'Sent');
      expect(list.map((m) => m.path)).toContain('INBOX');
      expect(sent?.specialUse).toBe('\\Sent');
      expect(sent?.subscribed).toBe(true);
    } finally {
      await client.logout();
    }
    const bad = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, auth: { user: 'security@example.test', pass: 'wrong' }, logger: false });
    bad.on('error', () => undefined);
    await expect(bad.connect()).rejects.toMatchObject({ authenticationFailed: true });
  });

  it('appends messages and fetches them back with flags and INTERNALDATE', async () => {
    const url = dovecot.imapUrl('security@example.test');
    const when = new Date('2026-02-02T10:00:00Z');
    const uids = await appendMessages(url, 'INBOX', [message(1), Buffer.from(message(2)), message(3)], { internalDate: when });
    expect(uids.map((u) => u.uid)).toEqual([1, 2, 3]);
    const got = await fetchAll(url, 'INBOX');
    expect(got.map((m) => m.uid)).toEqual([1, 2, 3]);
    expect(got.map((m) => m.source.toString())).toEqual([message(1), message(2), message(3)]);
    expect(got[0]!.internalDate.getTime()).toBe(when.getTime());
    expect(got[0]!.flags.has('\\Seen')).toBe(false);
    expect(await fetchAll(url, 'Sent')).toEqual([]);
    // Another user's mailbox is separate.
    expect(await fetchAll(dovecot.imapUrl('reporter@example.org'), 'INBOX')).toEqual([]);
  });

  it('stop() drops live sessions and kills every process; start() serves the same mail on the same port', async () => {
    const url = dovecot.imapUrl('security@example.test');
    const before = await fetchAll(url, 'INBOX');
    expect(before.length).toBeGreaterThanOrEqual(3);
    const port = dovecot.port;
    const masterPid = dovecot.pid!;

    const session = imapClient(dovecot, 'security@example.test');
    const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    session.on('error', () => undefined);
    await session.connect();
    await session.mailboxOpen('INBOX');

    await dovecot.stop();
    await closed; // the session noticed: the server is really gone, not just its master
    expect(session.usable).toBe(false);
    expect(dovecot.pid).toBeNull();
    expectGone(masterPid);
    await expect(appendMessages(url, 'INBOX', [message(9)])).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await dovecot.start();
    expect(dovecot.port).toBe(port);
    expect(dovecot.pid).not.toBe(masterPid);
    const after = await fetchAll(url, 'INBOX');
    expect(after.map((m) => [m.uid, m.source.toString()])).toEqual(before.map((m) => [m.uid, m.source.toString()]));
  });

  it('refuses user names and passwords that would break the passwd file', async () => {
    await expect(startDovecot({ users: [{ user: 'a:b', password: 'x' }] })).rejects.toThrow(/unsupported characters/);
    await expect(startDovecot({ users: [{ user: 'a', password: 'x:y' }] })).rejects.toThrow(/password/);
    await expect(startDovecot({ users: [] })).rejects.toThrow(/at least one/);
  });
});

describe('startSmtpSink', () => {
  it('records nodemailer mail, fails on demand, refuses connections while stopped, and comes back', async () => {
    const sink = await startSmtpSink();
    const transport = nodemailer.createTransport(sink.url);
    try {
      expect(sink.url).toBe(`smtp://127.0.0.1:${sink.port}`);
      const seen: string[] = [];
      sink.on('message', (m) => seen.push(m.envelope.to.join(',')));

      const waiting = sink.waitForCount(1, 5000);
      await transport.sendMail({
        from: 'security@example.test',
        to: 'reporter@example.org',
        subject: 'Re: Report [SEC-2026-0001]',
        text: 'Thanks',
        messageId: '<ack-1@example.test>',
      });
      const [mail] = await waiting;
      expect(mail!.envelope).toEqual({ from: 'security@example.test', to: ['reporter@example.org'] });
      expect(mail!.raw.toString()).toMatch(/^Message-ID: <ack-1@example\.test>$/im);
      expect(mail!.receivedAt).toBeInstanceOf(Date);
      expect(seen).toEqual(['reporter@example.org']);

      sink.setFailure({ code: 451, message: 'Try again later' });
      await expect(transport.sendMail({ from: 'a@example.test', to: 'b@example.org', text: 'x' })).rejects.toMatchObject({ responseCode: 451 });
      sink.setFailure({ code: 550, message: 'No such user' });
      await expect(transport.sendMail({ from: 'a@example.test', to: 'b@example.org', text: 'x' })).rejects.toMatchObject({ responseCode: 550 });
      sink.setFailure(null);
      expect(sink.messages).toHaveLength(1);

      const port = sink.port;
      await sink.stop();
      await sink.stop();
      await expect(transport.sendMail({ from: 'a@example.test', to: 'b@example.org', text: 'x' })).rejects.toMatchObject({ code: 'ESOCKET' });
      expect(await connectionRefused(port)).toBe('ECONNREFUSED');

      await sink.start();
      expect(sink.port).toBe(port);
      await transport.sendMail({ from: 'a@example.test', to: ['b@example.org', 'c@example.org'], text: 'back' });
      expect((await sink.waitForCount(2, 5000))[1]!.envelope.to).toEqual(['b@example.org', 'c@example.org']);
      await expect(sink.waitForCount(3, 50)).rejects.toThrow(/2 of 3 messages/);
    } finally {
      transport.close();
      await sink.close();
      await sink.close();
    }
    expect(await connectionRefused(sink.port)).toBe('ECONNREFUSED');
    await expect(sink.start()).rejects.toThrow(/after close/);
  });
});

describe('startSandbox', () => {
  it('starts all three, delivers local mail into Dovecot, and one close() (twice) stops everything', async () => {
    const sandbox = await startSandbox({ users: USERS, deliverLocal: true });
    const pids = [sandbox.redis.pid!, sandbox.dovecot.pid!];
    try {
      const r = new Redis(sandbox.redis.url);
      expect(await r.ping()).toBe('PONG');
      r.disconnect();

      const transport = nodemailer.createTransport(sandbox.smtp.url);
      await transport.sendMail({ from: 'security@example.test', to: ['Reporter@Example.org', 'stranger@example.net'], subject: 'Ack', text: 'hello' });
      transport.close();
      expect(sandbox.smtp.messages).toHaveLength(1);
      const inbox = await fetchAll(sandbox.dovecot.imapUrl('reporter@example.org'), 'INBOX');
      expect(inbox).toHaveLength(1);
      expect(inbox[0]!.source.toString()).toMatch(/^Subject: Ack$/m);
    } finally {
      await sandbox.close();
      await sandbox.close();
    }
    for (const pid of pids) expectGone(pid);
    expect(existsSync(sandbox.redis.dir)).toBe(false);
    expect(existsSync(sandbox.dovecot.dir)).toBe(false);
  });
});
