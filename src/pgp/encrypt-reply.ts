/**
 * encryptReply(): turn a composed automatic reply into an RFC 3156 PGP/MIME message, signed by the
 * team key and encrypted to the reporter (and to the team, so the team can read its own sent mail).
 *
 * Layout (RFC 3156 §6.2, sign and encrypt in one OpenPGP message, the way gpg, mutt and Thunderbird do):
 *
 *   outer  multipart/encrypted; protocol="application/pgp-encrypted"
 *          From, To, Reply-To, Date, Message-ID, In-Reply-To, References, Auto-Submitted…,
 *          Subject: [SEC-2026-0001]           ← only the case tag, so the thread still groups
 *     ├─ application/pgp-encrypted  "Version: 1"
 *     └─ application/octet-stream   encrypted.asc
 *          inner  text/plain (or multipart/alternative); protected-headers="v1"
 *                 Subject: Re: <the real subject> [SEC-2026-0001], From, To, Date, Message-ID…
 *
 * The inner entity carries the protected headers (draft-autocrypt-lamps-protected-headers): clients
 * that know the convention show the real Subject; the others show the tag.
 *
 * All MIME is built by nodemailer's MailComposer (through pgp-mime), never by hand.
 */
import { createMessage, encrypt } from 'openpgp';
import type { PrivateKey, PublicKey } from 'openpgp';
import type { SendMailOptions } from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import { PermanentError } from '../errors';
import { fingerprintOf } from './keyring';
import { buildEntity, buildPgpMimeEncrypted } from './pgp-mime';

export interface EncryptReplyOptions {
  /** The reporter's public key (pinned or configured for the recipient address). */
  to: PublicKey;
  /** The team's current private key, unlocked: signs the reply and also receives a copy. */
  signWith: PrivateKey;
  /** The subject the reply would have had in clear; it travels only inside the encryption. */
  realSubject: string;
}

export interface EncryptedReply {
  /** The complete message, CRLF line endings, ready for `sendMail({ envelope, raw })`. */
  raw: Buffer;
  envelope: { from: string; to: string[] };
}

/**
 * An outer Subject we accept: case tags, reply prefixes and an ellipsis, nothing else. Anything
 * more means the caller composed without `subjectTagOnly` and the real subject would go out in clear.
 */
const TAG_ONLY_SUBJECT = /^\s*(?:re\s*:\s*)*(?:\[[A-Za-z0-9_.-]{1,64}\]\s*)*(?:\.\.\.|…)?\s*$/i;

export async function encryptReply(mail: SendMailOptions, opts: EncryptReplyOptions): Promise<EncryptedReply> {
  if (mail.raw !== undefined) throw new PermanentError('EPgpReply', 'encryptReply: a prebuilt (raw) message cannot be encrypted; pass the composed fields');
  const outerSubject = mail.subject ?? '';
  if (!TAG_ONLY_SUBJECT.test(outerSubject)) {
    throw new PermanentError('EPgpReply', 'encryptReply: the outer Subject must carry only the case tag (compose with subjectTagOnly)');
  }
  // One Date for both header sets, so the protected and the outer Date agree.
  const date = mail.date === undefined ? new Date() : new Date(mail.date);
  if (Number.isNaN(date.getTime())) throw new PermanentError('EPgpReply', 'encryptReply: invalid date');

  // Header fields both layers carry. Custom headers (Auto-Submitted, X-Auto-Response-Suppress,
  // X-Secdesk-Case) are needed outside, where auto-responders and our own ingest look at them.
  const common: SendMailOptions = {
    from: mail.from,
    to: mail.to,
    cc: mail.cc,
    replyTo: mail.replyTo,
    inReplyTo: mail.inReplyTo,
    references: mail.references,
    messageId: mail.messageId,
    date,
    headers: mail.headers,
  };

  const inner = await buildEntity(
    {
      ...common,
      subject: opts.realSubject,
      text: mail.text,
      html: mail.html,
      attachments: mail.attachments,
      alternatives: mail.alternatives,
    },
    { protectedHeaders: true },
  );

  const recipients = [opts.to, opts.signWith.toPublic()];
  let armored: string;
  try {
    armored = await encrypt({
      message: await createMessage({ binary: new Uint8Array(inner) }),
      encryptionKeys: recipients,
      signingKeys: opts.signWith,
      format: 'armored',
    });
  } catch (e) {
    // An expired or revoked reporter key, or a key without an encryption subkey: retrying will not help.
    throw new PermanentError('EPgpEncrypt', `cannot encrypt the reply to ${fingerprintOf(opts.to)}: ${(e as Error).message}`, e);
  }

  const raw = await buildPgpMimeEncrypted({ ...common, subject: outerSubject }, armored, 'encrypted.asc');
  return { raw, envelope: envelopeOf(mail) };
}

/** The SMTP envelope: the one the caller set, or the one nodemailer would derive from the headers. */
function envelopeOf(mail: SendMailOptions): { from: string; to: string[] } {
  const node = new MailComposer({ from: mail.from, sender: mail.sender, to: mail.to, cc: mail.cc, bcc: mail.bcc, envelope: mail.envelope }).compile();
  const env = node.getEnvelope();
  if (!env.from || env.to.length === 0) throw new PermanentError('EPgpReply', 'encryptReply: the reply has no sender or no recipient');
  return { from: env.from, to: env.to };
}
