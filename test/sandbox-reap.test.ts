/**
 * A test runner killed with SIGKILL cannot close its sandbox; the next sandbox ends what it left.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { groupAlive, startRedis } from '../src/sandbox';

test('servers left by a SIGKILLed owner are ended when the next sandbox starts', async () => {
  const dist = path.join(__dirname, '..', 'dist', 'src', 'sandbox');
  const owner = spawn(process.execPath, ['-e', `require(${JSON.stringify(dist)}).startRedis().then((r) => { process.stdout.write(r.pid + '\\n'); setInterval(() => {}, 1000); })`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    owner.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    owner.once('exit', () => reject(new Error('owner exited early')));
  });
  expect(groupAlive(pid)).toBe(true);
  owner.kill('SIGKILL');
  await new Promise((r) => owner.once('exit', r));
  // The orphan outlives its owner…
  expect(groupAlive(pid)).toBe(true);
  // …until the next sandbox starts.
  const next = await startRedis();
  try {
    const until = Date.now() + 5000;
    while (groupAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(groupAlive(pid)).toBe(false);
  } finally {
    await next.close();
  }
});
