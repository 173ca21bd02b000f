/**
 * PGP end to end, outbound and at rest: reporter keys pinned from attachments or imported with the
 * CLI, encrypted acknowledgements that real gpg opens and verifies as the reporter, no plaintext of
 * an encrypted report anywhere in Redis or in the logs, and `secdesk case ID --json` decrypting on
 * demand. Only the team key is configured: every reporter key here is learned at run time.
 */
import path from 'node:path';
import { createLogger } from '../src/log';
import { main } from '../src/cli';
import { buildEntity, buildPgpMimeEncrypted } from '../src/pgp/pgp-mime';
import type { Case } from '../src/types';
import { SECURITY, startHarness, waitFor, type Harness } from './helpers/harness';
import { gpgWith, validSigner, type Gpg } from './helpers/pgp-gpg';
import { captureLog, findPhrases, headerOf, scanRedis } from './helpers/pgp-scan';
import { FIXTURES, fingerprints, fixture } from './pgp-helpers';

const RITA = 'rita@reporter.test';
const MALLORY = 'mallory@elsewhere.test';
/** Phrases that exist only inside the encryption of the reports sent here. */
const SECRET_PHRASES = ['SECRET-MARKER-7731', 'overflows a heap buffer', 'Heap overflow in header parser', 'Mallory-only-phrase-5521'];

describe('PGP outbound and at rest, through Dovecot, Redis and the SMTP sink', () => {
  let h: Harness;
  let rita: Gpg;
  let mallory: Gpg;
  const log = captureLog();

  beforeAll(async () => {
    h = await startHarness({
      config: {
        pgp: { private_key_file: path.join(FIXTURES, 'team.sec.asc'), passphrase_file: path.join(FIXTURES, 'team.pass') },
        rate_limit: { per_recipient: { max: 100, per: '1h' }, per_domain: { max: 100, per: '1h' }, global: { max: 500, per: '1h' } },
      },
    });
    rita = gpgWith(['reporter.sec.asc', 'team.pub.asc']);
    mallory = gpgWith(['unknown.sec.asc', 'team.pub.asc']);
    await h.startApp({ log: createLogger({ log: { level: 'trace', pretty: false } }, log.stream) });
  });
  afterAll(async () => {
    rita?.close();
    mallory?.close();
    await h?.close();
  });

  async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await main(['node', 'secdesk', '--config', h.configFile, ...args], { out: (s) => (out += s), err: (s) => (err += s), env: {} });
    return { code, out, err };
  }
  const caseOf = (messageId: string): Promise<Case> =>
    waitFor(`case for ${messageId}`, async () => (await h.cases()).find((c) => c.messages[0]?.message_id === messageId));
  const sent = (c: Case, purpose: string): Promise<{ c: Case; raw: Buffer }> =>
    waitFor(`${purpose} for ${c.id}`, async () => {
      const now = await h.store().get(c.id);
      const id = now?.notices?.find((n) => n.purpose === purpose && n.status === 'sent')?.message_id;
      const mail = id ? h.sandbox.smtp.messages.find((m) => headerOf(m.raw, 'message-id') === id) : undefined;
      return now && mail ? { c: now, raw: mail.raw } : null;
    });

  test('before we know the reporter key, an encrypted report gets an ack that carries nothing but the case ID', async () => {
    await h.append([fixture('pgpmime-encrypted.eml')]);
    const c = await caseOf('<pm-e@fixtures.example.test>');
    expect(c.encrypted).toBe(true);
    const { raw } = await sent(c, 'ack');
    const text = raw.toString('utf8');
    expect(headerOf(raw, 'subject')).toBe(`[${c.id}]`);
    expect(headerOf(raw, 'content-type')).not.toContain('multipart/encrypted');
    expect(text).toContain('we do not have a public key for your');
    expect(text).toContain(c.id);
    expect(findPhrases(raw, [...SECRET_PHRASES, 'Encrypted report about the parser', 'src/parse/header.c'])).toEqual([]);
  });

  test('a key attached to a signed mail is pinned to the sender, and the case says it proves consistency, not identity', async () => {
    await h.append([fixture('attached-key.eml')]);
    const c = await caseOf('<ak@fixtures.example.test>');
    expect(c.signature).toBe('valid');
    expect(c.signature_key).toEqual({ fingerprint: fingerprints.reporter, user_id: 'Rita Reporter <rita@reporter.test>', source: 'attached' });
    expect(c.timeline.map((t) => t.detail).join('\n')).toContain(`reporter key ${fingerprints.reporter} pinned to ${RITA}`);

    const list = await cli('keys', 'list', '--json');
    expect(list.code).toBe(0);
    expect(JSON.parse(list.out)).toEqual([expect.objectContaining({ address: RITA, fingerprint: fingerprints.reporter, source: 'attached', conflicts: [] })]);

    const view = await cli('case', c.id, '--json');
    expect(view.code).toBe(0);
    const json = JSON.parse(view.out) as Record<string, unknown>;
    expect(json.signature_key).toMatchObject({ source: 'attached' });
    expect(json.signature_note).toMatch(/consistent with that key, not who the sender is/);
  });

  test('a later, different key for the same address is recorded and flagged, never put in place of the pinned one', async () => {
    await h.append([fixture('attached-new-key.eml')]);
    const c = await caseOf('<ak2@fixtures.example.test>');
    const notes = c.timeline.map((t) => t.detail).join('\n');
    expect(notes).toContain(`KEY CONFLICT: a different key ${fingerprints['reporter-new']} arrived for ${RITA}; the pinned key ${fingerprints.reporter} was kept`);
    expect(notes).toContain(`the signature was made by ${fingerprints['reporter-new']}, not by the key pinned to ${RITA}`);
    const list = await cli('keys', 'list');
    expect(list.out).toMatch(new RegExp(`${RITA}\\s+${fingerprints.reporter}\\s+attached .*DIFFERENT KEY SEEN: ${fingerprints['reporter-new']}`));
  });

  test('an encrypted report gets an encrypted ack that gpg opens and verifies as the reporter; the real subject travels only inside', async () => {
    await h.append([fixture('pgpmime-encrypted-signed.eml')]);
    const c = await caseOf('<pm-es@fixtures.example.test>');
    // Signed by the key pinned from the attachment earlier.
    expect(c).toMatchObject({ encrypted: true, signature: 'valid', signature_key: { fingerprint: fingerprints.reporter, source: 'pinned' } });
    const { c: after, raw } = await sent(c, 'ack');
    expect(after.timeline.find((t) => t.event === 'mail.ack')?.detail).toBe('sent PGP-encrypted');

    // Outside: only the case tag, threading headers, and ciphertext.
    expect(headerOf(raw, 'subject')).toBe(`[${c.id}]`);
    expect(headerOf(raw, 'in-reply-to')).toBe('<pm-es@fixtures.example.test>');
    expect(headerOf(raw, 'content-type')).toMatch(/^multipart\/encrypted;.*protocol="application\/pgp-encrypted"/);
    expect(findPhrases(raw, [...SECRET_PHRASES, 'Thank you for reporting'])).toEqual([]);

    // As Rita, with her secret key and the team's public key only.
    const { data, status } = rita.decrypt(raw);
    expect(status.some((l) => l.startsWith('[GNUPG:] DECRYPTION_OKAY'))).toBe(true);
    expect(status.some((l) => l.startsWith('[GNUPG:] GOODSIG '))).toBe(true);
    expect(validSigner(status)).toBe(fingerprints.team);
    const inner = data.toString('utf8');
    expect(headerOf(data, 'content-type')).toMatch(/;\s*protected-headers="?v1"?/);
    expect(headerOf(data, 'subject')).toBe(`Re: Heap overflow in header parser [${c.id}]`);
    expect(inner).toContain('Thank you for reporting a security issue');
    expect(inner).toContain(c.id);
    // Inside the encryption the body may quote the reporter's real subject, not the placeholder.
    expect(inner).toContain('Heap overflow in header parser');
    expect(inner).not.toContain('(encrypted subject)');
  });

  test('`secdesk case ID --json` decrypts on demand with the team key, and says why when it cannot', async () => {
    const c = await caseOf('<pm-es@fixtures.example.test>');
    const view = await cli('case', c.id, '--json');
    expect(view.code).toBe(0);
    const json = JSON.parse(view.out) as { subject: string; decrypted: { from: string; subject: string; text: string; attachments: string[] } };
    expect(json.subject).toBe('(encrypted subject)');
    expect(json.decrypted).toMatchObject({ from: 'sealed', subject: 'Heap overflow in header parser', attachments: ['poc.py'] });
    expect(json.decrypted.text).toContain('overflows a heap buffer on a long Subject');

    // The passphrase from the environment wins over the file: a wrong one leaves the case readable, not decrypted.
    let out = '';
    const code = await main(['node', 'secdesk', '--config', h.configFile, 'case', c.id, '--json'], { out: (s) => (out += s), err: () => undefined, env: { SECDESK_PGP_PASSPHRASE: 'not the passphrase' } });
    expect(code).toBe(0);
    const locked = JSON.parse(out) as Record<string, unknown>;
    expect(locked.decrypted).toBeNull();
    expect(locked.decrypt_error).toMatch(/wrong passphrase/);
    expect(JSON.stringify(locked)).not.toContain('SECRET-MARKER-7731');
  });

  test('`secdesk keys import` pins a reporter key ahead of time; that reporter\'s encrypted report is answered encrypted to it', async () => {
    const imported = await cli('keys', 'import', path.join(FIXTURES, 'unknown.pub.asc'));
    expect(imported.code).toBe(0);
    expect(imported.out).toContain(`pinned   ${MALLORY} ${fingerprints.unknown}`);

    const innerMime = await buildEntity(
      {
        from: `Mallory <${MALLORY}>`,
        to: SECURITY,
        subject: 'Imported-key report',
        text: 'SQL injection in src/db/query.c in 0.8.1.\nMallory-only-phrase-5521\n',
      },
      { protectedHeaders: true },
    );
    const armored = mallory.encrypt(innerMime, [fingerprints.team], { signer: fingerprints.unknown }).toString();
    await h.append([await buildPgpMimeEncrypted({ from: `Mallory <${MALLORY}>`, to: SECURITY, subject: '...', messageId: '<imported-key@elsewhere.test>' }, armored, 'msg.asc')]);
    const c = await caseOf('<imported-key@elsewhere.test>');
    expect(c).toMatchObject({ encrypted: true, signature: 'valid', signature_key: { fingerprint: fingerprints.unknown, source: 'pinned' } });
    const { raw } = await sent(c, 'ack');
    const { data, status } = mallory.decrypt(raw);
    expect(validSigner(status)).toBe(fingerprints.team);
    expect(headerOf(data, 'subject')).toBe(`Re: Imported-key report [${c.id}]`);
  });

  test('an encrypted follow-up joins its case; its protected subject stays out of the case', async () => {
    const c = await caseOf('<pm-es@fixtures.example.test>');
    const innerMime = await buildEntity(
      {
        from: `Rita Reporter <${RITA}>`,
        to: SECURITY,
        subject: `Re: Heap overflow in header parser [${c.id}]`,
        inReplyTo: '<pm-es@fixtures.example.test>',
        text: 'One more detail: SECRET-MARKER-7731 also crashes 0.7.2.\n',
      },
      { protectedHeaders: true },
    );
    const armored = rita.encrypt(innerMime, [fingerprints.team], { signer: fingerprints.reporter }).toString();
    await h.append([
      await buildPgpMimeEncrypted(
        { from: `Rita Reporter <${RITA}>`, to: SECURITY, subject: '...', messageId: '<followup-1@reporter.test>', inReplyTo: '<pm-es@fixtures.example.test>', references: ['<pm-es@fixtures.example.test>'] },
        armored,
        'msg.asc',
      ),
    ]);
    const after = await waitFor('the follow-up on the case', async () => {
      const x = await h.store().get(c.id);
      return x?.messages.some((m) => m.message_id === '<followup-1@reporter.test>') ? x : null;
    });
    const followup = after.messages.find((m) => m.message_id === '<followup-1@reporter.test>');
    expect(followup?.kind).toBe('followup');
    expect(followup?.subject).toBe('(encrypted)');
  });

  test('never downgrade: the resolution notice on an encrypted case goes out encrypted too', async () => {
    const c = await caseOf('<pm-es@fixtures.example.test>');
    const r = await cli('case', c.id, 'resolve', 'https://larkspur.test/advisories/2026-1');
    expect(r.code).toBe(0);
    const { raw } = await sent(c, 'resolution');
    expect(headerOf(raw, 'subject')).toBe(`[${c.id}]`);
    expect(headerOf(raw, 'content-type')).toMatch(/^multipart\/encrypted;/);
    const { data, status } = rita.decrypt(raw);
    expect(validSigner(status)).toBe(fingerprints.team);
    expect(headerOf(data, 'subject')).toBe(`Re: Heap overflow in header parser [${c.id}]`);
    expect(data.toString('utf8')).toContain('https://larkspur.test/advisories/2026-1');
  });

  test('Redis holds no plaintext of the encrypted reports (every key, every value, gzip and case records unpacked)', async () => {
    // Let every queued mail finish first: nothing may be written after the scan.
    await waitFor('all acks sent', async () => {
      const cs = await h.cases();
      return cs.length === 5 && cs.every((c) => c.notices?.some((n) => n.purpose === 'ack' && n.status === 'sent')) ? true : null;
    });
    const control = 'XSS in templates/search.html'; // the clear-signed report: in Redis in clear (gzip'd raw mail)
    const caseControl = 'Report with my key'; // its subject, in its (compressed) case record
    const { found, keys } = await scanRedis(h.cfg.redis.url, [...SECRET_PHRASES, control, caseControl]);
    expect(keys).toBeGreaterThan(20);
    expect(found.filter((f) => f.phrase === control).length).toBeGreaterThan(0);
    // The scan sees inside case records: were it to look at deflated bytes only, this would fail.
    expect(found.some((f) => f.phrase === caseControl && /:case:/.test(f.key))).toBe(true);
    expect(found.filter((f) => f.phrase !== control && f.phrase !== caseControl)).toEqual([]);
  });

  test('the logs hold no plaintext of the encrypted reports', async () => {
    const lines = log.lines();
    expect(lines.some((l) => l.includes('"pgp.opened"'))).toBe(true);
    expect(lines.some((l) => l.includes('"mail.sent"'))).toBe(true);
    expect(findPhrases(Buffer.from(log.text()), SECRET_PHRASES)).toEqual([]);
  });

  test('a conflicting key is refused by `keys import` unless --replace is given; `keys unpin` forgets a key', async () => {
    const refused = await cli('keys', 'import', path.join(FIXTURES, 'reporter-new.pub.asc'));
    expect(refused.code).toBe(1);
    expect(refused.out).toContain(`conflict ${RITA} ${fingerprints['reporter-new']}: ${fingerprints.reporter} is pinned and was kept`);
    const replaced = await cli('keys', 'import', '--replace', path.join(FIXTURES, 'reporter-new.pub.asc'));
    expect(replaced.code).toBe(0);
    const list = JSON.parse((await cli('keys', 'list', '--json')).out) as { address: string; fingerprint: string; source: string }[];
    expect(list.find((r) => r.address === RITA)).toMatchObject({ fingerprint: fingerprints['reporter-new'], source: 'imported' });
    expect((await cli('keys', 'unpin', MALLORY)).code).toBe(0);
    expect((await cli('keys', 'unpin', MALLORY)).code).toBe(1);
  });
});
