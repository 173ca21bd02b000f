import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { buildConfig } from '../config';
import { coerceError } from '../errors';
import { renderConfigYaml } from './init-config';
import { MAX_POLICY_BYTES, decodePolicyBytes, parsePolicy } from './parse-policy';
import { PolicyError } from './policy-types';

export { policyDiff } from './policy-diff';
export { securityTxtExpiryWarning } from './security-txt-expiry';

/**
 * `secdesk init --from SECURITY.md [--out secdesk.yml] [--force]`. The only part of the policy
 * module that touches the file system; everything it prints goes through `io`.
 *
 * Exit codes: 0 written; 1 the output cannot be written (exists without --force, is the policy
 * itself, a directory that does not exist); 2 the input cannot be read as a policy.
 */

export interface InitOptions {
  /** The SECURITY.md to read. */
  from: string;
  /** Where to write the config; stdout when absent. */
  out?: string;
  /** Overwrite an existing `out`. */
  force?: boolean;
}

export interface InitIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

async function readPolicy(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    // Checked first so that `--from /dev/zero` or a multi-gigabyte log is refused, not read.
    const info = await stat(file);
    if (!info.isFile()) throw new PolicyError('not a regular file');
    if (info.size > MAX_POLICY_BYTES) {
      throw new PolicyError(`${info.size} bytes is far larger than any security policy; is this the right file?`);
    }
    bytes = await readFile(file);
  } catch (e) {
    if (e instanceof PolicyError) throw e;
    throw new PolicyError(`cannot read it: ${coerceError(e).message}`);
  }
  return decodePolicyBytes(bytes);
}

/** The generated file must load as it is; if it does not, that is a bug here, not the user's. */
function selfCheck(yaml: string): string | null {
  try {
    buildConfig(parseYaml(yaml));
    return null;
  } catch (e) {
    return `the generated config does not load (a secdesk bug, please report it): ${coerceError(e).message}`;
  }
}

export async function runInit(opts: InitOptions, io: InitIo): Promise<number> {
  let yaml: string;
  let warnings: string[];
  try {
    const policy = parsePolicy(await readPolicy(opts.from));
    yaml = renderConfigYaml(policy, { source: path.basename(opts.from) });
    warnings = policy.warnings;
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    io.stderr(`secdesk init: ${opts.from}: ${e.message}\n`);
    return 2;
  }
  const broken = selfCheck(yaml);
  if (broken) {
    io.stderr(`secdesk init: ${broken}\n`);
    return 2;
  }

  if (opts.out === undefined) {
    io.stdout(yaml);
  } else {
    if (path.resolve(opts.out) === path.resolve(opts.from)) {
      io.stderr(`secdesk init: --out ${opts.out} is the policy being read; choose another file\n`);
      return 1;
    }
    try {
      // `wx` makes "does not exist yet" and the write one step, so nothing created meanwhile is lost.
      // 0600: the user is about to put mail credentials in it.
      await writeFile(opts.out, yaml, { flag: opts.force ? 'w' : 'wx', mode: 0o600 });
    } catch (e) {
      const err = coerceError(e);
      io.stderr(
        err.code === 'EEXIST'
          ? `secdesk init: ${opts.out} already exists; pass --force to overwrite it\n`
          : `secdesk init: cannot write ${opts.out}: ${err.message}\n`,
      );
      return 1;
    }
  }
  for (const w of warnings) io.stderr(`secdesk init: warning: ${w}\n`);
  const todos = yaml.split('\n').filter((l) => /^\s*# TODO:/u.test(l)).length;
  const target = opts.out === undefined ? 'the config' : opts.out;
  io.stderr(`secdesk init: wrote ${target} from ${opts.from}; ${todos} TODO${todos === 1 ? '' : 's'} to fill in before \`secdesk run\`\n`);
  return 0;
}
