/** Shared set-up for the PGP tests: the committed gpg-made fixtures and the keys in them. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { PrivateKey, PublicKey } from 'openpgp';
import { loadPublicKeys, loadTeamKeys } from '../src/pgp/keyring';

export const FIXTURES = path.join(__dirname, 'fixtures', 'pgp');
export const fixture = (name: string): Buffer => readFileSync(path.join(FIXTURES, name));
export const fingerprints = JSON.parse(readFileSync(path.join(FIXTURES, 'fingerprints.json'), 'utf8')) as Record<
  'team' | 'team-old' | 'reporter' | 'maintainer' | 'unknown' | 'other' | 'reporter-new',
  string
>;
export const TEAM_PASS = readFileSync(path.join(FIXTURES, 'team.pass'), 'utf8').trim();

export interface FixtureKeys {
  team: PrivateKey[]; // current first, then the rotated one
  reporter: PublicKey;
  maintainer: PublicKey;
}

export async function loadFixtureKeys(): Promise<FixtureKeys> {
  const team = await loadTeamKeys({
    private_key_file: [path.join(FIXTURES, 'team.sec.asc'), path.join(FIXTURES, 'team-old.sec.asc')],
    passphrase: TEAM_PASS,
  });
  const [reporter] = await loadPublicKeys(path.join(FIXTURES, 'reporter.pub.asc'));
  const [maintainer] = await loadPublicKeys(path.join(FIXTURES, 'maintainer.pub.asc'));
  if (!reporter || !maintainer) throw new Error('fixture keys missing');
  return { team, reporter, maintainer };
}
