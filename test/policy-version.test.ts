import { isVersionPattern, normalizeVersion, versionVerdict } from '../src/policy/version-policy';

const stalwart = { supported: ['0.8.x', '0.7.x'], unsupported: ['< 0.6'] };

describe('normalizeVersion', () => {
  it.each([
    ['v1.2.3', '1.2.3'],
    ['  V0.8.X ', '0.8.x'],
    ['5.1.*', '5.1.x'],
    ['Version 2.0', '2.0'],
    ['Latest', 'latest'],
    ['>=  2.1', '>= 2.1'],
  ])('%s → %s', (input, out) => {
    expect(normalizeVersion(input)).toBe(out);
  });
});

describe('versionVerdict', () => {
  it('follows the stalwart table', () => {
    expect(versionVerdict('0.8.x', stalwart)).toBe(true);
    expect(versionVerdict('0.7.x', stalwart)).toBe(true);
    expect(versionVerdict('0.8.3', stalwart)).toBe(true);
    expect(versionVerdict('v0.7.0', stalwart)).toBe(true);
    expect(versionVerdict('0.5.9', stalwart)).toBe(false);
    expect(versionVerdict('0.5.x', stalwart)).toBe(false);
    expect(versionVerdict('0.1', stalwart)).toBe(false);
  });

  it('never guesses a version the table does not cover', () => {
    expect(versionVerdict('0.6.x', stalwart)).toBeNull();
    expect(versionVerdict('0.6.2', stalwart)).toBeNull();
    expect(versionVerdict('0.9.0', stalwart)).toBeNull();
    expect(versionVerdict('1.0', stalwart)).toBeNull();
    expect(versionVerdict('latest', stalwart)).toBeNull();
    expect(versionVerdict('garbage', stalwart)).toBeNull();
    expect(versionVerdict('', stalwart)).toBeNull();
  });

  it('reads comparators as release lines', () => {
    const p = { supported: ['>= 2.1'], unsupported: ['<=1.2'] };
    expect(versionVerdict('2.1.0', p)).toBe(true);
    expect(versionVerdict('2.0.9', p)).toBeNull();
    expect(versionVerdict('10.0', p)).toBe(true);
    expect(versionVerdict('1.2.9', p)).toBe(false);
    expect(versionVerdict('1.3.0', p)).toBeNull();
    expect(versionVerdict('0.1', p)).toBe(false);
  });

  it('treats > as starting after the named line', () => {
    expect(versionVerdict('1.2.5', { supported: ['> 1.2'], unsupported: [] })).toBeNull();
    expect(versionVerdict('1.3.0', { supported: ['> 1.2'], unsupported: [] })).toBe(true);
  });

  it('matches exact versions and bare release lines', () => {
    const p = { supported: ['1.2.3', '0.8'], unsupported: [] };
    expect(versionVerdict('1.2.3', p)).toBe(true);
    expect(versionVerdict('1.2.4', p)).toBeNull();
    expect(versionVerdict('0.8.17', p)).toBe(true);
    expect(versionVerdict('0.80', p)).toBeNull();
    expect(versionVerdict('1.2.3-rc.1', p)).toBe(true);
  });

  it('matches latest only when the version says latest', () => {
    const p = { supported: ['latest'], unsupported: ['< 5'] };
    expect(versionVerdict('latest', p)).toBe(true);
    expect(versionVerdict('Latest', p)).toBe(true);
    expect(versionVerdict('9.9.9', p)).toBeNull();
    expect(versionVerdict('4.0', p)).toBe(false);
  });

  it('prefers the more specific pattern when both lists match', () => {
    const p = { supported: ['0.9.x'], unsupported: ['< 1.0'] };
    expect(versionVerdict('0.9.4', p)).toBe(true);
    expect(versionVerdict('0.8.0', p)).toBe(false);
    // equally specific and contradictory: no verdict
    expect(versionVerdict('1.0.0', { supported: ['1.0.x'], unsupported: ['1.0'] })).toBeNull();
  });

  it('requires a wildcard version to be wholly covered', () => {
    const p = { supported: ['>= 2.1.3'], unsupported: [] };
    expect(versionVerdict('2.1.x', p)).toBeNull();
    expect(versionVerdict('2.2.x', p)).toBe(true);
  });

  it('understands lists, spans, plus and star', () => {
    const p = { supported: ['4.2.x, 4.1.x', '5.0 - 5.2', '6.0+'], unsupported: ['*'] };
    expect(versionVerdict('4.1.7', p)).toBe(true);
    expect(versionVerdict('5.2.9', p)).toBe(true);
    expect(versionVerdict('5.3.0', p)).toBe(false);
    expect(versionVerdict('7.1', p)).toBe(true);
    expect(versionVerdict('3.0', p)).toBe(false);
  });

  it('says which patterns it understands', () => {
    expect(isVersionPattern('0.8.x')).toBe(true);
    expect(isVersionPattern('< 0.6')).toBe(true);
    expect(isVersionPattern('latest')).toBe(true);
    expect(isVersionPattern('???')).toBe(false);
    expect(isVersionPattern('')).toBe(false);
  });
});
