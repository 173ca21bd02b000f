import type { TriageDoc } from './document';
import type { Evidence } from './excerpt';
import { ABSENT, firstMatch, found, lineAround } from './excerpt';
import type { TextGrams } from './grams';
import { mayMatch } from './grams';
import { PAYLOADS, commandLine, findPoc, httpRequest } from './poc';
import type { Section } from './sections';
import { findSection } from './sections';
import type { FoundUrl } from './urls';

/**
 * Whether a report states the configuration, the steps, a PoC and the impact — each from a labelled
 * section when the reporter used one, else from phrasing in English, German, Spanish and Chinese.
 */

const CONFIG: RegExp[] = [
  /\bdefault (?:config\w*|install\w*|settings?|setup|options?)\b|\bwith the defaults?\b|\bout of the box\b/i,
  /\b(?:with|when|if) [`'"]?[\w.-]+[`'"]?(?: [\w.-]+)?(?: is| are)? (?:enabled|disabled|turned on|switched on|set to)\b/i,
  /\b(?:must|needs? to|has to|have to|should) be (?:enabled|configured|turned on|set)\b|\bwe set\b|\brequires? (?:the )?[`'"]?[\w.-]+[`'"]? (?:option|setting|flag)\b/i,
  /`[\w-]+(?:\.[\w-]+)+\s*=\s*[^`\n]{1,60}`/,
  /standard-?(?:setup|konfiguration|einstellungen?|installation)|voraussetzung|\bwenn [^.\n]{0,60}\b(?:aktiviert|eingeschaltet|gesetzt|konfiguriert)\b|\bmit aktivierte[mrn]?\b|muss [^.\n]{0,40}(?:aktiviert|eingeschaltet) sein/i,
  /configuraci[oó]n (?:por defecto|predeterminada)|instalaci[oó]n por defecto|\bpor defecto\b|deben? estar (?:habilitad|activad)|requiere que/i,
  /默认(?:配置|安装|设置)|需要(?:开启|启用|配置|打开)|开启[^。\n]{0,20}(?:后|时)|启用[^。\n]{0,20}(?:后|时)/,
];

const REPRO: RegExp[] = [
  /steps to reproduce|\bto reproduce\b|how to reproduce|reproduc(?:e|ed|ible)\b[^.\n]{0,40}\b(?:by|with|using)\b|\bsteps:|open (?:this|the) (?:link|url|page)|visit (?:this|the) (?:link|url)/i,
  /schritte (?:zur|zum)|zum (?:nachstellen|reproduzieren)|nachstellen|nachvollziehen|reproduzier/i,
  /para reproducir|pasos para|reproducirlo|se reproduce (?:con|al)/i,
  /复现|重现|触发方法|触发步骤/,
];

const TRIGGER =
  /\b(?:sending|send(?:ing)? (?:an?|the)|uploading|opening|requesting|visiting|submitting|if you (?:send|open|upload|visit|request|click|log in)|an? (?:script|message|mail|request|file|payload|sieve script) with|(?:an?|the) (?:[\w-]+ ){0,2}(?:like|such as|containing)|wenn man|al enviar|si se env[ií]a)\b|发送|访问|请求|打开/gi;
const CONSEQUENCE = /\b(?:makes?|causes?|crash(?:es)?|triggers?|returns?|results? in|leads? to|pins?|hangs?|freezes?|fires|executes?|runs?|sends the user|redirects?|leaks?|exposes?|shows?|dumps?|bringt|führt|stürzt|provoca|devuelve)\b|导致|造成|返回/i;

/** Note: `\b` is ASCII-only in JS regexes, so German/Spanish words starting with `ä`/`ü` use `(?<=\s)`. */
const IMPACT: RegExp[] = [
  /\b(?:attackers?|adversary|anyone|anybody|everyone|malicious (?:users?|actors?|tenants?)|any (?:authenticated |logged-in |local |remote )?(?:user|person|one|tenant)s?|(?:remote|unauthenticated|authenticated|malicious|local|low-privileged)(?: \w+)? (?:client|user|sender|peer|visitor)s?)\b[^.\n]{0,100}?\b(?:can|could|may|might|is able to|are able to|would be able to|gets?|gains?|keeps?|will be able|takes? over|reads?|steals?|obtains?|controls?)\b/i,
  /\b(?:nobody|no one|no other users?|none of the users)\b[^.\n]{0,60}\b(?:can|could|is able to)\b|\busers? (?:cannot|can't|can no longer) (?:read|send|receive|log ?in|connect)\b/i,
  /\b(?:allows?|allowing|lets?|letting|enables?|permits?)\s+(?:(?:an?|any|the|remote|unauthenticated|authenticated|low-privileged|malicious)\s+)*(?:attackers?|adversary|users?|anyone|anybody|someone|tenants?|admin\w*|clients?|one user|people)\b/i,
  /\bhelps? (?:an? |the )?attackers?\b|\b(?:leads? to|results? in|resulting in|could lead|can lead|may lead|likely exploitable|exploitable for|which means)\b[^.\n]{0,60}\b(?:code execution|compromise|takeover|corruption|leak\w*|disclosure|denial|crash\w*|access|bypass|theft|loss|execution)/i,
  /\bfor (?:all|every|other) (?:users|clients|customers|tenants|accounts)\b|\bfor everyone\b|\bother clients\b|\buntil (?:it is |the server is |the service is )?restarted\b|\b(?:account takeover|full compromise|data loss|session hijacking)\b/i,
  /\b(?:ein |der |jeder |jede )?(?:angreifer\w*|jeder|wer)\b[^.\n]{0,100}?(?<=\s)(?:kann|können|könnte|darf|erhält|bekommt|übernimmt|liest|ändert|erlangt|stiehlt|führt)(?![a-zäöüß])|\bermöglicht (?:es )?(?:einem|jedem|angreifer)|\bdamit (?:lassen sich|kann man|können)\b|für alle benutzer/i,
  /\b(?:un |el |cualquier )?atacantes?\b[^.\n]{0,100}?\b(?:puede|pueden|podr[ií]an?|podr[aá]|obtiene|consigue|logra)\b|\bpermite (?:a|que) (?:un|cualquier|los|el)\b|\bcualquier (?:usuario|persona)\b[^.\n]{0,60}\bpuede/i,
  /攻击者|可能?导致[^。\n]{0,20}(?:执行|泄露|崩溃|拒绝服务|绕过|破坏)|造成[^。\n]{0,20}(?:拒绝服务|泄露|破坏|崩溃)|可以(?:读取|获取|访问|执行|修改|窃取|冒充|绕过|登录|探测)|所有用户都/,
];

function fromSection(sections: Section[], id: 'configuration' | 'reproduction' | 'impact'): Evidence | null {
  // "Configuration: none, default install" answers the question; "Impact: none" does not.
  const s = findSection(sections, id, id === 'configuration');
  return s ? found(`${s.heading}: ${s.body}`) : null;
}

const STEP_ONE = /^\s*1[.)]\s+\S/;
const STEP_TWO = /^\s*2[.)]\s+\S/;

/** Numbered steps: a "1." line followed (blank lines allowed) by a "2." line. */
function numberedSteps(text: string, grams?: TextGrams): string | null {
  if (!mayMatch(grams, STEP_ONE) || !mayMatch(grams, STEP_TWO)) return null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!STEP_ONE.test(lines[i] ?? '')) continue;
    for (let j = i + 1; j < Math.min(lines.length, i + 8); j++) {
      if (STEP_TWO.test(lines[j] ?? '')) return (lines[i] ?? '').trim();
    }
  }
  return null;
}

/** "Sending X … makes the server …": a way to trigger it, written as prose. */
function triggerAndConsequence(text: string, grams?: TextGrams): string | null {
  if (!mayMatch(grams, TRIGGER) || !mayMatch(grams, CONSEQUENCE)) return null;
  for (const m of text.matchAll(TRIGGER)) {
    if (CONSEQUENCE.test(text.slice(m.index, m.index + 300))) return lineAround(text, m.index);
  }
  return null;
}

/** A URL carrying a payload is itself the reproduction: open it and see. */
function payloadUrl(urls: FoundUrl[], grams?: TextGrams): string | null {
  if (urls.length === 0) return null;
  const payloads = PAYLOADS.filter((re) => mayMatch(grams, re));
  for (const u of urls) if (payloads.some((re) => re.test(u.url))) return u.url;
  return null;
}

export interface ReportEvidence {
  configuration: Evidence;
  reproduction: Evidence;
  poc: Evidence;
  impact: Evidence;
}

export function findEvidence(doc: TriageDoc, sections: Section[], urls: FoundUrl[]): ReportEvidence {
  const text = doc.text;
  // Phrases are matched on the flowed text (wrapped lines joined); line shapes on the text as written.
  const prose = doc.flowed;
  const grams = doc.grams;
  // A command written out is both a way to reproduce and a PoC: one scan of the lines answers both.
  let command: string | null | undefined;
  const commandOnce = (): string | null => (command === undefined ? (command = commandLine(text, grams)) : command);
  const configuration = fromSection(sections, 'configuration') ?? firstMatch(prose, CONFIG, grams) ?? ABSENT;
  let reproduction = fromSection(sections, 'reproduction') ?? firstMatch(prose, REPRO, grams);
  if (!reproduction) {
    const how = numberedSteps(text, grams) ?? commandOnce() ?? httpRequest(text, grams) ?? triggerAndConsequence(prose, grams) ?? payloadUrl(urls, grams);
    reproduction = how ? found(how) : ABSENT;
  }
  const impact = fromSection(sections, 'impact') ?? firstMatch(prose, IMPACT, grams) ?? ABSENT;
  return { configuration, reproduction, poc: findPoc(text, sections, doc.attachments, grams, commandOnce), impact };
}
