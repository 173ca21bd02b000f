import { generateKeyPairSync } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { dkimSign, type DkimSignOptions } from 'mailauth/lib/dkim/sign';
import nodemailer from 'nodemailer';
import { createSenderVerifier, type DnsLookup } from '../src/auth/verify-sender';
import { ManualClock } from '../src/clock';
import { buildConfig, type Config } from '../src/config';
import { parseMessage } from '../src/parse/parse-message';

/**
 * Real signatures: nodemailer signs (its `dkim` option), mailauth verifies, and a fake resolver
 * serves the public key as the TXT record `<selector>._domainkey.<domain>` would.
 */

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const TXT = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;

const MAINTAINER_FPR = 'AAAA BBBB CCCC DDDD EEEE  FFFF 0000 1111 2222 3333';
const OTHER_FPR = '9999888877776666555544443333222211110000';

function config(over: Record<string, unknown> = {}): Config {
  return buildConfig({
    address: 'security@proj.test',
    imap: { url: 'imap://u:p@127.0.0.1:1143' },
    smtp: { url: 'smtp://127.0.0.1:2525', from: 'Proj Security <security@proj.test>' },
    maintainers: ['alice@example.test'],
    trust: { authserv_id: ['mx.proj.test'] },
    ...over,
  });
}

/** A resolver with keys for the given domains (selector s1); everything else does not exist. */
function fakeDns(domains: string[] = ['example.test', 'other.test']): DnsLookup & { lookups: string[] } {
  const lookups: string[] = [];
  const fn = async (name: string, rrtype: string): Promise<string[][]> => {
    lookups.push(`${rrtype} ${name}`);
    if (rrtype === 'TXT' && domains.some((d) => name === `s1._domainkey.${d}`)) return [[TXT]];
    throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  };
  return Object.assign(fn, { lookups });
}

interface SignOptions {
  from?: string;
  domain?: string | null;
  hashAlgo?: string;
  text?: string;
}

async function signedMail(o: SignOptions = {}): Promise<Buffer> {
  const domain = o.domain === undefined ? 'example.test' : o.domain;
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
    ...(domain ? { dkim: { domainName: domain, keySelector: 's1', privateKey: PRIVATE_PEM, hashAlgo: o.hashAlgo ?? 'sha256' } } : {}),
  });
  const info = await transport.sendMail({
    from: o.from ?? 'Alice <alice@example.test>',
    to: 'security@proj.test',
    subject: 'Re: [SEC-2026-0001] heap overflow',
    text: o.text ?? 'Confirmed, fix in 2.4.1.\n',
  });
  return info.message as Buffer;
}

const LMTP = 'Received: from mx.proj.test by imap.proj.test with LMTP; Tue, 24 Nov 2026 10:00:02 +0000\r\n';
const INBOUND = 'Received: from mail.example.test ([192.0.2.1]) by mx.proj.test with ESMTPS; Tue, 24 Nov 2026 10:00:01 +0000\r\n';

/** What our MX puts on top: local-delivery Received, its Authentication-Results, its inbound Received. */
function delivered(raw: Buffer, ar?: string): Buffer {
  return Buffer.concat([Buffer.from(LMTP + (ar ? `Authentication-Results: ${ar}\r\n` : '') + INBOUND), raw]);
}

async function check(raw: Buffer, opts: { dns?: DnsLookup; cfg?: Config; pgp?: { status: string; fingerprint?: string } | null; fprs?: Set<string> } = {}) {
  const verifier = createSenderVerifier({ cfg: opts.cfg ?? config(), resolver: opts.dns ?? fakeDns() });
  return verifier.verify(raw, await parseMessage(raw), opts.pgp, opts.fprs);
}

describe('verify sender: our own DKIM verification', () => {
  it('authenticates an aligned rsa-sha256 signature', async () => {
    const dns = fakeDns();
    const v = await check(delivered(await signedMail()), { dns });
    expect(v).toMatchObject({ authenticated: true, method: 'dkim', reason: 'DKIM pass for example.test (aligned)' });
    expect(dns.lookups).toEqual(['TXT s1._domainkey.example.test']);
  });

  it('accepts a parent signing domain (relaxed alignment)', async () => {
    const v = await check(await signedMail({ from: 'alice@lists.example.test' }));
    expect(v).toMatchObject({ authenticated: true, method: 'dkim', reason: 'DKIM pass for example.test (aligned)' });
  });

  it('refuses a tampered body: neutral is not fail, and not a pass either', async () => {
    const raw = await signedMail();
    const tampered = Buffer.from(raw.toString().replace('fix in 2.4.1', 'fix in 9.9.9'));
    const v = await check(tampered);
    expect(v).toMatchObject({ authenticated: false, method: null });
    expect(v.reason).toContain('DKIM neutral (body hash did not verify)');
    expect(v.retryable).toBeUndefined();
  });

  it('refuses a valid signature by a domain that is not the From domain', async () => {
    const v = await check(await signedMail({ domain: 'other.test' }));
    expect(v.authenticated).toBe(false);
    expect(v.reason).toBe('DKIM pass for other.test, which is not aligned with the From domain example.test');
  });

  it('refuses a look-alike parent (evilexample.test is not under example.test)', async () => {
    const v = await check(await signedMail({ from: 'alice@evilexample.test' }));
    expect(v.authenticated).toBe(false);
    expect(v.reason).toContain('not aligned');
  });

  it('refuses unsigned mail without a DNS lookup', async () => {
    const dns = fakeDns();
    const v = await check(delivered(await signedMail({ domain: null })), { dns });
    expect(v).toEqual({ authenticated: false, method: null, reason: 'no DKIM signature and no trusted Authentication-Results', authResults: null });
    expect(dns.lookups).toEqual([]);
  });

  it('refuses rsa-sha1 even though the signature verifies (real sha1 signature from nodemailer)', async () => {
    const raw = await signedMail({ hashAlgo: 'sha1' });
    expect(raw.toString()).toContain('a=rsa-sha1');
    const v = await check(raw);
    expect(v.authenticated).toBe(false);
    expect(v.reason).toBe('DKIM pass for example.test but signed with rsa-sha1, which is not accepted');
  });

  it('refuses a second From header added above a signed message', async () => {
    const raw = Buffer.concat([Buffer.from('From: Alice <alice@example.test>\r\n'), await signedMail({ from: 'mallory@example.test' })]);
    const v = await check(raw);
    expect(v.authenticated).toBe(false);
    expect(v.reason).toMatch(/^2 From headers/);
  });

  it('reports a missing key as neutral, not retryable', async () => {
    const v = await check(await signedMail(), { dns: fakeDns([]) });
    expect(v).toMatchObject({ authenticated: false, reason: 'DKIM neutral (no key), d=example.test' });
    expect(v.retryable).toBeUndefined();
  });

  it('reports a temporary DNS failure as retryable', async () => {
    const dns: DnsLookup = async () => {
      throw Object.assign(new Error('queryTxt ESERVFAIL'), { code: 'ESERVFAIL' });
    };
    const v = await check(await signedMail(), { dns });
    expect(v).toMatchObject({ authenticated: false, retryable: true, reason: 'DKIM temperror (DNS failure: ESERVFAIL), d=example.test' });
  });

  it('gives up at the deadline when DNS never answers', async () => {
    const hang: DnsLookup = () => new Promise(() => undefined);
    const verifier = createSenderVerifier({ cfg: config(), resolver: hang, deadlineMs: 100 });
    const raw = await signedMail();
    const t0 = Date.now();
    const v = await verifier.verify(raw, await parseMessage(raw));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(v).toMatchObject({ authenticated: false, retryable: true, reason: 'DKIM verification did not finish within 0.1 s (DNS)' });
  });

});

describe('verify sender: signatures nodemailer does not write (signed with mailauth)', () => {
  const plain = 'From: Alice <alice@example.test>\r\nTo: security@proj.test\r\nSubject: patch\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n\r\nLooks good.\r\n';
  const sign = async (msg: string, o: Omit<DkimSignOptions, 'signatureData'> & { maxBodyLength?: number } = {}): Promise<string> => {
    const { maxBodyLength, ...rest } = o;
    const { signatures } = await dkimSign(msg, { ...rest, signatureData: [{ signingDomain: 'example.test', selector: 's1', privateKey: PRIVATE_PEM, maxBodyLength }] });
    return signatures + msg;
  };

  it('checks expiry (x=) against the injected clock', async () => {
    const raw = Buffer.from(await sign(plain, { signTime: new Date('2026-01-01T00:00:00Z'), expires: new Date('2026-01-02T00:00:00Z') }));
    const at = async (t: string) =>
      createSenderVerifier({ cfg: config(), resolver: fakeDns(), clock: new ManualClock(t) }).verify(raw, await parseMessage(raw));
    expect(await at('2026-01-01T12:00:00Z')).toMatchObject({ authenticated: true, method: 'dkim' });
    expect(await at('2026-01-03T00:00:00Z')).toMatchObject({ authenticated: false, reason: 'DKIM neutral (expired), d=example.test' });
  });

  it('refuses a signature that does not cover From', async () => {
    const v = await check(Buffer.from(await sign(plain, { headerList: 'subject:to:date' })));
    expect(v).toMatchObject({ authenticated: false, reason: 'DKIM pass for example.test, but the signature does not cover the From header' });
  });

  it('refuses a body extended past its l= length', async () => {
    const raw = await sign(plain, { maxBodyLength: 13 });
    expect((await check(Buffer.from(raw))).authenticated).toBe(true);
    const v = await check(Buffer.from(`${raw}P.S. wire the bounty to evil.test\r\n`));
    expect(v.authenticated).toBe(false);
    expect(v.reason).toMatch(/bytes of the body are not signed \(l= tag\)/);
  });

  it('refuses a From header naming two addresses', async () => {
    const v = await check(Buffer.from(await sign(plain.replace('From: Alice <alice@example.test>', 'From: alice@example.test, mallory@example.test'))));
    expect(v).toMatchObject({ authenticated: false, reason: 'the From header names 2 addresses; DKIM not accepted' });
  });
});

describe('verify sender: node:dns resolver on cfg.dns.servers', () => {
  let silent: Socket;
  let port = 0;
  beforeAll(async () => {
    // A "DNS server" that swallows every query: the deadline has to end the wait.
    silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    port = (silent.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => silent.close(() => resolve())));

  it('bounds a DNS server that never answers', async () => {
    const verifier = createSenderVerifier({ cfg: config({ dns: { servers: [`127.0.0.1:${port}`] } }), deadlineMs: 300 });
    const raw = await signedMail();
    const v = await verifier.verify(raw, await parseMessage(raw));
    expect(v).toMatchObject({ authenticated: false, retryable: true });
    expect(v.reason).toContain('did not finish within 0.3 s');
  });

  it('refuses unusable dns.servers at start-up', () => {
    expect(() => createSenderVerifier({ cfg: config({ dns: { servers: ['not an address'] } }) })).toThrow(/dns\.servers/);
  });
});

describe('verify sender: trusted Authentication-Results', () => {
  it('authenticates on an aligned dkim=pass from our MX, without DNS', async () => {
    const dns = fakeDns([]);
    const raw = delivered(await signedMail({ domain: null }), 'mx.proj.test; spf=none; dkim=pass header.d=example.test header.s=s1; dmarc=pass header.from=example.test');
    const v = await check(raw, { dns });
    expect(v).toMatchObject({ authenticated: true, method: 'authentication-results', reason: 'trusted Authentication-Results (mx.proj.test): DKIM pass for example.test (aligned)' });
    expect(v.authResults).toMatchObject({ authservId: 'mx.proj.test', dkim: 'pass', dmarc: 'pass', spf: 'none' });
    expect(dns.lookups).toEqual([]);
  });

  it('does not believe the same header from an untrusted authserv-id', async () => {
    const raw = delivered(await signedMail({ domain: null }), 'mx.evil.test; dkim=pass header.d=example.test; dmarc=pass');
    const v = await check(raw);
    expect(v).toMatchObject({ authenticated: false, reason: 'no DKIM signature and no trusted Authentication-Results' });
  });

  it('authenticates on dmarc=pass (as the issue allows for the MX verdict)', async () => {
    const raw = delivered(await signedMail({ domain: null }), 'mx.proj.test; spf=pass smtp.mailfrom=example.test; dkim=none; dmarc=pass header.from=example.test');
    const v = await check(raw);
    expect(v).toMatchObject({ authenticated: true, method: 'authentication-results', reason: 'trusted Authentication-Results (mx.proj.test): DMARC pass for example.test' });
  });

  it('does not take a DMARC pass evaluated for another From domain', async () => {
    const raw = delivered(await signedMail({ domain: null }), 'mx.proj.test; dmarc=pass header.from=other.test');
    const v = await check(raw);
    expect(v.authenticated).toBe(false);
    expect(v.reason).toContain('no DKIM signature; trusted Authentication-Results (mx.proj.test) show no aligned DKIM pass or DMARC pass');
  });

  it('does not take an unaligned dkim=pass', async () => {
    const raw = delivered(await signedMail({ domain: null }), 'mx.proj.test; dkim=pass header.d=other.test; dmarc=fail');
    expect((await check(raw)).authenticated).toBe(false);
  });

  it('ignores a forged header with our authserv-id lower than the MX hop', async () => {
    const sent = await signedMail({ domain: null });
    const forged = Buffer.concat([Buffer.from('Authentication-Results: mx.proj.test; dkim=pass header.d=example.test; dmarc=pass\r\n'), sent]);
    const withOwn = await check(delivered(forged, 'mx.proj.test; dkim=none; dmarc=none'));
    expect(withOwn).toMatchObject({ authenticated: false });
    expect(withOwn.authResults).toMatchObject({ dkim: 'none', dmarc: 'none' });
    const withoutOwn = await check(delivered(forged));
    expect(withoutOwn).toMatchObject({ authenticated: false, reason: 'no DKIM signature and no trusted Authentication-Results' });
  });

  it('falls back to our own DKIM when the MX header says nothing useful', async () => {
    const v = await check(delivered(await signedMail(), 'mx.proj.test; dkim=neutral; dmarc=none'));
    expect(v).toMatchObject({ authenticated: true, method: 'dkim' });
    expect(v.authResults?.authservId).toBe('mx.proj.test');
  });
});

describe('verify sender: PGP', () => {
  const fprs = new Set([MAINTAINER_FPR]);

  it('authenticates a valid signature by a maintainer key, whatever DKIM says', async () => {
    const raw = await signedMail({ domain: null });
    const v = await check(raw, { pgp: { status: 'valid', fingerprint: MAINTAINER_FPR.replace(/\s+/g, '').toLowerCase() }, fprs });
    expect(v).toEqual({ authenticated: true, method: 'pgp', reason: 'PGP signature valid by maintainer key AAAABBBBCCCCDDDDEEEEFFFF0000111122223333' });
  });

  it('does not count a valid signature by another key', async () => {
    const v = await check(await signedMail({ domain: null }), { pgp: { status: 'valid', fingerprint: OTHER_FPR }, fprs });
    expect(v.authenticated).toBe(false);
    expect(v.reason).toBe(`no DKIM signature and no trusted Authentication-Results; PGP signature valid but by a key that is not a maintainer's (${OTHER_FPR})`);
  });

  it('does not count an invalid signature, nor a valid one without the maintainer list', async () => {
    const raw = await signedMail({ domain: null });
    expect((await check(raw, { pgp: { status: 'invalid', fingerprint: MAINTAINER_FPR }, fprs })).reason).toContain('PGP signature invalid');
    expect((await check(raw, { pgp: { status: 'valid', fingerprint: MAINTAINER_FPR } })).authenticated).toBe(false);
  });
});
