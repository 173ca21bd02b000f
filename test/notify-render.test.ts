import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DAY, HOUR, MINUTE, SECOND } from '../src/duration';
import { BUILTIN_TEMPLATES_DIR, createRenderer, TEMPLATE_NAMES } from '../src/notify/render';
import { buildTemplateVars, DEFAULT_CHECKLIST_LABELS, formatHumanDuration } from '../src/notify/template-vars';
import { testCase, testConfig } from './notify-fixtures';

const cfg = testConfig({ versions: { supported: ['3.x', '4.x'] } });

describe('formatHumanDuration', () => {
  it.each([
    [24 * HOUR, '24 hours'],
    [48 * HOUR, '48 hours'],
    [1 * HOUR, '1 hour'],
    [90 * MINUTE, '1 hour 30 minutes'],
    [3 * DAY, '3 days'],
    [7 * DAY, '7 days'],
    [5 * SECOND, '5 seconds'],
    [1 * MINUTE, '1 minute'],
  ])('%d ms → %s', (ms, want) => {
    expect(formatHumanDuration(ms)).toBe(want);
  });
});

describe('buildTemplateVars', () => {
  it('computes the case, the received summary and the timeline from config', () => {
    const v = buildTemplateVars(testCase(), cfg);
    expect(v).toMatchObject({
      case_id: 'SEC-2026-0001',
      case_tag: '[SEC-2026-0001]',
      project: 'Example',
      security_address: 'security@example.test',
      received: { withheld: false, subject: 'XSS in login form', date: 'Tue, 03 Mar 2026 14:05:00 UTC', attachments: ['poc.html'] },
      sla: { acknowledge: '24 hours', respond: '48 hours' },
      missing_is_checklist: true,
      supported_versions: ['3.x', '4.x'],
    });
    expect(v.missing).toEqual([...DEFAULT_CHECKLIST_LABELS]);
  });

  it('uses the triage result when there is one', () => {
    const v = buildTemplateVars(testCase(), cfg, { missing: ['Proof of concept'], unsupported_versions: ['1.2'] });
    expect(v.missing).toEqual(['Proof of concept']);
    expect(v.missing_is_checklist).toBe(false);
    expect(v.has_unsupported_versions).toBe(true);
    const none = buildTemplateVars(testCase(), cfg, { missing: [] });
    expect(none.has_missing).toBe(false);
  });

  it('withholds the details of an encrypted report unless the reply is encrypted', () => {
    const c = testCase({ encrypted: true, subject: 'Protected subject' });
    expect(buildTemplateVars(c, cfg).received).toMatchObject({ withheld: true, subject: '', attachments: [] });
    expect(buildTemplateVars(c, cfg, { encrypted_reply: true }).received).toMatchObject({ withheld: false, subject: 'Protected subject' });
  });

  it('keeps only http(s) advisory URLs', () => {
    expect(buildTemplateVars(testCase(), cfg, { advisory_url: 'javascript:alert(1)' }).advisory_url).toBeNull();
    expect(buildTemplateVars(testCase(), cfg, { advisory_url: 'https://example.test/adv/1' }).advisory_url).toBe('https://example.test/adv/1');
  });
});

describe('createRenderer', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'secdesk-notify-tpl-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('every built-in template compiles and names the case', () => {
    const r = createRenderer();
    expect(() => r.check()).not.toThrow();
    for (const name of TEMPLATE_NAMES) {
      const out = r.render(name, buildTemplateVars(testCase(), cfg, { command_errors: ['bad'], key_fingerprint: 'ABCD' }));
      expect(out.text).toContain('SEC-2026-0001');
      expect(out.text).not.toMatch(/undefined|\[object Object\]/);
    }
  });

  it('the ack carries the case, what was received, the timeline and the checklist', () => {
    const out = createRenderer().render('ack', buildTemplateVars(testCase(), cfg));
    expect(out.text).toContain('opened case SEC-2026-0001');
    expect(out.text).toContain('XSS in login form');
    expect(out.text).toContain('Tue, 03 Mar 2026 14:05:00 UTC');
    expect(out.text).toContain('- poc.html');
    expect(out.text).toMatch(/within\s+24 hours/);
    expect(out.text).toMatch(/Within 48 hours/);
    for (const label of DEFAULT_CHECKLIST_LABELS) expect(out.text).toContain(label);
    expect(out.text).not.toContain('outside the range');
    expect(out.html).toContain('<strong>SEC-2026-0001</strong>');
    expect(out.text).toContain('\n-- \nExample security team\n'); // RFC 3676 signature separator kept
  });

  it('lists only what is missing, and notes unsupported versions', () => {
    const out = createRenderer().render(
      'ack',
      buildTemplateVars(testCase(), cfg, { missing: ['Proof-of-concept', 'Impact'], unsupported_versions: ['1.2.3'] }),
    );
    expect(out.text).toContain('does not seem to include');
    expect(out.text).toContain('- Proof-of-concept');
    expect(out.text).not.toContain(DEFAULT_CHECKLIST_LABELS[0]);
    expect(out.text).toMatch(/outside the range we\ncurrently support:\n {2}- 1\.2\.3\nSupported: 3\.x, 4\.x\./);
  });

  it('escapes a hostile subject and file name in HTML; flattens them in text', () => {
    const c = testCase({
      subject: '<script>alert(1)</script> & "quotes"',
      messages: [
        {
          ...testCase().messages[0]!,
          attachments: [{ filename: '"><img src=x onerror=alert(1)>\r\nInjected line.html', content_type: 'text/html', size: 1, sha256: 'b'.repeat(64) }],
        },
      ],
    });
    const out = createRenderer().render('ack', buildTemplateVars(c, cfg));
    expect(out.html).not.toContain('<script>');
    expect(out.html).not.toContain('<img');
    expect(out.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
    expect(out.html).toContain('&quot;&gt;&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;');
    expect(out.text).toContain('<script>alert(1)</script>');
    expect(out.text).toContain('onerror=alert(1)> Injected line.html');
    expect(out.text.split('\n').some((l) => l.startsWith('Injected'))).toBe(false);
  });

  it('strips control characters from variables even when the caller passes its own', () => {
    const out = createRenderer().render('ack', { ...buildTemplateVars(testCase(), cfg), case_id: 'X\r\nBcc: v@x\u202Eevil' });
    expect(out.text).toContain('opened case X  Bcc: v@x evil');
  });

  it('an encrypted-no-key mail carries nothing beyond the case ID', () => {
    const c = testCase({
      encrypted: true,
      subject: 'TOPSECRET-SUBJECT',
      messages: [{ ...testCase().messages[0]!, attachments: [{ filename: 'TOPSECRET.txt', content_type: 'text/plain', size: 1, sha256: 'c'.repeat(64) }] }],
    });
    const r = createRenderer();
    for (const vars of [buildTemplateVars(c, cfg), buildTemplateVars(c, cfg, { encrypted_reply: true })]) {
      const out = r.render('encrypted-no-key', vars);
      expect(out.text).toContain('SEC-2026-0001');
      expect(out.text).not.toContain('TOPSECRET');
    }
    // and the ack of an encrypted report sent in clear withholds the details too
    const ack = r.render('ack', buildTemplateVars(c, cfg));
    expect(ack.text).not.toContain('TOPSECRET');
    expect(ack.html).not.toContain('TOPSECRET');
  });

  it('uses an override directory file by file, falling back to the built-in ones', () => {
    writeFileSync(path.join(dir, 'ack.txt.hbs'), 'Custom ack for {{case_id}} of {{project}}: {{received.subject}}\n');
    writeFileSync(path.join(dir, 'ack.subject.hbs'), 'Got it {{case_tag}}\n');
    const r = createRenderer({ dir });
    const out = r.render('ack', buildTemplateVars(testCase({ subject: 'a <b>' }), cfg));
    expect(out.text).toBe('Custom ack for SEC-2026-0001 of Example: a <b>\n');
    expect(out.subject).toBe('Got it [SEC-2026-0001]');
    expect(out.html).toContain('<strong>SEC-2026-0001</strong>'); // built-in html.hbs
    expect(r.resolve('ack', 'txt')).toBe(path.join(dir, 'ack.txt.hbs'));
    expect(r.resolve('ack', 'html')).toBe(path.join(BUILTIN_TEMPLATES_DIR, 'ack.html.hbs'));
    // another template without an override renders the built-in one
    expect(r.render('resolution', buildTemplateVars(testCase(), cfg)).text).toContain('marked case SEC-2026-0001 as resolved');
  });

  it('a broken override fails check() naming the file; a missing dir is a config error', () => {
    writeFileSync(path.join(dir, 'chaser-reply.txt.hbs'), 'Hello {{#if case_id}}unclosed\n');
    expect(() => createRenderer({ dir }).check()).toThrow(/chaser-reply\.txt\.hbs/);
    expect(() => createRenderer({ dir: path.join(dir, 'nope') })).toThrow(/templates\.dir/);
  });

  it('refuses template names that could walk out of the directory', () => {
    expect(() => createRenderer().render('../etc/passwd', {})).toThrow(/bad template name/);
  });
});
