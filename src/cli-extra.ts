import type { Command } from 'commander';
import type { CheckLine } from './check';
import type { Config } from './config';
import { pgpCaseView, pgpChecks, registerKeysCommand, registerSecurityTxtCommand } from './pgp/pgp-commands';
import type { CaseStore } from './store/case-store';
import type { Case } from './types';

/**
 * The commands that come from the policy and PGP parts (`init`, `keys import`, `security-txt`,
 * `check --policy`, decryption in `case --json`), kept apart from cli.ts so each part stays small.
 * Each part exports its own functions; the three hooks below only call them in turn, so adding a
 * part is one line in each.
 */
export interface ExtraContext {
  io: { out: (s: string) => void; err: (s: string) => void; env: NodeJS.ProcessEnv };
  setCode: (n: number) => void;
  config: () => Config;
}

export const extraCommands = {
  register(program: Command, ctx: ExtraContext): void {
    registerKeysCommand(program, ctx);
    registerSecurityTxtCommand(program, ctx);
  },
  async checks(cfg: Config, opts: { policy?: string; now: Date }): Promise<CheckLine[]> {
    const lines: CheckLine[] = [];
    lines.push(...(await pgpChecks(cfg, { now: opts.now })));
    return lines;
  },
  async caseView(cfg: Config, c: Case, view: Record<string, unknown>, store: CaseStore): Promise<Record<string, unknown>> {
    let v = view;
    v = await pgpCaseView(cfg, c, v, store);
    return v;
  },
};
