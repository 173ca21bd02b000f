import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Config } from '../src/config';
import { buildConfig } from '../src/config';
import { DAY, HOUR } from '../src/duration';
import { policyDiff, securityTxtExpiryWarning } from '../src/policy/init-command';
import { renderConfigYaml } from '../src/policy/init-config';
import { parsePolicy } from '../src/policy/parse-policy';

const markdown = readFileSync(path.join(__dirname, 'fixtures', 'policy', 'stalwart-SECURITY.md'), 'utf8');

/** The keys of the generated YAML these tests edit. */
interface RawConfig {
  address: string;
  aliases?: string[];
  sla: { acknowledge: string; respond: string };
  versions: { supported: string[]; unsupported: string[] };
  checklist?: string[];
}

/** The config `secdesk init` writes for the stalwart policy, then edited by `edit`. */
function config(edit: (raw: RawConfig) => void = () => {}): Config {
  const raw = parseYaml(renderConfigYaml(parsePolicy(markdown))) as RawConfig;
  edit(raw);
  return buildConfig(raw);
}

describe('policyDiff', () => {
  it('is empty when the config is what init wrote', () => {
    expect(policyDiff(config(), markdown)).toEqual([]);
  });

  it('reports a different address, but not one the config lists as an alias', () => {
    expect(policyDiff(config((c) => (c.address = 'security@stalw.art')), markdown)).toEqual([
      'address: SECURITY.md line 19 gives hello@stalw.art, the config has security@stalw.art',
    ]);
    const aliased = config((c) => {
      c.address = 'security@stalw.art';
      c.aliases = ['Hello@Stalw.art'];
    });
    expect(policyDiff(aliased, markdown)).toEqual([]);
  });

  it('reports each deadline that differs from the promise', () => {
    const cfg = config((c) => {
      c.sla.acknowledge = '2d';
      c.sla.respond = '3d';
    });
    expect(policyDiff(cfg, markdown)).toEqual([
      'sla.acknowledge: SECURITY.md line 19 promises 24h ("24 hours"), the config has 2d',
      'sla.respond: SECURITY.md line 33 promises 48h ("48 hours"), the config has 3d',
    ]);
  });

  it('says when a promise was in business days', () => {
    const policy = 'Email security@example.org. We respond within 2 business days.';
    const cfg = config((c) => (c.sla = { acknowledge: '4d', respond: '4d' }));
    expect(policyDiff(cfg, policy, { source: 'docs/SECURITY.md' })).toContain(
      'sla.acknowledge: docs/SECURITY.md line 1 promises 2d business days ("2 business days"), the config has 4d',
    );
  });

  it('reports versions on either side that the other lacks', () => {
    const cfg = config((c) => {
      c.versions.supported = ['0.8.X', '0.9.x'];
      c.versions.unsupported = [];
    });
    expect(policyDiff(cfg, markdown)).toEqual([
      'versions.supported: SECURITY.md line 10 lists 0.7.x, the config does not',
      'versions.supported: the config lists 0.9.x, SECURITY.md does not',
      'versions.unsupported: SECURITY.md line 11 lists < 0.6, the config does not',
    ]);
  });

  it('reports checklist fields on either side, and a config with no checklist', () => {
    const cfg = config((c) => (c.checklist = ['issue_type', 'paths', 'affected_ref', 'configuration', 'reproduction', 'impact', 'versions']));
    expect(policyDiff(cfg, markdown)).toEqual([
      'checklist: SECURITY.md line 28 asks for poc ("Proof-of-concept or exploit code"), the config does not',
      'checklist: the config asks for versions, SECURITY.md does not',
    ]);
    const none = config((c) => delete c.checklist);
    expect(policyDiff(none, markdown)).toEqual([
      'checklist: SECURITY.md line 23 asks for issue_type, paths, affected_ref, configuration, reproduction, poc, impact; ' +
        'the config has none, so acknowledgements use the default list',
    ]);
  });

  it('does not count what the policy leaves unsaid as a disagreement', () => {
    const bare = '# Security\n\nReport vulnerabilities to security@stalw.art.\n';
    const cfg = config((c) => (c.address = 'security@stalw.art'));
    expect(policyDiff(cfg, bare)).toEqual([]);
  });

  it('throws a PolicyError for a file that is not a policy', () => {
    expect(() => policyDiff(config(), '')).toThrow(expect.objectContaining({ code: 'EPolicy' }));
  });
});

describe('securityTxtExpiryWarning', () => {
  const now = new Date('2025-06-01T12:00:00Z');
  const txt = (expires: string): string =>
    `# Our security policy\nContact: mailto:security@example.org\nExpires: ${expires}\nPreferred-Languages: en\n`;

  it('is quiet while more than 30 days remain', () => {
    expect(securityTxtExpiryWarning(txt('2025-07-02T12:00:00Z'), now)).toBeNull();
    expect(securityTxtExpiryWarning(txt('2026-06-01T00:00:00.000Z'), now)).toBeNull();
  });

  it('warns within 30 days', () => {
    expect(securityTxtExpiryWarning(txt('2025-07-01T12:00:00Z'), now)).toBe(
      'security.txt: expires on 2025-07-01, in 30 days; publish a renewed one',
    );
    expect(securityTxtExpiryWarning(txt('2025-06-02T00:00:00+02:00'), now)).toMatch(/in 1 day;/u);
  });

  it('warns once expired', () => {
    expect(securityTxtExpiryWarning(txt('2025-05-01T00:00:00Z'), now)).toBe(
      'security.txt: expired on 2025-05-01 (31 days ago); publish a renewed one',
    );
    expect(securityTxtExpiryWarning(txt(now.toISOString()), now)).toMatch(/^security\.txt: expired on 2025-06-01;/u);
  });

  it('reads a signed file and ignores comments and field-name case', () => {
    const signed =
      '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n# Expires: 2020-01-01T00:00:00Z\n' +
      'expires: 2025-06-10T00:00:00Z\n-----BEGIN PGP SIGNATURE-----\nExpires: 1999-01-01T00:00:00Z\n-----END PGP SIGNATURE-----\n';
    expect(securityTxtExpiryWarning(signed, now)).toMatch(/expires on 2025-06-10, in 9 days/u);
  });

  it('warns about a missing, repeated or unreadable Expires', () => {
    expect(securityTxtExpiryWarning('Contact: mailto:a@example.org\n', now)).toMatch(/no Expires field/u);
    expect(securityTxtExpiryWarning(txt('2026-01-01T00:00:00Z') + 'Expires: 2027-01-01T00:00:00Z\n', now)).toMatch(/2 Expires fields/u);
    expect(securityTxtExpiryWarning(txt('next year'), now)).toMatch(/"next year" is not an RFC 3339 date-time/u);
    expect(securityTxtExpiryWarning(txt('2025-13-45T99:00:00Z'), now)).toMatch(/not an RFC 3339/u);
  });

  it('uses whole days from now', () => {
    expect(securityTxtExpiryWarning(txt(new Date(now.getTime() + 30 * DAY + HOUR).toISOString()), now)).toBeNull();
  });
});
