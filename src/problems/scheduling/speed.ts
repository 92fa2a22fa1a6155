/**
 * The simulator's speed and its agreement with decima-sim's reference runs, in one command:
 *
 *   node dist/src/problems/scheduling/speed.js [--episodes 10] [--rounds 5] [--json]
 *
 * On the reference workload (50 executors, 20 TPC-H jobs at t = 0; synthetic profiles when the
 * TPC-H data is not on the path) it reports decisions and task events per second for the fair
 * and FIFO schedulers, after warm-up, as the median of `rounds` interleaved rounds of `episodes`
 * episodes each; then the average JCT of fair and FIFO on evaluation seeds 1000..1009 with and
 * without decima-sim's executor-level rule (`compat`), beside decima-sim's own runs
 * (shared/REFERENCES.md: fair 128.5 s, FIFO 263.8 s, about 1,350-1,800 decisions/s).
 */
import { DataPath } from '../../core/data.js';
import { mean, median } from '../../core/stats.js';
import { instanceRef, loadInstance } from './instances.js';
import { makeEnv, runEpisode, type SchedulingPolicy } from './evaluate.js';
import { Fifo } from './heuristics.js';
import { WeightedFair } from './weighted-fair.js';
import { findTpchDir } from './profiles.js';
import { reportError } from '../../core/errors.js';
import { flagNumber, POSITIVE_INT } from '../../core/options.js';

const REFERENCE = { fair: 128.5, fifo: 263.8, decisionsPerSec: [1350, 1800] };

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? flagNumber(`--${name}`, POSITIVE_INT)(process.argv[i + 1] ?? '') : fallback;
}

export function measure(opts: { episodes: number; rounds: number }) {
  const data = new DataPath();
  const pool = findTpchDir(data) ? 'tpch' : 'synthetic';
  const inst = loadInstance(instanceRef(`${pool}_batch20_50exec`, data)!);
  const compatInst = loadInstance(instanceRef(`${pool}_batch20_50exec_compat`, data)!);
  const policies: [string, SchedulingPolicy][] = [['fair', new WeightedFair(0)], ['fifo', new Fifo()]];
  const env = makeEnv(inst);
  for (const [, p] of policies) for (let i = 0; i < 2 * opts.episodes; i++) runEpisode(env, p, 5_000_000 + i); // warm-up, off the evaluation seeds
  const speed: Record<string, { decisionsPerSec: number; taskEventsPerSec: number; decisionsPerEpisode: number; taskEventsPerEpisode: number }> = {};
  const perRound: Record<string, { d: number[]; t: number[]; dec: number; ev: number }> = {};
  for (const [name] of policies) perRound[name] = { d: [], t: [], dec: 0, ev: 0 };
  for (let r = 0; r < opts.rounds; r++) {
    for (const [name, p] of r % 2 === 0 ? policies : [...policies].reverse()) {
      let dec = 0, ev = 0, ms = 0;
      for (let i = 0; i < opts.episodes; i++) {
        const e = runEpisode(env, p, inst.seedBase + i);
        dec += e.decisions; ev += e.taskEvents; ms += e.wallMs;
      }
      const acc = perRound[name]!;
      acc.d.push((dec / ms) * 1000);
      acc.t.push((ev / ms) * 1000);
      acc.dec = dec / opts.episodes;
      acc.ev = ev / opts.episodes;
    }
  }
  for (const [name] of policies) {
    const a = perRound[name]!;
    speed[name] = { decisionsPerSec: median(a.d), taskEventsPerSec: median(a.t), decisionsPerEpisode: a.dec, taskEventsPerEpisode: a.ev };
  }
  const jct: Record<string, { linear: number; compat: number; reference: number }> = {};
  for (const [name, p] of policies) {
    const avg = (i: typeof inst) => {
      const e = makeEnv(i);
      return mean(Array.from({ length: 10 }, (_, k) => mean(runEpisode(e, p, i.seedBase + k).jctMs) / 1000));
    };
    jct[name] = { linear: avg(inst), compat: avg(compatInst), reference: REFERENCE[name as 'fair' | 'fifo'] };
  }
  return { workload: inst.id, speed, avgJctSeeds1000to1009: jct, referenceDecisionsPerSec: REFERENCE.decisionsPerSec };
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!);
if (isMain) {
  try {
    const out = measure({ episodes: arg('episodes', 10), rounds: arg('rounds', 5) });
    if (process.argv.includes('--json')) console.log(JSON.stringify(out, null, 2));
    else {
      console.log(`workload ${out.workload} (50 executors, 20 jobs at t=0)`);
      for (const [name, s] of Object.entries(out.speed)) {
        console.log(`  ${name.padEnd(5)} ${Math.round(s.decisionsPerSec).toLocaleString('en')} decisions/s, ${(s.taskEventsPerSec / 1e6).toFixed(2)}M task events/s; ${s.decisionsPerEpisode.toFixed(0)} decisions and ${s.taskEventsPerEpisode.toFixed(0)} tasks per episode`);
      }
      // A ratio to decima-sim holds only for the two measured side by side on one machine (README, Measured).
      console.log(`decima-sim did ${out.referenceDecisionsPerSec.map((x) => x.toLocaleString('en')).join('-')} decisions/s on the machine of shared/REFERENCES.md; for a ratio, time it beside this run on this machine`);
      console.log('average JCT over seeds 1000..1009 (s): linear interpolation / compat (decima-sim rule) / decima-sim reference run');
      for (const [name, j] of Object.entries(out.avgJctSeeds1000to1009)) console.log(`  ${name.padEnd(5)} ${j.linear.toFixed(1)} / ${j.compat.toFixed(1)} / ${j.reference}`);
    }
  } catch (e) {
    reportError(e, 'speed');
  }
}
