/** security.txt (RFC 9116) generation and the checks `secdesk check` runs on what is published. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createCleartextMessage, sign } from 'openpgp';
import { parsePublicKeys } from '../src/pgp/keyring';
import { checkSecurityTxt, DEFAULT_EXPIRES_MS, exportTeamPublicKey, parseSecurityTxt, renderSecurityTxt } from '../src/pgp/security-txt';
import { testConfig } from './notify-fixtures';
import { fingerprints, fixture, loadFixtureKeys } from './pgp-helpers';
import type { FixtureKeys } from './pgp-helpers';

const NOW = new Date('2026-03-02T10:00:00.000Z');
const DAY = 24 * 3600_000;
let k: FixtureKeys;

beforeAll(async () => {
  k = await loadFixtureKeys();
});

describe('renderSecurityTxt', () => {
  test('all fields from config, Expires under a year by default', () => {
    const cfg = testConfig({
      security_txt: { policy: 'https://example.test/security-policy', preferred_languages: ['en', 'de'], encryption: 'https://example.test/pgp-key.txt' },
    });
    const text = renderSecurityTxt(cfg, { now: NOW, canonicalUrl: 'https://example.test/.well-known/security.txt' });
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    expect(lines.filter((l) => !l.startsWith('#'))).toEqual([
      'Contact: mailto:security@example.test',
      `Expires: ${new Date(NOW.getTime() + DEFAULT_EXPIRES_MS).toISOString().slice(0, 19)}Z`,
      'Encryption: https://example.test/pgp-key.txt',
      'Policy: https://example.test/security-policy',
      'Preferred-Languages: en, de',
      'Canonical: https://example.test/.well-known/security.txt',
    ]);
    expect(DEFAULT_EXPIRES_MS).toBeLessThan(365 * DAY);
    expect(checkSecurityTxt(text, { now: NOW, teamFingerprint: fingerprints.team })).toEqual([]);
  });

  test('configured expiry, keyUrl as Encryption, optional fields left out', () => {
    const cfg = testConfig({ security_txt: { expires: '90d', preferred_languages: [] } });
    const fields = parseSecurityTxt(renderSecurityTxt(cfg, { now: NOW, keyUrl: 'https://example.test/key.asc' }));
    expect(fields.get('expires')).toEqual(['2026-05-31T10:00:00Z']);
    expect(fields.get('encryption')).toEqual(['https://example.test/key.asc']);
    expect(fields.has('policy')).toBe(false);
    expect(fields.has('preferred-languages')).toBe(false);
    expect(fields.has('canonical')).toBe(false);
  });

  test('a config value cannot start a new field', () => {
    const cfg = testConfig({ security_txt: { policy: 'https://example.test/p\nContact: mailto:evil@attacker.test' } });
    expect(parseSecurityTxt(renderSecurityTxt(cfg, { now: NOW })).get('contact')).toEqual(['mailto:security@example.test']);
  });
});

describe('checkSecurityTxt', () => {
  const render = (expiresIn: number): string => renderSecurityTxt(testConfig({ security_txt: { expires: expiresIn, encryption: 'https://example.test/k' } }), { now: NOW });

  test('Expires within 30 days, in the past, or more than a year away', () => {
    expect(checkSecurityTxt(render(60 * DAY), { now: NOW, teamFingerprint: fingerprints.team })).toEqual([]);
    expect(checkSecurityTxt(render(29 * DAY), { now: NOW, teamFingerprint: fingerprints.team })).toEqual([expect.stringContaining('in 29 days')]);
    expect(checkSecurityTxt(render(60 * DAY), { now: new Date(NOW.getTime() + 61 * DAY), teamFingerprint: fingerprints.team })).toEqual([expect.stringContaining('expired on 2026-05-01T10:00:00Z')]);
    expect(checkSecurityTxt(render(400 * DAY), { now: NOW, teamFingerprint: fingerprints.team })).toEqual([expect.stringContaining('more than a year')]);
  });

  test('missing or broken required fields', () => {
    const w = checkSecurityTxt('Expires: soon\n', { now: NOW, teamFingerprint: fingerprints.team });
    expect(w).toEqual([expect.stringContaining('no Contact'), expect.stringContaining('not a date'), expect.stringContaining('no Encryption')]);
  });

  test('published key that is not the team key, or that holds secret material', async () => {
    const text = render(60 * DAY);
    const [teamPub] = await parsePublicKeys(Buffer.from(exportTeamPublicKey(k.team)));
    expect(checkSecurityTxt(text, { now: NOW, teamFingerprint: fingerprints.team, publishedKey: teamPub })).toEqual([]);
    const [oldPub] = await parsePublicKeys(fixture('team-old.pub.asc'));
    expect(checkSecurityTxt(text, { now: NOW, teamFingerprint: fingerprints.team, publishedKey: oldPub })).toEqual([
      expect.stringContaining(`${fingerprints['team-old']} differs from the key secdesk decrypts with (${fingerprints.team})`),
    ]);
    const secret = checkSecurityTxt(text, { now: NOW, teamFingerprint: fingerprints.team, publishedKey: k.team[0]! });
    expect(secret).toEqual([expect.stringContaining('SECRET key material')]);
  });

  test('Encryption: openpgp4fpr naming another key', () => {
    const text = renderSecurityTxt(testConfig({ security_txt: { encryption: `openpgp4fpr:${fingerprints['team-old'].toLowerCase()}` } }), { now: NOW });
    expect(checkSecurityTxt(text, { now: NOW, teamFingerprint: fingerprints.team })).toEqual([expect.stringContaining(`names key ${fingerprints['team-old']}`)]);
  });

  test('a clear-signed security.txt (RFC 9116 §2.3) is read through its signature', async () => {
    const text = render(10 * DAY);
    const signed = await sign({ message: await createCleartextMessage({ text: `- dashed line\n${text}` }), signingKeys: k.team[0]! });
    expect(signed).toContain('-----BEGIN PGP SIGNED MESSAGE-----');
    expect(checkSecurityTxt(signed, { now: NOW, teamFingerprint: fingerprints.team })).toEqual([expect.stringContaining('in 10 days')]);
    expect(parseSecurityTxt(signed).get('contact')).toEqual(['mailto:security@example.test']);
  });
});

describe('exportTeamPublicKey', () => {
  test('the current key only by default, every key with all; public material only; gpg imports it', async () => {
    const current = exportTeamPublicKey(k.team);
    expect(current).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    expect(current).not.toContain('PRIVATE');
    expect((await parsePublicKeys(Buffer.from(current))).map((x) => x.getFingerprint().toUpperCase())).toEqual([fingerprints.team]);

    const all = exportTeamPublicKey([...k.team, k.team[0]!], { all: true });
    expect((await parsePublicKeys(Buffer.from(all))).map((x) => x.getFingerprint().toUpperCase())).toEqual([fingerprints.team, fingerprints['team-old']]);

    const home = mkdtempSync(path.join(tmpdir(), 'secdesk-gpg-export-'));
    try {
      const r = spawnSync('gpg', ['--homedir', home, '--batch', '--no-tty', '--status-fd', '1', '--import'], { input: current });
      expect(r.status).toBe(0);
      expect(r.stdout.toString()).toContain(`IMPORT_OK 1 ${fingerprints.team}`);
      // IMPORT_OK flags: bit 16 means the block held a secret key.
      const flags = [...r.stdout.toString().matchAll(/IMPORT_OK (\d+)/g)].map((m) => Number(m[1]));
      expect(flags.some((f) => (f & 16) !== 0)).toBe(false);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
