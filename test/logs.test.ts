/**
 * Logs: one JSON object per line, a child logger per component, and never a message body, a subject
 * or a secret — at any level, trace included.
 */
import { Writable } from 'node:stream';
import { createLogger } from '../src/log';
import { PASSWORD, plainMail, startHarness, waitFor, type Harness } from './helpers/harness';

test('a report goes through at trace level without its body, subject or any credential in the logs', async () => {
  const h: Harness = await startHarness();
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString('utf8');
      cb();
    },
  });
  try {
    const log = createLogger({ log: { level: 'trace', pretty: false } }, sink);
    const app = await h.startApp({ log });
    await h.append([plainMail({ id: 'logs-1@example.org', subject: 'Zebra-Subject-4471 overflow', body: 'Secret-Body-Phrase-9313: heap overflow in src/mime/parse.c, version 0.8.1.' })]);
    const c = await waitFor('case acknowledged', async () => {
      const cs = await h.cases();
      return cs[0]?.acknowledged_at ? cs[0] : null;
    });
    await app.close();
    const lines = out.trim().split('\n');
    expect(lines.length).toBeGreaterThan(5);
    const parsed = lines.map((l) => JSON.parse(l) as { component?: string; msg: string; caseId?: string });
    expect(parsed.some((p) => p.msg === 'ingest.case_created' && p.caseId === c.id && p.component === 'ingest')).toBe(true);
    expect(parsed.some((p) => p.msg === 'mail.sent' && p.component === 'mail')).toBe(true);
    for (const secret of ['Secret-Body-Phrase-9313', 'Zebra-Subject-4471', PASSWORD]) expect(out).not.toContain(secret);
  } finally {
    await h.close();
  }
});
