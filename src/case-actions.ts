import type { Clock } from './clock';
import type { Config } from './config';
import type { CommandResult } from './ingest/commands';
import { applyCommands } from './ingest/commands';
import type { Queues } from './queues';
import { jobIds } from './queues';
import { armTimers, queueResolve } from './sla/arm-timers';
import type { EscalationPolicy } from './sla/escalation-policy';
import { isClockOpen } from './sla/sla-decide';
import type { CaseStore } from './store/case-store';
import type { Case } from './types';

/**
 * `secdesk case ID triage|severity|assign|resolve …`: the mail commands, given on the command line
 * by someone who can already reach Redis (so no authentication beyond that). Same effects as the
 * mail form: timeline entries, clocks met, pager incidents resolved, the resolution notice sent.
 */
export async function runCaseCommand(
  ctx: { cfg: Config; store: CaseStore; queues: Pick<Queues, 'mail' | 'escalate' | 'deadlines'>; policy: EscalationPolicy; clock: Clock },
  id: string,
  verb: string,
  args: string[],
  by: string,
): Promise<{ case: Case; results: CommandResult[] }> {
  const at = ctx.clock.now().toISOString();
  const res = await ctx.store.update(id, (c) => {
    const before = { ack: isClockOpen(c, 'acknowledge'), respond: isClockOpen(c, 'respond'), state: c.state };
    const results = applyCommands(c, [{ verb: verb.toLowerCase(), args, line: `#secdesk ${[verb, ...args].join(' ')}` }], at, by, new Set(ctx.cfg.maintainers));
    return { value: c, result: { results, before } };
  });
  if (!res.applied) throw new Error(`case ${id} was not changed`);
  const c = res.value;
  const { results, before } = res.result;
  if (c.state === 'resolved' && before.state !== 'resolved') {
    await ctx.queues.mail.add('resolution', { caseId: c.id, purpose: 'resolution' }, { jobId: jobIds.mail({ caseId: c.id, purpose: 'resolution' }), attempts: 1000 });
  }
  if ((before.ack && !isClockOpen(c, 'acknowledge')) || (before.respond && !isClockOpen(c, 'respond'))) await queueResolve(c, ctx.queues);
  await armTimers(c, ctx.policy, ctx.queues, ctx.clock);
  return { case: c, results };
}
