/**
 * A child process for interrupt.test.ts: applies every stable pass to the tiny program through one
 * opt-server session, over and over for argv[2] ms, while the test sends SIGINT to its process
 * group; then prints how many runs failed that do not fail undisturbed, and the SIGINTs it got.
 */
import { OptSession } from '../../../src/problems/compiler/session.js';
import { STABLE, tiny } from './fixtures.js';

let signals = 0;
process.on('SIGINT', () => { signals++; });
const ir = tiny().ir;
const session = new OptSession({ backend: 'server' });
const failing = new Set(STABLE.filter((p) => !session.runPass(ir, p).ok));
process.stdout.write('ready\n');
const until = Date.now() + Number(process.argv[2] ?? 3000);
let runs = 0;
const failures: string[] = [];
while (Date.now() < until) {
  for (const p of STABLE) {
    const r = session.runPass(ir, p);
    runs++;
    if (!r.ok && !failing.has(p)) failures.push(`${p}: ${r.message.slice(0, 300)}`);
  }
}
session.close();
await new Promise((r) => setTimeout(r, 100)); // the SIGINT handler runs here
process.stdout.write(`REPORT ${JSON.stringify({ runs, failures, signals })}\n`);
