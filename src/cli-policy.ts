import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CheckLine } from './check';
import type { Config } from './config';
import { runInit } from './policy/init-command';
import { policyDiff } from './policy/init-command';
import { decodePolicyBytes } from './policy/parse-policy';
import { PolicyError } from './policy/policy-types';
import { securityTxtExpiryWarning } from './policy/security-txt-expiry';

/**
 * Policy as code on the command line: `secdesk init --from SECURITY.md` writes a config from the
 * project's policy; `secdesk check --policy SECURITY.md` says where config and policy disagree.
 */

export function registerPolicyCommands(program: Command, ctx: { out: (s: string) => void; err: (s: string) => void; setCode: (n: number) => void }): void {
  program
    .command('init')
    .description('write a secdesk config from the project\'s SECURITY.md (address, deadlines, supported versions, report checklist)')
    .requiredOption('--from <SECURITY.md>', 'the policy to read')
    .option('--out <file>', 'write the config here (default: print it)')
    .option('--force', 'overwrite --out if it exists')
    .action(async (o: { from: string; out?: string; force?: boolean }) => {
      ctx.setCode(await runInit({ from: o.from, out: o.out, force: !!o.force }, { stdout: ctx.out, stderr: ctx.err }));
    });
}

/** One line per disagreement between the running config and SECURITY.md (and an expiring security.txt). */
export function policyChecks(cfg: Config, opts: { policy?: string; securityTxt?: string; now: Date }): CheckLine[] {
  const out: CheckLine[] = [];
  if (opts.policy) {
    try {
      const markdown = decodePolicyBytes(readFileSync(opts.policy));
      const diffs = policyDiff(cfg, markdown, { source: opts.policy });
      if (diffs.length === 0) out.push({ ok: true, what: 'policy', detail: `config matches ${opts.policy}` });
      for (const d of diffs) out.push({ ok: false, what: 'policy', detail: d });
    } catch (e) {
      const why = e instanceof PolicyError ? e.message : `cannot read: ${(e as Error).message}`;
      out.push({ ok: false, what: 'policy', detail: `${opts.policy}: ${why}` });
    }
  }
  if (opts.securityTxt) {
    try {
      const w = securityTxtExpiryWarning(readFileSync(opts.securityTxt, 'utf8'), opts.now);
      out.push(w ? { ok: true, warn: true, what: 'securitytxt', detail: `${opts.securityTxt}: ${w}` } : { ok: true, what: 'securitytxt', detail: `${opts.securityTxt}: Expires is more than 30 days away` });
    } catch (e) {
      out.push({ ok: false, what: 'securitytxt', detail: `${opts.securityTxt}: ${(e as Error).message}` });
    }
  }
  return out;
}
