/**
 * A child process for interrupt.test.ts: applies every stable pass to the tiny program through one
 * opt-server session, round after round, printing `round N` after each, while the test sends
 * SIGINT to its process group; once a whole round has run after the SIGINT came, prints how many
 * runs failed that do not fail undisturbed, and the SIGINTs it got. It stops at argv[2] ms if no
 * SIGINT comes (run alone, as `node --test dist/test/` runs every file).
 */
import { setImmediate as turn } from 'node:timers/promises';
import { OptSession } from '../../../src/problems/compiler/session.js';
import { STABLE, tiny } from './fixtures.js';

let signals = 0;
process.on('SIGINT', () => { signals++; });
const ir = tiny().ir;
const session = new OptSession({ backend: 'server' });
const failing = new Set(STABLE.filter((p) => !session.runPass(ir, p).ok));
const until = Date.now() + Number(process.argv[2] ?? 3000);
let runs = 0;
let rounds = 0;
const failures: string[] = [];
while (Date.now() < until) {
  const signalled = signals > 0;
  for (const p of STABLE) {
    const r = session.runPass(ir, p);
    runs++;
    if (!r.ok && !failing.has(p)) failures.push(`${p}: ${r.message.slice(0, 300)}`);
  }
  process.stdout.write(`round ${++rounds}\n`);
  if (signalled) break;
  await turn(); // the SIGINT handler runs here, between rounds
}
session.close();
process.stdout.write(`REPORT ${JSON.stringify({ runs, rounds, failures, signals })}\n`);
