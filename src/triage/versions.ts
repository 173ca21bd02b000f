import { normalizeVersion, versionVerdict } from '../policy/version-policy';
import type { VersionPolicy } from '../policy/version-policy';
import type { FoundUrl } from './urls';
import { insideUrl } from './urls';

/**
 * Versions of the project a report names (`v0.7.3`, `0.8.1`, `version 0.5`, `0.7.x`), normalised
 * without the leading `v`, and what the versions policy says about them. Versions of other software
 * (Ubuntu 22.04, Python 3.11, TLS 1.2, CVSS 3.1, `<?xml version="1.0"?>`) are left out.
 */

const CANDIDATE = /(?<![\w./\\-])(v?)(\d{1,3}\.\d{1,3}(?:\.(?:\d{1,3}|x))?(?:-(?:rc|beta|alpha|pre)[\w.]*)?)(?![\w]|\.\d)/gi;

/** Software whose version numbers show up in reports next to ours. */
const OTHER_PRODUCT =
  /\b(?:python|python3|node(?:\.js)?|nodejs|ubuntu|debian|tls|ssl|https?|cvss|openssl|libressl|clang|gcc|llvm|rustc?|cargo|postgres(?:ql)?|mysql|mariadb|sqlite3?|redis|docker|kernel|linux|windows|macos|os x|ios|android|chrome|chromium|firefox|safari|edge|php|java|jdk|golang|go|ruby|perl|nginx|apache|openssh|centos|rhel|fedora|alpine|glibc|musl|curl|swaks|dovecot|postfix|exim|thunderbird|outlook|elasticsearch|oauth|saml|smtp|imap|jmap|rfc|iso|wordpress|npm|pip|ldap|openldap|kubernetes|helm|afl\+*|utf|unicode|xml|html|json|yaml|toml|mime|ipv|sha|spf|dkim|dmarc|arc|bimi|vulnerability|score|bewertung|puntuaci[oó]n)\s*[-:]?\s*(?:v(?:ersion)?\s*)?$/i;

/** Words that introduce one of our versions, so a two-part `0.8` is read as a version. */
const VERSION_CONTEXT =
  /(?:\bversions?|versi[oó]n(?:es)?|\brelease[sd]?|larkspur|\btags?|etiqueta|版本|\baffect(?:s|ed|a)?|\btested (?:on|with|against)|\bwe (?:run|use)|\brunning|\busing|probad[ao]|afectad[ao]s?|betroffen\w*|getestet(?: mit)?|nutzen(?: noch)?|\bup to|\bthrough|hasta|\bbis|至|到|\bbefore|\bsince|\bfrom|seit|desde)\s*[:：]?\s*(?:v(?:ersion)?\s*)?$/i;
const LIST_JOIN = /^\s*(?:,|and|or|und|oder|y|o|和|或|至|到|-|–|to|bis|hasta|up to|through)\s*v?$/i;

export interface VersionFacts {
  versions: string[];
  supported: boolean | null;
  unsupported_versions: string[];
}

export function extractVersions(text: string, urls: FoundUrl[]): string[] {
  const out: string[] = [];
  let lastEnd = -100;
  for (const m of text.matchAll(CANDIDATE)) {
    if (out.length >= 50) break;
    const vPrefix = m[1] ?? '';
    const version = m[2] ?? '';
    const start = m.index;
    if (insideUrl(urls, start)) continue;
    const lineStart = text.lastIndexOf('\n', start - 1) + 1;
    const before = text.slice(Math.max(lineStart, start - 40), start);
    // An XML/HTML attribute (`version="1.0"`) or a key in code.
    if (/[=]\s*["']?$/.test(before)) continue;
    if (OTHER_PRODUCT.test(before)) continue;
    const parts = version.split('.').length;
    const joined = start - lastEnd <= 12 && LIST_JOIN.test(text.slice(lastEnd, start));
    const ok = vPrefix !== '' || parts >= 3 || VERSION_CONTEXT.test(before) || joined;
    if (!ok) continue;
    lastEnd = start + m[0].length;
    const v = normalizeVersion(version);
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

/** true if any named version is supported, else false if any is unsupported, else null (unknown). */
export function versionFacts(versions: string[], policy: VersionPolicy): VersionFacts {
  const verdicts = versions.map((v) => versionVerdict(v, policy));
  const supported = verdicts.includes(true) ? true : verdicts.includes(false) ? false : null;
  return { versions, supported, unsupported_versions: versions.filter((_, i) => verdicts[i] === false) };
}
