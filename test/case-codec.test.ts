/** The stored form of a case record: round trip, legacy JSON, corrupt bytes, and the frozen v1 format. */
import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { CorruptCaseError } from '../src/errors';
import { CASE_FORMAT_V1, caseJsonBytes, decodeCase, encodeCase } from '../src/store/case-codec';
import { CASE_DICTIONARY_V1 } from '../src/store/case-dictionary';
import type { Case } from '../src/types';

const ID = 'SEC-2026-0042';

/** A case late in its life: every optional field, non-ASCII text, escalations, notices. */
function fullCase(): Case {
  const at = '2026-03-04T05:06:07.089Z';
  return {
    id: ID,
    state: 'triaged',
    subject: 'Heap overflow in header parser — 堆溢出',
    reporter: 'rita@reporter.test',
    reply_to: 'rita@reporter.test',
    received_at: at,
    messages: [
      {
        message_id: '<r1@reporter.test>',
        from: 'rita@reporter.test',
        date: at,
        direction: 'in',
        kind: 'report',
        subject: 'Heap overflow in header parser',
        raw_key: 'in-1a2b3c4d-7-12',
        attachments: [{ filename: 'poc.py', content_type: 'text/x-python', size: 812, sha256: 'ab'.repeat(32) }],
        references: ['<r1@reporter.test>'],
        source: { mailbox: 'INBOX', uidValidity: '7', uid: 12 },
      },
      { message_id: '<ack-1@larkspur.test>', from: 'security@larkspur.test', date: at, direction: 'out', kind: 'ack', note: 'automatic acknowledgement' },
    ],
    acknowledged_at: at,
    first_response_at: at,
    next_steps_at: null,
    escalations: [{ clock: 'acknowledge', level: 1, at, channels: ['pagerduty'], status: 'resolved' }],
    encrypted: true,
    signature: 'valid',
    fields: { issue_type: 'buffer-overflow', cwe: ['CWE-122'], cvss: { vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8 }, missing: [] },
    participants: ['rita@reporter.test'],
    timeline: [
      { at, event: 'received', detail: 'report received' },
      { at, event: 'command.triage', detail: 'state → triaged', by: 'alice@larkspur.test' },
    ],
    related: ['SEC-2026-0007'],
    severity: 'high',
    assignee: 'alice@larkspur.test',
    resolved_at: null,
    advisory_url: null,
    kind: 'report',
    auto_reply: { allowed: true, to: 'rita@reporter.test' },
    notices: [{ purpose: 'ack', status: 'sent', at, to: 'rita@reporter.test', message_id: '<ack-1@larkspur.test>' }],
    signature_key: { fingerprint: 'F'.repeat(40), user_id: 'Rita <rita@reporter.test>', source: 'attached' },
    sealed_key: 'sealed-1',
    bouncing: [],
  };
}

describe('case codec', () => {
  test('round trip: the same case, printed as the same JSON (id first)', () => {
    const c = fullCase();
    const stored = encodeCase(c);
    expect(stored[0]).toBe(CASE_FORMAT_V1);
    const back = decodeCase(ID, stored);
    expect(back).toEqual(c);
    expect(JSON.stringify(back)).toBe(JSON.stringify(c));
    expect(Object.keys(back)[0]).toBe('id');
  });

  test('the ID is not stored: the key carries it, and the key wins', () => {
    const stored = encodeCase(fullCase());
    const json = caseJsonBytes(stored).toString('utf8');
    expect(json).not.toContain(ID);
    expect(JSON.parse(json)).not.toHaveProperty('id');
    expect(decodeCase('SEC-2027-0001', stored).id).toBe('SEC-2027-0001');
    // A draft (no id yet) encodes the same way.
    const { id: _id, ...draft } = fullCase();
    expect(encodeCase(draft)).toEqual(stored);
  });

  test('a record is much smaller than its JSON', () => {
    const c = fullCase();
    expect(encodeCase(c).length).toBeLessThan(JSON.stringify(c).length / 2);
  });

  test('legacy records (plain JSON, as stored before the codec) are still read', () => {
    const c = fullCase();
    const legacy = Buffer.from(JSON.stringify(c), 'utf8');
    expect(decodeCase(ID, legacy)).toEqual(c);
    expect(JSON.stringify(decodeCase(ID, legacy))).toBe(JSON.stringify(c));
    expect(caseJsonBytes(legacy)).toEqual(legacy);
  });

  test.each<[string, Buffer, RegExp]>([
    ['empty', Buffer.alloc(0), /empty value/],
    ['unknown format tag', Buffer.from([0x02, 1, 2, 3]), /unknown format tag 0x02/],
    ['gzip, not a case record', Buffer.from([0x1f, 0x8b, 8, 0]), /unknown format tag 0x1f/],
    ['truncated deflate stream', encodeCase(fullCase()).subarray(0, 40), /cannot inflate/],
    ['garbage after the tag', Buffer.from([CASE_FORMAT_V1, 0xff, 0xfe, 0xfd, 0xfc, 0x00]), /cannot inflate/],
    ['deflated, but not JSON', Buffer.concat([Buffer.from([CASE_FORMAT_V1]), deflateRawSync('not json', { dictionary: CASE_DICTIONARY_V1 })]), /not JSON/],
    ['JSON, but not an object', Buffer.concat([Buffer.from([CASE_FORMAT_V1]), deflateRawSync('[1,2]', { dictionary: CASE_DICTIONARY_V1 })]), /not a JSON object/],
    ['legacy JSON cut short', Buffer.from('{"state":"new","subj'), /not JSON/],
  ])('corrupt bytes (%s) are a CorruptCaseError naming the case, not a crash', (_what, bytes, why) => {
    let err: unknown;
    try {
      decodeCase(ID, bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CorruptCaseError);
    expect(err).toMatchObject({ code: 'ECorruptCase', retryable: false });
    expect((err as Error).message).toContain(`case ${ID}: stored record is unreadable`);
    expect((err as Error).message).toMatch(why);
  });

  test('v1 is frozen: the dictionary bytes and a record written by the first v1 release', () => {
    // If this fails, the dictionary was edited: every v1 record in every store would become
    // unreadable. Add a new format tag with its own dictionary instead.
    expect(createHash('sha256').update(CASE_DICTIONARY_V1).digest('hex')).toBe(DICTIONARY_V1_SHA256);
    expect(decodeCase('SEC-2026-0001', Buffer.from(V1_RECORD, 'base64'))).toEqual({ id: 'SEC-2026-0001', ...V1_CONTENT });
    // And the record really is compressed against the dictionary (it does not inflate without it).
    expect(() => inflateRawSync(Buffer.from(V1_RECORD, 'base64').subarray(1))).toThrow();
  });
});

const DICTIONARY_V1_SHA256 = '83756017db7304d3dfac106c7431229b660773810e513c75d9207d6491790c77';
const V1_CONTENT = { state: 'new', kind: 'report', subject: 'XSS in search', reporter: 'r@example.net', received_at: '2026-01-02T03:04:05.006Z', escalations: [], notices: [] };
const V1_RECORD = 'ASO+YIgIDlbIzFMoTk0sSs5ALSWKHFIrEnMLclL18lJLsBQSRma6Boa6BkYhBsZWBiZWBqZ6BgZmUUpYsgqy0wA=';
