/**
 * The vault: decrypted report content (body, attachments) is stored in Redis only encrypted to the
 * team key, as binary OpenPGP (compressed, then encrypted). Anyone who can read Redis sees no
 * plaintext; `secdesk case ID --json` opens it on demand with the team keys.
 *
 * - seal() encrypts to the *current* team key only (the first one): a retired key must not be able to
 *   read what was stored after the rotation.
 * - open() accepts any configured team key, so content sealed before a rotation stays readable for as
 *   long as the old key is listed in `pgp.private_key_file`.
 * - Sealed content is also signed by the current team key and open() insists on a good signature by
 *   one of the team keys: anyone can encrypt to a public key, so without it whoever can write to Redis
 *   could swap a report's content for their own.
 */
import { createMessage, decrypt, encrypt, enums, readMessage } from 'openpgp';
import type { PrivateKey } from 'openpgp';
import { PermanentError } from '../errors';

export interface Vault {
  /** Compress, sign and encrypt to the current team key. */
  seal(plain: Buffer): Promise<Buffer>;
  /** Decrypt with any team key and check the team signature; throws a PermanentError otherwise. */
  open(sealed: Buffer): Promise<Buffer>;
}

export interface VaultOptions {
  /** Largest content open() will decompress (a bound against a planted compression bomb). Default 256 MiB. */
  maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

export function createVault(teamKeys: PrivateKey[], opts: VaultOptions = {}): Vault {
  const current = teamKeys[0];
  if (!current) throw new PermanentError('EVault', 'createVault: no team key');
  const publicKeys = teamKeys.map((k) => k.toPublic());
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;

  return {
    async seal(plain) {
      const sealed = await encrypt({
        message: await createMessage({ binary: new Uint8Array(plain) }),
        encryptionKeys: current.toPublic(),
        signingKeys: current,
        format: 'binary',
        // Used when the key's preferences list ZLIB (gpg's defaults do); openpgp.js does not
        // compress by default.
        config: { preferredCompressionAlgorithm: enums.compression.zlib },
      });
      return Buffer.from(sealed);
    },

    async open(sealed) {
      try {
        const message = await readMessage({ binaryMessage: new Uint8Array(sealed) });
        const res = await decrypt({
          message,
          decryptionKeys: teamKeys,
          verificationKeys: publicKeys,
          expectSigned: true,
          format: 'binary',
          config: { maxDecompressedMessageSize: maxBytes },
        });
        return Buffer.from(res.data);
      } catch (e) {
        throw new PermanentError('EVaultOpen', `cannot open sealed content: ${((e as Error).message ?? String(e)).split('\n')[0]}`, e);
      }
    },
  };
}
