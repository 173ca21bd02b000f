/**
 * The preset deflate dictionary of stored case records (format v1, see case-codec.ts): the key
 * names of a `Case` and the values most records share, written by hand from src/types.ts,
 * src/ingest/case-draft.ts and the triage fields — not learned from any data set.
 *
 * FROZEN: every v1 record in every store was compressed against these exact bytes, and inflating
 * one needs them. Changing a single character makes those records unreadable. A better dictionary
 * is a new format tag with its own constant, v1 kept for reading (test/case-codec.test.ts pins a
 * v1 record to catch an accidental edit).
 *
 * Deflate codes nearer matches in fewer bits, so the rarer fragments come first and the skeleton
 * every new case has comes last.
 */
const FRAGMENTS: readonly string[] = [
  // Later in a case's life: PGP, resolution, commands, pager failures, bounces.
  '"sealed_key":null,"bouncing":[],"signature_key":{"fingerprint":"","user_id":null,"source":"attached"},',
  '"signature":"valid","signature":"invalid","signature":"unknown_key","encrypted":true,',
  '"subject":"(encrypted)","note":"',
  '"state":"resolved","resolved_at":"","advisory_url":"https://","severity":"critical","severity":"high","severity":"medium","severity":"low","assignee":"',
  '"state":"acknowledged","state":"triaged","state":"needs-info","state":"accepted","state":"rejected",',
  '{"at":"","event":"command.error","detail":"#secdesk ","by":""},{"at":"","event":"command.triage","event":"command.severity","event":"command.assign","event":"command.resolve",',
  '"event":"page.failed","event":"mail.failed","event":"escalation.resolved","detail":"acknowledge, respond","event":"escalation","detail":"acknowledge level 1 → ",',
  '"event":"spoof_attempt","event":"bounce","event":"chaser","event":"maintainer.note","event":"maintainer.response","detail":"reply to the reporter","event":"followup",',
  '"event":"mail.resolution","event":"mail.chaser_reply","event":"mail.ack","detail":"sent PGP-encrypted","detail":"sent"},',
  '"escalations":[{"clock":"chaser","clock":"respond","clock":"acknowledge","level":1,"at":"","channels":["pagerduty","opsgenie","slack","webhook","email"],"status":"failed","status":"resolved","status":"sent"}],',
  '"notices":[{"purpose":"undecryptable","purpose":"encrypted_no_key","purpose":"spoof_report","purpose":"command_errors","purpose":"resolution","purpose":"chaser_reply","purpose":"support_redirect",',
  '"purpose":"ack","status":"suppressed","status":"held","status":"failed","status":"queued","status":"sent","at":"","to":"","message_id":"<","detail":""}],',
  '"direction":"out","kind":"notice","kind":"ack","kind":"spam","kind":"list","kind":"bounce","kind":"auto_reply","kind":"maintainer_note","kind":"maintainer_reply","kind":"followup","subject":"Re: ',
  // Triage fields (src/triage/index.ts ReportFields).
  '"cvss":{"vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","version":"3.1","valid":true,"score":9.8,"severity":"critical"},"version":"4.0","version":"3.0","valid":false,"score":null,"severity":null,"error":"',
  '"issue_type":"xss","issue_type":"xxe","issue_type":"rce","issue_type":"ssrf","issue_type":"csrf","issue_type":"dos","issue_type":"crypto","issue_type":"other","issue_type":"open-redirect","issue_type":"auth-bypass",',
  '"issue_type":"info-disclosure","issue_type":"path-traversal","issue_type":"sql-injection","issue_type":"use-after-free","issue_type":"buffer-overflow","cwe":["CWE-',
  '"paths":["src/","lib/"],"affected_ref":["https://github.com/"],"versions":["1.0.0"],"supported":true,"supported":false,"unsupported_versions":["',
  '"configuration":{"present":true,"excerpt":"","reproduction":{"present":true,"excerpt":"","poc":{"present":true,"excerpt":"","impact":{"present":true,"excerpt":"',
  '"language":"zh","language":"es","language":"de","language":"en","missing":["issue_type","paths","affected_ref","versions","configuration","reproduction","poc","impact"]}',
  // Ingest decisions (src/notify/auto-reply-policy.ts) and the support path.
  '"auto_reply":{"allowed":false,"code":"auto_submitted","code":"precedence","code":"mailing_list","code":"robot_sender","code":"own_address","code":"maintainer","reason":"',
  '"event":"auto_reply.suppressed","event":"parse.warning","detail":"support question: ","kind":"support",',
  // Attachments and the usual address/ID tails.
  '"attachments":[{"filename":"","content_type":"application/octet-stream","content_type":"text/plain","size":0,"sha256":""}],',
  '@gmail.com>","@mail.gmail.com>","@outlook.com","@protonmail.com",".com>",".org>",',
  // The skeleton of a new case (src/ingest/case-draft.ts draftCase), in its key order.
  '{"state":"new","kind":"report","subject":"","reporter":"","reply_to":"","received_at":"20","messages":[{"message_id":"<","from":"","date":"20",',
  '"direction":"in","kind":"report","subject":"","raw_key":"","attachments":[],"references":["<"],"source":{"mailbox":"INBOX","uidValidity":"","uid":1}}],',
  '"acknowledged_at":null,"first_response_at":null,"next_steps_at":null,"escalations":[],"encrypted":false,"signature":"none","signature_key":null,',
  '"fields":{"issue_type":null,"cwe":[],"paths":[],"affected_ref":[],"versions":[],"supported":null,"unsupported_versions":[],',
  '"configuration":{"present":false,"excerpt":null},"reproduction":{"present":false,"excerpt":null},"poc":{"present":false,"excerpt":null},"impact":{"present":false,"excerpt":null},',
  '"cvss":null,"language":"en","missing":["configuration","reproduction","poc","impact"]},"participants":["',
  '"timeline":[{"at":"20","event":"received","detail":"report received"}],"related":[],"severity":null,"assignee":null,"resolved_at":null,"advisory_url":null,',
  '"auto_reply":{"allowed":true,"to":""},"notices":[]}',
];

/** The v1 dictionary bytes. Never edit (see above). */
export const CASE_DICTIONARY_V1: Buffer = Buffer.from(FRAGMENTS.join(''), 'utf8');
