import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from './duration';
import { ConfigError } from './errors';

/**
 * One validated, typed Config, built once at start-up from defaults → YAML file → environment and
 * passed down. Nothing below this module reads `process.env`.
 *
 * Every secret can be given inline, as `<key>_file` (a path whose contents are the secret, the Docker
 * and systemd-credentials way), or from an environment variable (listed in README.md).
 */

const duration = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    try {
      return parseDuration(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });

const email = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[^\s@<>]+@[^\s@<>]+$/, 'must be a bare address like security@example.org');

const escalationStep = z.union([
  z.object({ clock: z.enum(['acknowledge', 'respond']), at: duration, notify: z.array(z.string()).min(1) }),
  z.object({ on: z.literal('chaser'), notify: z.array(z.string()).min(1) }),
]);

const pagerChannel = z
  .object({
    type: z.enum(['pagerduty', 'opsgenie', 'slack', 'webhook', 'email']),
    url: z.string().optional(),
    routing_key: z.string().optional(),
    routing_key_file: z.string().optional(),
    api_key: z.string().optional(),
    api_key_file: z.string().optional(),
    webhook_url: z.string().optional(),
    webhook_url_file: z.string().optional(),
    secret: z.string().optional(),
    secret_file: z.string().optional(),
    to: z.array(email).optional(),
  })
  .passthrough();

export const configSchema = z.object({
  address: email,
  /** Other addresses that deliver into the same mailbox: never auto-replied to. */
  aliases: z.array(email).default([]),
  /** Project name used in mail and security.txt. */
  project: z.string().default('the project'),
  imap: z.object({
    url: z.string().url(),
    inbox: z.string().default('INBOX'),
    sent: z.string().optional(),
    /** Safety-net full check even when IDLE is quiet, and the poll period on servers without IDLE. */
    poll_interval: duration.default(60_000),
    /** Upper bound of the reconnect backoff. */
    reconnect_max: duration.default(30_000),
    tls_reject_unauthorized: z.boolean().default(true),
    handled_keyword: z.string().default('$SecdeskHandled'),
  }),
  smtp: z.object({
    url: z.string().url(),
    from: z.string().min(3),
    tls_reject_unauthorized: z.boolean().default(true),
    /** Delays between attempts after a temporary failure; default: the schedule in send-schedule.ts (~21 h). */
    retry: z.array(duration).min(1).optional(),
  }),
  redis: z.object({
    url: z.string().default('redis://127.0.0.1:6379/0'),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only (BullMQ uses it in key names)')
      .default('secdesk'),
  }),
  maintainers: z.array(email).default([]),
  sla: z
    .object({
      acknowledge: duration.default(24 * 3600_000),
      respond: duration.default(48 * 3600_000),
      /**
       * Timers further off than this wait in a Redis sorted set and become BullMQ delayed jobs this
       * long before they fall due (one ZADD per new case instead of a job); 0 arms every timer as a
       * delayed job at once.
       */
      arm_ahead: duration.default(10 * 60_000),
    })
    .default({ acknowledge: 24 * 3600_000, respond: 48 * 3600_000, arm_ahead: 10 * 60_000 }),
  limits: z
    .object({
      /** Larger messages are kept raw but not parsed beyond their headers; the case says so. */
      max_message_bytes: z.number().int().positive().default(30 * 1024 * 1024),
      max_parts: z.number().int().positive().default(200),
      max_text_chars: z.number().int().positive().default(256 * 1024),
      /** Attachment contents kept in memory for triage/PGP (bigger ones keep only name, size, hash). */
      max_inline_attachment_bytes: z.number().int().positive().default(1024 * 1024),
      parse_timeout: duration.default(30_000),
    })
    .default({
      max_message_bytes: 30 * 1024 * 1024,
      max_parts: 200,
      max_text_chars: 256 * 1024,
      max_inline_attachment_bytes: 1024 * 1024,
      parse_timeout: 30_000,
    }),
  workers: z
    .object({ concurrency: z.number().int().positive().default(4) })
    .default({ concurrency: 4 }),
  log: z
    .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'), pretty: z.boolean().default(false) })
    .default({ level: 'info', pretty: false }),
  templates: z.object({ dir: z.string().optional() }).default({}),
  /** Key of the HMAC in our Message-IDs (so strangers cannot guess them); derived from config if unset. */
  notify: z.object({ message_id_secret: z.string().optional() }).default({}),
  trust: z.object({ authserv_id: z.array(z.string()).default([]) }).default({ authserv_id: [] }),
  dns: z.object({ servers: z.array(z.string()).default([]) }).default({ servers: [] }),
  rate_limit: z
    .object({
      per_recipient: z.object({ max: z.number().int().positive(), per: duration }).default({ max: 5, per: 3600_000 }),
      per_domain: z.object({ max: z.number().int().positive(), per: duration }).default({ max: 20, per: 3600_000 }),
      global: z.object({ max: z.number().int().positive(), per: duration }).default({ max: 200, per: 3600_000 }),
    })
    .default({ per_recipient: { max: 5, per: 3600_000 }, per_domain: { max: 20, per: 3600_000 }, global: { max: 200, per: 3600_000 } }),
  /** Do not auto-reply when a trusted Authentication-Results says SPF and DMARC both failed. */
  suppress_on_auth_fail: z.boolean().default(true),
  versions: z
    .object({ supported: z.array(z.string()).default([]), unsupported: z.array(z.string()).default([]) })
    .default({ supported: [], unsupported: [] }),
  /** The report fields the policy asks for (ids from the triage checklist). */
  checklist: z.array(z.string()).optional(),
  escalation: z.array(escalationStep).optional(),
  pager: z.record(z.string(), pagerChannel).default({}),
  /** Delays between attempts of one page to one channel; default: the schedule in pager/retry.ts. */
  pager_retry: z.array(duration).min(1).optional(),
  pgp: z
    .object({
      private_key_file: z.union([z.string(), z.array(z.string())]).optional(),
      passphrase: z.string().optional(),
      passphrase_file: z.string().optional(),
      reporter_keys: z.string().optional(),
      maintainer_keys: z.string().optional(),
      /** Time allowed for decrypting and verifying one message; past it the case records why. Default 20s. */
      timeout: duration.optional(),
    })
    .default({}),
  security_txt: z
    .object({
      policy: z.string().optional(),
      expires: duration.optional(),
      preferred_languages: z.array(z.string()).default(['en']),
      encryption: z.string().optional(),
      /** The security.txt as published (a file path or an http(s) URL): `secdesk check` warns before it expires. */
      published_file: z.string().optional(),
      /** The team public key as published (a file path or an http(s) URL): `secdesk check` compares it with the key secdesk decrypts with. */
      published_key_file: z.string().optional(),
    })
    .default({ preferred_languages: ['en'] }),
  http: z.object({ listen: z.string().optional() }).default({}),
});

export type Config = z.infer<typeof configSchema>;

/** Environment variables that override file values (secrets, and what containers set). */
const ENV_OVERRIDES: [string, string[]][] = [
  ['SECDESK_IMAP_URL', ['imap', 'url']],
  ['SECDESK_SMTP_URL', ['smtp', 'url']],
  ['SECDESK_REDIS_URL', ['redis', 'url']],
  ['SECDESK_REDIS_PREFIX', ['redis', 'prefix']],
  ['SECDESK_ADDRESS', ['address']],
  ['SECDESK_LOG_LEVEL', ['log', 'level']],
  ['SECDESK_PGP_PASSPHRASE', ['pgp', 'passphrase']],
  ['SECDESK_MESSAGE_ID_SECRET', ['notify', 'message_id_secret']],
];

/** `<key>_file` entries whose file content replaces `<key>`. */
const FILE_SECRETS: string[][] = [
  ['imap', 'url'],
  ['smtp', 'url'],
  ['redis', 'url'],
  ['imap', 'password'],
  ['smtp', 'password'],
  ['redis', 'password'],
  ['notify', 'message_id_secret'],
];

type Obj = Record<string, unknown>;

function getObj(root: Obj, keys: string[]): Obj {
  let cur = root;
  for (const k of keys) {
    const next = cur[k];
    if (next === undefined || next === null) cur[k] = {};
    else if (typeof next !== 'object') throw new ConfigError(`${keys.join('.')}: must be a mapping`);
    cur = cur[k] as Obj;
  }
  return cur;
}

function readSecretFile(file: string, key: string, baseDir: string): string {
  try {
    return readFileSync(path.resolve(baseDir, file), 'utf8').trim();
  } catch (e) {
    throw new ConfigError(`${key}_file: cannot read ${file}: ${(e as Error).message}`);
  }
}

/** Fold a password given separately into its URL, so credentials need not be URL-encoded by hand. */
function applyPassword(section: Obj, name: string): void {
  const password = section.password;
  if (typeof password !== 'string' || typeof section.url !== 'string') return;
  try {
    const u = new URL(section.url);
    u.password = encodeURIComponent(password);
    section.url = u.toString();
  } catch {
    throw new ConfigError(`${name}.url: not a valid URL`);
  }
  delete section.password;
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Base directory for relative `*_file` paths; defaults to the config file's directory. */
  baseDir?: string;
}

/** Validate an already-parsed config object (from YAML or a test). */
export function buildConfig(input: unknown, opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? {};
  const baseDir = opts.baseDir ?? process.cwd();
  if (input !== undefined && input !== null && (typeof input !== 'object' || Array.isArray(input))) {
    throw new ConfigError('config: the file must be a YAML mapping of keys');
  }
  const raw: Obj = structuredClone((input ?? {}) as Obj);

  for (const keys of FILE_SECRETS) {
    const parent = getObj(raw, keys.slice(0, -1));
    const leaf = keys[keys.length - 1] as string;
    const file = parent[`${leaf}_file`];
    if (typeof file === 'string') {
      parent[leaf] = readSecretFile(file, keys.join('.'), baseDir);
      delete parent[`${leaf}_file`];
    }
  }
  for (const [name, keys] of ENV_OVERRIDES) {
    const v = env[name];
    if (v !== undefined && v !== '') getObj(raw, keys.slice(0, -1))[keys[keys.length - 1] as string] = v;
  }
  if (typeof (raw.pgp as Obj | undefined)?.passphrase_file === 'string' && (raw.pgp as Obj).passphrase === undefined) {
    (raw.pgp as Obj).passphrase = readSecretFile((raw.pgp as Obj).passphrase_file as string, 'pgp.passphrase', baseDir);
  }
  for (const s of ['imap', 'smtp', 'redis']) {
    if (raw[s] && typeof raw[s] === 'object') applyPassword(raw[s] as Obj, s);
  }

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((i) => {
      const key = i.path.length ? i.path.join('.') : '(top level)';
      return `  ${key}: ${i.message}`;
    });
    throw new ConfigError(`invalid config:\n${lines.join('\n')}`);
  }
  const cfg = result.data;
  if (!/^imaps?:$/.test(new URL(cfg.imap.url).protocol)) throw new ConfigError('imap.url: must start with imap:// or imaps://');
  if (!/^smtps?:$/.test(new URL(cfg.smtp.url).protocol)) throw new ConfigError('smtp.url: must start with smtp:// or smtps://');
  if (!/^rediss?:$/.test(new URL(cfg.redis.url).protocol)) throw new ConfigError('redis.url: must start with redis:// or rediss://');
  if (cfg.sla.respond < cfg.sla.acknowledge) throw new ConfigError('sla.respond: must not be shorter than sla.acknowledge');
  for (const step of cfg.escalation ?? []) {
    for (const ch of step.notify) {
      if (!cfg.pager[ch]) throw new ConfigError(`escalation: notify names "${ch}", which is not a channel under pager:`);
    }
  }
  return cfg;
}

/** Load the YAML file named by `--config` or SECDESK_CONFIG. */
export function loadConfig(file: string | undefined, opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? {};
  const chosen = file ?? env.SECDESK_CONFIG;
  if (!chosen) throw new ConfigError('no config file: pass --config PATH or set SECDESK_CONFIG');
  let text: string;
  try {
    text = readFileSync(chosen, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config ${chosen}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`config ${chosen} is not valid YAML: ${(e as Error).message}`);
  }
  return buildConfig(parsed, { env, baseDir: opts.baseDir ?? path.dirname(path.resolve(chosen)) });
}

/** The bare address out of `smtp.from` ("Example Security <security@example.test>"). */
export function fromAddress(cfg: Config): string {
  const m = /<([^>]+)>/.exec(cfg.smtp.from);
  return (m?.[1] ?? cfg.smtp.from).trim().toLowerCase();
}

/** Our own addresses: never a reporter, never auto-replied to. */
export function ownAddresses(cfg: Config): Set<string> {
  return new Set([cfg.address, fromAddress(cfg), ...cfg.aliases]);
}
