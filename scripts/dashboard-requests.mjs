#!/usr/bin/env node
/**
 * Times the dashboard's API requests on two running `selfopt serve`s (a build before a change and
 * one after, serving the same store), interleaved: each round asks every path of each server in
 * turn, the servers' order alternating, after a warm-up round. Each answer must be 200 and the
 * same bytes from both servers, or the script stops: a faster wrong answer is not a speed-up.
 *
 *   node scripts/dashboard-requests.mjs --a URL --b URL [--rounds 30] [--paths FILE | PATH...]
 *
 * FILE holds one path a line (e.g. api/picture?run=...). Prints each server's median request time
 * (ms, the body read whole) and b's median over a's, over every request of every path.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  options: { a: { type: 'string' }, b: { type: 'string' }, rounds: { type: 'string', default: '30' }, paths: { type: 'string' } },
  allowPositionals: true,
});
if (!values.a || !values.b) throw new Error('dashboard-requests: give both servers, --a URL --b URL (their base, e.g. http://127.0.0.1:8765/)');
const paths = values.paths ? readFileSync(values.paths, 'utf8').split('\n').filter((l) => l.trim()) : positionals;
if (paths.length === 0) throw new Error('dashboard-requests: no paths to ask (--paths FILE, or paths after the options)');
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`dashboard-requests: --rounds ${values.rounds} is not a whole number of at least 1`);

const servers = [values.a, values.b];

/** One GET: its time in ms and its body. */
async function timed(base, path) {
  const t0 = performance.now();
  const res = await fetch(new URL(path, base));
  const body = Buffer.from(await res.arrayBuffer());
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${base}${path}: HTTP ${res.status} ${body.toString('utf8').slice(0, 300)}`);
  return { ms, body };
}

const times = [[], []];
for (let round = -1; round < rounds; round++) {
  for (const path of paths) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    const bodies = [];
    for (const s of order) {
      const { ms, body } = await timed(servers[s], path);
      bodies[s] = body;
      if (round >= 0) times[s].push(ms); // round -1 warms up
    }
    if (!bodies[0].equals(bodies[1])) throw new Error(`the servers answered ${path} differently (${bodies[0].length} and ${bodies[1].length} bytes)`);
  }
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const [ma, mb] = times.map(median);
console.log(`${paths.length} paths x ${rounds} rounds, interleaved, each answer the same bytes from both`);
console.log(`a ${values.a}: median ${ma.toFixed(2)} ms`);
console.log(`b ${values.b}: median ${mb.toFixed(2)} ms`);
console.log(`b / a: ${(mb / ma).toFixed(3)}`);
