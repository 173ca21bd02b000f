import type { TextGrams } from './grams';
import { mayMatch } from './grams';
import type { Section } from './sections';
import { findSection } from './sections';

/**
 * The class of issue a report describes, normalised, and the CWE IDs it names (or the class's
 * canonical CWE). Names of a class ("SQL injection", "Pufferüberlauf", "路径遍历") are strong
 * evidence; symptoms ("hangs", "crashes") are weak and used only when no class is named.
 */

export const ISSUE_TYPES = [
  'buffer-overflow',
  'use-after-free',
  'sql-injection',
  'xss',
  'csrf',
  'path-traversal',
  'auth-bypass',
  'dos',
  'rce',
  'ssrf',
  'xxe',
  'open-redirect',
  'info-disclosure',
  'crypto',
  'other',
] as const;
export type IssueType = (typeof ISSUE_TYPES)[number];

interface ClassRule {
  id: IssueType;
  /** The CWE a report of this class gets when it names none itself. */
  cwe: string | null;
  strong: RegExp;
  weak?: RegExp;
}

/**
 * Order breaks ties at the same position: the more specific class first (a "heap buffer overflow"
 * is not a DoS; "XML external entity" is not an injection of another kind).
 */
const RULES: ClassRule[] = [
  { id: 'use-after-free', cwe: 'CWE-416', strong: /use[- ]after[- ]free|\buaf\b|double[- ]free|释放后(重用|使用)|uso despu[eé]s de liberar|verwendung nach (der )?freigabe/i },
  {
    id: 'buffer-overflow',
    cwe: 'CWE-120',
    strong: /(buffer|heap|stack-based|array)[- ]?(over|under)(flow|run)|buffer[- ]overflow|heap[- ]overflow|out[- ]of[- ]bounds (write|read)|\boob (write|read)|(puffer|heap|speicher)[- ]?überlauf|desbordamiento de (b[uú]fer|memoria|mont[ií]culo)|escritura fuera de l[ií]mites|(堆|缓冲区|内存)溢出|越界(写|读)/i,
    weak: /memory corruption|speicherbeschädigung|corrupci[oó]n de memoria|内存破坏|segfault|segmentation fault/i,
  },
  { id: 'sql-injection', cwe: 'CWE-89', strong: /sql[- ]?(injection|injektion|注入)|\bsqli\b|inyecci[oó]n( de)? sql|blind sql|sql注入/i },
  { id: 'xxe', cwe: 'CWE-611', strong: /\bxxe\b|xml external entit|externe(n|r)? (xml-)?entit|entidad(es)? externas? xml|xml ?外部实体/i },
  { id: 'xss', cwe: 'CWE-79', strong: /\bxss\b|cross[- ]site[- ]scripting|跨站脚本|secuencias de comandos en sitios cruzados/i },
  {
    id: 'csrf',
    cwe: 'CWE-352',
    strong: /\bcsrf\b|\bxsrf\b|cross[- ]site request forgery|falsificaci[oó]n de peticiones? (en|entre) sitios cruzados|跨站请求伪造|seiten[üu]bergreifende anfragef[äa]lschung/i,
  },
  {
    id: 'ssrf',
    cwe: 'CWE-918',
    strong: /\bssrf\b|server[- ]side request forgery|falsificaci[oó]n de peticiones? del lado del servidor|服务(端|器端)?请求伪造|serverseitige anfragef[äa]lschung/i,
  },
  {
    id: 'path-traversal',
    cwe: 'CWE-22',
    strong: /(path|directory)[- ]traversal|(verzeichnis|pfad)[- ]?(traversierung|traversal|durchquerung)|recorrido de (directorios|rutas)|salto de directorios?|(路径|目录)(遍历|穿越)|\blfi\b|local file inclusion|zip[- ]?slip/i,
  },
  { id: 'open-redirect', cwe: 'CWE-601', strong: /open[- ]redirect|unvalidated redirect|offene weiterleitung|redirecci[oó]n abierta|开放重定向|任意(url)?跳转|url ?跳转/i },
  {
    id: 'rce',
    cwe: 'CWE-94',
    strong: /remote code execution|\brce\b|code execution|command injection|os command|arbitrary (code|command)|(befehls|kommando)[- ]?injektion|(code|befehls)ausführung|ausführung (beliebigen|von) (code|befehlen)|ejecuci[oó]n (remota )?de (c[oó]digo|comandos)|inyecci[oó]n de comandos|(远程)?(代码|命令)执行|命令注入|insecure deserialization/i,
  },
  {
    id: 'auth-bypass',
    cwe: 'CWE-287',
    strong: /auth(entication)?[- ]bypass|bypass(es|ed|ing)? (the )?(auth\w*|login|2fa|mfa|two-factor|totp|password)|(password|login|auth\w*|2fa|mfa|totp) (check|verification)? ?can be bypassed|authentication (issue|flaw|weakness|problem)|(improper|broken|missing) authentication|umgehung der (authentifizierung|anmeldung|zwei-faktor)|authentifizierungs?umgehung|(omisi[oó]n|evasi[oó]n|bypass) de (la )?autenticaci[oó]n|(认证|身份验证|登录|鉴权)绕过|绕过(认证|身份验证|登录|双因素|鉴权)|session fixation|improper session expiration/i,
  },
  {
    id: 'info-disclosure',
    cwe: 'CWE-200',
    strong: /information (disclosure|exposure|leak)|(sensitive )?data (exposure|leak)|info(rmation)?[- ]leak|(user|account) enumeration|informations?(offenlegung|leck|preisgabe)|offenlegung (von|sensibler)|divulgaci[oó]n de (informaci[oó]n|datos)|fuga de (informaci[oó]n|datos)|exposici[oó]n de (informaci[oó]n|datos)|信息泄[露漏]|敏感信息泄|数据泄[露漏]/i,
    weak: /\bleaks?\b|\bexposes?\b|\bexposed\b/i,
  },
  {
    id: 'crypto',
    cwe: 'CWE-327',
    strong: /weak (crypto\w*|ciphers?|hash(es|ing)?|password hash\w*|encryption|random\w*|keys?)|cryptographic (weakness|issue|flaw|problem)|insecure (hash\w*|cipher|crypto\w*|random)|unsalted|clear[- ]?text|plain[- ]?text (password|credential)s?|in plaintext|klartext|schwache (verschlüsselung|kryptograph)|texto (plano|claro)|cifrado d[eé]bil|明文|弱加密|弱哈希|padding oracle|timing attack|downgrade attack/i,
  },
  {
    id: 'dos',
    cwe: 'CWE-400',
    strong: /denial[- ]of[- ]service|\bdos\b|\bredos\b|resource exhaustion|(cpu|memory) exhaustion|exhausts? (the )?(cpu|memory)|dienstverweigerung|denegaci[oó]n de servicio|拒绝服务/i,
    weak: /\bhangs?\b|\bhung\b|100 ?% cpu|infinite loop|endlosschleife|\bcrash(es|ed)?\b|out of memory|\boom\b|absturz|st[üu]rzt ab|se cuelga|bucle infinito|崩溃|卡死|内存(持续)?增长/i,
  },
  {
    id: 'other',
    cwe: null,
    strong: /clickjacking|x-frame-options|missing security headers?|race condition|prototype pollution|insecure direct object|\bidor\b|privilege escalation|rechteausweitung|escalada de privilegios|权限提升|越权|header injection|crlf injection|mail spoofing|e-?mail spoofing/i,
  },
];

/** CWE IDs that name a class (the first one written decides when the text names none). */
const CWE_CLASS: Record<string, IssueType> = {
  'CWE-119': 'buffer-overflow', 'CWE-120': 'buffer-overflow', 'CWE-121': 'buffer-overflow', 'CWE-122': 'buffer-overflow',
  'CWE-125': 'buffer-overflow', 'CWE-787': 'buffer-overflow', 'CWE-416': 'use-after-free', 'CWE-415': 'use-after-free',
  'CWE-89': 'sql-injection', 'CWE-79': 'xss', 'CWE-352': 'csrf', 'CWE-22': 'path-traversal', 'CWE-23': 'path-traversal',
  'CWE-287': 'auth-bypass', 'CWE-306': 'auth-bypass', 'CWE-613': 'auth-bypass', 'CWE-400': 'dos', 'CWE-1333': 'dos',
  'CWE-674': 'dos', 'CWE-770': 'dos', 'CWE-94': 'rce', 'CWE-78': 'rce', 'CWE-77': 'rce', 'CWE-502': 'rce',
  'CWE-918': 'ssrf', 'CWE-611': 'xxe', 'CWE-601': 'open-redirect', 'CWE-200': 'info-disclosure',
  'CWE-532': 'info-disclosure', 'CWE-209': 'info-disclosure', 'CWE-327': 'crypto', 'CWE-328': 'crypto',
  'CWE-916': 'crypto', 'CWE-319': 'crypto', 'CWE-1021': 'other',
};

const CWE_RE = /\bCWE[- ]?(\d{1,5})\b/gi;

/** CWE IDs written in the text, normalised to `CWE-89`, in order of appearance. */
export function writtenCwes(text: string, grams?: TextGrams): string[] {
  const out: string[] = [];
  if (!mayMatch(grams, CWE_RE)) return out;
  for (const m of text.matchAll(CWE_RE)) {
    const id = `CWE-${Number(m[1])}`;
    if (!out.includes(id)) out.push(id);
    if (out.length >= 20) break;
  }
  return out;
}

function earliest(text: string, kind: 'strong' | 'weak', rules: ClassRule[]): IssueType | null {
  let best: { id: IssueType; at: number } | null = null;
  for (const r of rules) {
    const re = r[kind];
    if (!re) continue;
    const m = re.exec(text);
    if (m && (best === null || m.index < best.at)) best = { id: r.id, at: m.index };
  }
  return best?.id ?? null;
}

export interface IssueClass {
  issue_type: IssueType | null;
  cwe: string[];
  /** A class was named outright (not only inferred from symptoms or a CWE number). */
  named: boolean;
}

/**
 * Where the class is read from, in order: a "Type of issue" answer, the subject, the body (the first
 * class named: a SQL injection "that leads to RCE" is a SQL injection), then symptoms, then a CWE.
 */
export function classifyIssue(subject: string, text: string, sections: Section[], grams?: TextGrams): IssueClass {
  const cwes = writtenCwes(`${subject}\n${text}`, grams);
  const typeAnswer = findSection(sections, 'issue_type')?.body.slice(0, 300) ?? '';
  let id: IssueType | null = null;
  let named = true;
  // Rules whose pattern can match somewhere: `grams` cover the subject and the text, so all three sources.
  const strong = RULES.filter((r) => mayMatch(grams, r.strong));
  for (const source of [typeAnswer, subject, text]) {
    id = earliest(source, 'strong', strong);
    if (id) break;
  }
  if (!id) {
    named = false;
    const weak = RULES.filter((r) => r.weak && mayMatch(grams, r.weak));
    for (const source of [typeAnswer, subject, text]) {
      id = earliest(source, 'weak', weak);
      if (id) break;
    }
  }
  if (!id) {
    const known = cwes.find((c) => CWE_CLASS[c] !== undefined);
    if (known) id = CWE_CLASS[known] ?? null;
  }
  const canonical = RULES.find((r) => r.id === id)?.cwe;
  const cwe = cwes.length > 0 ? cwes : canonical ? [canonical] : [];
  return { issue_type: id, cwe, named };
}
