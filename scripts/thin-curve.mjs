#!/usr/bin/env node
// Thins a training run's curve.jsonl to one line per window of W lines, for shipping beside a
// checkpoint (a few hundred KB, not GAP's 24 MB of one line per step). Each output line holds the
// window's last value of the counters (--last: the step, its time) and the mean of every other
// numeric field (over the lines that have it), plus `window` (lines averaged). Fields in --drop are left out (per-step
// inputs such as a graph's size, whose mean says nothing). A partial last window is kept.
//
//   node scripts/thin-curve.mjs IN OUT --window 100 --last t,step,elapsedS --drop n,frac0
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { window: { type: 'string', default: '100' }, last: { type: 'string', default: 't,step' }, drop: { type: 'string', default: '' } },
});
const [input, output] = positionals;
const window = Number(values.window);
if (!input || !output || !(Number.isInteger(window) && window >= 1)) {
  console.error('usage: thin-curve.mjs IN OUT [--window W (an integer >= 1)] [--last f,g] [--drop f,g]');
  process.exit(2);
}
const last = new Set(values.last.split(',').filter(Boolean));
const drop = new Set(values.drop.split(',').filter(Boolean));

const out = [];
let sums = new Map(), lastSeen = {}, count = 0;
const flush = () => {
  if (count === 0) return;
  const row = { ...lastSeen };
  for (const [k, a] of sums) row[k] = a.sum / a.n;
  row.window = count;
  out.push(JSON.stringify(row));
  sums = new Map(); lastSeen = {}; count = 0;
};
const lines = readFileSync(input, 'utf8').split('\n');
lines.forEach((line, i) => {
  if (line.trim() === '') return;
  let p;
  try {
    p = JSON.parse(line);
  } catch (e) {
    // A run killed mid-write leaves a torn last line: skipped, as the dashboard skips it.
    if (i >= lines.length - 2) return;
    console.error(`${input}:${i + 1}: not JSON (${e.message})`);
    process.exit(1);
  }
  for (const [k, v] of Object.entries(p)) {
    if (drop.has(k) || typeof v !== 'number') continue;
    if (last.has(k)) lastSeen[k] = v;
    else {
      const a = sums.get(k) ?? { sum: 0, n: 0 };
      a.sum += v; a.n++;
      sums.set(k, a);
    }
  }
  if (++count === window) flush();
});
flush();
// Written whole, then renamed: a stopped run leaves the old file, not half a new one.
writeFileSync(`${output}.tmp`, out.join('\n') + '\n');
renameSync(`${output}.tmp`, output);
console.log(`${input}: ${out.length} lines of up to ${window} -> ${output}`);
