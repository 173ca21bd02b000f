import type { Redis } from 'ioredis';
import type { SendMailOptions } from 'nodemailer';
import type { PrivateKey, PublicKey } from 'openpgp';
import { trustedAuthResults } from './auth/authentication-results';
import type { DnsLookup } from './auth/verify-sender';
import { createSenderVerifier } from './auth/verify-sender';
import type { Clock } from './clock';
import type { Config } from './config';
import { coerceError, PermanentError } from './errors';
import type { IngestDeps } from './ingest/ingest-message';
import { createPgpStage } from './ingest/pgp-stage';
import type { Logger } from './log';
import type { Vault } from './pgp/at-rest';
import { createVault } from './pgp/at-rest';
import { encryptReply } from './pgp/encrypt-reply';
import type { KeyStore } from './pgp/key-store';
import { createKeyStore } from './pgp/key-store';
import { fingerprintOf, keyAddresses, loadPublicKeys, loadTeamKeys } from './pgp/keyring';
import { replySubject } from './notify/subject';
import { readEntity } from './pgp/pgp-mime';
import { createCaseStore } from './store/case-store';
import { triageForIngest } from './triage-adapter';
import type { PgpOut } from '../workers/mail-worker';

/**
 * The parts of secdesk that judge a message: triage (what is it, what does it say), sender
 * authenticity (is this maintainer mail real), and PGP (decrypt, verify, seal, encrypt replies).
 * Built once from Config; the ingest and mail stages only see these functions.
 */
export interface SecurityServices {
  triage: IngestDeps['triage'];
  verifySender: IngestDeps['verifySender'];
  authVerdicts: IngestDeps['authVerdicts'];
  pgpIn: IngestDeps['pgp'];
  pgpOut: PgpOut | null;
  teamKeys: PrivateKey[];
  keyStore: KeyStore;
  vault: Vault | null;
  close(): Promise<void>;
}

export interface PgpKeys {
  /** The team's unlocked private keys, current first (none when PGP is not configured). */
  teamKeys: PrivateKey[];
  reporterKeys: PublicKey[];
  maintainerKeys: PublicKey[];
}

export interface SecurityDeps {
  redis: Redis;
  log: Logger;
  clock: Clock;
  resolver?: DnsLookup;
  /** Keys loaded ahead (createApp loads them before opening any connection); loaded here otherwise. */
  pgpKeys?: PgpKeys;
}

/** Team keys (none when PGP is not configured); a bad key or passphrase throws a ConfigError. */
export async function loadPgpKeys(cfg: Config): Promise<PgpKeys> {
  const teamKeys = cfg.pgp.private_key_file ? await loadTeamKeys(cfg.pgp) : [];
  const reporterKeys = cfg.pgp.reporter_keys ? await loadPublicKeys(cfg.pgp.reporter_keys, undefined, 'pgp.reporter_keys') : [];
  const maintainerKeys = cfg.pgp.maintainer_keys ? await loadPublicKeys(cfg.pgp.maintainer_keys, undefined, 'pgp.maintainer_keys') : [];
  return { teamKeys, reporterKeys, maintainerKeys };
}

export async function createSecurityServices(cfg: Config, deps: SecurityDeps): Promise<SecurityServices> {
  const verifier = createSenderVerifier({ cfg, resolver: deps.resolver, clock: deps.clock });
  const { teamKeys, reporterKeys, maintainerKeys } = deps.pgpKeys ?? (await loadPgpKeys(cfg));
  const maintainers = new Set(cfg.maintainers);
  // A maintainer key counts only for an address that is a configured maintainer.
  const maintainerFingerprints = new Set(maintainerKeys.filter((k) => keyAddresses(k).some((a) => maintainers.has(a))).map(fingerprintOf));
  const keyStore = createKeyStore({ redis: deps.redis, prefix: cfg.redis.prefix, clock: deps.clock });
  const vault = teamKeys.length ? createVault(teamKeys) : null;
  const configured = [...reporterKeys, ...maintainerKeys];
  const byAddress = (address: string): PublicKey | undefined => reporterKeys.find((k) => keyAddresses(k).includes(address));
  const keyFor = async (address: string): Promise<PublicKey | null> => byAddress(address) ?? (await keyStore.get(address));
  const pgpLog = deps.log.child({ component: 'pgp' });
  const pgpIn = createPgpStage({ cfg, teamKeys, configuredKeys: configured, keyStore, vault, log: pgpLog });
  const current = teamKeys[0];
  const store = createCaseStore({ redis: deps.redis, prefix: cfg.redis.prefix });
  const pgpOut: PgpOut | null = current
    ? {
        teamFingerprint: fingerprintOf(current),
        async hasKeyFor(address) {
          return (await keyFor(address)) !== null;
        },
        async realSubject(c) {
          return (await sealedSubject(c.id)) ?? c.subject;
        },
        async encrypt(mail, to, realSubject) {
          const key = await keyFor(to);
          if (!key) throw new PermanentError('EPgpNoKey', `no public key for ${to}`);
          return encryptReply(mail, { to: key, signWith: current, realSubject: await protectedReplySubject(mail, realSubject) });
        },
      }
    : null;

  /**
   * The Subject that travels inside the encryption: `Re: <their real subject> [SEC-…]`. The case
   * stores an encrypted report's own protected Subject only sealed, so it is read back from the vault
   * here (the mail worker knows only the placeholder).
   */
  async function protectedReplySubject(mail: SendMailOptions, fallback: string): Promise<string> {
    const caseId = caseIdOf(mail);
    if (!caseId) return fallback;
    return replySubject((await sealedSubject(caseId)) ?? fallback, caseId);
  }

  /** An encrypted report's own (protected) Subject, read back from its sealed copy; null if none. */
  async function sealedSubject(caseId: string): Promise<string | null> {
    const c = await store.get(caseId);
    if (!c?.sealed_key || !vault) return null;
    try {
      const sealed = await store.getRaw(c.sealed_key);
      return sealed ? (await readEntity(await vault.open(sealed))).subject : null;
    } catch (e) {
      // The reply still goes out encrypted, with the subject the case shows.
      pgpLog.warn({ caseId, err: { message: coerceError(e).message } }, 'pgp.sealed_subject_unreadable');
      return null;
    }
  }
  return {
    triage: triageForIngest(cfg),
    // DKIM hashes the whole body: a maintainer reply is read whole (big ones only for this).
    verifySender: async (raw, msg, pgp) =>
      verifier.verify(await raw.bytes(), msg, pgp ? { status: pgp.signature, fingerprint: pgp.signerFingerprint ?? undefined } : null, maintainerFingerprints),
    // Authentication-Results sit in the header block: `head` holds it.
    authVerdicts: (raw) => (cfg.trust.authserv_id.length ? trustedAuthResults(raw.head, cfg.trust.authserv_id) : null),
    pgpIn,
    pgpOut,
    teamKeys,
    keyStore,
    vault,
    async close() {},
  };
}

/** The case a composed automatic reply belongs to (compose sets X-Secdesk-Case on every one). */
function caseIdOf(mail: SendMailOptions): string | null {
  const headers = mail.headers;
  if (!headers || Array.isArray(headers)) return null;
  const v = (headers as Record<string, unknown>)['X-Secdesk-Case'];
  return typeof v === 'string' && /^[A-Z]+-\d{4}-\d+$/.test(v) ? v : null;
}
