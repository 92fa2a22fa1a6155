import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { mean, pairedRatio } from '../../../src/core/stats.js';
import { heuristicSolvers, sweepAlpha, sweepHeSrpt, sweepRankShape, ALPHA_GRID, HESRPT_P_GRID, RANK_MU_GRID, RANK_SIGMA_GRID } from '../../../src/problems/scheduling/heuristics.js';
import { HeSrpt, WeightedFair } from '../../../src/problems/scheduling/weighted-fair.js';
import { makeEnv, runEpisode } from '../../../src/problems/scheduling/evaluate.js';
import { instanceRef, loadInstance, type SchedulingInstance } from '../../../src/problems/scheduling/instances.js';
import { schedulingProblem } from '../../../src/problems/scheduling/index.js';
import { DataPath } from '../../../src/core/data.js';
import { tpchInstance } from './fixtures.js';
import { episodeJobs, PriorityShare, STAY_ALWAYS } from '../../../src/problems/scheduling/headroom.js';

const data = new DataPath();
const synthetic = (id: string): SchedulingInstance => loadInstance(instanceRef(id, data)!);
const ctx = (seed: number) => ({ seed, rng: new Rng(seed), quick: true, options: { sweep_episodes: '1' } as Record<string, string> });

test('every heuristic completes every job (batch and stream)', async () => {
  for (const id of ['synthetic_batch12_30exec', 'synthetic_stream25-20s_30exec']) {
    const inst = synthetic(id);
    for (const solver of heuristicSolvers) {
      const policy = await solver.solve(inst, ctx(1));
      const env = makeEnv(inst);
      for (const seed of [1000, 1001]) {
        const r = runEpisode(env, policy, seed);
        assert.equal(r.completed, r.numJobs, `${solver.info.name} on ${id}, seed ${seed}`);
        assert.equal(r.recoveries, 0);
      }
    }
  }
});

/** Mean average JCT of a solver over `seeds` episodes. */
async function meanJct(inst: SchedulingInstance, name: string, seeds: number): Promise<number> {
  const solver = heuristicSolvers.find((s) => s.info.name === name)!;
  const policy = await solver.solve(inst, ctx(1));
  const env = makeEnv(inst);
  const out: number[] = [];
  for (let i = 0; i < seeds; i++) out.push(mean(runEpisode(env, policy, inst.seedBase + i).jctMs));
  return mean(out);
}

test('sanity orderings of the paper on a batch: SJF-CP and fair beat FIFO on average JCT (12 seeds)', async (t) => {
  // Measured margins (12 seeds): TPC-H FIFO ~275 s, SJF-CP ~195 s, fair ~132 s; synthetic 400 / 240 / 100 s.
  const insts = [synthetic('synthetic_batch20_50exec'), tpchInstance('tpch_batch20_50exec')].filter((x): x is SchedulingInstance => x !== undefined);
  if (insts.length === 1) t.diagnostic('TPC-H profiles not on the data path: synthetic only');
  for (const inst of insts) {
    const fifo = await meanJct(inst, 'fifo', 12);
    const sjf = await meanJct(inst, 'sjf-cp', 12);
    const fair = await meanJct(inst, 'fair', 12);
    assert.ok(sjf < 0.85 * fifo, `${inst.id}: SJF-CP ${sjf} vs FIFO ${fifo}`);
    assert.ok(fair < 0.7 * fifo, `${inst.id}: fair ${fair} vs FIFO ${fifo}`);
  }
});

test('tuned weighted fair: the sweep runs on training seeds and is at least as good there as fair and naive', () => {
  const inst = synthetic('synthetic_batch10_20exec');
  const { alpha, scores } = sweepAlpha(inst, 2);
  assert.equal(scores.length, 41);
  assert.ok(ALPHA_GRID.includes(alpha));
  assert.deepEqual([ALPHA_GRID[0], ALPHA_GRID[20], ALPHA_GRID[40]], [-2, 0, 2]);
  const best = Math.min(...scores);
  assert.equal(scores[ALPHA_GRID.indexOf(alpha)], best);
  assert.ok(best <= scores[ALPHA_GRID.indexOf(0)]! && best <= scores[ALPHA_GRID.indexOf(1)]!);
  // The scores are training-seed episodes: recompute alpha = 0 on seeds 1,000,000 and 1,000,001.
  const train = synthetic('synthetic_batch10_20exec_train');
  assert.equal(train.seedBase, 1_000_000);
  const env = makeEnv(train);
  const fair = mean([0, 1].map((i) => mean(runEpisode(env, new WeightedFair(0), train.seedBase + i).jctMs)));
  assert.equal(fair, scores[20]);
});

test('evaluate: metrics of one cell, the timed re-run reproduces the episode', async () => {
  const inst = synthetic('synthetic_batch10_20exec');
  const policy = await heuristicSolvers[2]!.solve(inst, ctx(2));
  const m = await schedulingProblem.evaluate(inst, policy, { ...ctx(2), solveMs: 0 });
  assert.deepEqual(Object.keys(m).sort(), schedulingProblem.metrics.map((x) => x.name).sort());
  assert.ok(m.avg_jct_s! > 0 && m.p95_jct_s! >= m.avg_jct_s! * 0.5 && m.makespan_s! >= m.p95_jct_s!);
  assert.ok(m.decisions_per_sec! > 0 && m.task_events_per_sec! > m.decisions_per_sec!);
  const env = makeEnv(inst);
  const r = runEpisode(env, policy, 1001); // cell seed 2 -> episode seed 1001
  assert.equal(m.avg_jct_s, mean(r.jctMs) / 1000);
});

test('weighted fair visiting order: arrival order (decima-sim) vs smallest total work first', () => {
  const inst = synthetic('synthetic_batch10_20exec');
  const env = makeEnv(inst);
  for (const seed of [1000, 1001, 1002]) {
    // First decision: the global pool at t = 0, every job under its share.
    const { obs, info } = env.reset({ seed });
    const jobOf = (a: number) => obs.stageJob[Math.floor(a / obs.numExecutors)]!;
    assert.equal(jobOf(new WeightedFair(-1).act(obs, info)), 0, 'arrival order: the first job');
    let smallest = 0;
    for (let k = 1; k < obs.numJobs; k++) if (obs.jobTotalWorkMs[k]! < obs.jobTotalWorkMs[smallest]!) smallest = k;
    assert.equal(jobOf(new WeightedFair(-1, 'work').act(obs, info)), smallest, 'work order: the smallest job');
  }
  // Both orders complete every job; the order changes the schedule.
  const a = runEpisode(env, new WeightedFair(-1), 1000), b = runEpisode(env, new WeightedFair(-1, 'work'), 1000);
  assert.equal(b.completed, b.numJobs);
  assert.notDeepEqual(Array.from(a.jctMs), Array.from(b.jctMs));
});

test('tuned-rank-weighted-fair shares: T^alpha times the bump over the size rank, normalised, rounded up', () => {
  const inst = synthetic('synthetic_batch10_20exec');
  const env = makeEnv(inst);
  const { obs } = env.reset({ seed: 1000 });
  const J = obs.numJobs, E = obs.numExecutors, T = Array.from(obs.jobTotalWorkMs.subarray(0, J));
  const bySize = T.map((_, k) => k).sort((a, b) => T[a]! - T[b]! || a - b);
  const expected = (alpha: number, mu: number, sigma: number): number[] => {
    const w = new Array<number>(J);
    bySize.forEach((k, i) => { w[k] = Math.pow(T[k]!, alpha) * Math.exp(-((i / (J - 1) - mu) ** 2) / (2 * sigma * sigma)); });
    const total = bySize.reduce((s, k) => s + w[k]!, 0);
    return w.map((x) => Math.ceil((E * x) / total));
  };
  for (const [alpha, mu, sigma] of [[-0.5, 0.3, 0.2], [0, 1, 0.1], [0, 0, 0.1], [1, 0.5, 0.5]] as const) {
    const caps = Array.from(new WeightedFair(alpha, 'work', { mu, sigma }).shares(obs).caps.subarray(0, J));
    assert.deepEqual(caps, expected(alpha, mu, sigma), `alpha ${alpha}, mu ${mu}, sigma ${sigma}`);
  }
  // The bump moves executors: centred on the largest job it gets the most, centred on the smallest the least.
  const [small, large] = [bySize[0]!, bySize[J - 1]!];
  const top = new WeightedFair(0, 'work', { mu: 1, sigma: 0.1 }).shares(obs).caps;
  assert.ok(top[large]! > top[small]!);
  const bottom = new WeightedFair(0, 'work', { mu: 0, sigma: 0.1 }).shares(obs).caps;
  assert.ok(bottom[small]! > bottom[large]!);
  assert.throws(() => new WeightedFair(0, 'arrival', { mu: 0, sigma: 0.2 }), /needs jobOrder 'work'/);
  assert.throws(() => new WeightedFair(0, 'work', { mu: 0, sigma: 0 }), /sigma 0, expected > 0/);
});

test('tuned-rank-weighted-fair sweep: never worse than tuned-weighted-fair-sjf on its training episodes, scored on them', () => {
  const inst = synthetic('synthetic_batch10_20exec');
  const s = sweepRankShape(inst, 2);
  const flat = sweepAlpha(inst, 2, undefined, 'work');
  assert.equal(s.flatScore, Math.min(...flat.scores));
  assert.ok(s.score <= s.flatScore);
  const stage1 = RANK_MU_GRID.length * RANK_SIGMA_GRID.length * (flat.alpha === 0 ? 1 : 2);
  assert.equal(s.configs, stage1 + (s.shape ? ALPHA_GRID.length - 1 : 0));
  // The score is the chosen policy's mean average JCT on training seeds 1,000,000 and 1,000,001.
  const train = synthetic('synthetic_batch10_20exec_train');
  const env = makeEnv(train);
  const policy = new WeightedFair(s.alpha, 'work', s.shape ?? undefined);
  assert.equal(mean([0, 1].map((i) => mean(runEpisode(env, policy, train.seedBase + i).jctMs))), s.score);
});

test('tuned-rank-weighted-fair sweep: a bump is kept only if its paired gain over the flat shares on the training episodes has a CI below 1', () => {
  const inst = synthetic('synthetic_batch10_20exec');
  const train = synthetic('synthetic_batch10_20exec_train');
  const env = makeEnv(train);
  const episodes = (policy: WeightedFair, n: number) => Array.from({ length: n }, (_, i) => mean(runEpisode(env, policy, train.seedBase + i).jctMs));
  // Measured: on 2 episodes the best bump wins on both (kept); on 4 it is 3% better on the mean but
  // loses on one episode, so its interval reaches 1 and the sweep falls back to the flat shares.
  for (const n of [2, 4]) {
    const s = sweepRankShape(inst, n);
    const flat = sweepAlpha(inst, n, undefined, 'work');
    const b = s.bestBump!;
    assert.ok(b, `${n} episodes: some bump beats the flat shares on the mean`);
    const r = pairedRatio(episodes(new WeightedFair(b.alpha, 'work', b.shape), n), episodes(new WeightedFair(flat.alpha, 'work'), n));
    assert.deepEqual(b.vsFlat, r, `${n} episodes: the ratio is the training episodes'`);
    assert.ok(r.mean < 1);
    if (n === 2) {
      assert.ok(r.ci95[1] < 1);
      assert.deepEqual([s.alpha, s.shape], [b.alpha, b.shape]);
    } else {
      assert.ok(r.ci95[1] >= 1, `4 episodes: ${JSON.stringify(r)}`);
      assert.deepEqual([s.alpha, s.shape, s.score], [flat.alpha, null, s.flatScore]);
    }
  }
});

test('hesrpt shares: with m jobs left the i-th largest by remaining work gets (i/m)^c - ((i-1)/m)^c of the executors, rounded up', () => {
  const inst = synthetic('synthetic_batch10_20exec');
  const env = makeEnv(inst);
  const expected = (obs: ReturnType<typeof env.reset>['obs'], p: number): number[] => {
    const J = obs.numJobs, E = obs.numExecutors, c = 1 / (1 - p);
    const R = Array.from(obs.jobRemainingWorkMs.subarray(0, J));
    const open = R.map((_, k) => k).filter((k) => { for (let r = obs.jobPtr[k]!; r < obs.jobPtr[k + 1]!; r++) if (obs.stageUnassigned[r]! > 0) return true; return false; });
    const m = open.length;
    const caps = new Array<number>(J).fill(0);
    open.sort((a, b) => R[a]! - R[b]! || a - b).forEach((k, q) => { const i = m - q; caps[k] = Math.ceil(E * ((i / m) ** c - ((i - 1) / m) ** c)); });
    return caps;
  };
  let { obs, info } = env.reset({ seed: 1000 });
  const J = obs.numJobs;
  for (const p of [0.1, 0.5, 0.9]) assert.deepEqual(Array.from(new HeSrpt(p).shares(obs).caps.subarray(0, J)), expected(obs, p), `t = 0, p ${p}`);
  // p near 0 splits evenly, p near 1 gives the smallest job nearly everything.
  const even = new HeSrpt(0.01).shares(obs).caps, sharp = new HeSrpt(0.99).shares(obs).caps;
  let smallest = 0;
  for (let k = 1; k < J; k++) if (obs.jobRemainingWorkMs[k]! < obs.jobRemainingWorkMs[smallest]!) smallest = k;
  assert.ok(Math.max(...even.subarray(0, J)) - Math.min(...even.subarray(0, J)) <= 1);
  assert.equal(sharp[smallest], obs.numExecutors);
  // The first decision goes to the smallest job.
  assert.equal(obs.stageJob[Math.floor(new HeSrpt(0.5).act(obs, info) / obs.numExecutors)], smallest);
  // Every later decision, with jobs finished (share 0) and the rest ranked by what remains, which
  // is not always the order of their total work.
  const policy = new HeSrpt(0.5);
  let reordered = 0;
  for (let step = 0; ; step++) {
    const r = env.step(policy.act(obs, info));
    if (r.terminated) break;
    obs = r.obs; info = r.info;
    assert.deepEqual(Array.from(new HeSrpt(0.7).shares(obs).caps.subarray(0, obs.numJobs)), expected(obs, 0.7), `step ${step}`);
    const rows = Array.from({ length: obs.numJobs }, (_, k) => k);
    const byRemaining = [...rows].sort((a, b) => obs.jobRemainingWorkMs[a]! - obs.jobRemainingWorkMs[b]! || a - b);
    const byTotal = [...rows].sort((a, b) => obs.jobTotalWorkMs[a]! - obs.jobTotalWorkMs[b]! || a - b);
    if (byRemaining.join() !== byTotal.join()) reordered++;
  }
  assert.ok(reordered > 0, 'some decision where remaining and total work order the jobs differently');
  assert.throws(() => new HeSrpt(1), /p 1, expected 0 < p < 1/);
  assert.throws(() => new HeSrpt(0), /p 0, expected 0 < p < 1/);
});

test('hesrpt sweep: the p of the grid with the lowest mean average JCT on the training episodes', () => {
  const inst = synthetic('synthetic_batch10_20exec');
  const { p, scores } = sweepHeSrpt(inst, 2);
  assert.equal(scores.length, HESRPT_P_GRID.length);
  assert.deepEqual([HESRPT_P_GRID[0], HESRPT_P_GRID[9], HESRPT_P_GRID[18]], [0.05, 0.5, 0.95]);
  assert.equal(scores[HESRPT_P_GRID.indexOf(p)], Math.min(...scores));
  const train = synthetic('synthetic_batch10_20exec_train');
  const env = makeEnv(train);
  assert.equal(mean([0, 1].map((i) => mean(runEpisode(env, new HeSrpt(p), train.seedBase + i).jctMs))), scores[HESRPT_P_GRID.indexOf(p)]);
});

test('headroom search: PriorityShare at T^alpha weights and arrival priorities is weighted fair, decision for decision', () => {
  const inst = synthetic('synthetic_batch10_20exec');
  const env = makeEnv(inst);
  for (const alpha of [-1.2, 0, 0.5]) {
    for (const seed of [1000, 1001]) {
      const { jobs } = episodeJobs(inst, seed);
      const w = Float64Array.from(jobs, (j) => Math.pow(j.template.totalWorkMs, alpha));
      const p = Float64Array.from(jobs, (_, j) => j);
      const wf = new WeightedFair(alpha), ps = new PriorityShare(w, p, STAY_ALWAYS);
      let { obs, info } = env.reset({ seed });
      let steps = 0;
      for (;;) {
        const x = wf.act(obs, info), y = ps.act(obs, info);
        assert.equal(y, x, `alpha ${alpha}, seed ${seed}, decision ${steps}`);
        const r = env.step(x);
        steps++;
        if (r.terminated) break;
        ({ obs, info } = r);
      }
      assert.ok(steps > 10);
    }
  }
  // A different priority order changes the first decision (the global pool goes to the first job in priority).
  const { obs, info } = env.reset({ seed: 1000 });
  const n = obs.numJobs;
  const ps = new PriorityShare(new Float64Array(n).fill(1), Float64Array.from({ length: n }, (_, j) => n - j), STAY_ALWAYS);
  assert.equal(obs.stageJob[Math.floor(ps.act(obs, info) / obs.numExecutors)], n - 1);
});
