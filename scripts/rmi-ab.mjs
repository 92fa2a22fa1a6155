#!/usr/bin/env node
// A/B of the RMI lookup between two compiled trees (not part of the test suite): this tree's
// dist ("new") against another's (--base DIR, its dist directory, e.g. a `git archive` of main
// built with `npx tsc -p .`). For each configuration the same model is built by each tree's
// buildRmi (the build order alternates from one configuration to the next, and --ba starts with
// the base: an index built first measured up to 15% slower than an identical one built after it,
// rmi-explore.mjs), then binary search, base and new are timed interleaved in one process, order
// rotated per round, each 5,000-lookup batch after a primer of its own, with the evaluator's loop
// of the lower bound alone (this tree's evaluate.ts freshLowerBoundLoop, compiled afresh per
// method). Every timed answer is checked. Prints the median and lower quartile of each one's ns, and new / base per round
// (paired within the round): its median and quartiles.
// Usage: npx tsc -p . && taskset -c 1 node scripts/rmi-ab.mjs --base /tmp/base/dist [--rounds 40] [--ba]
//        [--cfg s2:radix-table:20:18:gallop,s2:radix-table:20:18:near,flights:radix-table:16:16,lon:radix:16]
//        (SET:ROOT:B[:TABLEBITS[:near|gallop]], B leaves, 2^B when B <= 40)
// On a core shared with another session's process, run it in an autogroup of its own (rmi-lastmile.mjs says why).
import os from 'node:os';
import { arg, answers, flag, importIndex, interleave, loadSet, positions, quantile } from './index-lab.mjs';

const base = arg('base');
if (!base) { console.error('--base DIR (a compiled tree\'s dist directory) is required'); process.exit(2); }
const NEW = await importIndex();
const BASE = await importIndex(base);
const BATCH = 5000, PRIMER = 5000, ROUNDS = Number(arg('rounds', '40')), WARM = 3;
const cfgs = arg('cfg', 's2:radix-table:20:18:gallop,s2:radix-table:20:18:near,flights:radix-table:16:16,lon:radix:16').split(',');

let sink = 0, flip = flag('ba');
const loaded = new Map();
for (const spec of cfgs) {
  const [set, root, b, t, lm] = spec.split(':');
  if (!loaded.has(set)) { loaded.clear(); loaded.set(set, loadSet(NEW.loadSosd, set)); }
  const keys = loaded.get(set);
  const config = { root, branching: Number(b) > 40 ? Number(b) : 2 ** Number(b), ...(t ? { tableBits: Number(t) } : {}), ...(lm ? { near: lm === 'near' } : {}) };
  const build = (lib) => lib.buildRmi(keys, config);
  let A, B;
  if (flip) { A = build(BASE); B = build(NEW); } else { B = build(NEW); A = build(BASE); }
  const order = flip ? 'base built first' : 'new built first';
  flip = !flip;
  const da = A.describe(), db = B.describe();
  if (da.lastMile !== db.lastMile || da.avgLog2Error !== db.avgLog2Error) {
    console.error(`the two builds differ: ${JSON.stringify(da)} / ${JSON.stringify(db)}`); process.exit(1);
  }
  const q = NEW.selectKeys(keys, positions(keys.n, BATCH * 100, 12345));
  const primer = NEW.selectKeys(keys, positions(keys.n, PRIMER, 999));
  const exp = answers(NEW.lowerBoundExact, keys, q);
  const methods = [{ name: 'bs', index: new NEW.BinarySearchIndex(keys) }, { name: 'base', index: A }, { name: 'new', index: B }]
    .map((m) => ({ ...m, loop: NEW.freshLowerBoundLoop(), times: [] }));
  sink += interleave(methods, { keys, q, primer, exp, rounds: ROUNDS, warm: WARM, batch: BATCH, slices: 100 });
  const [bs, a, n] = methods.map((m) => m.times);
  const ratio = n.map((v, i) => v / a[i]);
  const f = (v) => `${quantile(v, 0.5).toFixed(1)} (q1 ${quantile(v, 0.25).toFixed(1)})`;
  console.log(`${spec} (${db.lastMile}, log2e ${db.avgLog2Error}; ${order}; load ${os.loadavg()[0].toFixed(2)}): `
    + `ns median (lower quartile): bs ${f(bs)}, base ${f(a)}, new ${f(n)}; new / base per round `
    + `${quantile(ratio, 0.5).toFixed(3)} [q1 ${quantile(ratio, 0.25).toFixed(3)}, q3 ${quantile(ratio, 0.75).toFixed(3)}]`);
}
if (sink === 0.5) console.log('');
