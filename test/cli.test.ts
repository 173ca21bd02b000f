/**
 * The command line as users script it: exit codes, `check`, and the public JSON of `cases`,
 * `case ID --json` and `skipped --json`, against a real sandbox.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { main } from '../src/cli';
import { plainMail, startHarness, waitFor, type Harness } from './helpers/harness';

const ROOT = path.join(__dirname, '..');

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'secdesk', ...args], { out: (s) => (out += s), err: (s) => (err += s), env });
  return { code, out, err };
}

describe('secdesk CLI', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { http: { listen: '127.0.0.1:0' } } });
  });
  afterAll(async () => {
    await h.close();
  });

  test('an invalid config stops with exit code 2 and names the key', async () => {
    const bad = path.join(h.dir, 'bad.yml');
    writeFileSync(bad, stringify({ ...h.raw, sla: { acknowledge: 'soon', respond: '48h' } }));
    const r = await run(['--config', bad, 'check']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/sla\.acknowledge: not a duration/);
    const missing = await run(['check']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/--config PATH or set SECDESK_CONFIG/);
    writeFileSync(bad, stringify({ ...h.raw, address: 'not-an-address' }));
    expect((await run(['--config', bad, 'cases'])).err).toMatch(/address: must be a bare address/);
  });

  test('check reports connectivity, and fails with the reason when a service is unreachable', async () => {
    const ok = await run(['--config', h.configFile, 'check']);
    expect(ok.out).toMatch(/OK +redis/);
    expect(ok.out).toMatch(/OK +imap .*INBOX/);
    expect(ok.out).toMatch(/OK +smtp/);
    expect(ok.code).toBe(0);
    const wrong = path.join(h.dir, 'wrong.yml');
    const imap = new URL(h.sandbox.dovecot.imapUrl('security@example.test'));
    imap.password = 'wrong-password';
    writeFileSync(wrong, stringify({ ...h.raw, imap: { ...(h.raw.imap as object), url: imap.toString() } }));
    const bad = await run(['--config', wrong, 'check']);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/FAIL imap .*authentication failed/);
    expect(bad.out).not.toContain('wrong-password');
  });

  test('cases, case --json and skipped --json print the public contract', async () => {
    const app = await h.startApp();
    await h.append([
      plainMail({ id: 'cli-1@example.org', subject: 'Heap overflow in MIME parser', body: 'Heap overflow in src/mime/parse.c, version 0.8.1. Steps to reproduce: send the attached mail.' }),
      plainMail({ id: 'cli-robot@example.org', subject: 'Auto reply', headers: ['Auto-Submitted: auto-replied'] }),
    ]);
    const c = await waitFor('case', async () => (await h.cases())[0]);
    await waitFor('skip', async () => (await h.skips())[0]);
    await waitFor('ack', async () => ((await app.store.get(c.id))?.acknowledged_at ? true : null));

    const one = await run(['--config', h.configFile, 'case', c.id, '--json']);
    expect(one.code).toBe(0);
    const j = JSON.parse(one.out) as Record<string, unknown>;
    for (const k of ['id', 'state', 'subject', 'reporter', 'received_at', 'messages', 'acknowledged_at', 'first_response_at', 'next_steps_at', 'escalations', 'encrypted', 'signature', 'fields']) {
      expect(j).toHaveProperty(k);
    }
    expect(j.id).toMatch(/^SEC-\d{4}-\d{4}$/);
    expect(j.state).toBe('new');
    expect(j.reporter).toBe('reporter@example.org');
    expect(new Date(j.received_at as string).toISOString()).toBe(j.received_at);
    const m = (j.messages as Record<string, unknown>[])[0]!;
    expect(m).toMatchObject({ message_id: '<cli-1@example.org>', from: 'reporter@example.org', direction: 'in', kind: 'report' });
    expect(j.encrypted).toBe(false);
    expect(j.signature).toBe('none');
    expect((j.fields as { issue_type?: string }).issue_type).toBe('buffer-overflow');

    const list = await run(['--config', h.configFile, 'cases', '--json']);
    expect((JSON.parse(list.out) as { id: string }[]).map((x) => x.id)).toEqual([c.id]);
    expect((JSON.parse((await run(['--config', h.configFile, 'cases', '--state', 'resolved', '--json'])).out) as unknown[]).length).toBe(0);
    const table = await run(['--config', h.configFile, 'cases']);
    expect(table.out).toMatch(new RegExp(`${c.id} +new +\\S+ left`));

    const skipped = JSON.parse((await run(['--config', h.configFile, 'skipped', '--json'])).out) as { reason: string; message_id: string }[];
    expect(skipped).toEqual([expect.objectContaining({ reason: 'robot', message_id: '<cli-robot@example.org>' })]);
    expect((await run(['--config', h.configFile, 'case', 'SEC-1999-9999'])).code).toBe(1);

    // The HTTP endpoint: Prometheus metrics, health, security.txt.
    const base = `http://127.0.0.1:${app.http!.port}`;
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/secdesk_messages_ingested_total\{outcome="case",folder="inbox",reason=""\} 1/);
    expect(metrics).toMatch(/secdesk_messages_ingested_total\{outcome="skip",folder="inbox",reason="robot"\} 1/);
    expect(metrics).toMatch(/secdesk_open_cases 1/);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const txt = await (await fetch(`${base}/.well-known/security.txt`)).text();
    expect(txt).toMatch(/^Contact: mailto:security@example\.test$/m);
    expect(txt).toMatch(/^Expires: \d{4}-/m);
  });

  test('npx secdesk works from the built package and prints help', () => {
    const out = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'secdesk.js'), '--help'], { encoding: 'utf8' });
    for (const cmd of ['run', 'poller', 'worker', 'check', 'cases', 'case', 'skipped', 'demo', 'init']) expect(out).toMatch(new RegExp(`\\n  ${cmd}\\b`));
  });

  test('docker-compose.yml is valid (docker-compose config)', () => {
    const r = spawnSync('docker-compose', ['config', '--quiet'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const full = execFileSync('docker-compose', ['config'], { cwd: ROOT, encoding: 'utf8' });
    expect(full).toMatch(/appendonly/);
    expect(full).toMatch(/poller/);
    expect(full).toMatch(/worker/);
  });
});
