import type { Case, CaseState } from '../types';

/**
 * `#secdesk` command lines: how a maintainer drives a case from a mail client, and the same verbs
 * on the command line (`secdesk case ID triage accepted`). Parsing and applying are pure.
 *
 *   #secdesk triage accepted|needs-info|rejected   records next steps (meets the respond clock)
 *   #secdesk severity low|medium|high|critical
 *   #secdesk assign alice@example.test
 *   #secdesk resolve https://github.com/org/repo/security/advisories/GHSA-…
 */

export interface Command {
  verb: string;
  args: string[];
  /** The line as written (bounded), for the timeline and error replies. */
  line: string;
}

export interface CommandResult {
  command: Command;
  ok: boolean;
  message: string;
}

const COMMAND_LINE = /^[ \t]*#secdesk[ \t]+(.+?)[ \t]*$/gim;
const MAX_COMMANDS = 20;
export const TRIAGE_VALUES = ['accepted', 'needs-info', 'rejected'] as const;
export const SEVERITIES = ['none', 'low', 'medium', 'high', 'critical'] as const;

/**
 * Command lines of a mail body. Quoted lines (`> #secdesk …`) are not commands: a reply quoting an
 * earlier command must not run it again.
 */
export function parseCommands(text: string): Command[] {
  const out: Command[] = [];
  for (const m of text.matchAll(COMMAND_LINE)) {
    const body = (m[1] ?? '').slice(0, 500);
    const [verb = '', ...args] = body.split(/\s+/);
    out.push({ verb: verb.toLowerCase(), args, line: `#secdesk ${body}`.slice(0, 300) });
    if (out.length >= MAX_COMMANDS) break;
  }
  return out;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

const TRIAGE_STATE: Record<(typeof TRIAGE_VALUES)[number], CaseState> = {
  accepted: 'accepted',
  'needs-info': 'needs-info',
  rejected: 'rejected',
};

/**
 * Apply commands in order to `c` (mutated), recording each result on the timeline. `at` is when the
 * command was given (the mail's arrival, or now on the command line); `by` who gave it.
 */
export function applyCommands(c: Case, commands: Command[], at: string, by: string, maintainers: ReadonlySet<string>): CommandResult[] {
  const results: CommandResult[] = [];
  for (const cmd of commands) {
    const r = applyOne(c, cmd, at, maintainers);
    results.push(r);
    c.timeline.push({ at, event: r.ok ? `command.${cmd.verb}` : 'command.error', detail: r.ok ? r.message : `${cmd.line}: ${r.message}`, by });
  }
  return results;
}

function applyOne(c: Case, cmd: Command, at: string, maintainers: ReadonlySet<string>): CommandResult {
  const fail = (message: string): CommandResult => ({ command: cmd, ok: false, message });
  const ok = (message: string): CommandResult => ({ command: cmd, ok: true, message });
  const arg = cmd.args[0] ?? '';
  if (c.state === 'resolved' && cmd.verb !== 'severity' && cmd.verb !== 'assign') return fail(`case ${c.id} is already resolved`);
  switch (cmd.verb) {
    case 'triage': {
      const v = arg.toLowerCase() as (typeof TRIAGE_VALUES)[number];
      if (!TRIAGE_VALUES.includes(v)) return fail(`triage takes one of ${TRIAGE_VALUES.join(', ')}`);
      c.state = TRIAGE_STATE[v];
      // Recording a triage decision is recording the next steps: the respond clock is met.
      c.next_steps_at ??= at;
      // A support question a maintainer triages as a report becomes one: its clocks run from arrival.
      if (c.kind === 'support' && v !== 'rejected') {
        c.kind = 'report';
        return ok(`triage ${v}: turned from a support question into a security report`);
      }
      return ok(`triage ${v}`);
    }
    case 'severity': {
      const v = arg.toLowerCase() as (typeof SEVERITIES)[number];
      if (!SEVERITIES.includes(v)) return fail(`severity takes one of ${SEVERITIES.join(', ')}`);
      c.severity = v;
      return ok(`severity ${v}`);
    }
    case 'assign': {
      const who = arg.toLowerCase().replace(/^<|>$/g, '');
      if (!maintainers.has(who)) return fail(`assign takes a maintainer address (one of the configured maintainers)`);
      c.assignee = who;
      return ok(`assigned to ${who}`);
    }
    case 'resolve': {
      if (!isHttpUrl(arg)) return fail('resolve takes the advisory URL (http or https)');
      c.state = 'resolved';
      c.resolved_at = at;
      c.advisory_url = arg.slice(0, 500);
      c.next_steps_at ??= at;
      return ok(`resolved: ${c.advisory_url}`);
    }
    default:
      return fail(`unknown command "${cmd.verb.slice(0, 40)}" (known: triage, severity, assign, resolve)`);
  }
}
