/**
 * Validation of Decima checkpoints, for choosing one without touching the evaluation seeds:
 *
 *   node dist/src/problems/scheduling/validate.js --instance tpch_batch20_50exec_train \
 *     [--seeds 30] [--alpha A | tuned] [--teacher R [--compare-replay]] [--sjf] [--rank] CHECKPOINT...
 *
 * Runs each checkpoint (greedy, as the solver) and weighted fair (alpha: `tuned` = tuned
 * weighted fair's sweep on the training seeds, the default; 0 = fair) on the validation seeds
 * 1,500,000 + 0..seeds-1 of the training instance (its training episodes start at 1,000,000
 * and never reach them; the evaluation seeds start at 1000), and prints the mean average JCT and
 * the paired ratio to weighted fair with its 95% bootstrap CI. `--teacher R` also runs the
 * rollout teacher (decima-teacher.ts) with R rollouts per candidate (batch only; slow);
 * `--compare-replay` runs it twice per seed, branching from snapshots and by replay, checks that
 * the episodes are identical and prints the wall-time ratio. `--sjf`
 * also runs tuned-weighted-fair-sjf (its own alpha sweep, jobs visited smallest work first) and
 * prints each checkpoint's paired ratio to it too; `--rank` likewise with tuned-rank-weighted-fair
 * (its own sweep on the training seeds). On a multi-resource instance (_mr) every policy, the
 * checkpoints too, takes the first-fit executor class (firstFitClass), as the bench's solvers do.
 */
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { DataPath } from '../../core/data.js';
import { reportError, SelfoptError } from '../../core/errors.js';
import { countFrom, flagNumber } from '../../core/options.js';
import { schedulingProblem } from './index.js';
import { mean, pairedRatio } from '../../core/stats.js';
import { loadInstance } from './instances.js';
import { makeEnv, runEpisode, type SchedulingPolicy } from './evaluate.js';
import { describeRankSweep, firstFitClass, rankWeightedFair, sweepAlpha, sweepRankShape, SWEEP_EPISODES } from './heuristics.js';
import { WeightedFair } from './weighted-fair.js';
import { decimaPolicy, loadDecima } from './decima-policy.js';
import { RolloutTeacher, ROLLOUT_TEACHER_DEFAULTS, runTeacherEpisode } from './decima-teacher.js';

export const VALIDATION_SEED_BASE = 1_500_000;

function main(): void {
  const args = process.argv.slice(2), paths: string[] = [];
  let instance = 'tpch_batch20_50exec_train', seeds = 30, alphaArg = 'tuned', teacher = 0, sjf = false, rank = false, compareReplay = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--instance') instance = args[++i]!;
    else if (a === '--seeds') seeds = flagNumber('--seeds', countFrom(1))(args[++i] ?? '');
    else if (a === '--alpha') alphaArg = args[++i]!;
    else if (a === '--teacher') teacher = flagNumber('--teacher', countFrom(0))(args[++i] ?? '');
    else if (a === '--sjf') sjf = true;
    else if (a === '--rank') rank = true;
    else if (a === '--compare-replay') compareReplay = true;
    else if (a.startsWith('--')) throw new SelfoptError(`unknown flag ${a}`, 'validate command line', '--instance, --seeds, --alpha, --teacher, --sjf, --rank, --compare-replay, then checkpoint paths');
    else paths.push(a);
  }
  const inst = loadInstance(schedulingProblem.resolveInstance(instance, { data: new DataPath(), quick: false }));
  const alpha = alphaArg === 'tuned' ? sweepAlpha(inst, SWEEP_EPISODES.full).alpha : flagNumber('--alpha', { expected: "a number, or 'tuned'" })(alphaArg);
  const env = makeEnv(inst);
  const avg = (r: { jctMs: ArrayLike<number> }) => mean(r.jctMs) / 1000;
  const run = (p: SchedulingPolicy, seed: number) => avg(runEpisode(env, firstFitClass(p), seed));
  const seedList = Array.from({ length: seeds }, (_, i) => VALIDATION_SEED_BASE + i);
  const base = seedList.map((s) => run(new WeightedFair(alpha), s));
  console.log(`${instance}, validation seeds ${VALIDATION_SEED_BASE}..${VALIDATION_SEED_BASE + seeds - 1}: weighted fair (alpha ${alpha}) ${mean(base).toFixed(2)} s`);
  const report = (name: string, xs: number[]) => {
    const r = pairedRatio(xs, base);
    console.log(`${name}: ${mean(xs).toFixed(2)} s, ratio ${r.mean.toFixed(3)} [${r.ci95[0].toFixed(3)}, ${r.ci95[1].toFixed(3)}]`);
  };
  // The stronger heuristics each checkpoint is also compared with, paired.
  const others: [string, number[]][] = [];
  if (sjf) {
    const a = sweepAlpha(inst, SWEEP_EPISODES.full, undefined, 'work').alpha;
    others.push(['tuned-weighted-fair-sjf', seedList.map((s) => run(new WeightedFair(a, 'work'), s))]);
    report(`tuned weighted fair, smallest work first (alpha ${a})`, others.at(-1)![1]);
  }
  if (rank) {
    const r = sweepRankShape(inst, SWEEP_EPISODES.full);
    others.push(['tuned-rank-weighted-fair', seedList.map((s) => run(rankWeightedFair(r), s))]);
    report(`tuned-rank-weighted-fair (${describeRankSweep(r)})`, others.at(-1)![1]);
  }
  for (const p of paths) {
    const net = loadDecima(p);
    const xs = seedList.map((s) => run(decimaPolicy(net), s));
    report(p, xs);
    for (const [name, ys] of others) {
      const r = pairedRatio(xs, ys);
      console.log(`  ${p} / ${name}: ${r.mean.toFixed(4)} [${r.ci95[0].toFixed(4)}, ${r.ci95[1].toFixed(4)}]`);
    }
  }
  if (teacher > 0 && !compareReplay) {
    const t = new RolloutTeacher(makeEnv(inst), { ...ROLLOUT_TEACHER_DEFAULTS, alpha, rollouts: teacher });
    report(`rollout teacher (${teacher} rollouts)`, seedList.map((s) => runTeacherEpisode(env, t, s)));
  }
  if (teacher > 0 && compareReplay) {
    // The teacher branching from snapshots against the same teacher replaying each episode, seed by
    // seed in alternating order: the same episodes (checked), and the wall time of each.
    const wall = { snapshot: 0, replay: 0 }, jct: number[] = [];
    for (const [i, s] of seedList.entries()) {
      const out: Record<string, { jct: number; stats: string }> = {};
      for (const branch of (i % 2 === 0 ? ['snapshot', 'replay'] : ['replay', 'snapshot']) as ('snapshot' | 'replay')[]) {
        const t = new RolloutTeacher(makeEnv(inst), { ...ROLLOUT_TEACHER_DEFAULTS, alpha, rollouts: teacher, branch });
        const t0 = performance.now();
        out[branch] = { jct: runTeacherEpisode(env, t, s), stats: JSON.stringify(t.stats) };
        wall[branch] += performance.now() - t0;
      }
      if (out.snapshot!.jct !== out.replay!.jct || out.snapshot!.stats !== out.replay!.stats) throw new Error(`validate: seed ${s}: snapshot ${JSON.stringify(out.snapshot)} and replay ${JSON.stringify(out.replay)} differ`);
      jct.push(out.snapshot!.jct);
      console.log(`seed ${s}: ${out.snapshot!.jct.toFixed(2)} s both ways, ${out.snapshot!.stats}`);
    }
    report(`rollout teacher (${teacher} rollouts)`, jct);
    console.log(`teacher wall time: snapshots ${(wall.snapshot / 1000).toFixed(1)} s, replay ${(wall.replay / 1000).toFixed(1)} s, speed-up ${(wall.replay / wall.snapshot).toFixed(2)}x (identical episodes)`);
  }
}

// Run as a script only (agreement.ts imports the seed base).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main();
  } catch (e) {
    reportError(e, 'validate');
  }
}
