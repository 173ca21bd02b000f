/**
 * Is a reporter's follow-up a status chaser ("any update?", "nobody answered", "did you receive my
 * report?") rather than more technical detail? Pure, cheap, four languages (en, de, es, zh).
 *
 * Scored, not a single regex: a strong phrase (nobody answered / did you receive / no response yet)
 * scores 3, a status question (any update? / what is the status) 2, a soft nudge (following up,
 * reminder, ping) 1; technical content (code, paths, stack traces, PoC words) takes points away, so
 * "Update: I found a second vector in src/x.c" never pages while "any news? nobody replied" does.
 * Only the new text counts: quoted lines, the quoted-reply header and the signature are cut first.
 */

const STRONG: RegExp[] = [
  // en
  /\b(?:nobody|no one|no-one|noone)\b[^.?!\n]{0,30}\b(?:answer|answered|replied|responded|reply|respond|got back|gotten back|acknowledged|contacted)/,
  /\b(?:haven'?t|have not|hasn'?t|has not|didn'?t|did not|never)\s+(?:yet\s+)?(?:heard|received|gotten|got)\b[^.?!\n]{0,40}\b(?:back|response|reply|answer|acknowledg\w*|anything|word)/,
  /\b(?:haven'?t|have not|not)\s+heard\s+(?:back|anything|from)/,
  /\bdid (?:you|anyone|someone|your team)\s+(?:\w+\s+)?(?:receive|get|see|read)\b[^.?!\n]{0,40}\b(?:report|e-?mail|mail|message|submission|disclosure)/,
  /\b(?:can|could) you (?:please )?confirm (?:the )?(?:receipt|(?:that )?you (?:have )?(?:received|got))/,
  /\bno (?:response|reply|answer|acknowledg\w*) (?:yet|so far|at all|since)/,
  /\bstill (?:no|haven'?t|have not|waiting)\b/,
  /\bis (?:anyone|anybody|someone) (?:there|looking|reading|handling|working)/,
  // de
  /\b(?:niemand|keiner)\b[^.?!\n]{0,30}\b(?:geantwortet|reagiert|gemeldet|zurückgemeldet)/,
  /\b(?:keine|noch keine)\s+(?:antwort|rückmeldung|reaktion|eingangsbestätigung)\b/,
  /\bnichts (?:mehr )?(?:von (?:euch|ihnen|dir) )?gehört/,
  /\b(?:habt ihr|haben sie|hast du)\b[^.?!\n]{0,40}\b(?:erhalten|bekommen|gesehen|gelesen)\b/,
  /\bwarte (?:immer )?noch\b/,
  // es
  /\bnadie\b[^.?!\n]{0,30}\b(?:respondido|contestado|respondió|contestó|responde|contesta)/,
  /\bno (?:he |hemos )?(?:recibido|tenido|obtenido)\s+(?:ninguna |ningún |una |un )?(?:respuesta|noticias|contestación|acuse)/,
  /\bsin (?:ninguna )?(?:respuesta|noticias|contestación)\b/,
  /\b(?:recibieron|recibiste|recibió|han recibido|habéis recibido|ha recibido)\b[^.?!\n]{0,40}\b(?:reporte|informe|correo|mensaje|email|e-mail)/,
  /\bsigo esperando\b/,
  // zh
  /(?:没有|沒有|没|沒)(?:人|任何人)?(?:回复|回覆|答复|回应|回應|回音|理会|理會)/,
  /没人(?:理|管|回)/,
  /(?:收到|看到)(?:了)?(?:我的)?(?:报告|報告|邮件|郵件|信|消息)(?:了)?(?:吗|嗎|没有|沒有)/,
  /是否(?:已经|已經)?收到/,
  /(?:还在|還在|一直在)等/,
];

const STATUS: RegExp[] = [
  // en
  /\bany (?:update|updates|news|progress|feedback|status)\b/,
  /\b(?:what(?:'s| is)|how is) the (?:status|progress|current status)\b/,
  /\bstatus (?:of|on) (?:my|our|this|the) (?:report|issue|submission|case|vulnerability|disclosure)/,
  /\b(?:is there|are there) (?:any|an) (?:update|news|progress|timeline|eta)\b/,
  /\bwhen (?:can|could|should|will|might) (?:i|we) (?:expect|hear)/,
  /\b(?:status|update) please\b/,
  // de
  /\bgibt es (?:schon |bereits )?(?:etwas )?(?:neues|neuigkeiten|einen (?:neuen )?(?:stand|zwischenstand|sachstand)|ein update|updates)\b/,
  /\b(?:wie ist der|wie sieht es mit dem|wie ist denn der|den aktuellen|der aktuelle|aktueller) (?:stand|status|sachstand|bearbeitungsstand)\b/,
  /\b(?:bitte um|ich bitte um|würde mich über) (?:eine |einen )?(?:kurze )?(?:rückmeldung|statusmeldung|zwischenstand|bestätigung)/,
  // es
  /\b(?:alguna|hay alguna|tienen alguna|hay) (?:novedad|novedades|actualización|noticia|noticias)\b/,
  /\b(?:cuál es|cual es|en qué|qué) (?:el )?estado\b/,
  /\bestado (?:de|del) (?:mi|nuestro|este|el) (?:reporte|informe|caso|problema)/,
  // zh
  /(?:有|有没有|有沒有)(?:什么|什麼|任何)?(?:进展|進展|更新|消息|回复|回覆|反馈|反饋)/,
  /(?:进展|進展|进度|進度|处理情况|處理情況|状态|狀態)(?:如何|怎么样|怎麼樣|怎样|呢)/,
  /(?:目前|现在|現在)(?:的)?(?:进展|進展|进度|進度|状态|狀態)/,
];

const NUDGE: RegExp[] = [
  /\b(?:just )?(?:following|follow) up\b/,
  /\bchecking in\b/,
  /\b(?:gentle |friendly |kind )?reminder\b/,
  /^(?:ping|bump)\b/m,
  /\b(?:nachfragen|nachhaken|erinnerung|nachfrage)\b/,
  /\b(?:seguimiento|recordatorio|quería saber|quisiera saber)\b/,
  /(?:跟进|跟進|催一下|提醒一下|请问|請問)/,
];

const TECHNICAL: RegExp[] = [
  /```|^\s{4,}\S.*[;{}()]\s*$/m, // code block or indented code
  /(?:^|[\s(])(?:[\w.-]+\/)+[\w.-]+\.(?:c|h|cc|cpp|rs|go|py|js|ts|java|php|rb|toml|ya?ml|json|xml)\b/m, // source path
  /\b(?:at \S+ \(|traceback|stack trace|backtrace|segmentation fault|sigsegv|addresssanitizer|panicked at)/,
  /\b(?:poc|proof of concept|exploit|payload|reproducer|repro steps|steps to reproduce|curl |post \/|get \/)/,
  /\bcvss:[34]\.\d\//,
  /\b0x[0-9a-f]{6,}\b/,
  /\b(?:i (?:also )?found|additional (?:details|information|info)|another (?:vector|variant|way)|more details|further analysis)\b/,
  /\b(?:weitere details|zusätzlich|außerdem habe ich|más detalles|además encontré|otro vector|补充|另外发现|更多细节|另一个)/,
];

/** Cut the quoted history and the signature: only what the reporter wrote now counts. */
export function newText(text: string): string {
  const out: string[] = [];
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    const t = line.trim();
    if (t === '--' || line === '-- ' || /^_{5,}$/.test(t) || /^-{3,}\s*(?:original message|ursprüngliche nachricht|mensaje original)/i.test(t)) break;
    if (/^(?:on|am|el|le)\b.{5,200}\b(?:wrote|schrieb|escribió|a écrit)\s*:?\s*$/i.test(t) || /^在.{2,100}写道[:：]?$/.test(t)) break;
    if (t.startsWith('>')) continue;
    out.push(line);
  }
  return out.join('\n');
}

function normalise(s: string): string {
  return s
    .toLowerCase()
    .replace(/[？]/g, '?')
    .replace(/[’`]/g, "'")
    .replace(/[ \t]+/g, ' ');
}

function count(res: RegExp[], s: string): number {
  return res.filter((re) => re.test(s)).length;
}

export interface ChaserScore {
  score: number;
  strong: number;
  status: number;
  nudge: number;
  technical: number;
}

export function scoreChaser(text: string, subject: string): ChaserScore {
  const body = normalise(newText(text));
  const subj = normalise(subject.replace(/^\s*(?:(?:re|aw|sv|fw|fwd|wg|rv|答复|回复|回覆)\s*[:：]\s*)+/i, ''));
  const strong = count(STRONG, body) + count(STRONG, subj);
  const status = count(STATUS, body) + count(STATUS, subj);
  const nudge = count(NUDGE, body) + count(NUDGE, subj);
  const technical = count(TECHNICAL, body);
  // One point per technical signal, capped so a long detailed chaser that says "nobody answered" still pages.
  const score = 3 * Math.min(strong, 2) + 2 * Math.min(status, 2) + Math.min(nudge, 1) - Math.min(technical, 3);
  return { score, strong, status, nudge, technical };
}

export const CHASER_THRESHOLD = 2;

export function isStatusChaser(text: string, subject: string): boolean {
  const s = scoreChaser(text, subject);
  return s.strong + s.status > 0 && s.score >= CHASER_THRESHOLD;
}
