/**
 * Report, support question or spam. Robots (auto-replies, bounces, lists) are told apart before this,
 * from headers (src/parse/robot.ts).
 *
 * The errors are not equal: a real report filed as support or spam goes unanswered while its SLA
 * clock never starts, whereas a support question filed as a report costs a maintainer one command.
 * So the rules look for reasons to call a message a report first, require clear wording for spam and
 * support, and fall back to `report` when nothing decides.
 */

import type { TextGrams } from './grams';
import { mayMatch } from './grams';

export type TriageKind = 'report' | 'support' | 'spam';

export interface KindSignals {
  subject: string;
  text: string;
  /** The issue class, when one was named outright (not guessed from symptoms). */
  namedIssue: string | null;
  cvss: boolean;
  cwe: boolean;
  pocAttachment: boolean;
  /** Grams covering subject and text, to skip patterns that cannot match (see grams.ts). */
  grams?: TextGrams;
}

export interface KindVerdict {
  kind: TriageKind;
  reason: string;
}

/** Words of the security trade: a message using them is about a vulnerability, even a vague one. */
const VULN_WORDS =
  /\bvulnerab\w*|\bsecurity (?:issue|bug|problem|flaw|hole|vulnerability|report|weakness)|\bexploit(?:able|ed|s)?\b|\battacker|\bcve-\d{4}-\d{3,}|sicherheitslücke|schwachstelle|sicherheitsproblem|angreifer|vulnerabilidad|fallo de seguridad|problema de seguridad|brecha de seguridad|atacante|漏洞|安全问题|安全隐患|攻击者/i;

/** The writer says they found something (as opposed to offering to look for things). */
const FINDING =
  /\b(?:i|we)(?: have|'ve| just| recently)? (?:found|discovered|identified|noticed|observed)\b|\bi (?:would|'d) like to report\b|\b(?:want|wish) to report\b|\bfound an? (?:way|bug|issue|vulnerability|flaw|problem)\b|\b(?:ich|wir) ha(?:be|ben) [^.\n]{0,60}(?:gefunden|entdeckt|festgestellt)|\b(?:he|hemos) (?:encontrado|descubierto|detectado)|\bles escribo para informar|我(?:们)?(?:在[^。\n]{0,30})?发现|发现了/i;

/** Marketing, scams and sales: each pattern is one family of wording; two families make spam. */
const SPAM_FAMILIES: [string, RegExp][] = [
  ['seo', /\bseo\b|backlinks?|first page of google|page 1 (?:on|of) google|rank(?:ing)? (?:on|higher)|suchmaschinenoptimierung|posicionamiento web|seo优化|网站建设/i],
  ['marketing', /digital marketing|marketing (?:services|consultant|executive|agency)|online-marketing|lead generation|email list|attendees? (?:email )?list|推广|代开发票|发票/i],
  ['offer', /\b(?:special|limited|exclusive) (?:offer|opportunity|time)|\b\d{1,3} ?% off\b|\bdiscount\b|free (?:audit|trial|quote|consultation|website audit|\d+ minute call)|book a (?:free )?(?:call|demo|meeting)|unverbindliches angebot|kostenlos(?:es|en)? (?:und unverbindlich|angebot)|oferta (?:por tiempo limitado|especial|exclusiva)|tiempo limitado|限时|优惠|买一(?:年)?送一|价格全网最低/i],
  ['link-selling', /\bguest post|\bdo-?follow\b|\bsponsored (?:post|article)|\bpaid (?:post|placement)|\bplacement fee|\bpay (?:you )?a (?:small )?fee\b|\bfreelance writer\b|\bin return\b[^.\n]{0,40}\b(?:link|backlink|mention)/i],
  ['pricing', /\bpricing\b|packages? start|starting at \$|\$\d[\d,]*(?:\/month| per month)|price list|send you the pricing|\b\d[\d.,]{0,8} ?€ al mes|precio especial|价格/i],
  ['money', /\bbitcoin\b|\bbtc\b|\busdt\b|crypto ?currenc|criptomonedas|\bwallet\b|withdraw|investment|inversi[oó]n|guaranteed (?:daily )?(?:profit|results|returns)|rentabilidad(?:es)? garantizada|ganar dinero|make money|lottery|inheritance|beneficiary|\bloan\b|préstamo|博彩|贷款|刷单|兼职/i],
  ['scam', /congratulations!?|you have won|has been credited|verify your identity|activation fee|unclaimed|act now|dear (?:valued )?(?:customer|friend|beneficiary)|estimado amigo|尊敬的客户/i],
  ['unsubscribe', /unsubscribe|opt[- ]out|abmelden|keine weiteren informationen|darse de baja|no desea recibir|退订|回复 ?td\b/i],
];

/** Usage questions and trouble reports about running the software. */
const SUPPORT: [string, RegExp][] = [
  ['how-to question', /\bhow (?:do|can|should|would) (?:i|we|you)\b|\bhow to\b|\bis (?:it|there) (?:possible|a way)\b|\bdoes (?:larkspur|it|the \w+) support\b|\bcan (?:i|we) (?:configure|use|set|enable|change|reset|run)\b|\bwhich (?:rust |\w+ )?version\b|\bwhat am i missing\b|\bany (?:pointers|hints|ideas)\b|\bpoint me to\b|\bis there (?:a|an|any) (?:[\w-]+ ){0,3}(?:guide|documentation|docs|tool|option|setting|recommendation)s?\b|\bwhat do you recommend\b|\brecommended (?:way|settings|setup|configuration|list)\b|\bbest practices?\b/i],
  ['frage', /\bwie (?:kann|muss|soll|konfiguriere|richte) (?:ich|man)\b|\bist es möglich\b|\bgibt es (?:eine|irgendwo|einen)\b|\bmuss ich\b|\bfrage zu(?:r)?\b|\bkann man\b[^.?\n]{0,60}\?/i],
  ['pregunta', /¿\s*(?:c[oó]mo|se puede|tengo que|alguien|d[oó]nde|qu[eé]|es posible|hay alguna?|existe|puedo)|\bc[oó]mo (?:puedo|configuro|instalo|hago)\b/i],
  ['问题', /请问|如何(?:配置|设置|安装|开启|使用|迁移)|怎么(?:办|解决|配置|设置)|应该怎么|是否支持|是否可以|能否/],
  ['trouble', /\binstall(?:ation)? (?:fails|failed|error|problem)|\bfails to (?:start|build|install|compile)\b|\bbuild(?:ing)? (?:from source )?fails\b|\bcan'?t (?:figure out|get|log ?in|install|start|configure|find)\b|\bdoesn'?t (?:work|start)\b|\bnot working\b|\blocked out\b|\bforgot the (?:admin )?password\b|startet [^.\n]{0,20}nicht|schlägt fehl|funktioniert nicht|problema al instalar|no funciona|no arranca|se reinicia|安装失败|启动失败|启动的时候报错|报错/i],
];

function families(text: string, table: [string, RegExp][], grams?: TextGrams): string[] {
  return table.filter(([, re]) => mayMatch(grams, re) && re.test(text)).map(([name]) => name);
}

export function classifyKind(s: KindSignals): KindVerdict {
  const all = `${s.subject}\n${s.text}`;
  if (s.namedIssue) return { kind: 'report', reason: `names a vulnerability class (${s.namedIssue})` };
  if (s.cvss) return { kind: 'report', reason: 'carries a CVSS vector' };
  if (s.cwe) return { kind: 'report', reason: 'names a CWE' };
  if (s.pocAttachment) return { kind: 'report', reason: 'carries a proof-of-concept attachment' };
  const vuln = mayMatch(s.grams, VULN_WORDS) ? VULN_WORDS.exec(all) : null;
  const finding = mayMatch(s.grams, FINDING) ? FINDING.exec(all) : null;
  if (vuln && finding) return { kind: 'report', reason: `claims a finding ("${finding[0].trim()}") about a vulnerability ("${vuln[0].trim()}")` };
  const spam = families(all, SPAM_FAMILIES, s.grams);
  if (spam.length >= 2) return { kind: 'spam', reason: `marketing or scam wording: ${spam.join(', ')}` };
  if (vuln) return { kind: 'report', reason: `speaks of a vulnerability ("${vuln[0].trim()}")` };
  const support = families(all, SUPPORT, s.grams);
  if (support.length > 0) return { kind: 'support', reason: `usage question: ${support.join(', ')}` };
  return { kind: 'report', reason: 'no clear sign of support or spam: treated as a report' };
}
