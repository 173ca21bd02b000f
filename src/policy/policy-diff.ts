import type { Config } from '../config';
import { formatDuration } from '../duration';
import { parsePolicy } from './parse-policy';
import type { ParsedPolicy } from './policy-types';
import { normalizeVersion } from './version-policy';

/**
 * `secdesk check --policy SECURITY.md`: where the running config and the published policy disagree,
 * one line each, saying what each side says and where in the policy to look. A part the policy does
 * not state is no disagreement: there is nothing to drift from.
 */

export interface DiffOptions {
  /** How the policy is named in the lines; default `SECURITY.md`. */
  source?: string;
}

function at(source: string, line: number | null): string {
  return line === null ? source : `${source} line ${line}`;
}

function diffAddress(cfg: Config, policy: ParsedPolicy, source: string): string[] {
  const a = policy.address;
  if (!a) return [];
  // An alias delivers into the same mailbox, so a policy naming it is not out of step.
  const ours = new Set([cfg.address, ...cfg.aliases].map((x) => x.toLowerCase()));
  if (ours.has(a.value)) return [];
  return [`address: ${at(source, a.line)} gives ${a.value}, the config has ${cfg.address}`];
}

function diffSla(cfg: Config, policy: ParsedPolicy, source: string): string[] {
  const out: string[] = [];
  for (const clock of ['acknowledge', 'respond'] as const) {
    const p = policy.sla[clock];
    if (!p || p.value === cfg.sla[clock]) continue;
    const business = p.businessDays ? ' business days' : '';
    out.push(
      `sla.${clock}: ${at(source, p.line)} promises ${p.duration}${business} ("${p.written}"), ` +
        `the config has ${formatDuration(cfg.sla[clock])}`,
    );
  }
  return out;
}

function diffVersions(cfg: Config, policy: ParsedPolicy, source: string): string[] {
  if (policy.versions.rows.length === 0) return [];
  const out: string[] = [];
  for (const key of ['supported', 'unsupported'] as const) {
    const theirs = new Map(policy.versions[key].map((p) => [normalizeVersion(p), p]));
    const ours = new Map(cfg.versions[key].map((p) => [normalizeVersion(p), p]));
    for (const [norm, pattern] of theirs) {
      if (ours.has(norm)) continue;
      const row = policy.versions.rows.find((r) => r.pattern === pattern);
      out.push(`versions.${key}: ${at(source, row?.line ?? null)} lists ${pattern}, the config does not`);
    }
    for (const [norm, pattern] of ours) {
      if (!theirs.has(norm)) out.push(`versions.${key}: the config lists ${pattern}, ${source} does not`);
    }
  }
  return out;
}

function diffChecklist(cfg: Config, policy: ParsedPolicy, source: string): string[] {
  const items = policy.checklist.filter((i) => i.id !== null);
  if (items.length === 0) return [];
  const theirs = [...new Set(items.map((i) => i.id as string))];
  const where = at(source, items[0]?.line ?? null);
  if (cfg.checklist === undefined) {
    return [`checklist: ${where} asks for ${theirs.join(', ')}; the config has none, so acknowledgements use the default list`];
  }
  const ours = new Set(cfg.checklist);
  const out: string[] = [];
  for (const id of theirs) {
    if (ours.has(id)) continue;
    const item = items.find((i) => i.id === id);
    out.push(`checklist: ${at(source, item?.line ?? null)} asks for ${id} ("${item?.text ?? id}"), the config does not`);
  }
  for (const id of ours) if (!theirs.includes(id)) out.push(`checklist: the config asks for ${id}, ${source} does not`);
  return out;
}

/**
 * One line per disagreement between `cfg` and the policy in `markdown`; empty when they agree.
 * Throws PolicyError when the markdown cannot be read as a policy.
 */
export function policyDiff(cfg: Config, markdown: string, opts: DiffOptions = {}): string[] {
  const source = opts.source ?? 'SECURITY.md';
  const policy = parsePolicy(markdown);
  return [
    ...diffAddress(cfg, policy, source),
    ...diffSla(cfg, policy, source),
    ...diffVersions(cfg, policy, source),
    ...diffChecklist(cfg, policy, source),
  ];
}
