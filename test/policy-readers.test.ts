import { markdownBlocks } from '../src/policy/markdown-blocks';
import { readAddress } from '../src/policy/policy-address';
import { checklistId } from '../src/policy/policy-checklist';
import { findPromises, pickClocks } from '../src/policy/policy-sla';
import { readVersions, statusOf } from '../src/policy/policy-versions';
import { isVersionPattern, versionVerdict } from '../src/policy/version-policy';

const address = (md: string): string | null => readAddress(markdownBlocks(md).units)?.value ?? null;

describe('readAddress', () => {
  it('stops an obfuscated address at the end of its sentence', () => {
    expect(address('Contact: security [at] harbor-js [dot] org. Include the version.')).toBe('security@harbor-js.org');
    expect(address('Report to sec (at) example.co.uk please')).toBe('sec@example.co.uk');
  });

  it('prefers the reporting address over sponsor and conduct addresses', () => {
    const md = 'Sponsors: money@x.org\n\n## Code of conduct\n\nconduct@x.org\n\n## Reporting\n\nEmail vulns@x.org.';
    expect(address(md)).toBe('vulns@x.org');
  });

  it('takes the address out of a mailto link with a subject', () => {
    expect(address('[Report it](mailto:Security@Example.org?subject=Vuln)')).toBe('security@example.org');
  });

  it('ignores an address too long to be one', () => {
    expect(address(`Report to ${'a'.repeat(300)}@example.org`)).toBeNull();
  });
});

describe('checklistId', () => {
  it.each([
    ['Steps to reproduce, ideally with a minimal proof of concept', 'reproduction'],
    ['Proof-of-concept or exploit code', 'poc'],
    ['Any special configuration required to reproduce the issue', 'configuration'],
    ['Impact of the issue, including how an attacker might exploit the issue', 'impact'],
    ['A description of the vulnerability and its impact', 'issue_type'],
    ['Affected version or commit', 'versions'],
    ['The location of the affected source code (tag/branch/commit or direct URL)', 'affected_ref'],
    ['Your name and affiliation', null],
  ])('%s → %s', (text, id) => {
    expect(checklistId(text)).toBe(id);
  });
});

describe('version tables and lists', () => {
  it('reads release-schedule words as statuses', () => {
    expect(statusOf('Maintenance')).toBe('supported');
    expect(statusOf('Active LTS')).toBe('supported');
    expect(statusOf('End-of-life')).toBe('unsupported');
    expect(statusOf('TBD')).toBe('unknown');
  });

  it('understands "and older" as everything up to that line', () => {
    expect(isVersionPattern('6.x and older')).toBe(true);
    const p = { supported: ['7.x'], unsupported: ['6.x and older'] };
    expect(versionVerdict('6.4.2', p)).toBe(false);
    expect(versionVerdict('1.0', p)).toBe(false);
    expect(versionVerdict('7.0', p)).toBe(true);
    expect(versionVerdict('1.2', { supported: [], unsupported: ['1.2 or earlier'] })).toBe(false);
  });

  it('keeps a row whose status it cannot read as unknown, with a warning', () => {
    const md = '| Version | Supported |\n|---|---|\n| 2.x | yes |\n| 1.x | ask us |\n';
    const { tables, lists, units } = markdownBlocks(md);
    const warnings: string[] = [];
    const v = readVersions(tables, lists, units, warnings);
    expect(v.supported).toEqual(['2.x']);
    expect(v.rows.map((r) => r.status)).toEqual(['supported', 'unknown']);
    expect(warnings).toEqual(['line 4: cannot tell whether 1.x is supported ("ask us")']);
  });
});

describe('response times', () => {
  it('quotes the clause that makes each promise, label included', () => {
    const md = '- Acknowledgement: within 24 hours\n- Initial assessment: within 72 hours\n- Fix: within 90 days\n';
    const { acknowledge, respond } = pickClocks(findPromises(markdownBlocks(md).units));
    expect(acknowledge).toMatchObject({ duration: '24h', phrase: 'Acknowledgement: within 24 hours', written: '24 hours' });
    expect(respond).toMatchObject({ duration: '72h', detailed: true, phrase: 'Initial assessment: within 72 hours' });
  });
});
