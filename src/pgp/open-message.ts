/**
 * openPgp(): take one raw inbound message and undo whatever PGP a mail client did to it.
 *
 * It handles PGP/MIME `multipart/encrypted` (RFC 3156 §4, matched on content types, never on the
 * payload's file name), inline ASCII-armored bodies, armored or binary `.asc/.gpg/.pgp` attachments,
 * `multipart/signed` (verified over the exact raw bytes of the signed part), clear-signed text and
 * signed-then-encrypted messages (one OpenPGP message, or multipart/signed inside the encryption).
 *
 * Every email is hostile input: the whole call has a deadline and a size limit, and it never throws;
 * whatever goes wrong is reported in `error`. Nothing decrypted is logged.
 */
import type { Message, PrivateKey, PublicKey, Signature } from 'openpgp';
import { buildEntity, decodeLeaf, readEntity, splitMultipart, toCrlf } from './pgp-mime';
import type { RawEntity } from './pgp-mime';
import {
  DeadlineError,
  decryptBlock,
  isArmored,
  readClearSigned,
  readDetachedSignature,
  verifyPending,
  worstOf,
} from './pgp-crypto';
import type { PendingSignature, SignatureResult, SourcedKey } from './pgp-crypto';
import { parsePublicKeys } from './keyring';

export type { KeySource, SignatureResult, SourcedKey } from './pgp-crypto';

export interface OpenPgpKeys {
  /** The team's unlocked private keys; the first is the current one (named in "use this key"). */
  decryptionKeys: PrivateKey[];
  /**
   * Keys that may have signed mail from this address: configured reporter/maintainer keys and keys
   * pinned earlier, each with its source. Keys attached to the message itself are added by openPgp.
   */
  verificationKeys: (address: string | null) => Promise<SourcedKey[]> | SourcedKey[];
}

export interface OpenPgpLimits {
  /** Deadline for the whole call. */
  timeoutMs: number;
  /** Largest raw message, and largest decrypted (decompressed) content, in bytes. */
  maxBytes: number;
  /** MIME parts visited at most (default 200). */
  maxParts?: number;
  /** Nesting depth followed at most (default 12). */
  maxDepth?: number;
}

export interface OpenedPgp {
  /** The message carried encrypted content (even when it could not be decrypted). */
  encrypted: boolean;
  /**
   * The decrypted content as a MIME entity, to be parsed again like a message. For PGP/MIME it is the
   * entity the sender encrypted; header fields in it (Subject, From, To, Date, Message-ID…) are
   * protected headers and take precedence over the outer ones. For inline or attachment encryption
   * it is a multipart/mixed with the decrypted text and files, without message headers.
   */
  decrypted: Buffer | null;
  /** The protected (encrypted) Subject, when the decrypted entity carries one. */
  subject: string | null;
  signature: SignatureResult;
  /** Keys found attached (application/pgp-keys or an armored key block), outside or inside the encryption. */
  attachedKeys: PublicKey[];
  /** Why something could not be decrypted or read, e.g. "not encrypted to our key: use <fpr>". */
  error: string | null;
}

interface Walk {
  keys: OpenPgpKeys;
  maxBytes: number;
  maxParts: number;
  maxDepth: number;
  deadline: number;
  parts: number;
  encrypted: boolean;
  errors: string[];
  /** PGP/MIME payloads after decryption (multipart/signed unwrapped). */
  entities: Buffer[];
  texts: string[];
  files: { filename: string; content: Buffer }[];
  keysFound: PublicKey[];
  pending: PendingSignature[];
}

const ARMOR_BLOCK = /-----BEGIN PGP (MESSAGE|SIGNED MESSAGE|PUBLIC KEY BLOCK)-----[\s\S]*?-----END PGP (?:MESSAGE|SIGNATURE|PUBLIC KEY BLOCK)-----/g;
const PGP_FILE = /\.(asc|gpg|pgp)$/i;
/** Blocks of one kind handled per message: enough for real mail, a bound for hostile mail. */
const MAX_BLOCKS = 20;

export async function openPgp(raw: Buffer, keys: OpenPgpKeys, limits: OpenPgpLimits): Promise<OpenedPgp> {
  const empty: OpenedPgp = { encrypted: false, decrypted: null, subject: null, signature: { status: 'none' }, attachedKeys: [], error: null };
  if (raw.length > limits.maxBytes) return { ...empty, error: `message too large for PGP processing (${raw.length} > ${limits.maxBytes} bytes)` };
  const w: Walk = {
    keys,
    maxBytes: limits.maxBytes,
    maxParts: limits.maxParts ?? 200,
    maxDepth: limits.maxDepth ?? 12,
    deadline: Date.now() + limits.timeoutMs,
    parts: 0,
    encrypted: false,
    errors: [],
    entities: [],
    texts: [],
    files: [],
    keysFound: [],
    pending: [],
  };
  try {
    const root = await readEntity(raw);
    await walk(root, w, 0, true);
    const decrypted = await composeDecrypted(w);
    const subject = decrypted && w.entities.length > 0 ? (await readEntity(decrypted)).subject : null;
    const signature = await verifyAll(w, root.from);
    return { encrypted: w.encrypted, decrypted, subject, signature, attachedKeys: dedupe(w.keysFound), error: w.errors.length ? w.errors.join('; ') : null };
  } catch (e) {
    const why = e instanceof DeadlineError ? `PGP processing timed out after ${limits.timeoutMs} ms` : `PGP processing failed: ${(e as Error)?.message ?? String(e)}`;
    return { ...empty, encrypted: w.encrypted, attachedKeys: dedupe(w.keysFound), error: [...w.errors, why].join('; ') };
  }
}

async function walk(ent: RawEntity, w: Walk, depth: number, whole: boolean): Promise<void> {
  if (++w.parts > w.maxParts || depth > w.maxDepth) return;
  const type = ent.contentType;
  if (type === 'multipart/encrypted') return openEncrypted(ent, w, depth, whole);
  if (type === 'multipart/signed') return openSigned(ent, w, depth, whole);
  if (type.startsWith('multipart/')) {
    const children = splitMultipart(ent.body, ent.params.boundary ?? '', w.maxParts);
    for (const child of children) await walk(await readEntity(child), w, depth + 1, false);
    return;
  }
  // A forwarded message's PGP belongs to someone else's conversation: not followed.
  if (type.startsWith('message/')) return;
  return openLeaf(ent, w, whole);
}

async function openEncrypted(ent: RawEntity, w: Walk, depth: number, whole: boolean): Promise<void> {
  w.encrypted = true;
  const children = await Promise.all(splitMultipart(ent.body, ent.params.boundary ?? '', 4).map(readEntity));
  // RFC 3156 §4: part 1 is the application/pgp-encrypted control part, part 2 the octet-stream payload.
  const payload = children.find((c) => c.contentType === 'application/octet-stream') ?? children[1];
  if (!payload) {
    w.errors.push('multipart/encrypted without an encrypted part');
    return;
  }
  const out = await decryptBlock((await decodeLeaf(payload.raw)).bytes, w.keys.decryptionKeys, w.maxBytes, w.deadline);
  if ('error' in out) {
    w.errors.push(out.error);
    return;
  }
  if ('signatures' in out) for (const signature of out.signatures) w.pending.push({ kind: 'detached', data: out.data, signature, covers: whole ? 'message' : 'part' });
  const inner = await readEntity(out.data);
  // Sign-then-encrypt as two MIME layers: what the sender wrote is the signed part.
  if (inner.contentType === 'multipart/signed') {
    const first = splitMultipart(inner.body, inner.params.boundary ?? '', 2)[0];
    w.entities.push(first ?? out.data);
  } else {
    w.entities.push(out.data);
  }
  await walk(inner, w, depth + 1, whole);
}

async function openSigned(ent: RawEntity, w: Walk, depth: number, whole: boolean): Promise<void> {
  const [signed, sigPart] = splitMultipart(ent.body, ent.params.boundary ?? '', 2);
  if (!signed) return;
  if (sigPart) {
    const signature = await readDetachedSignature((await decodeLeaf(sigPart)).bytes);
    // RFC 3156 §5: the signature is over the part, as it sits in the raw mail, with CRLF line endings
    // (a message stored with bare LFs is canonicalised back). Some clients sign without canonicalising:
    // the bytes as they are are tried second.
    const crlf = toCrlf(signed);
    if (signature) w.pending.push({ kind: 'detached', data: crlf, altData: crlf.equals(signed) ? undefined : signed, signature, covers: whole ? 'message' : 'part' });
    else w.errors.push('unreadable signature in multipart/signed');
  }
  await walk(await readEntity(signed), w, depth + 1, false);
}

async function openLeaf(ent: RawEntity, w: Walk, whole: boolean): Promise<void> {
  const { parsed, bytes } = await decodeLeaf(ent.raw);
  const att = parsed.attachments[0];
  const filename = att?.filename ?? null;
  const type = ent.contentType;
  if (type === 'application/pgp-keys') return addKeys(bytes, w);
  if (type === 'application/pgp-signature') return; // only meaningful inside multipart/signed
  const pgpFile = filename !== null && PGP_FILE.test(filename);
  if (!att && type.startsWith('text/')) return openText(bytes.toString('utf8'), w, whole && type === 'text/plain');
  if (!pgpFile && type !== 'application/pgp-encrypted') return;
  if (isArmored(bytes)) {
    const head = bytes.subarray(0, 100).toString('latin1');
    if (head.includes('PUBLIC KEY BLOCK')) return addKeys(bytes, w);
    if (!head.includes('BEGIN PGP MESSAGE')) return;
  } else if (bytes.length === 0 || (bytes[0] ?? 0) < 0x80) {
    return; // not an OpenPGP packet stream
  }
  w.encrypted = true;
  const out = await decryptBlock(bytes, w.keys.decryptionKeys, w.maxBytes, w.deadline);
  if ('error' in out) {
    w.errors.push(`${filename ?? 'attachment'}: ${out.error}`);
    return;
  }
  addSignatures(out, w, 'part');
  w.files.push({ filename: out.filename || (filename ?? 'attachment').replace(PGP_FILE, '') || 'attachment', content: out.data });
}

async function openText(text: string, w: Walk, wholeText: boolean): Promise<void> {
  let blocks = 0;
  const only = wholeText && (text.trim().match(ARMOR_BLOCK)?.[0]?.length ?? -1) === text.trim().length;
  for (const m of text.matchAll(ARMOR_BLOCK)) {
    if (++blocks > MAX_BLOCKS) break;
    const block = m[0];
    if (m[1] === 'PUBLIC KEY BLOCK') await addKeys(Buffer.from(block), w);
    else if (m[1] === 'SIGNED MESSAGE') {
      const message = await readClearSigned(block);
      if (message) w.pending.push({ kind: 'cleartext', message, covers: only ? 'message' : 'part' });
      else w.errors.push('unreadable clear-signed block');
    } else {
      w.encrypted = true;
      const out = await decryptBlock(Buffer.from(block, 'latin1'), w.keys.decryptionKeys, w.maxBytes, w.deadline);
      if ('error' in out) w.errors.push(out.error);
      else {
        addSignatures(out, w, only ? 'message' : 'part');
        w.texts.push(out.data.toString('utf8'));
      }
    }
  }
}

function addSignatures(out: { data: Buffer } & ({ signatures: Signature[] } | { signedOnly: Message<Uint8Array> }), w: Walk, covers: 'message' | 'part'): void {
  if ('signedOnly' in out) w.pending.push({ kind: 'signed', message: out.signedOnly, covers });
  else for (const signature of out.signatures) w.pending.push({ kind: 'detached', data: out.data, signature, covers });
}

async function addKeys(buf: Buffer, w: Walk): Promise<void> {
  try {
    w.keysFound.push(...(await parsePublicKeys(buf)).slice(0, MAX_BLOCKS));
  } catch {
    w.errors.push('unreadable attached key');
  }
}

function dedupe(keys: PublicKey[]): PublicKey[] {
  const seen = new Set<string>();
  return keys.filter((k) => !seen.has(k.getFingerprint()) && seen.add(k.getFingerprint()) !== undefined);
}

async function composeDecrypted(w: Walk): Promise<Buffer | null> {
  if (w.entities[0]) return w.entities[0];
  if (w.texts.length === 0 && w.files.length === 0) return null;
  return buildEntity(
    {
      text: w.texts.join('\n\n') || undefined,
      attachments: w.files.map((f) => ({ filename: f.filename, content: f.content, contentType: 'application/octet-stream' })),
    },
    { nested: true },
  );
}

async function verifyAll(w: Walk, from: string | null): Promise<SignatureResult> {
  if (w.pending.length === 0) return { status: 'none' };
  const given = await w.keys.verificationKeys(from);
  const candidates: SourcedKey[] = [...given, ...dedupe(w.keysFound).map((key) => ({ key, source: 'attached' as const }))];
  const results: SignatureResult[] = [];
  for (const p of w.pending.slice(0, MAX_BLOCKS)) results.push(await verifyPending(p, candidates, from, w.deadline));
  return worstOf(results);
}
