import type { Command } from 'commander';
import type { CheckLine } from './check';
import type { Config } from './config';
import type { CaseStore } from './store/case-store';
import type { Case } from './types';

/**
 * The commands that come from the policy and PGP parts (`init`, `keys import`, `security-txt`,
 * `check --policy`, decryption in `case --json`), kept apart from cli.ts so each part stays small.
 */
export interface ExtraContext {
  io: { out: (s: string) => void; err: (s: string) => void; env: NodeJS.ProcessEnv };
  setCode: (n: number) => void;
  config: () => Config;
}

export const extraCommands = {
  register(_program: Command, _ctx: ExtraContext): void {},
  async checks(_cfg: Config, _opts: { policy?: string; now: Date }): Promise<CheckLine[]> {
    return [];
  },
  async caseView(_cfg: Config, _c: Case, view: Record<string, unknown>, _store: CaseStore): Promise<Record<string, unknown>> {
    return view;
  },
};
