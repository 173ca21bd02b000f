/**
 * The pure SLA core, time pinned to a reference instant: clock status, which steps are due or
 * pending, the escalation table, chaser detection, command lines, what an attached message does to
 * a case, what a page says, and the `secdesk cases` cells.
 */
import { attachToCase, type SenderVerdict } from '../src/ingest/attach-message';
import { applyCommands, parseCommands } from '../src/ingest/commands';
import { casesTable } from '../src/case-view';
import { parseMessage } from '../src/parse/parse-message';
import { isStatusChaser } from '../src/sla/chaser';
import { defaultEscalationPolicy, resolveEscalationPolicy } from '../src/sla/escalation-policy';
import { buildPageEvent, reporterDomain } from '../src/sla/page-event';
import { chaserStepFor, clocksToResolve, dueSteps, escalationJobId, pendingSteps, slaStatus } from '../src/sla/sla-decide';
import type { Case, Escalation } from '../src/types';
import { at, HOUR, T0, unitCase, unitConfig } from './helpers/pager-unit';

const cfg = unitConfig();
const policy = resolveEscalationPolicy(cfg);
const sent = (clock: string, level: number, channels: string[] = ['pagerduty']): Escalation => ({ clock, level, at: T0, channels, status: 'sent' });

describe('escalation policy', () => {
  test('the config table becomes steps numbered per clock, with one chaser step', () => {
    expect(policy.source).toBe('config');
    expect(policy.steps.map((s) => `${s.id} ${'at' in s ? s.at / HOUR : '-'} ${s.notify.join('+')}`)).toEqual([
      'acknowledge-1 20 team-email',
      'acknowledge-2 24 pagerduty',
      'respond-1 48 pagerduty+slack',
      'chaser-1 - pagerduty',
    ]);
  });

  test('defaults follow cfg.sla and pick channels by type', () => {
    const d = defaultEscalationPolicy(unitConfig({ escalation: undefined, sla: { acknowledge: '12h', respond: '36h' } }));
    expect(d.steps.map((s) => `${s.id} ${'at' in s ? s.at / HOUR : '-'} ${s.notify.join('+')}`)).toEqual([
      'acknowledge-1 10 team-email',
      'acknowledge-2 12 pagerduty',
      'respond-1 36 pagerduty+slack',
      'chaser-1 - pagerduty',
    ]);
  });

  test('a step naming a channel that does not exist stops start-up', () => {
    expect(() => unitConfig({ escalation: [{ clock: 'acknowledge', at: '1h', notify: ['pagr'] }] })).toThrow(/notify names "pagr"/);
  });
});

describe('clocks', () => {
  test('open clocks show time left, then overdue', () => {
    const c = unitCase();
    const early = slaStatus(c, cfg.sla, at(2 * HOUR));
    expect(early.acknowledge).toMatchObject({ left_ms: 22 * HOUR, overdue_ms: 0, breached: false, met_at: null, closed: false });
    expect(early.respond.left_ms).toBe(46 * HOUR);
    const late = slaStatus(c, cfg.sla, at(30 * HOUR));
    expect(late.acknowledge).toMatchObject({ breached: true, overdue_ms: 6 * HOUR });
    expect(late.respond.breached).toBe(false);
  });

  test('a met clock stops counting; a resolved case closes the open ones', () => {
    const met = slaStatus(unitCase({ first_response_at: at(25 * HOUR).toISOString() }), cfg.sla, at(100 * HOUR));
    expect(met.acknowledge).toMatchObject({ breached: true, overdue_ms: HOUR });
    expect(met.acknowledge.met_at?.toISOString()).toBe(at(25 * HOUR).toISOString());
    const resolved = slaStatus(unitCase({ state: 'resolved', resolved_at: at(3 * HOUR).toISOString() }), cfg.sla, at(100 * HOUR));
    expect(resolved.acknowledge).toMatchObject({ closed: true, breached: false, left_ms: 21 * HOUR });
  });

  test('`secdesk cases` cells: left, OVERDUE, met, met late, closed', () => {
    const rows = casesTable(
      [
        unitCase({ id: 'SEC-2026-0001' }),
        unitCase({ id: 'SEC-2026-0002', received_at: at(-30 * HOUR).toISOString() }),
        unitCase({ id: 'SEC-2026-0003', first_response_at: at(HOUR).toISOString(), next_steps_at: at(50 * HOUR).toISOString(), state: 'accepted' }),
        unitCase({ id: 'SEC-2026-0004', state: 'resolved', resolved_at: at(HOUR).toISOString(), next_steps_at: at(HOUR).toISOString() }),
      ],
      cfg,
      at(2 * HOUR + 30_000),
    ).split('\n');
    expect(rows[1]).toMatch(/^SEC-2026-0001\s+new\s+21h59m left\s+1d21h left/);
    expect(rows[2]).toMatch(/^SEC-2026-0002\s+new\s+OVERDUE 8h\s+15h59m left/);
    expect(rows[3]).toMatch(/^SEC-2026-0003\s+accepted\s+met\s+met late/);
    expect(rows[4]).toMatch(/^SEC-2026-0004\s+resolved\s+closed\s+met\s/);
  });
});

describe('steps', () => {
  test('due steps come in order of time; a recorded step or a met clock is not due', () => {
    expect(dueSteps(unitCase(), policy, at(19 * HOUR))).toEqual([]);
    expect(dueSteps(unitCase(), policy, at(50 * HOUR)).map((s) => s.id)).toEqual(['acknowledge-1', 'acknowledge-2', 'respond-1']);
    expect(dueSteps(unitCase({ escalations: [sent('acknowledge', 1, ['team-email'])] }), policy, at(50 * HOUR)).map((s) => s.id)).toEqual(['acknowledge-2', 'respond-1']);
    expect(dueSteps(unitCase({ first_response_at: at(HOUR).toISOString() }), policy, at(50 * HOUR)).map((s) => s.id)).toEqual(['respond-1']);
    expect(dueSteps(unitCase({ state: 'resolved' }), policy, at(50 * HOUR))).toEqual([]);
  });

  test('pending steps include those already past (re-armed at start-up, fired once) with deterministic job IDs', () => {
    const p = pendingSteps(unitCase({ escalations: [sent('acknowledge', 1, ['team-email'])] }), policy);
    expect(p.map((s) => [s.stepId, s.fireAt.toISOString(), s.jobId])).toEqual([
      ['acknowledge-2', at(24 * HOUR).toISOString(), `esc-SEC-2026-0001-acknowledge-2-${at(24 * HOUR).getTime()}`],
      ['respond-1', at(48 * HOUR).toISOString(), `esc-SEC-2026-0001-respond-1-${at(48 * HOUR).getTime()}`],
    ]);
    expect(p.every((s) => !s.jobId.includes(':'))).toBe(true);
    // A longer clock in a new config is a new timer, not a duplicate of the old one.
    const longer = resolveEscalationPolicy(unitConfig({ escalation: [{ clock: 'respond', at: '72h', notify: ['pagerduty'] }] }));
    expect(pendingSteps(unitCase(), longer)[0]?.jobId).not.toBe(p[1]?.jobId);
    expect(escalationJobId('SEC:1', policy.steps[0]!)).toBe('esc-SEC-1-acknowledge-1');
  });

  test('one chaser page per case, only while acknowledge is open', () => {
    expect(chaserStepFor(unitCase(), policy)?.id).toBe('chaser-1');
    expect(chaserStepFor(unitCase({ escalations: [sent('chaser', 1)] }), policy)).toBeNull();
    expect(chaserStepFor(unitCase({ first_response_at: T0 }), policy)).toBeNull();
  });

  test('pages to resolve: sent pages of met clocks; the chaser page goes with acknowledge', () => {
    const escalations = [sent('acknowledge', 2), sent('chaser', 1), sent('respond', 1, ['pagerduty', 'slack'])];
    expect(clocksToResolve(unitCase({ escalations }))).toEqual([]);
    expect(clocksToResolve(unitCase({ escalations, first_response_at: T0 })).map((r) => r.dedupKey)).toEqual(['SEC-2026-0001-acknowledge', 'SEC-2026-0001-chaser']);
    expect(clocksToResolve(unitCase({ escalations, state: 'resolved' })).map((r) => r.clock)).toEqual(['acknowledge', 'respond', 'chaser']);
    expect(clocksToResolve(unitCase({ escalations: escalations.map((e) => ({ ...e, status: 'resolved' as const })), state: 'resolved' }))).toEqual([]);
  });
});

describe('page events', () => {
  test('carry the case, clock, age, reporter domain and the command — never the report', () => {
    const c = unitCase({ reporter: 'Rita.Secret@Reporter.Example' });
    const ev = buildPageEvent(c, policy.steps[1]!, cfg.sla, at(24 * HOUR + 60_000));
    expect(ev).toMatchObject({ caseId: c.id, clock: 'acknowledge', level: 2, severity: 'error', dedupKey: `${c.id}-acknowledge`, reporterDomain: 'reporter.example', caseCommand: `secdesk case ${c.id}` });
    expect(ev.summary).toBe(`${c.id}: acknowledge SLA breached (case age 1d), reporter domain reporter.example`);
    expect(JSON.stringify(ev)).not.toMatch(/Heap|MIME|rita/i);
    expect(buildPageEvent(c, policy.steps[0]!, cfg.sla, at(20 * HOUR)).severity).toBe('warning');
    expect(buildPageEvent(c, policy.steps[3]!, cfg.sla, at(HOUR)).severity).toBe('critical');
    expect(reporterDomain('x@evil.example/../../etc')).toBe('unknown');
  });
});

describe('chaser detection', () => {
  test.each([
    ['en', 'Hi, any update on this? Nobody has answered yet.'],
    ['en', 'Did you receive my report? I have not heard back.'],
    ['de', 'Gibt es schon Neuigkeiten? Ich habe noch keine Antwort bekommen.'],
    ['es', '¿Hay alguna novedad? Nadie ha respondido todavía.'],
    ['zh', '请问有什么进展吗？一直没有人回复。'],
  ])('%s status question pages: %s', (_lang, text) => {
    expect(isStatusChaser(text, 'Re: report')).toBe(true);
  });

  test.each([
    'Additional details: the overflow also happens in src/mime/header.c with a 0x41414141 read.',
    'Thanks for the quick answer!',
    '> any update?\n> nobody answered\n\nHere is the patch I tested.',
  ])('not a chaser: %s', (text) => {
    expect(isStatusChaser(text, 'Re: report')).toBe(false);
  });
});

describe('command lines', () => {
  test('parsed one per line; quoted lines are not commands', () => {
    expect(parseCommands('Hi\n#secdesk triage accepted\n  #SECDESK severity High \n> #secdesk resolve https://x.example\n').map((c) => [c.verb, ...c.args])).toEqual([
      ['triage', 'accepted'],
      ['severity', 'High'],
    ]);
  });

  test('applied in order, each recorded; errors recorded, not applied', () => {
    const c = unitCase();
    const r = applyCommands(c, parseCommands('#secdesk severity high\n#secdesk triage maybe\n#secdesk assign bob@example.test\n#secdesk jump\n#secdesk triage needs-info'), T0, 'alice@example.test', new Set(cfg.maintainers));
    expect(r.map((x) => x.ok)).toEqual([true, false, true, false, true]);
    expect(c.timeline.map((t) => t.event)).toEqual(['command.severity', 'command.error', 'command.assign', 'command.error', 'command.triage']);
    expect(c).toMatchObject({ severity: 'high', assignee: 'bob@example.test', state: 'needs-info', next_steps_at: T0, first_response_at: null });
  });

  test('resolve takes an http(s) URL, closes the case and meets respond', () => {
    const c = unitCase();
    expect(applyCommands(c, parseCommands('#secdesk resolve javascript:alert(1)'), T0, 'a', new Set())[0]?.ok).toBe(false);
    // One command turns a support question into a security report (its clocks then run from arrival).
    const support = { ...c, kind: 'support' as const, state: 'new' as const, next_steps_at: null };
    const turned = applyCommands(support, parseCommands('#secdesk triage accepted'), T0, 'alice@example.test', new Set(cfg.maintainers));
    expect(turned[0]).toMatchObject({ ok: true, message: expect.stringMatching(/support question into a security report/) });
    expect(support.kind).toBe('report');
    const stays = { ...c, kind: 'support' as const, state: 'new' as const };
    applyCommands(stays, parseCommands('#secdesk triage rejected'), T0, 'alice@example.test', new Set(cfg.maintainers));
    expect(stays.kind).toBe('support');
    expect(c.state).toBe('new');
    applyCommands(c, parseCommands('#secdesk resolve https://github.com/o/r/security/advisories/GHSA-1'), T0, 'a', new Set());
    expect(c).toMatchObject({ state: 'resolved', resolved_at: T0, next_steps_at: T0, advisory_url: 'https://github.com/o/r/security/advisories/GHSA-1' });
    expect(applyCommands(c, parseCommands('#secdesk triage accepted'), T0, 'a', new Set())[0]).toMatchObject({ ok: false, message: expect.stringMatching(/already resolved/) });
  });
});

describe('attaching a maintainer message', () => {
  const maintainers = new Set(['alice@example.test']);
  const own = new Set(['security@example.test']);
  const dkim: SenderVerdict = { authenticated: true, method: 'dkim', reason: 'DKIM pass for example.test (aligned)' };
  const meta = { ref: { mailbox: 'INBOX', uidValidity: '1', uid: 2 }, internalDate: at(3 * HOUR).toISOString(), rawKey: 'k' };
  const mail = (headers: string, body: string) => parseMessage(Buffer.from(`${headers}\r\nSubject: Re: report\r\nMessage-ID: <m@example.test>\r\nIn-Reply-To: <r1@reporter.example>\r\n\r\n${body}\r\n`));
  const attach = async (c: Case, headers: string, body: string, o: { sender?: SenderVerdict | null; folder?: 'inbox' | 'sent' } = {}) =>
    attachToCase(c, { msg: await mail(headers, body), meta, kind: 'maintainer_reply', folder: o.folder ?? 'inbox', sender: o.sender === undefined ? dkim : o.sender, maintainers, own });

  test('reply-all to the reporter meets acknowledge at the reply\'s arrival', async () => {
    const c = unitCase();
    const fx = await attach(c, 'From: alice@example.test\r\nTo: rita@reporter.example\r\nCc: security@example.test', 'Thanks, looking.');
    expect(fx.clocksMet).toEqual(['acknowledge']);
    expect(c).toMatchObject({ first_response_at: meta.internalDate, next_steps_at: null, state: 'acknowledged' });
  });

  test('a note to security@ alone meets nothing; with a triage command it meets respond only', async () => {
    const c = unitCase();
    expect((await attach(c, 'From: alice@example.test\r\nTo: security@example.test', 'Bob, yours?')).clocksMet).toEqual([]);
    expect(c.messages.at(-1)?.kind).toBe('maintainer_note');
    const fx = await attach(c, 'From: alice@example.test\r\nTo: security@example.test', '#secdesk triage accepted');
    expect(fx.clocksMet).toEqual(['respond']);
    expect(c.first_response_at).toBeNull();
  });

  test('a reply with a command meets both clocks; the Sent folder needs no authentication', async () => {
    const c = unitCase();
    expect((await attach(c, 'From: alice@example.test\r\nTo: rita@reporter.example', 'Confirmed.\n#secdesk triage accepted')).clocksMet).toEqual(['acknowledge', 'respond']);
    const d = unitCase();
    expect((await attach(d, 'From: security@example.test\r\nTo: rita@reporter.example', 'Hello Rita', { folder: 'sent', sender: null })).clocksMet).toEqual(['acknowledge']);
  });

  test('an unauthenticated maintainer mail is a spoofing attempt and changes nothing', async () => {
    const c = unitCase();
    const fx = await attach(c, 'From: alice@example.test\r\nTo: rita@reporter.example', '#secdesk resolve https://x.example/a', { sender: { authenticated: false, method: null, reason: 'no DKIM signature and no trusted Authentication-Results' } });
    expect(fx).toMatchObject({ spoof: expect.stringMatching(/no DKIM/), clocksMet: [], commandResults: [], resolved: false });
    expect(c).toMatchObject({ state: 'new', first_response_at: null, next_steps_at: null });
    expect(c.timeline.map((t) => t.event)).toEqual(['spoof_attempt']);
  });
});
