import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { createApp } from './app';
import { casesTable } from './case-view';
import { buildConfig } from './config';
import { createLogger } from './log';
import { startSandbox, appendMessages } from './sandbox';

/**
 * `secdesk demo`: the whole thing on a private sandbox. A throwaway Redis, Dovecot and SMTP sink on
 * free loopback ports, SLA clocks shortened to seconds, a few sample reports in the inbox; secdesk
 * runs against them and the terminal shows what happens. Ctrl-C stops everything.
 */

const SAMPLES_DIR = path.join(__dirname, '..', '..', 'samples');

function sampleMessages(): Buffer[] {
  const files = readdirSync(SAMPLES_DIR).filter((f) => f.endsWith('.eml')).sort();
  return files.map((f) => readFileSync(path.join(SAMPLES_DIR, f)));
}

export async function runDemo(opts: { out: (s: string) => void; seconds?: number }): Promise<number> {
  const say = (s: string): void => opts.out(`${s}\n`);
  say('secdesk demo: starting a private Redis, Dovecot and SMTP sink on loopback…');
  const sandbox = await startSandbox({
    users: [
      { user: 'security@example.test', password: 'demo-pass' },
      { user: 'reporter@example.org', password: 'demo-pass' },
    ],
    deliverLocal: true,
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'secdesk-demo-'));
  const raw = {
    address: 'security@example.test',
    project: 'Example',
    imap: { url: sandbox.dovecot.imapUrl('security@example.test'), inbox: 'INBOX', sent: 'Sent', poll_interval: '10s' },
    smtp: { url: sandbox.smtp.url, from: 'Example Security <security@example.test>' },
    redis: { url: sandbox.redis.url, prefix: 'secdesk-demo' },
    maintainers: ['alice@example.test', 'bob@example.test'],
    sla: { acknowledge: '30s', respond: '60s' },
    versions: { supported: ['0.8.x', '0.7.x'], unsupported: ['<0.6'] },
    pager: { 'team-email': { type: 'email', to: ['oncall@example.test'] } },
    escalation: [
      { clock: 'acknowledge', at: '20s', notify: ['team-email'] },
      { clock: 'acknowledge', at: '30s', notify: ['team-email'] },
      { clock: 'respond', at: '60s', notify: ['team-email'] },
    ],
    log: { level: 'info', pretty: true },
  };
  writeFileSync(path.join(dir, 'secdesk.yml'), stringify(raw));
  const cfg = buildConfig(raw);
  const log = createLogger(cfg);
  const app = await createApp(cfg, { role: 'run', log });
  say(`config written to ${path.join(dir, 'secdesk.yml')} (SLA: acknowledge 30s, respond 60s)`);
  sandbox.smtp.on('message', (m) => {
    const head = m.raw.toString('utf8', 0, Math.min(m.raw.length, 4000));
    const subject = /^Subject: (.*)$/im.exec(head)?.[1] ?? '';
    say(`  ✉  SMTP accepted mail to ${m.envelope.to.join(', ')}: ${subject.slice(0, 90)}`);
  });

  let stopping: Promise<number> | null = null;
  const stop = (): Promise<number> => {
    stopping ??= (async () => {
      say('\nsecdesk demo: stopping…');
      clearInterval(ticker);
      await app.close().catch(() => undefined);
      await sandbox.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      say('secdesk demo: stopped; nothing left running.');
      return 0;
    })();
    return stopping;
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());

  await app.start();
  const samples = sampleMessages();
  await appendMessages(sandbox.dovecot.imapUrl('security@example.test'), 'INBOX', samples);
  say(`dropped ${samples.length} sample messages into the inbox; watch them become cases.`);
  say('(nobody answers, so the acknowledge and respond clocks will escalate: warning at 20s, page at 30s and 60s)\n');

  const ticker = setInterval(() => {
    void (async () => {
      const cases = (await app.store.getMany(await app.store.listIds())).filter((c): c is NonNullable<typeof c> => !!c);
      say(`\n${casesTable(cases, cfg, new Date())}\n`);
    })().catch(() => undefined);
  }, 10_000);

  if (opts.seconds) {
    await new Promise((r) => setTimeout(r, opts.seconds! * 1000));
    return stop();
  }
  return new Promise<number>((resolve) => {
    const wait = setInterval(() => {
      if (stopping) {
        clearInterval(wait);
        void stopping.then(resolve);
      }
    }, 200);
  });
}
