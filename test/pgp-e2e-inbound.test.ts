/**
 * PGP end to end, inbound: every gpg-made fixture goes through real Dovecot, the poller, Redis and the
 * ingest worker, and each ends in the case state the issue asks for. The team has a current and a
 * rotated key configured (`private_key_file: [new, old]`) and Rita's key in `pgp.reporter_keys`.
 */
import path from 'node:path';
import type { Case } from '../src/types';
import { startHarness, waitFor, type Harness } from './helpers/harness';
import { gpgWith, type Gpg } from './helpers/pgp-gpg';
import { headerOf } from './helpers/pgp-scan';
import { FIXTURES, fingerprints, fixture } from './pgp-helpers';

const RITA_UID = 'Rita Reporter <rita@reporter.test>';
const FILES = [
  'pgpmime-encrypted-signed',
  'pgpmime-encrypted',
  'protected-headers',
  'inline-encrypted',
  'encrypted-attachments',
  'clear-signed',
  'multipart-signed',
  'multipart-signed-tampered',
  'unknown-signer',
  'encrypted-to-other',
  'corrupt-armor',
  'encrypted-old-key',
];
/** Message-IDs the fixture script gave each file. */
const MID: Record<string, string> = {
  'pgpmime-encrypted-signed': 'pm-es',
  'pgpmime-encrypted': 'pm-e',
  'protected-headers': 'pm-ph',
  'inline-encrypted': 'inl-e',
  'encrypted-attachments': 'att',
  'clear-signed': 'cs',
  'multipart-signed': 'ms',
  'multipart-signed-tampered': 'ms-t',
  'unknown-signer': 'us',
  'encrypted-to-other': 'other',
  'corrupt-armor': 'corrupt',
  'encrypted-old-key': 'old',
};

describe('PGP inbound, through Dovecot and Redis', () => {
  let h: Harness;
  let rita: Gpg;
  const byFile = new Map<string, Case>();

  const rita_ = { fingerprint: fingerprints.reporter, user_id: RITA_UID, source: 'configured' };
  const pgpEvents = (c: Case): string[] => c.timeline.filter((t) => t.event === 'parse.warning').map((t) => t.detail ?? '');

  beforeAll(async () => {
    h = await startHarness({
      config: {
        pgp: {
          private_key_file: [path.join(FIXTURES, 'team.sec.asc'), path.join(FIXTURES, 'team-old.sec.asc')],
          passphrase_file: path.join(FIXTURES, 'team.pass'),
          reporter_keys: path.join(FIXTURES, 'reporter.pub.asc'),
        },
        rate_limit: { per_recipient: { max: 100, per: '1h' }, per_domain: { max: 100, per: '1h' }, global: { max: 500, per: '1h' } },
      },
    });
    rita = gpgWith(['reporter.sec.asc', 'team.pub.asc']);
    await h.startApp();
    await h.append(FILES.map((f) => fixture(`${f}.eml`)));
    // Settled: the first automatic mail is queued only after the sealed copy is written.
    const cases = await waitFor(
      'a case for every fixture, each with its first mail sent',
      async () => {
        const cs = await h.cases();
        return cs.length >= FILES.length && cs.every((c) => c.notices?.some((n) => n.status === 'sent')) ? cs : null;
      },
      90_000,
    );
    for (const f of FILES) {
      const c = cases.find((x) => x.messages[0]?.message_id === `<${MID[f]}@fixtures.example.test>`);
      if (c) byFile.set(f, c);
    }
  });
  afterAll(async () => {
    rita?.close();
    await h?.close();
  });

  const get = (f: string): Case => {
    const c = byFile.get(f);
    if (!c) throw new Error(`no case for ${f}`);
    return c;
  };
  /** The case once its first automatic mail is recorded as sent. */
  const afterMail = (f: string, purpose: string): Promise<Case> =>
    waitFor(`${purpose} sent for ${f}`, async () => {
      const c = await h.store().get(get(f).id);
      return c?.notices?.some((n) => n.purpose === purpose && n.status === 'sent') ? c : null;
    });
  const sentMail = (c: Case, purpose: string): Buffer => {
    const id = c.notices?.find((n) => n.purpose === purpose && n.status === 'sent')?.message_id;
    const mail = h.sandbox.smtp.messages.find((m) => id && headerOf(m.raw, 'message-id') === id);
    if (!mail) throw new Error(`no mail ${id} in the sink`);
    return mail.raw;
  };

  test('every fixture became a case (none skipped, none lost)', async () => {
    expect([...byFile.keys()].sort()).toEqual([...FILES].sort());
    expect(await h.skips()).toEqual([]);
  });

  test('PGP/MIME encrypted and signed: decrypted, signature valid by the configured key, content sealed, triage saw the decrypted text', async () => {
    const c = get('pgpmime-encrypted-signed');
    expect(c.encrypted).toBe(true);
    expect(c.signature).toBe('valid');
    expect(c.signature_key).toEqual(rita_);
    expect(c.sealed_key).toBeTruthy();
    // The protected Subject is not stored in clear; the outer one was "...".
    expect(c.subject).toBe('(encrypted subject)');
    // Triage ran on the decrypted MIME: the path and the attachment are only inside the encryption.
    expect(c.fields.paths).toEqual(['src/parse/header.c']);
    expect(c.fields.issue_type).toBe('buffer-overflow');
    expect(c.messages[0]?.attachments?.map((a) => a.filename)).toEqual(['poc.py']);
    expect(pgpEvents(c)).toEqual([]);
  });

  test('PGP/MIME encrypted only: decrypted and sealed, no signature', async () => {
    const c = get('pgpmime-encrypted');
    expect(c).toMatchObject({ encrypted: true, signature: 'none', signature_key: null, subject: 'Encrypted report about the parser' });
    expect(c.sealed_key).toBeTruthy();
    expect(c.fields.paths).toEqual(['src/parse/header.c']);
  });

  test('signed, then encrypted as two MIME layers (Thunderbird): valid, sealed', async () => {
    const c = get('protected-headers');
    expect(c).toMatchObject({ encrypted: true, signature: 'valid', signature_key: rita_, subject: '(encrypted subject)' });
    expect(c.sealed_key).toBeTruthy();
  });

  test('inline ASCII-armored body, encrypted and signed: decrypted, valid', async () => {
    const c = get('inline-encrypted');
    expect(c).toMatchObject({ encrypted: true, signature: 'valid', signature_key: rita_ });
    expect(c.sealed_key).toBeTruthy();
    expect(c.fields.paths).toEqual(['src/parse/header.c']);
  });

  test('binary .gpg and armored .asc attachments: decrypted into the case', async () => {
    const c = get('encrypted-attachments');
    expect(c).toMatchObject({ encrypted: true, signature: 'valid' });
    expect(c.sealed_key).toBeTruthy();
    expect(c.messages[0]?.attachments?.map((a) => a.filename).sort()).toEqual(['crash.log', 'report.txt']);
  });

  test('clear-signed text and PGP/MIME multipart/signed: valid by the configured key, not encrypted, nothing sealed', async () => {
    for (const f of ['clear-signed', 'multipart-signed']) {
      const c = get(f);
      expect({ f, encrypted: c.encrypted, signature: c.signature, key: c.signature_key, sealed: c.sealed_key ?? null }).toEqual({ f, encrypted: false, signature: 'valid', key: rita_, sealed: null });
    }
  });

  test('a multipart/signed body changed after signing: invalid', async () => {
    expect(get('multipart-signed-tampered')).toMatchObject({ signature: 'invalid', signature_key: rita_ });
  });

  test('signed by a key nobody configured or pinned: unknown_key', async () => {
    expect(get('unknown-signer')).toMatchObject({ signature: 'unknown_key', signature_key: null, encrypted: false });
  });

  test('encrypted to another key: case opened, ciphertext kept, reason recorded, undecryptable ack naming the team key', async () => {
    const c = await afterMail('encrypted-to-other', 'undecryptable');
    expect(c.encrypted).toBe(true);
    expect(c.sealed_key ?? null).toBeNull();
    expect(pgpEvents(c).join('\n')).toContain(`not encrypted to our key: use ${fingerprints.team}`);
    const raw = await h.store().getRaw(c.messages[0]?.raw_key ?? '');
    expect(raw?.toString('latin1')).toContain('-----BEGIN PGP MESSAGE-----');
    expect(c.notices?.map((n) => n.purpose)).not.toContain('ack');
    // Rita's key is configured, so even this goes out encrypted; as Rita, gpg opens it.
    const ack = sentMail(c, 'undecryptable');
    expect(ack.toString('latin1')).toContain('multipart/encrypted');
    const { data } = rita.decrypt(ack);
    expect(data.toString('utf8')).toContain(`Fingerprint: ${fingerprints.team}`);
    expect(data.toString('utf8')).toContain('could not decrypt');
  });

  test('corrupt armor: no crash, a case with the reason, an undecryptable ack', async () => {
    const c = await afterMail('corrupt-armor', 'undecryptable');
    expect(c.encrypted).toBe(true);
    expect(c.sealed_key ?? null).toBeNull();
    expect(pgpEvents(c).join('\n')).toMatch(/PGP: corrupt armor/);
  });

  test('encrypted to the rotated (old) team key: decrypts, because both keys are configured', async () => {
    const c = get('encrypted-old-key');
    expect(c.encrypted).toBe(true);
    expect(c.sealed_key).toBeTruthy();
    expect(pgpEvents(c)).toEqual([]);
    expect(c.fields.paths).toEqual(['src/parse/header.c']);
  });

  test('every decrypted report got an encrypted ack (Rita\'s key is known); the sealed copies open only with the team key', async () => {
    for (const f of ['pgpmime-encrypted-signed', 'pgpmime-encrypted', 'inline-encrypted', 'encrypted-old-key']) {
      const c = await afterMail(f, 'ack');
      expect(c.timeline.find((t) => t.event === 'mail.ack')?.detail).toBe('sent PGP-encrypted');
      const raw = sentMail(c, 'ack').toString('latin1');
      expect(raw).toMatch(new RegExp(`^Subject: \\[${c.id}\\]\\r?$`, 'm'));
      expect(raw).not.toContain('SECRET-MARKER-7731');
    }
    const sealed = await h.store().getRaw(get('pgpmime-encrypted-signed').sealed_key ?? '');
    expect(sealed).not.toBeNull();
    // Binary OpenPGP, not text: gpg as the reporter cannot open it (it is encrypted to the team only).
    expect(sealed!.toString('latin1')).not.toContain('SECRET-MARKER-7731');
    expect(() => rita.decrypt(sealed!)).toThrow();
  });
});
