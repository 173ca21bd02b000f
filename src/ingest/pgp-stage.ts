import type { PrivateKey, PublicKey } from 'openpgp';
import type { Config } from '../config';
import type { Logger } from '../log';
import { parseMessage } from '../parse/parse-message';
import type { Vault } from '../pgp/at-rest';
import type { KeyStore } from '../pgp/key-store';
import { fingerprintOf, keyAddresses } from '../pgp/keyring';
import type { SourcedKey } from '../pgp/open-message';
import { openPgp } from '../pgp/open-message';
import type { RawMessage } from '../store/raw-store';
import type { ParsedMessage } from '../types';
import type { PgpView } from './ingest-message';

/**
 * The PGP stage of ingest: decrypt and verify whatever PGP a message carries, pin a reporter key
 * that came attached, and give the rest of the pipeline the message as the reporter wrote it. The
 * decrypted bytes leave this stage only towards the vault (sealed to the team key).
 */

export interface PgpStageDeps {
  cfg: Config;
  teamKeys: PrivateKey[];
  /** Configured reporter keys and maintainer keys (for signed commands). */
  configuredKeys: PublicKey[];
  keyStore: KeyStore;
  vault: Vault | null;
  log: Logger;
}

/** Cheap test on the raw bytes: only mail that mentions PGP pays for the PGP walk. */
const PGP_MARKERS = /multipart\/(encrypted|signed)|application\/pgp|-----BEGIN PGP|\.(asc|gpg|pgp)\b/i;

/** Per message: bounded time, whatever the input (`pgp.timeout` overrides it). */
export const DEFAULT_PGP_TIMEOUT_MS = 20_000;

/** How far into a message the markers are looked for. */
const MARKER_SCAN_BYTES = 4 * 1024 * 1024;

export function createPgpStage(deps: PgpStageDeps): { open(raw: RawMessage, msg: ParsedMessage): Promise<PgpView | null>; seal(plain: Buffer): Promise<Buffer> } {
  const byAddress = new Map<string, PublicKey[]>();
  for (const k of deps.configuredKeys) for (const a of keyAddresses(k)) byAddress.set(a, [...(byAddress.get(a) ?? []), k]);

  async function verificationKeys(address: string | null): Promise<SourcedKey[]> {
    const out: SourcedKey[] = (address ? byAddress.get(address) ?? [] : []).map((key) => ({ key, source: 'configured' as const }));
    if (address) {
      const pinned = await deps.keyStore.get(address).catch(() => null);
      if (pinned) out.push({ key: pinned, source: 'pinned' });
    }
    // Maintainer keys sign commands from their own addresses; the loop above covers them by address.
    return out;
  }

  return {
    async open(raw, outer) {
      if (!(await raw.scan(PGP_MARKERS, MARKER_SCAN_BYTES))) return null;
      const timeoutMs = deps.cfg.pgp.timeout ?? DEFAULT_PGP_TIMEOUT_MS;
      // PGP works on the message whole: only mail that carries PGP is read into memory in one piece.
      const opened = await openPgp(await raw.bytes(), { decryptionKeys: deps.teamKeys, verificationKeys }, { timeoutMs, maxBytes: deps.cfg.limits.max_message_bytes, maxParts: deps.cfg.limits.max_parts });
      if (!opened.encrypted && opened.signature.status === 'none' && opened.attachedKeys.length === 0) return null;
      const notes: string[] = [];
      const conflicting = new Set<string>();
      for (const key of opened.attachedKeys.slice(0, 5)) {
        if (!outer.from || !keyAddresses(key).includes(outer.from)) continue;
        try {
          const r = await deps.keyStore.pin(outer.from, key, 'attached');
          if (r.status === 'pinned') notes.push(`PGP: reporter key ${r.fingerprint} pinned to ${outer.from} (it arrived attached: this proves consistency, not identity)`);
          if (r.status === 'conflict') {
            conflicting.add(r.fingerprint);
            notes.push(`PGP: KEY CONFLICT: a different key ${r.fingerprint} arrived for ${outer.from}; the pinned key ${r.pinnedFingerprint} was kept (compare them, then \`secdesk keys import\` with --replace to adopt the new one)`);
          }
        } catch (err) {
          notes.push(`PGP: attached key not pinned: ${(err as Error).message.slice(0, 120)}`);
        }
      }
      const sig = opened.signature;
      if (sig.fingerprint && conflicting.has(sig.fingerprint)) {
        notes.push(`PGP: the signature was made by ${sig.fingerprint}, not by the key pinned to ${outer.from}`);
      }
      deps.log.info(
        { encrypted: opened.encrypted, decrypted: opened.decrypted !== null, signature: sig.status, signer: sig.fingerprint ?? sig.key_id ?? null, source: sig.source ?? null, problem: opened.error },
        'pgp.opened',
      );
      let msg = outer;
      if (opened.decrypted) {
        try {
          const inner = await parseMessage(opened.decrypted, deps.cfg.limits);
          msg = {
            ...outer,
            text: inner.text,
            html: inner.html,
            attachments: [...inner.attachments, ...outer.attachments.filter((a) => !/pgp|octet-stream/.test(a.contentType))],
            subject: opened.subject ?? outer.subject,
            warnings: [...outer.warnings, ...inner.warnings],
          };
        } catch (err) {
          notes.push(`PGP: decrypted content could not be parsed: ${(err as Error).message.slice(0, 120)}`);
        }
      }
      return {
        msg,
        encrypted: opened.encrypted,
        signature: sig.status,
        signatureKey: sig.fingerprint ? { fingerprint: sig.fingerprint, user_id: sig.user_id ?? null, source: sig.source ?? 'unknown' } : null,
        decrypted: opened.decrypted,
        error: opened.error,
        subject: opened.subject,
        signerFingerprint: sig.status === 'valid' ? (sig.fingerprint ?? null) : null,
        notes,
      };
    },
    async seal(plain) {
      if (!deps.vault) throw new Error('no team key to seal with');
      return deps.vault.seal(plain);
    },
  };
}

export function teamFingerprint(keys: PrivateKey[]): string | null {
  return keys[0] ? fingerprintOf(keys[0]) : null;
}
