import type { TriageAttachment } from './document';
import type { Evidence } from './excerpt';
import { firstMatch, found, lineAround } from './excerpt';
import type { TextGrams } from './grams';
import { mayMatch } from './grams';
import type { Section } from './sections';
import { findSection } from './sections';

/**
 * Exploit artefacts: an attached script or input file, a code block, a command or request with the
 * payload, a payload string, a link to a paste holding one. Shared with reproduction: a command or a
 * request written out is also the way to reproduce.
 */

const COMMAND_WORD = /^(?:curl|wget|nc|ncat|netcat|telnet|socat|openssl s_client|swaks|python[23]?|perl|ruby|node|php|bash|sh|powershell|sqlmap|nmap|ffuf|httpie|docker run|for \w+ in|while true)\b(?=\s+\S)/i;
const LINE_PREFIX = /^\s*(?:\d{1,2}[.)]|[a-z]\)|[-*•]|\$|#|>)?\s*`?/i;
const INLINE_COMMAND = /`(?:curl|wget|nc|ncat|telnet|socat|openssl s_client|swaks|python[23]?|perl|bash|sh|sqlmap) [^`\n]+`/i;
const LOCAL_PROGRAM = /(?:^|\s)\.\/[\w.-]+/m;
const HTTP_REQUEST = /^(?:GET|POST|PUT|DELETE|PATCH|PROPFIND|PROPPATCH|REPORT|OPTIONS|HEAD|MKCOL|MOVE|COPY) \/\S* HTTP\/\d/m;

export const PAYLOADS: RegExp[] = [
  /<script\b|%3cscript/i,
  /\bon(?:error|load|click|mouseover|focus|toggle|begin|animationstart)\s*=/i,
  /javascript:/i,
  /<(?:svg|iframe|object|embed|math)\b/i,
  /\bunion(?:\s|%20|\+|\/\*\*\/)+(?:all(?:\s|%20|\+)+)?select\b|'\s*or\s*'?\d'?\s*=\s*'?\d|\bor\s+1\s*=\s*1\b|\bsleep\(\d|waitfor delay|select(?:%20|\+)+case\b/i,
  /(?:\.\.\/|\.\.%2f|%2e%2e%2f|\.\.\\){2,}/i,
  /<!entity|<!doctype\s+\w+\s*\[/i,
  /\$\([^)\n]{1,80}\)/,
  /;\s*(?:id|whoami|uname -a)(?=[\s>|;&"'`)]|$)/m,
  /\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\./,
  /[?&][\w.-]{1,30}=(?:https?:|https?%3a|%2f%2f|\/\/)[^\s&]+/i,
  /\$\{jndi:|\{\{[^}\n]{1,40}\}\}/i,
  // A request written inline with its parameters: "send POST /api/reset with token=a".
  /\b(?:GET|POST|PUT|DELETE|PATCH) \/[\w/{}.%-]*[?\s][^\n]{0,40}?[\w.-]+=\S+/,
];

const INLINE_URL = /`[^`\n]*https?:\/\/[^`\n]*`/;
const PASTE_LINK = /https?:\/\/(?:gist\.github(?:usercontent)?\.com|pastebin\.com|paste\.[\w.]+|hastebin\.com|ghostbin\.\w+|dpaste\.\w+|termbin\.com|privatebin\.\w+|0bin\.net)\/\S+/i;
const ATTACHED_POC = [
  /\b(?:attached|attachment|enclosed|adjunt[oa]s?|anexo|anhang|anbei|liegt bei|beigefügt)\b[^\n]{0,60}?(?:\b(?:poc|exploit|script|skript|payload|test ?case|testfall|caso de prueba|reproducer|input file)\b|\.(?:py|sh|html?|eml|bin|js|txt)\b)/i,
  /\b(?:poc|exploit|script|skript|payload|test ?case|caso de prueba)\b[^\n]{0,40}?\b(?:attached|adjunt[oa]|anbei|liegt bei|beigefügt)/i,
  /(?:测试用例|poc|脚本|利用代码|样本)[^\n。]{0,10}附件|附件[^\n。]{0,10}(?:测试用例|poc|脚本|exploit)/i,
];

/** Lines of code: a fenced block, or indented lines that look like code rather than wrapped prose. */
export function codeBlock(text: string): string | null {
  let inFence = false;
  const fenced: string[] = [];
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) {
      if (inFence && fenced.some((l) => l.trim() !== '')) return fenced.find((l) => l.trim() !== '') ?? null;
      inFence = !inFence;
      fenced.length = 0;
      continue;
    }
    if (inFence) fenced.push(line);
    else if (/^ {4,}\S/.test(line) && /[{}();=<>$|\\#[\]]|^\s*(\.\/|[a-z][\w-]* -)/.test(line)) return line.trim();
  }
  return inFence ? (fenced.find((l) => l.trim() !== '') ?? null) : null;
}

/**
 * A command line or inline command (`curl …`, `nc host 25`, `./poc.sh …`), as the line holding it.
 * `grams`, when given, must cover `text` (as for every extractor that takes them).
 */
export function commandLine(text: string, grams?: TextGrams): string | null {
  if (mayMatch(grams, COMMAND_WORD)) {
    for (const line of text.split('\n')) {
      if (line.length > 2000) continue;
      if (COMMAND_WORD.test(line.replace(LINE_PREFIX, ''))) return line.trim();
    }
  }
  const inline = (mayMatch(grams, INLINE_COMMAND) ? INLINE_COMMAND.exec(text) : null) ?? (mayMatch(grams, LOCAL_PROGRAM) ? LOCAL_PROGRAM.exec(text) : null);
  return inline ? lineAround(text, inline.index) : null;
}

export function httpRequest(text: string, grams?: TextGrams): string | null {
  const m = mayMatch(grams, HTTP_REQUEST) ? HTTP_REQUEST.exec(text) : null;
  return m ? lineAround(text, m.index) : null;
}

/** `command` gives commandLine(text): findEvidence shares the answer with the reproduction it looked for. */
export function findPoc(text: string, sections: Section[], attachments: TriageAttachment[], grams?: TextGrams, command = (): string | null => commandLine(text, grams)): Evidence {
  const att = attachments.find((a) => a.role === 'poc');
  if (att) return { present: true, excerpt: `attachment: ${att.filename}` };
  const section = findSection(sections, 'poc');
  if (section) return found(`${section.heading}: ${section.body}`);
  const direct = command() ?? httpRequest(text, grams) ?? codeBlock(text);
  if (direct) return found(direct);
  const inlineUrl = mayMatch(grams, INLINE_URL) ? INLINE_URL.exec(text) : null;
  if (inlineUrl) return found(lineAround(text, inlineUrl.index));
  return firstMatch(text, [...PAYLOADS, PASTE_LINK, ...ATTACHED_POC], grams) ?? { present: false, excerpt: null };
}
