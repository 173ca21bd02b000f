import type { Redis } from 'ioredis';
import type { PrivateKey, PublicKey } from 'openpgp';
import { trustedAuthResults } from './auth/authentication-results';
import type { DnsLookup } from './auth/verify-sender';
import { createSenderVerifier } from './auth/verify-sender';
import type { Clock } from './clock';
import type { Config } from './config';
import type { IngestDeps } from './ingest/ingest-message';
import { createPgpStage } from './ingest/pgp-stage';
import type { Logger } from './log';
import type { Vault } from './pgp/at-rest';
import { createVault } from './pgp/at-rest';
import { encryptReply } from './pgp/encrypt-reply';
import type { KeyStore } from './pgp/key-store';
import { createKeyStore } from './pgp/key-store';
import { fingerprintOf, keyAddresses, loadPublicKeys, loadTeamKeys } from './pgp/keyring';
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

export interface SecurityDeps {
  redis: Redis;
  log: Logger;
  clock: Clock;
  resolver?: DnsLookup;
}

/** Team keys (none when PGP is not configured); a bad key or passphrase throws a ConfigError. */
export async function loadPgpKeys(cfg: Config): Promise<{ teamKeys: PrivateKey[]; reporterKeys: PublicKey[]; maintainerKeys: PublicKey[] }> {
  const teamKeys = cfg.pgp.private_key_file ? await loadTeamKeys(cfg.pgp) : [];
  const reporterKeys = cfg.pgp.reporter_keys ? await loadPublicKeys(cfg.pgp.reporter_keys, undefined, 'pgp.reporter_keys') : [];
  const maintainerKeys = cfg.pgp.maintainer_keys ? await loadPublicKeys(cfg.pgp.maintainer_keys, undefined, 'pgp.maintainer_keys') : [];
  return { teamKeys, reporterKeys, maintainerKeys };
}

export async function createSecurityServices(cfg: Config, deps: SecurityDeps): Promise<SecurityServices> {
  const verifier = createSenderVerifier({ cfg, resolver: deps.resolver, clock: deps.clock });
  const { teamKeys, reporterKeys, maintainerKeys } = await loadPgpKeys(cfg);
  const maintainers = new Set(cfg.maintainers);
  // A maintainer key counts only for an address that is a configured maintainer.
  const maintainerFingerprints = new Set(maintainerKeys.filter((k) => keyAddresses(k).some((a) => maintainers.has(a))).map(fingerprintOf));
  const keyStore = createKeyStore({ redis: deps.redis, prefix: cfg.redis.prefix, clock: deps.clock });
  const vault = teamKeys.length ? createVault(teamKeys) : null;
  const configured = [...reporterKeys, ...maintainerKeys];
  const byAddress = (address: string): PublicKey | undefined => reporterKeys.find((k) => keyAddresses(k).includes(address));
  const keyFor = async (address: string): Promise<PublicKey | null> => byAddress(address) ?? (await keyStore.get(address));
  const pgpIn = createPgpStage({ cfg, teamKeys, configuredKeys: configured, keyStore, vault, log: deps.log.child({ component: 'pgp' }) });
  const current = teamKeys[0];
  const pgpOut: PgpOut | null = current
    ? {
        teamFingerprint: fingerprintOf(current),
        async hasKeyFor(address) {
          return (await keyFor(address)) !== null;
        },
        async encrypt(mail, to, realSubject) {
          const key = await keyFor(to);
          if (!key) throw new Error(`no key for ${to}`);
          return encryptReply(mail, { to: key, signWith: current, realSubject });
        },
      }
    : null;
  return {
    triage: triageForIngest(cfg),
    verifySender: (raw, msg, pgp) =>
      verifier.verify(raw, msg, pgp ? { status: pgp.signature, fingerprint: pgp.signerFingerprint ?? undefined } : null, maintainerFingerprints),
    authVerdicts: (raw) => (cfg.trust.authserv_id.length ? trustedAuthResults(raw, cfg.trust.authserv_id) : null),
    pgpIn,
    pgpOut,
    teamKeys,
    keyStore,
    vault,
    async close() {},
  };
}
