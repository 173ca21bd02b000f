import { stringify } from 'yaml';
import { DAY, HOUR, formatDuration } from '../duration';
import type { ChecklistId, ParsedPolicy, SlaPromise, VersionRow } from './policy-types';
import { CHECKLIST_IDS } from './policy-types';

/**
 * ParsedPolicy → the commented YAML that `secdesk init` writes. Built as text rather than through a
 * YAML Document so that the layout (a comment above each key saying where its value came from, a
 * TODO where the policy said nothing) is exactly what a maintainer reads; every scalar still goes
 * through the `yaml` package so quoting is never hand-rolled.
 *
 * The file must load and pass `buildConfig` with its TODOs untouched, so placeholders are valid
 * values that can never reach a real host (`.invalid` is reserved, RFC 2606).
 */

export interface RenderOptions {
  /** How the policy file is named in comments ("from SECURITY.md line 12"); default `SECURITY.md`. */
  source?: string;
}

export const PLACEHOLDERS = {
  address: 'security@example.invalid',
  imapUrl: 'imaps://secdesk:CHANGE-ME@imap.example.invalid:993',
  smtpUrl: 'smtps://secdesk:CHANGE-ME@smtp.example.invalid:465',
  redisUrl: 'redis://127.0.0.1:6379/0',
} as const;

/** secdesk's own defaults (src/config.ts), used when the policy promises no time. */
const DEFAULT_ACKNOWLEDGE = 24 * HOUR;
const DEFAULT_RESPOND = 48 * HOUR;

const MAX_QUOTE = 90;

/** A YAML scalar, quoted only when it has to be; never folded over several lines. */
function scalar(value: string): string {
  return stringify(value, { lineWidth: 0 }).trimEnd();
}

/** Text fit for a one-line comment: no line breaks or control characters, at most `max` long. */
function oneLine(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001F\u007F\u2028\u2029]+/gu, ' ').replace(/\s+/gu, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1).trimEnd()}…` : flat;
}

/** The policy's own words, quoted. */
function quote(text: string): string {
  return `'${oneLine(text, MAX_QUOTE)}'`;
}

/** `text` cut down to whole words around `needle`, so a long paragraph still shows the part that matters. */
function around(text: string, needle: string): string {
  const at = text.toLowerCase().indexOf(needle.toLowerCase());
  if (text.length <= MAX_QUOTE || at < 0) return text;
  let start = Math.max(0, at - 40);
  const sp = text.indexOf(' ', start);
  if (start > 0 && sp >= 0 && sp < at) start = sp + 1;
  let end = Math.min(text.length, at + needle.length + 30);
  const ep = text.lastIndexOf(' ', end);
  if (end < text.length && ep > at + needle.length) end = ep;
  return `${start > 0 ? '…' : ''}${text.slice(start, end)}${end < text.length ? '…' : ''}`;
}

function where(source: string, line: number | null): string {
  return line === null ? `from ${source}` : `from ${source} line ${line}`;
}

class Lines {
  readonly out: string[] = [];
  todos = 0;
  add(...lines: string[]): void {
    this.out.push(...lines);
  }
  todo(indent: string, ...lines: string[]): void {
    this.todos++;
    lines.forEach((l, i) => this.out.push(`${indent}# ${i === 0 ? 'TODO: ' : '  '}${l}`));
  }
}

function renderAddress(w: Lines, policy: ParsedPolicy, source: string): string {
  const a = policy.address;
  if (a) {
    // A mailto link's text ("Report a vulnerability") does not show the address; the link does.
    const words = a.text.toLowerCase().includes(a.value) ? around(a.text, a.value) : `[${a.text}](mailto:${a.value})`;
    w.add(`# The address reporters write to, ${where(source, a.line)}: ${quote(words)}`);
    w.add(`address: ${scalar(a.value)}`);
    return a.value;
  }
  w.todo(
    '',
    `${source} names no reporting address (reports may go through a web form or GitHub's private`,
    'vulnerability reporting). Put the address of the mailbox secdesk reads here.',
  );
  w.add(`address: ${scalar(PLACEHOLDERS.address)}`);
  return PLACEHOLDERS.address;
}

function clockComment(p: SlaPromise, source: string): string {
  const business = p.businessDays ? ' (business days; this clock runs in calendar time, so it is stricter)' : '';
  return `  # ${where(source, p.line)}: ${quote(p.phrase || p.text)}${business}`;
}

/** A duration as config writes it: hours below three days (`48h`, not `2d`), days above. */
function asConfig(ms: number): string {
  return ms < 3 * DAY && ms % HOUR === 0 ? `${ms / HOUR}h` : formatDuration(ms);
}

function renderSla(w: Lines, policy: ParsedPolicy, source: string): void {
  const { acknowledge, respond } = policy.sla;
  w.add('', '# Deadlines secdesk holds the team to, as the policy promises them to reporters.', 'sla:');
  let ack: { ms: number; text: string };
  if (acknowledge) {
    ack = { ms: acknowledge.value, text: acknowledge.duration };
    w.add(clockComment(acknowledge, source), `  acknowledge: ${scalar(ack.text)}`);
  } else {
    const ms = Math.min(DEFAULT_ACKNOWLEDGE, respond?.value ?? DEFAULT_ACKNOWLEDGE);
    ack = { ms, text: asConfig(ms) };
    w.todo('  ', `${source} promises no first response time; ${ack.text} is secdesk's default.`);
    w.add(`  acknowledge: ${scalar(ack.text)}`);
  }
  if (respond) {
    w.add(clockComment(respond, source), `  respond: ${scalar(respond.duration)}`);
  } else if (ack.ms > DEFAULT_RESPOND) {
    // buildConfig refuses a respond deadline shorter than acknowledge.
    w.todo('  ', `${source} promises no detailed response / next steps time; set to the acknowledge`, 'deadline, as respond may not be shorter.');
    w.add(`  respond: ${scalar(ack.text)}`);
  } else {
    const text = asConfig(DEFAULT_RESPOND);
    w.todo('  ', `${source} promises no detailed response / next steps time; ${text} is secdesk's default.`);
    w.add(`  respond: ${scalar(text)}`);
  }
}

function versionItem(pattern: string, rows: VersionRow[]): string {
  const row = rows.find((r) => r.pattern === pattern);
  const detail = row ? ` # line ${row.line ?? '?'}: ${quote(row.statusText)}${row.note ? `, ${quote(row.note)}` : ''}` : '';
  return `    - ${scalar(pattern)}${detail}`;
}

function renderVersions(w: Lines, policy: ParsedPolicy, source: string): void {
  const { supported, unsupported, rows } = policy.versions;
  w.add('');
  if (rows.length === 0) {
    w.todo(
      '',
      `${source} states no supported versions, so every version's verdict is "unknown".`,
      'List patterns such as 2.1.x, ">= 2.1", "< 2.0" or latest.',
    );
  } else {
    const first = rows.find((r) => r.line !== null)?.line ?? null;
    w.add(`# Supported versions, ${where(source, first)}. A version no pattern covers is "unknown".`);
    if (rows.length === 1 && supported.length === 1 && supported[0] === 'latest') {
      w.todo(
        '',
        '"latest" matches only reports that say latest: add the current release line (e.g. 3.4.x)',
        'so reports that name a version number get a verdict.',
      );
    }
  }
  for (const r of rows.filter((x) => x.status === 'unknown')) {
    w.add(`# line ${r.line ?? '?'}: cannot tell whether ${r.pattern} is supported (${quote(r.statusText)}); left out, so "unknown"`);
  }
  w.add('versions:');
  for (const [key, list] of [['supported', supported], ['unsupported', unsupported]] as const) {
    if (list.length === 0) w.add(`  ${key}: []`);
    else w.add(`  ${key}:`, ...list.map((p) => versionItem(p, rows)));
  }
}

function renderChecklist(w: Lines, policy: ParsedPolicy, source: string): void {
  w.add('');
  if (policy.checklist.length === 0) {
    w.todo(
      '',
      `${source} has no list of what a report should include, so acknowledgements use`,
      "secdesk's default checklist. To choose, uncomment the line below; the ids are",
      `${CHECKLIST_IDS.join(', ')}.`,
    );
    w.add('# checklist: [issue_type, versions, reproduction, impact]');
    return;
  }
  const first = policy.checklist[0]?.line ?? null;
  w.add(
    `# What a report should include, ${where(source, first)}. The acknowledgement asks the`,
    '# reporter for the fields their report lacks.',
    'checklist:',
  );
  const seen = new Set<ChecklistId>();
  for (const item of policy.checklist) {
    if (item.id === null) {
      w.add(`  # line ${item.line ?? '?'}: not a field secdesk's checklist knows, left out: ${quote(item.text)}`);
    } else if (seen.has(item.id)) {
      w.add(`  # line ${item.line ?? '?'}: also ${item.id}: ${quote(item.text)}`);
    } else {
      seen.add(item.id);
      w.add(`  - ${scalar(item.id)} # line ${item.line ?? '?'}: ${quote(item.text)}`);
    }
  }
}

function renderServices(w: Lines, from: string, addressFound: boolean): void {
  w.add('');
  w.todo(
    '',
    'the mailbox secdesk reads. Credentials are never taken from SECURITY.md: replace user,',
    'password and host, or set SECDESK_IMAP_URL, or use imap.url_file / imap.password_file.',
  );
  w.add('imap:', `  url: ${scalar(PLACEHOLDERS.imapUrl)}`, '');
  w.todo('', 'the server acknowledgements are sent through (SECDESK_SMTP_URL, smtp.password_file).');
  w.add('smtp:', `  url: ${scalar(PLACEHOLDERS.smtpUrl)}`);
  if (addressFound) w.add('  # the reporting address; change it if replies go out from another one');
  else w.todo('  ', 'the address acknowledgements come from.');
  w.add(`  from: ${scalar(from)}`, '');
  w.todo('', 'the Redis that keeps cases and deadlines (SECDESK_REDIS_URL); this is the local default.');
  w.add('redis:', `  url: ${scalar(PLACEHOLDERS.redisUrl)}`, '');
  w.todo('', 'the addresses of the maintainers who handle reports (escalations and chasers go to them).');
  w.add('maintainers: []');
}

/** The config `secdesk init` writes for `policy`. Pure: the caller decides where it goes. */
export function renderConfigYaml(policy: ParsedPolicy, opts: RenderOptions = {}): string {
  const source = oneLine(opts.source ?? '', 200) || 'SECURITY.md';
  const body = new Lines();
  const address = renderAddress(body, policy, source);
  renderSla(body, policy, source);
  renderVersions(body, policy, source);
  renderChecklist(body, policy, source);
  renderServices(body, address, policy.address !== null);

  const head = [
    `# secdesk configuration, generated by \`secdesk init\` from ${source}.`,
    '#',
    '# Each value read from the policy says where it came from. Each "TODO" needs you before',
    `# \`secdesk run\` (${body.todos} below). \`secdesk check --policy FILE\` reports where this file and the`,
    '# policy drift apart.',
  ];
  if (policy.warnings.length > 0) {
    head.push('#', '# Read with care:', ...policy.warnings.map((x) => `#  - ${oneLine(x, 300)}`));
  }
  return [...head, '', ...body.out, ''].join('\n');
}
