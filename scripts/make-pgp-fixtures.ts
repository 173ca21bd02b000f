/**
 * Makes every PGP fixture in test/fixtures/pgp/ with real gpg, in a throwaway GNUPGHOME.
 *
 *   npx tsc -p tsconfig.build.json && node dist/scripts/make-pgp-fixtures.js [outDir] [--only a.eml,b.asc]
 *
 * The output is committed, so tests do not pay for key generation. Keys never expire (fixtures must
 * keep working); the team key has a passphrase (in team.pass), the others have none. MIME around
 * gpg's output is built with nodemailer's MailComposer, laid out the way mutt/Thunderbird do it.
 *
 * `--only` adds fixtures without touching the committed ones: keys that already exist in outDir are
 * imported instead of generated (so new messages are made with the same keys the tests know), only
 * the named files are written, and new fingerprints are merged into fingerprints.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildEntity, buildPgpMimeEncrypted, buildPgpMimeSigned } from '../src/pgp/pgp-mime';

const TEAM_PASS = 'correct horse battery staple';
const cliArgs = process.argv.slice(2);
const onlyAt = cliArgs.indexOf('--only');
const only = onlyAt >= 0 ? new Set((cliArgs[onlyAt + 1] ?? '').split(',').filter(Boolean)) : null;
const positional = cliArgs.filter((a, i) => a !== '--only' && (onlyAt < 0 || i !== onlyAt + 1));
const outDir = path.resolve(positional[0] ?? path.join(__dirname, '..', '..', 'test', 'fixtures', 'pgp'));
const home = mkdtempSync(path.join(tmpdir(), 'secdesk-gpg-'));

function gpg(args: string[], input?: string | Buffer): Buffer {
  return execFileSync('gpg', ['--homedir', home, '--batch', '--yes', '--no-tty', '--trust-model', 'always', ...args], {
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

interface Who {
  name: string;
  uid: string;
  address: string;
  fpr: string;
  pass: string;
}

function fingerprintByUid(uid: string): string {
  const colons = gpg(['--with-colons', '--list-secret-keys', `=${uid}`]).toString();
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(colons)?.[1];
  if (!fpr) throw new Error(`no fingerprint for ${uid}`);
  return fpr;
}

function genKey(name: string, uid: string, address: string, pass: string, algo: 'default' | 'rsa3072'): Who {
  const passArgs = ['--pinentry-mode', 'loopback', '--passphrase', pass];
  const existing = path.join(outDir, `${name}.sec.asc`);
  if (only && existsSync(existing)) {
    gpg([...passArgs, '--import', existing]);
    return { name, uid, address, fpr: fingerprintByUid(uid), pass };
  }
  // NOTES.md: "default default" makes an encryption subkey; an explicit algorithm does not, so add one.
  gpg([...passArgs, '--quick-gen-key', uid, algo, algo === 'default' ? 'default' : 'sign', 'never']);
  const fpr = fingerprintByUid(uid);
  if (algo !== 'default') gpg([...passArgs, '--quick-add-key', fpr, algo, 'encr', 'never']);
  return { name, uid, address, fpr, pass };
}

function write(name: string, data: string | Buffer): void {
  if (only && !only.has(name)) return;
  writeFileSync(path.join(outDir, name), data);
}

/** fingerprints.json: rewritten in a full run, merged (existing entries kept) with `--only`. */
function writeFingerprints(keys: Who[]): void {
  const file = path.join(outDir, 'fingerprints.json');
  const old = only && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  const written = keys.filter((w) => !only || only.has(`${w.name}.pub.asc`) || w.name in old);
  const merged = { ...Object.fromEntries(written.map((w) => [w.name, w.fpr])), ...old };
  writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
}

const signArgs = (w: Who): string[] => ['--pinentry-mode', 'loopback', '--passphrase', w.pass, '--local-user', w.fpr];

function encrypt(to: Who, data: Buffer, signer?: Who, armor = true): Buffer {
  const args = [...(armor ? ['--armor'] : []), '--encrypt', '--recipient', to.fpr];
  if (signer) args.push('--sign', ...signArgs(signer));
  return gpg(args, data);
}

/** Detached signature and the micalg of the hash gpg chose (from its status line). */
function detachSign(signer: Who, data: Buffer): { sig: string; micalg: string } {
  const statusFile = path.join(home, 'status.txt');
  const sig = gpg(['--status-file', statusFile, '--armor', '--detach-sign', ...signArgs(signer)], data).toString();
  const status = execFileSync('cat', [statusFile]).toString();
  const hashAlgo = Number(/SIG_CREATED D \d+ (\d+)/.exec(status)?.[1]);
  const names: Record<number, string> = { 2: 'sha1', 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224' };
  return { sig, micalg: `pgp-${names[hashAlgo] ?? 'sha256'}` };
}

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const team = genKey('team', 'Example Security <security@example.test>', 'security@example.test', TEAM_PASS, 'default');
  const teamOld = genKey('team-old', 'Example Security 2024 <security@example.test>', 'security@example.test', TEAM_PASS, 'default');
  const reporter = genKey('reporter', 'Rita Reporter <rita@reporter.test>', 'rita@reporter.test', '', 'rsa3072');
  const maintainer = genKey('maintainer', 'Alice Maintainer <alice@example.test>', 'alice@example.test', '', 'default');
  const unknown = genKey('unknown', 'Mallory <mallory@elsewhere.test>', 'mallory@elsewhere.test', '', 'default');
  const other = genKey('other', 'Other Project Security <security@other.test>', 'security@other.test', '', 'default');
  // Rita's second key (same address, a different key): what key pinning must flag, not adopt.
  const reporterNew = genKey('reporter-new', 'Rita Reporter (2026) <rita@reporter.test>', 'rita@reporter.test', '', 'default');
  const everyone = [team, teamOld, reporter, maintainer, unknown, other, reporterNew];

  for (const w of everyone) {
    write(`${w.name}.pub.asc`, gpg(['--armor', '--export', w.fpr]));
    write(`${w.name}.sec.asc`, gpg(['--armor', '--pinentry-mode', 'loopback', '--passphrase', w.pass, '--export-secret-keys', w.fpr]));
  }
  write('team.pass', `${TEAM_PASS}\n`);
  writeFingerprints(everyone);

  const date = new Date('2026-03-02T10:00:00Z');
  const head = (from: Who, subject: string, id: string) => ({
    from: `${from.uid}`,
    to: 'Example Security <security@example.test>',
    subject,
    date,
    messageId: `<${id}@fixtures.example.test>`,
  });
  const reportText = 'The parser in src/parse/header.c overflows a heap buffer on a long Subject.\nSECRET-MARKER-7731\n';
  const poc = { filename: 'poc.py', content: 'print("A" * 70000)\n', contentType: 'text/x-python' };

  // 1. PGP/MIME signed+encrypted in one OpenPGP message (RFC 3156 §6.2), protected Subject, mutt style.
  {
    const inner = await buildEntity({ ...head(reporter, 'Heap overflow in header parser', 'pm-es'), text: reportText, attachments: [poc] }, { protectedHeaders: true });
    const armored = encrypt(team, inner, reporter).toString();
    write('pgpmime-encrypted-signed.eml', await buildPgpMimeEncrypted({ ...head(reporter, '...', 'pm-es') }, armored, 'msg.asc'));
  }
  // 2. PGP/MIME encrypted only, no protected headers: the outer Subject is the real one.
  {
    const inner = await buildEntity({ text: reportText }, { nested: true });
    const armored = encrypt(team, inner).toString();
    write('pgpmime-encrypted.eml', await buildPgpMimeEncrypted(head(reporter, 'Encrypted report about the parser', 'pm-e'), armored, 'encrypted.asc'));
  }
  // 3. Thunderbird-style protected headers: multipart/mixed; protected-headers="v1" with a legacy display part,
  //    signed as multipart/signed *inside* the encryption (sign, then encrypt separately).
  {
    const inner = await buildEntity(
      {
        ...head(reporter, 'Auth bypass in admin login', 'pm-ph'),
        text: 'Logging in with an empty password as admin works on v0.8.1.\nSECRET-MARKER-7731\n',
        attachments: [{ content: 'Subject: Auth bypass in admin login\r\n', contentType: 'text/rfc822-headers; protected-headers="v1"', contentDisposition: 'inline', filename: false }],
      },
      { protectedHeaders: true },
    );
    const { sig, micalg } = detachSign(reporter, inner);
    const signed = await buildPgpMimeSigned({}, inner, sig, micalg);
    const armored = encrypt(team, signed).toString();
    write('protected-headers.eml', await buildPgpMimeEncrypted(head(reporter, '...', 'pm-ph'), armored, 'encrypted.asc'));
  }
  // 4. Inline ASCII-armored body (encrypted and signed).
  {
    const armored = encrypt(team, Buffer.from(reportText), reporter).toString();
    write('inline-encrypted.eml', await buildEntity({ ...head(reporter, 'Inline encrypted report', 'inl-e'), text: `Hi,\n\n${armored}\n-- \nRita\n` }));
  }
  // 5. Clear-signed text.
  {
    const signedText = gpg(['--clearsign', ...signArgs(reporter)], Buffer.from('Path traversal in src/files/serve.c via ../ in the name.\n')).toString();
    write('clear-signed.eml', await buildEntity({ ...head(reporter, 'Clear-signed report', 'cs'), text: signedText }));
  }
  // 6. PGP/MIME multipart/signed by the reporter; 7. the same with the body changed after signing.
  {
    const inner = await buildEntity({ text: 'SQL injection in src/db/query.c, see attached PoC.\r\n', attachments: [poc] }, { nested: true });
    const body = inner;
    const { sig, micalg } = detachSign(reporter, body);
    write('multipart-signed.eml', await buildPgpMimeSigned(head(reporter, 'Signed report', 'ms'), body, sig, micalg));
    const tampered = Buffer.from(body.toString('latin1').replace('SQL injection', 'SQL injectioN'), 'latin1');
    write('multipart-signed-tampered.eml', await buildPgpMimeSigned(head(reporter, 'Signed report', 'ms-t'), tampered, sig, micalg));
  }
  // 8. Signed by a key nobody configured or pinned.
  {
    const body = await buildEntity({ text: 'I found a bug, trust me.\r\n' }, { nested: true });
    const { sig, micalg } = detachSign(unknown, body);
    write('unknown-signer.eml', await buildPgpMimeSigned(head(unknown, 'Signed by a stranger', 'us'), body, sig, micalg));
  }
  // 9. Encrypted to somebody else's key; 10. encrypted to the team's previous (rotated) key.
  {
    const inner = await buildEntity({ text: reportText }, { nested: true });
    write('encrypted-to-other.eml', await buildPgpMimeEncrypted(head(reporter, 'Wrong key', 'other'), encrypt(other, inner).toString(), 'msg.asc'));
    write('encrypted-old-key.eml', await buildPgpMimeEncrypted(head(reporter, 'Old key', 'old'), encrypt(teamOld, inner).toString(), 'msg.asc'));
  }
  // 11. Corrupt armor: base64 damaged in the middle of the block.
  {
    const armored = encrypt(team, await buildEntity({ text: reportText }, { nested: true })).toString();
    const lines = armored.split('\n');
    const mid = Math.floor(lines.length / 2);
    lines[mid] = `${(lines[mid] ?? '').slice(0, 10)}!!@@##$$%%${(lines[mid] ?? '').slice(20)}`;
    write('corrupt-armor.eml', await buildPgpMimeEncrypted(head(reporter, 'Corrupt', 'corrupt'), lines.join('\n'), 'msg.asc'));
  }
  // 12. Reporter's key attached (application/pgp-keys) to a clear-signed message.
  {
    const signedText = gpg(['--clearsign', ...signArgs(reporter)], Buffer.from('XSS in templates/search.html, my key is attached.\n')).toString();
    const key = gpg(['--armor', '--export', reporter.fpr]).toString();
    write(
      'attached-key.eml',
      await buildEntity(
        { ...head(reporter, 'Report with my key', 'ak'), text: signedText, attachments: [{ filename: 'OpenPGP_0x' + reporter.fpr.slice(-16) + '.asc', content: key, contentType: 'application/pgp-keys' }] },
      ),
    );
  }
  // 12b. A different key for the same address attached to a mail signed by it (a pinned key exists).
  {
    const signedText = gpg(['--clearsign', ...signArgs(reporterNew)], Buffer.from('Open redirect in /login?next=, here is my new key.\n')).toString();
    const key = gpg(['--armor', '--export', reporterNew.fpr]).toString();
    write(
      'attached-new-key.eml',
      await buildEntity(
        { ...head(reporter, 'Report with my new key', 'ak2'), text: signedText, attachments: [{ filename: 'OpenPGP_0x' + reporterNew.fpr.slice(-16) + '.asc', content: key, contentType: 'application/pgp-keys' }] },
      ),
    );
  }
  // 13. Binary .gpg attachment and an armored .asc attachment beside a plain note.
  {
    const bin = encrypt(team, Buffer.from(`Full write-up.\n${reportText}`), reporter, false);
    const asc = encrypt(team, Buffer.from('crash log: SIGSEGV in parse_header\n')).toString();
    write(
      'encrypted-attachments.eml',
      await buildEntity(
        {
          ...head(reporter, 'Report in attachments', 'att'),
          text: 'Details are in the encrypted attachments.\n',
          attachments: [
            { filename: 'report.txt.gpg', content: bin, contentType: 'application/octet-stream' },
            { filename: 'crash.log.asc', content: asc, contentType: 'application/pgp-encrypted' },
          ],
        },
      ),
    );
  }
  process.stdout.write(`fixtures written to ${outDir}\n`);
}

main()
  .catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    // The agent started for this home would otherwise linger until it notices its socket is gone.
    try {
      execFileSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
    } catch {
      // no agent was started
    }
    rmSync(home, { recursive: true, force: true });
  });
