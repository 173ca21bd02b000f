/**
 * The OpenPGP operations behind openPgp(), each bounded in time and size, none throwing on hostile
 * input: failures come back as `{ error }` so one bad block never hides the rest of a message.
 */
import { createMessage, decrypt, enums, readCleartextMessage, readMessage, readSignature, verify } from 'openpgp';
import type { CleartextMessage, Message, PrivateKey, PublicKey, Signature } from 'openpgp';
import { fingerprintOf, keyAddresses, primaryUserId } from './keyring';

export type KeySource = 'configured' | 'pinned' | 'attached';

/** A public key and where we got it from (which says how much its signature is worth). */
export interface SourcedKey {
  key: PublicKey;
  source: KeySource;
}

export interface SignatureResult {
  status: 'valid' | 'invalid' | 'unknown_key' | 'none';
  fingerprint?: string;
  /** Hex key ID from the signature: all there is when the key is unknown. */
  key_id?: string;
  user_id?: string;
  source?: KeySource;
  /** Whether one of the key's User IDs carries the message's From address. */
  address_match?: boolean;
  /**
   * `message` when the signature covers the whole message content (PGP/MIME at the top, or a text
   * that is nothing but the clear-signed block); `part` when unsigned content sits beside it.
   */
  covers?: 'message' | 'part';
}

/** Something signed, collected during the walk, verified once every attached key is known. */
export type PendingSignature =
  | { kind: 'detached'; data: Buffer; signature: Signature; covers: 'message' | 'part'; /** Tried when `data` fails. */ altData?: Buffer }
  | { kind: 'cleartext'; message: CleartextMessage; covers: 'message' | 'part' }
  | { kind: 'signed'; message: Message<Uint8Array>; covers: 'message' | 'part' };

export class DeadlineError extends Error {}

/** Race a promise against the per-message deadline. The loser's rejection is swallowed. */
export function withDeadline<T>(p: Promise<T>, deadline: number): Promise<T> {
  p.catch(() => undefined);
  const left = deadline - Date.now();
  if (left <= 0) return Promise.reject(new DeadlineError('deadline passed'));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError('deadline passed')), left);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function isArmored(buf: Buffer): boolean {
  return /^\s*-----BEGIN PGP /.test(buf.subarray(0, 100).toString('latin1'));
}

function short(e: unknown): string {
  return ((e as Error)?.message ?? String(e)).split('\n')[0]?.slice(0, 200) ?? 'unknown error';
}

export type DecryptOutcome =
  | { data: Buffer; signatures: Signature[]; filename: string | null }
  | { signedOnly: Message<Uint8Array>; data: Buffer; filename: string | null }
  | { error: string };

/**
 * Decrypt one OpenPGP message (armored or binary) with the team keys. A message that is only
 * signed (gpg --sign) comes back as `signedOnly`. Signatures are returned unverified.
 */
export async function decryptBlock(input: Buffer, keys: PrivateKey[], maxBytes: number, deadline: number): Promise<DecryptOutcome> {
  const armored = isArmored(input);
  let message: Message<Uint8Array>;
  try {
    message = (await withDeadline(
      armored ? readMessage({ armoredMessage: input.toString('latin1') }) : readMessage({ binaryMessage: new Uint8Array(input) }),
      deadline,
    )) as unknown as Message<Uint8Array>;
  } catch (e) {
    if (e instanceof DeadlineError) throw e;
    return { error: `${armored ? 'corrupt armor' : 'corrupt data'}: ${short(e)}` };
  }
  const ids = message.getEncryptionKeyIDs();
  const current = keys[0];
  if (ids.length === 0) {
    // A password-encrypted message (gpg --symmetric): nothing we could ever open.
    if (message.packets.filterByTag(enums.packet.symEncryptedSessionKey).length > 0) {
      return { error: `encrypted with a password, not to our key${current ? `: use ${fingerprintOf(current)}` : ''}` };
    }
    const literal = message.getLiteralData();
    if (message.getSigningKeyIDs().length > 0 && literal) {
      return { signedOnly: message, data: Buffer.from(literal), filename: message.getFilename() };
    }
    // An armored MESSAGE block with no session key, signature or literal data inside is damaged
    // armor (base64 decoders skip bad characters, so damage can still "parse" into junk packets).
    return { error: armored ? 'corrupt armor: the block holds no encrypted or signed content' : 'not an encrypted OpenPGP message' };
  }
  const ours = ids.some((id) => /^0+$/.test(id.toHex()) || keys.some((k) => k.getKeys(id).length > 0));
  if (!ours) {
    return { error: `not encrypted to our key${current ? `: use ${fingerprintOf(current)}` : ''} (encrypted to ${ids.map((i) => i.toHex().toUpperCase()).join(', ')})` };
  }
  try {
    const res = await withDeadline(
      decrypt({ message, decryptionKeys: keys, format: 'binary', config: { maxDecompressedMessageSize: maxBytes } }),
      deadline,
    );
    // Without verification keys each `verified` rejects; the Signature objects are what we keep.
    const signatures = await Promise.all(
      res.signatures.map((s) => {
        s.verified.catch(() => undefined);
        return s.signature;
      }),
    );
    const data = Buffer.from(res.data);
    if (data.length > maxBytes) return { error: `decrypted content too large (${data.length} bytes)` };
    return { data, signatures, filename: res.filename || null };
  } catch (e) {
    if (e instanceof DeadlineError) throw e;
    return { error: explainDecryptError(e, maxBytes, current ? fingerprintOf(current) : null) };
  }
}

/** openpgp's messages, said so the case (and whoever reads it) knows what to ask the reporter for. */
function explainDecryptError(e: unknown, maxBytes: number, current: string | null): string {
  const msg = short(e);
  const useKey = current ? `; ask for it again, encrypted with AES to ${current}` : '';
  if (/decompressed (message )?size exceeded/i.test(msg)) return `cannot decrypt: the decrypted content is over ${maxBytes} bytes (a compression bomb, or a report too large to process)`;
  if (/non-preferred symmetric algorithm|Invalid enum value|Unsupported|not supported/i.test(msg)) return `cannot decrypt: unsupported algorithm (the message uses a symmetric cipher secdesk does not accept)${useKey}`;
  if (/No decryption key packets found|Session key decryption failed|Error decrypting session key/i.test(msg)) {
    return `cannot decrypt: the session key could not be recovered with our key (unsupported algorithm or damaged data: ${msg})${useKey}`;
  }
  if (/Modification detected|MDC|authentication tag|integrity/i.test(msg)) return `cannot decrypt: the encrypted data was damaged or modified (${msg})`;
  return `cannot decrypt: ${msg}`;
}

export async function readDetachedSignature(buf: Buffer): Promise<Signature | null> {
  try {
    return isArmored(buf) ? await readSignature({ armoredSignature: buf.toString('latin1') }) : await readSignature({ binarySignature: new Uint8Array(buf) });
  } catch {
    return null;
  }
}

export async function readClearSigned(text: string): Promise<CleartextMessage | null> {
  try {
    return await readCleartextMessage({ cleartextMessage: text });
  } catch {
    return null;
  }
}

function signingIds(p: PendingSignature): { toHex(): string }[] {
  if (p.kind === 'detached') return p.signature.getSigningKeyIDs();
  return p.message.getSigningKeyIDs();
}

/** Verify one signature against the candidate keys (in order of trust: configured, pinned, attached). */
export async function verifyPending(p: PendingSignature, candidates: SourcedKey[], from: string | null, deadline: number): Promise<SignatureResult> {
  const ids = signingIds(p) as Parameters<PublicKey['getKeys']>[0][];
  const found = candidates.find((c) => ids.some((id) => id !== undefined && c.key.getKeys(id).length > 0));
  if (!found) return { status: 'unknown_key', key_id: ids[0]?.toHex().toUpperCase(), covers: p.covers };
  const base: SignatureResult = {
    status: 'invalid',
    fingerprint: fingerprintOf(found.key),
    user_id: (await primaryUserId(found.key)) ?? undefined,
    source: found.source,
    address_match: from !== null && keyAddresses(found.key).includes(from),
    covers: p.covers,
  };
  try {
    if (await checkOnce(p, found.key, p.kind === 'detached' ? p.data : null, deadline)) return { ...base, status: 'valid' };
    if (p.kind === 'detached' && p.altData && (await checkOnce(p, found.key, p.altData, deadline))) return { ...base, status: 'valid' };
    return base;
  } catch (e) {
    if (e instanceof DeadlineError) throw e;
    return base;
  }
}

async function checkOnce(p: PendingSignature, key: PublicKey, data: Buffer | null, deadline: number): Promise<boolean> {
  try {
    const res =
      p.kind === 'detached'
        ? await withDeadline(verify({ message: await createMessage({ binary: new Uint8Array(data ?? p.data) }), signature: p.signature, verificationKeys: [key], format: 'binary' }), deadline)
        : p.kind === 'cleartext'
          ? await withDeadline(verify({ message: p.message, verificationKeys: [key] }), deadline)
          : await withDeadline(verify({ message: p.message, verificationKeys: [key], format: 'binary' }), deadline);
    res.signatures.forEach((s) => s.verified.catch(() => undefined));
    const mine = res.signatures.find((s) => key.getKeys(s.keyID).length > 0);
    if (!mine) return false;
    await withDeadline(mine.verified, deadline);
    return true;
  } catch (e) {
    if (e instanceof DeadlineError) throw e;
    return false;
  }
}

const RANK: Record<SignatureResult['status'], number> = { invalid: 3, valid: 2, unknown_key: 1, none: 0 };

/** One verdict for the message: any bad signature wins (it is the one a human must see). */
export function worstOf(results: SignatureResult[]): SignatureResult {
  let best: SignatureResult = { status: 'none' };
  for (const r of results) {
    if (RANK[r.status] > RANK[best.status] || (r.status === best.status && r.covers === 'message' && best.covers !== 'message')) best = r;
  }
  return best;
}
