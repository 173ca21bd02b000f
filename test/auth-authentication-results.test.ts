import { domainOf, isAligned } from '../src/auth/alignment';
import { AR_LIMITS, parseAuthenticationResults, readHeaderFields, trustedAuthResults } from '../src/auth/authentication-results';
import { mayAutoReply } from '../src/notify/auto-reply-policy';
import { buildConfig } from '../src/config';
import type { ParsedMessage } from '../src/types';

function eml(headers: string, body = 'hello\n'): Buffer {
  return Buffer.from(`${headers.trim().replace(/\n/g, '\r\n')}\r\n\r\n${body.replace(/\n/g, '\r\n')}`);
}

describe('parseAuthenticationResults', () => {
  it('reads authserv-id, several results, properties, comments and quoted strings', () => {
    const v =
      'mx.proj.test 1; (checked at the edge) spf=pass (sender SPF authorized) smtp.mailfrom=alice@example.test;\r\n' +
      ' dkim=pass (2048-bit key; "unprotected") header.d=example.test header.i=@example.test header.s=s1 header.a=rsa-sha256 header.b="Ab;Cd";\r\n' +
      ' dmarc/1=fail reason="policy (p=reject)" header.from=example.test';
    expect(parseAuthenticationResults(v)).toEqual({
      authservId: 'mx.proj.test',
      results: [
        { method: 'spf', result: 'pass', props: { 'smtp.mailfrom': 'alice@example.test' } },
        {
          method: 'dkim',
          result: 'pass',
          props: { 'header.d': 'example.test', 'header.i': '@example.test', 'header.s': 's1', 'header.a': 'rsa-sha256', 'header.b': 'Ab;Cd' },
        },
        { method: 'dmarc', result: 'fail', props: { reason: 'policy (p=reject)', 'header.from': 'example.test' } },
      ],
    });
  });

  it('accepts a quoted authserv-id, "none", CFWS around "=" and "." and upper case', () => {
    expect(parseAuthenticationResults('"mx.proj.test"; none')).toEqual({ authservId: 'mx.proj.test', results: [] });
    expect(parseAuthenticationResults('mx.proj.test')).toEqual({ authservId: 'mx.proj.test', results: [] });
    const r = parseAuthenticationResults('MX.Proj.Test; DKIM (c) = (c) PASS header . d = Example.Test');
    expect(r?.authservId).toBe('MX.Proj.Test');
    expect(r?.results).toEqual([{ method: 'dkim', result: 'pass', props: { 'header.d': 'Example.Test' } }]);
  });

  it('refuses what is not an Authentication-Results value', () => {
    expect(parseAuthenticationResults('')).toBeNull();
    expect(parseAuthenticationResults('   (only a comment)  ')).toBeNull();
    expect(parseAuthenticationResults('; dkim=pass')).toBeNull();
    // A second word after the id is not a version: an attacker's "evil.test mx.proj.test; …" is not ours.
    expect(parseAuthenticationResults('evil.test mx.proj.test; dkim=pass')).toBeNull();
  });

  it('skips malformed entries without guessing', () => {
    const r = parseAuthenticationResults('mx.proj.test; dkim; =pass; spf=; dkim=pass header.d=a.test; dmarc=pass=x');
    expect(r?.results.map((x) => `${x.method}=${x.result}`)).toEqual(['dkim=pass', 'dmarc=pass']);
  });

  describe('hostile input', () => {
    it('refuses a huge value quickly', () => {
      const t0 = Date.now();
      expect(parseAuthenticationResults(`mx.proj.test; ${'dkim=pass '.repeat(200_000)}`)).toBeNull();
      expect(Date.now() - t0).toBeLessThan(1000);
    });

    it('survives deeply nested, unbalanced and escaped comments', () => {
      const deep = `mx.proj.test; dkim=pass ${'('.repeat(8000)}x${')'.repeat(8000)} header.d=a.test`;
      expect(parseAuthenticationResults(deep)?.results[0]?.props['header.d']).toBe('a.test');
      // An unclosed comment swallows the rest: the pass it hides is not read.
      expect(parseAuthenticationResults(`mx.proj.test; spf=fail (${'('.repeat(5000)}; dkim=pass`)?.results).toEqual([
        { method: 'spf', result: 'fail', props: {} },
      ]);
      expect(parseAuthenticationResults('mx.proj.test; spf=fail (a \\) b; dkim=pass) ; dmarc=pass')?.results.map((x) => x.method)).toEqual(['spf', 'dmarc']);
    });

    it('treats control characters as separators and never returns them', () => {
      const r = parseAuthenticationResults('mx.proj.test;\u0000dkim=pass\r\nheader.d=a.test\u0007; spf=pass\u001b[31m');
      expect(r?.results.map((x) => x.method)).toEqual(['dkim', 'spf']);
      expect(JSON.stringify(r)).not.toMatch(/\\u00(0|1)|\\r|\\n/);
    });

    it('bounds results, properties and value length; unterminated quotes end the value', () => {
      const many = parseAuthenticationResults(`mx.proj.test${'; dkim=pass'.repeat(1000)}`);
      expect(many?.results).toHaveLength(AR_LIMITS.maxResults);
      const props = parseAuthenticationResults(`mx.proj.test; dkim=pass ${Array.from({ length: 100 }, (_, i) => `header.p${i}=x`).join(' ')}`);
      expect(Object.keys(props?.results[0]?.props ?? {})).toHaveLength(AR_LIMITS.maxProps);
      const long = parseAuthenticationResults(`mx.proj.test; dkim=pass header.b="${'A'.repeat(10_000)}`);
      expect(long?.results[0]?.props['header.b']).toHaveLength(AR_LIMITS.maxValueChars);
      const proto = parseAuthenticationResults('mx.proj.test; dkim=pass __proto__.polluted=x header.constructor=y');
      expect(proto?.results[0]?.props).toEqual({ 'header.constructor': 'y' });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('gives non-strings and random bytes no chance to throw', () => {
      expect(parseAuthenticationResults(undefined as unknown as string)).toBeNull();
      let seed = 7;
      const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const alphabet = 'ab.=;()"\\ \t\r\n\u0000@/-';
      for (let n = 0; n < 300; n++) {
        const s = Array.from({ length: 200 }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
        expect(() => parseAuthenticationResults(s)).not.toThrow();
      }
    });
  });
});

describe('readHeaderFields', () => {
  it('keeps order across names, unfolds, and stops at the body', () => {
    const f = readHeaderFields(eml('Received: a\n\tb\nFrom: x@y.test\nReceived: c', 'Received: not a header\n'));
    expect(f).toEqual([
      { name: 'received', value: 'a\tb' },
      { name: 'from', value: 'x@y.test' },
      { name: 'received', value: 'c' },
    ]);
  });
});

describe('trustedAuthResults', () => {
  const trusted = ['mx.proj.test'];
  const lmtp = 'Received: from mx.proj.test by imap.proj.test with LMTP; Tue, 24 Nov 2026 10:00:02 +0000';
  const inbound = 'Received: from mail.example.test ([192.0.2.1]) by mx.proj.test with ESMTPS; Tue, 24 Nov 2026 10:00:01 +0000';

  it('returns the verdicts of our MX, shaped for mayAutoReply', () => {
    const raw = eml(
      `${lmtp}\nAuthentication-Results: mx.proj.test; spf=softfail smtp.mailfrom=x@example.test; dkim=fail header.d=example.test; dkim=pass header.i=@Sub.Example.Test; dkim=pass header.d=old.test header.a=rsa-sha1; dmarc=fail header.from=example.test\n${inbound}\nFrom: x@example.test`,
    );
    const ar = trustedAuthResults(raw, trusted);
    expect(ar).toEqual({ authservId: 'mx.proj.test', spf: 'softfail', dkim: 'pass', dmarc: 'fail', dkimDomains: ['sub.example.test'], dmarcFrom: 'example.test' });

    const cfg = buildConfig({
      address: 'security@proj.test',
      imap: { url: 'imap://u:p@127.0.0.1:1143' },
      smtp: { url: 'smtp://127.0.0.1:2525', from: 'security@proj.test' },
      trust: { authserv_id: trusted },
    });
    const msg = { from: 'x@example.test', replyTo: null, returnPath: null, messageId: null, isDsn: false, headers: {} } as unknown as ParsedMessage;
    expect(mayAutoReply(msg, { cfg, authResults: ar })).toMatchObject({ allowed: false, code: 'auth_failed' });
  });

  it('ignores headers from other authserv-ids, and returns null without any trusted one', () => {
    const raw = eml(`Authentication-Results: mx.evil.test; dkim=pass header.d=example.test\n${inbound}\nFrom: x@example.test`);
    expect(trustedAuthResults(raw, trusted)).toBeNull();
    expect(trustedAuthResults(raw, [])).toBeNull();
    expect(trustedAuthResults(raw, ['MX.EVIL.TEST'])?.dkimDomains).toEqual(['example.test']);
  });

  it('ignores a forged header with our authserv-id below the MX hop', () => {
    const raw = eml(
      `${lmtp}\nAuthentication-Results: mx.proj.test; dkim=none; dmarc=none\n${inbound}\nAuthentication-Results: mx.proj.test; dkim=pass header.d=example.test; dmarc=pass\nFrom: x@example.test`,
    );
    expect(trustedAuthResults(raw, trusted)).toMatchObject({ dkim: 'none', dmarc: 'none', dkimDomains: [] });
    // Without the MX's own header, the forged one alone is still below the second Received.
    const alone = eml(`${lmtp}\n${inbound}\nAuthentication-Results: mx.proj.test; dkim=pass header.d=example.test\nFrom: x@example.test`);
    expect(trustedAuthResults(alone, trusted)).toBeNull();
    // A delivery path with more local hops says so.
    const twoHops = eml(`${lmtp}\n${lmtp}\nAuthentication-Results: mx.proj.test; dmarc=pass\n${inbound}\nFrom: x@example.test`);
    expect(trustedAuthResults(twoHops, trusted)).toBeNull();
    expect(trustedAuthResults(twoHops, trusted, { receivedAbove: 2 })?.dmarc).toBe('pass');
  });

  it('accepts already-read fields', () => {
    expect(trustedAuthResults([{ name: 'authentication-results', value: 'mx.proj.test; dmarc=pass' }], trusted)?.dmarc).toBe('pass');
  });
});

describe('alignment', () => {
  it('is equal or parent domain, never a look-alike or a bare TLD', () => {
    expect(isAligned('example.test', 'Example.Test.')).toBe(true);
    expect(isAligned('mail.example.test', 'example.test')).toBe(true);
    expect(isAligned('example.test', 'mail.example.test')).toBe(false);
    expect(isAligned('evilexample.test', 'example.test')).toBe(false);
    expect(isAligned('example.test', 'test')).toBe(false);
    expect(isAligned('', '')).toBe(false);
    expect(domainOf('Alice@Example.Test')).toBe('example.test');
    expect(domainOf('no-at-sign')).toBe('');
  });
});
