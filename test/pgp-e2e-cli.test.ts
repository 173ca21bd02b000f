/**
 * PGP end to end, the command line: `secdesk security-txt` (and the public key to publish), the PGP
 * lines of `secdesk check` (team key unlocks; published security.txt expiring soon; published key not
 * the one we decrypt with), and start-up refusing a wrong passphrase or an unreadable key with a
 * clear message, from the built CLI (`node bin/secdesk.js`) against real servers.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { readKey } from 'openpgp';
import { stringify } from 'yaml';
import { main } from '../src/cli';
import { checkSecurityTxt, parseSecurityTxt } from '../src/pgp/security-txt';
import { startHarness, type Harness } from './helpers/harness';
import { gpgWith, validSigner } from './helpers/pgp-gpg';
import { FIXTURES, fingerprints, fixture } from './pgp-helpers';

const BIN = path.join(__dirname, '..', 'bin', 'secdesk.js');
const DAY = 24 * 3600_000;
const iso = (t: number): string => `${new Date(t).toISOString().slice(0, 19)}Z`;

describe('PGP on the command line', () => {
  let h: Harness;
  let server: Server;
  let served = '';

  beforeAll(async () => {
    h = await startHarness({
      config: {
        pgp: { private_key_file: [path.join(FIXTURES, 'team.sec.asc'), path.join(FIXTURES, 'team-old.sec.asc')], passphrase_file: path.join(FIXTURES, 'team.pass') },
        security_txt: { policy: 'https://larkspur.test/SECURITY.md', preferred_languages: ['en', 'de'] },
      },
    });
    server = createServer((_req, res) => res.end(served));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await h?.close();
  });

  /** A config file: the harness one with some keys changed. */
  function configWith(name: string, changes: Record<string, unknown>): string {
    const file = path.join(h.dir, `${name}.yml`);
    writeFileSync(file, stringify({ ...h.raw, ...changes }));
    return file;
  }
  async function cli(config: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await main(['node', 'secdesk', '--config', config, ...args], { out: (s) => (out += s), err: (s) => (err += s), env: {} });
    return { code, out, err };
  }
  /**
   * The built CLI as a child process; a hang fails the test (status null) instead of blocking it.
   * Asynchronous: the SMTP sink lives in this process and must keep answering meanwhile.
   */
  function spawnCli(config: string, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, '--config', config, ...args], { env: { ...process.env, SECDESK_CONFIG: '' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });
  }

  test('`secdesk security-txt` prints an RFC 9116 file from config that passes our own check', async () => {
    const before = Date.now();
    const r = await cli(h.configFile, 'security-txt', '--key-url', 'https://larkspur.test/security-key.asc');
    expect(r.code).toBe(0);
    const fields = parseSecurityTxt(r.out);
    expect(fields.get('contact')).toEqual(['mailto:security@example.test']);
    expect(fields.get('encryption')).toEqual(['https://larkspur.test/security-key.asc']);
    expect(fields.get('policy')).toEqual(['https://larkspur.test/SECURITY.md']);
    expect(fields.get('preferred-languages')).toEqual(['en, de']);
    const expires = Date.parse(fields.get('expires')?.[0] ?? '');
    expect(expires).toBeGreaterThan(before + 300 * DAY);
    expect(expires).toBeLessThanOrEqual(Date.now() + 365 * DAY);
    expect(checkSecurityTxt(r.out, { now: new Date(), teamFingerprint: fingerprints.team })).toEqual([]);
  });

  test('`secdesk security-txt --public-key` prints the current team public key, no secret material', async () => {
    const r = await cli(h.configFile, 'security-txt', '--public-key');
    expect(r.code).toBe(0);
    const key = await readKey({ armoredKey: r.out });
    expect(key.getFingerprint().toUpperCase()).toBe(fingerprints.team);
    expect(key.isPrivate()).toBe(false);
    expect(r.out).not.toContain('PRIVATE KEY');
  });

  test('`secdesk security-txt --sign` clear-signs with the team key (gpg verifies it)', async () => {
    const r = await cli(h.configFile, 'security-txt', '--sign');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----/);
    const gpg = gpgWith(['team.pub.asc']);
    try {
      const { data, status } = gpg.decrypt(r.out);
      expect(validSigner(status)).toBe(fingerprints.team);
      expect(data.toString()).toContain('Contact: mailto:security@example.test');
      // No key URL given or configured: the key is named by its fingerprint.
      expect(data.toString()).toContain(`Encryption: openpgp4fpr:${fingerprints.team}`);
    } finally {
      gpg.close();
    }
  });

  test('`secdesk check` unlocks the team key and is quiet about a current security.txt and key', async () => {
    const txt = path.join(h.dir, 'security-current.txt');
    writeFileSync(txt, (await cli(h.configFile, 'security-txt', '--key-url', 'https://larkspur.test/k.asc')).out);
    const config = configWith('check-ok', { security_txt: { published_file: txt, published_key_file: path.join(FIXTURES, 'team.pub.asc') } });
    const r = await cli(config, 'check');
    expect(r.out).toContain(`OK   pgp        team key ${fingerprints.team} (Example Security <security@example.test>) unlocked; older key(s) still decrypt: ${fingerprints['team-old']}`);
    expect(r.out).toContain('OK   security.txt');
    expect(r.out).not.toMatch(/^(WARN|FAIL)/m);
    expect(r.code).toBe(0);
  });

  test('`secdesk check` warns when the published security.txt expires within 30 days and the published key is not ours (file or URL)', async () => {
    const soon = `Contact: mailto:security@example.test\nExpires: ${iso(Date.now() + 10 * DAY)}\nEncryption: https://larkspur.test/k.asc\n`;
    const file = path.join(h.dir, 'security-soon.txt');
    writeFileSync(file, soon);
    served = soon;
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/security.txt`;
    for (const published of [file, url]) {
      const config = configWith('check-warn', { security_txt: { published_file: published, published_key_file: path.join(FIXTURES, 'team-old.pub.asc') } });
      const r = await cli(config, 'check');
      expect(r.out).toMatch(/^WARN security\.txt security\.txt expires on \S+, in (9|10) days: regenerate it with `secdesk security-txt`$/m);
      expect(r.out).toContain(`WARN security.txt the published key ${fingerprints['team-old']} differs from the key secdesk decrypts with (${fingerprints.team})`);
      expect(r.code).toBe(0); // warnings, not failures
    }
    // The key alone (no security.txt configured): the old team key is named as such.
    const keyOnly = await cli(configWith('check-key', { security_txt: { published_key_file: path.join(FIXTURES, 'team-old.pub.asc') } }), 'check');
    expect(keyOnly.out).toContain(`WARN pgp        the published key ${fingerprints['team-old']} differs from the key secdesk decrypts with (${fingerprints.team}): it is an older team key, publish the current one`);
    // A private key published by mistake is a failure.
    const leaked = await cli(configWith('check-leak', { security_txt: { published_key_file: path.join(FIXTURES, 'team-old.sec.asc') } }), 'check');
    expect(leaked.out).toMatch(/^FAIL pgp {8}the published key \S+ contains SECRET key material/m);
    expect(leaked.code).toBe(1);
  });

  test('a wrong passphrase: `check` fails with a clear line, `run` stops at start-up with exit code 2 and the same message', async () => {
    const bad = path.join(h.dir, 'wrong.pass');
    writeFileSync(bad, 'not the passphrase\n');
    const config = configWith('wrong-pass', { pgp: { private_key_file: path.join(FIXTURES, 'team.sec.asc'), passphrase_file: bad } });
    const message = `pgp.passphrase: cannot unlock key ${fingerprints.team} in ${path.join(FIXTURES, 'team.sec.asc')}: wrong passphrase`;
    const check = await spawnCli(config, 'check');
    expect(check.status).toBe(1);
    expect(check.stdout).toContain(`FAIL pgp        ${message}`);
    // Only the key fails: the servers are all there.
    expect(check.stdout.split('\n').filter((l) => l.startsWith('FAIL'))).toEqual([`FAIL pgp        ${message}`]);
    const run = await spawnCli(config, 'run');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`secdesk: ${message}`);
  });

  test('an unreadable key file, or a file that holds no private key: `run` stops with exit code 2 and says which file', async () => {
    const missing = path.join(h.dir, 'no-such-key.asc');
    const r1 = await spawnCli(configWith('missing-key', { pgp: { private_key_file: missing, passphrase_file: path.join(FIXTURES, 'team.pass') } }), 'run');
    expect(r1.status).toBe(2);
    expect(r1.stderr).toContain(`secdesk: pgp.private_key_file: cannot read ${missing}`);

    const notKey = path.join(h.dir, 'not-a-key.asc');
    writeFileSync(notKey, fixture('clear-signed.eml'));
    const r2 = await spawnCli(configWith('not-a-key', { pgp: { private_key_file: notKey, passphrase_file: path.join(FIXTURES, 'team.pass') } }), 'run');
    expect(r2.status).toBe(2);
    expect(r2.stderr).toContain(`secdesk: pgp.private_key_file: ${notKey} is not an OpenPGP private key`);

    // A public key where the private key belongs.
    const r3 = await spawnCli(configWith('public-key', { pgp: { private_key_file: path.join(FIXTURES, 'team.pub.asc'), passphrase_file: path.join(FIXTURES, 'team.pass') } }), 'run');
    expect(r3.status).toBe(2);
    expect(r3.stderr).toContain('is not an OpenPGP private key');
  });
});
