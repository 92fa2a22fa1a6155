import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { saveCheckpoint, inference } from '../../../src/learn/index.js';
import { decimaPolicy, decide, loadDecima } from '../../../src/problems/scheduling/decima-policy.js';
import { shippedCheckpointPath } from '../../../src/core/train.js';
import { encodeAction } from '../../../src/problems/scheduling/env.js';
import { typedArraysMadeBy } from '../../typed-arrays.js';
import { trainDecima } from '../../../src/problems/scheduling/decima-train.js';
import type { TrainContext } from '../../../src/core/problem.js';
import { DataPath } from '../../../src/core/data.js';
import { makeEnv, runEpisode } from '../../../src/problems/scheduling/evaluate.js';
import { instanceRef, loadInstance, type SchedulingInstance } from '../../../src/problems/scheduling/instances.js';
import { WeightedFair, rankBump, type RankShape } from '../../../src/problems/scheduling/weighted-fair.js';
import { DecimaNet, fullJobExtras, snapshot, structureOf, viewOf, JOB_EXTRAS_FULL, STAGE_EXTRAS, type Step } from '../../../src/problems/scheduling/decima-net.js';
import { equivalentLimits, expertFromInputs } from '../../../src/problems/scheduling/decima-imitation.js';
import { agreementEpisode, emptyCounts, isStay, greedyLimit } from '../../../src/problems/scheduling/agreement.js';

const data = new DataPath();
const synthetic = (id: string): SchedulingInstance => loadInstance(instanceRef(id, data)!);

const cases: [string, number, RankShape | null][] = [
  ['synthetic_batch8_20exec_train', -1, null], ['synthetic_stream30-60s_20exec_train', 0.2, null],
  // tuned-rank-weighted-fair's shares: the bump is in the share input too
  ['synthetic_batch8_20exec_train', 0.1, { mu: 0.3, sigma: 0.2 }], ['synthetic_stream30-60s_20exec_train', 0, { mu: 0.4, sigma: 0.3 }],
];
for (const [id, alpha, shape] of cases) {
  test(`the expert-state inputs determine weighted fair's (smallest work first) stage and share: ${id}${shape ? `, rank bump ${shape.mu}/${shape.sigma}` : ''}`, () => {
    const inst = synthetic(id);
    const env = makeEnv(inst);
    const expert = new WeightedFair(alpha, 'work', shape ?? undefined);
    let states = 0, visits = 0, exact = 0, multi = 0;
    for (let e = 0; e < 2; e++) {
      let { obs, info } = env.reset({ seed: inst.seedBase + e });
      for (;;) {
        const a = expert.act(obs, info);
        if (a !== env.idleAction) {
          const { row, limit } = env.decode(a);
          const st = snapshot(obs, structureOf(obs));
          const mine = expertFromInputs(st, obs.numExecutors, alpha, shape);
          assert.equal(mine.row, row, `state ${states}: the inputs give stage row ${mine.row}, the expert took ${row}`);
          const [lo, hi] = equivalentLimits(obs, row, limit);
          if (hi < obs.numExecutors) { assert.equal(mine.share, lo, 'an exact limit is the share'); exact++; }
          states++;
          if (!isStay(obs)) visits++;
          let sel = 0;
          for (let r = obs.jobPtr[obs.stageJob[row]!]!; r < obs.jobPtr[obs.stageJob[row]! + 1]!; r++) sel += obs.stageMask[r]!;
          if (sel > 1) multi++;
        }
        const r = env.step(a);
        if (r.terminated) break;
        ({ obs, info } = r);
      }
    }
    assert.ok(states > 50 && visits > 10 && exact > 5 && multi > 5, `${states} states, ${visits} outside the source job, ${exact} exact limits, ${multi} with several stages in the job`);
  });
}

test('the greedy limit at a given stage is the one decide picks there, and once warm it makes no typed array: its (step, job) pair comes from the inference scratch (shipped checkpoint)', () => {
  const net = loadDecima(shippedCheckpointPath('scheduling', 'decima'));
  const E = net.opts.numExecutors;
  const inst = synthetic(`synthetic_batch20_${E}exec`);
  const env = makeEnv(inst);
  let { obs } = env.reset({ seed: inst.seedBase });
  for (let i = 0; i < 60; i++) {
    const s = structureOf(obs);
    const d = decide(net, viewOf(obs, s), null);
    assert.equal(greedyLimit(net, obs, s, d.row), d.limit, `decision ${i}`);
    let again = -1;
    assert.deepEqual(typedArraysMadeBy(() => { again = greedyLimit(net, obs, s, d.row); }), { float32: 0, float64: 0, int32: 0 }, `decision ${i}`);
    assert.equal(again, d.limit);
    const r = env.step(encodeAction(d.row, d.limit, E));
    if (r.terminated || r.truncated) break;
    obs = r.obs;
  }
});

test('the rank-bumped weighted share of each job: by total work among the unfinished jobs, ties in arrival order, summed in that order; the same inside an inference step', () => {
  // Total work (s), unfinished, executors per job: ties at 5 s (jobs 1, 3, 6; job 3 finished), and 2 s (jobs 0, 5).
  const raw = [[2, 1, 0], [5, 1, 3], [9, 1, 1], [5, 0, 2], [1, 1, 0], [2, 1, 4], [5, 1, 0], [7, 0, 0]];
  const J = raw.length, E = 20, alpha = 0.4, shape = { mu: 0.3, sigma: 0.2 };
  const st = { s: { numJobs: J }, jobRaw: Float32Array.from(raw.flat()), jobExtra: new Float32Array(J * 4) } as unknown as Step;
  // The reference: weighted fair's shares computed as WeightedFair.shares orders them (a sort).
  const unfinished = raw.map((_, k) => k).filter((k) => raw[k]![1] === 1).sort((a, b) => raw[a]![0]! - raw[b]![0]! || a - b);
  assert.deepEqual(unfinished, [4, 0, 5, 1, 6, 2]);
  const w = new Float64Array(J);
  let total = 0;
  unfinished.forEach((k, i) => {
    w[k] = Math.pow(Float32Array.of(raw[k]![0]!)[0]! * 1000, alpha) * rankBump(i / (unfinished.length - 1), shape);
    total += w[k]!;
  });
  const got = fullJobExtras(st, E, alpha, shape);
  for (let k = 0; k < J; k++) {
    const share = raw[k]![1] === 1 ? Math.ceil((E * w[k]!) / total) : Math.ceil(0);
    assert.equal(got[k * JOB_EXTRAS_FULL + 8], Math.fround(share / 20), `job ${k}: weighted share`);
    assert.equal(got[k * JOB_EXTRAS_FULL + 7], Math.fround((share - raw[k]![2]!) / 20), `job ${k}: deficit against it`);
  }
  assert.deepEqual(inference(() => Array.from(fullJobExtras(st, E, alpha, shape))), Array.from(got));
});

test('agreement counts: every labelled state is counted once by kind, and a net gets some right', () => {
  const inst = synthetic('synthetic_batch6_20exec_train');
  const env = makeEnv(inst);
  const net = new DecimaNet({ numExecutors: 20, jobExtras: JOB_EXTRAS_FULL, stageExtras: STAGE_EXTRAS, shareAlpha: -1 }, new Rng(1));
  const c = emptyCounts();
  agreementEpisode(env, net, new WeightedFair(-1, 'work'), inst.seedBase, c);
  assert.equal(c.avgJctS.length, 1);
  assert.ok(c.stay + c.visit > 10);
  assert.equal(c.full + c.exact, c.stay + c.visit);
  assert.ok(c.visitStage <= c.visitJob && c.stayStage <= c.stay && c.rightJobMultiHits <= c.rightJobMulti);
  assert.ok(c.stayLimit + c.visitLimit === c.fullHits + c.exactHits);
});

test('Decima net with the expert-state inputs: the checkpoint records them (and shareAlpha) and loads to the same policy', () => {
  const inst = synthetic('synthetic_batch6_20exec_train');
  const env = makeEnv(inst);
  const net = new DecimaNet({ numExecutors: 20, jobExtras: JOB_EXTRAS_FULL, stageExtras: STAGE_EXTRAS, shareAlpha: -0.7 }, new Rng(4));
  const arch = net.architecture();
  assert.equal(arch.stageExtras, STAGE_EXTRAS);
  assert.equal(arch.shareAlpha, -0.7);
  const { obs } = env.reset({ seed: inst.seedBase });
  const st = snapshot(obs, structureOf(obs));
  // the stage inputs reach the stage scores
  const q0 = Array.from(net.embed([st]).q.data);
  const moved = { ...st, stageExtra: st.stageExtra.map((v, i) => (i % STAGE_EXTRAS === 1 ? v + 0.5 : v)) };
  assert.notDeepEqual(Array.from(net.embed([moved]).q.data), q0);
  const dir = mkdtempSync(join(tmpdir(), 'decima-full-'));
  try {
    const p = join(dir, 'full.ckpt');
    saveCheckpoint(p, net, {});
    const back = loadDecima(p);
    assert.equal(back.opts.shareAlpha, -0.7);
    assert.equal(back.opts.stageExtras, STAGE_EXTRAS);
    const a = runEpisode(env, decimaPolicy(net), inst.seedBase), b = runEpisode(env, decimaPolicy(back), inst.seedBase);
    assert.deepEqual(Array.from(b.jctMs), Array.from(a.jctMs));
    // A share input with tuned-rank-weighted-fair's bump: recorded, loaded, and it changes the inputs.
    const shaped = new DecimaNet({ ...net.opts, shareShape: { mu: 0.3, sigma: 0.2 } }, new Rng(4));
    assert.deepEqual(shaped.architecture().shareShape, { mu: 0.3, sigma: 0.2 });
    assert.equal(net.architecture().shareShape, undefined, 'flat shares leave older checkpoints\' architecture unchanged');
    const ps = join(dir, 'shaped.ckpt');
    saveCheckpoint(ps, shaped, {});
    assert.deepEqual(loadDecima(ps).opts.shareShape, { mu: 0.3, sigma: 0.2 });
    assert.notDeepEqual(Array.from(fullJobExtras(st, 20, -0.7, { mu: 0.3, sigma: 0.2 })), Array.from(fullJobExtras(st, 20, -0.7)));
    assert.throws(() => new DecimaNet({ ...net.opts, shareShape: { mu: 0.3, sigma: 0 } }, new Rng(4)), /shareShape/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('anchored REINFORCE: the anchor term pulls a fresh net towards the expert (greedy agreement rises) and the log reports it', async () => {
  const inst = synthetic('synthetic_batch6_20exec_train');
  const dir = mkdtempSync(join(tmpdir(), 'decima-anchor-'));
  try {
    const rows: Record<string, number>[] = [];
    const ctx = { seed: 1, rng: new Rng(1).split('train:decima'), quick: true, stateDir: dir, out: join(dir, 'out.ckpt'), command: 'test', log: (r: Record<string, number>) => rows.push(r), progress: () => {} };
    const options = { 'decima.workers': '0', 'decima.episodesPerIteration': '2', 'decima.jobExtras': '9', 'decima.stageExtras': '3', 'decima.expertSjf': '1', 'decima.expertAlpha': '-1', 'decima.anchorWeight': '20', 'decima.anchorStates': '128', 'decima.learningRate': '3e-3', 'decima.resetProbInit': '0' };
    const fresh = new DecimaNet({ numExecutors: 20, jobExtras: JOB_EXTRAS_FULL, stageExtras: STAGE_EXTRAS, shareAlpha: -1 }, new Rng(1).split('train:decima').split('init'));
    const env = makeEnv(inst), expert = new WeightedFair(-1, 'work');
    const agree = (n: DecimaNet) => { const c = emptyCounts(); agreementEpisode(env, n, expert, inst.seedBase + 100, c); return (c.stayStage + c.visitStage + c.stayLimit + c.visitLimit) / (2 * (c.stay + c.visit)); };
    const net = await trainDecima([inst], { steps: 12 }, { ...ctx, options } as unknown as TrainContext);
    const before = agree(fresh), after = agree(net);
    assert.ok(after > before + 0.1, `greedy agreement ${before.toFixed(2)} -> ${after.toFixed(2)}`);
    assert.equal(rows.length, 12);
    for (const r of rows) {
      assert.ok(Number.isFinite(r.anchorLoss) && r.anchorLoss! > 0);
      assert.ok(r.baselineExplained! <= 1);
    }
    assert.ok(rows[11]!.anchorLoss! < rows[0]!.anchorLoss!, `anchor loss ${rows[0]!.anchorLoss} -> ${rows[11]!.anchorLoss}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('validate.js and agreement.js: a bad number or an unknown flag is one error (exit 2), not NaN results or a flag read as a checkpoint', async () => {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const script = (name: string) => fileURLToPath(new URL(`../../../src/problems/scheduling/${name}.js`, import.meta.url));
  const cases: [string, string[], RegExp][] = [
    ['validate', ['--alpha', '0', '--seeds', 'abc'], /^validate: error: --seeds abc \(at command line\); expected an integer >= 1$/],
    ['validate', ['--alpha', 'zero', '--seeds', '2'], /^validate: error: --alpha zero \(at command line\); expected a number, or 'tuned'$/],
    ['validate', ['--alpha', '0', '--seed', '2'], /^validate: error: unknown flag --seed/],
    ['agreement', ['--alpha', 'x'], /^agreement: error: --alpha x \(at command line\)/],
    // The headroom study's scripts: NaN seeds ran no episode and printed NaN; an unknown flag was a stack trace.
    ['headroom', ['--seeds', 'ten'], /^headroom: error: --seeds ten \(at command line\); expected a positive integer$/],
    ['headroom', ['--per-decision', '--rollouts', '-1'], /^headroom: error: --rollouts -1 \(at command line\); expected a non-negative integer$/],
    ['headroom', ['--per-decision', '--limit-deltas', '1,x'], /^headroom: error: --limit-deltas x \(at command line\); expected comma-separated integers$/],
    ['headroom', ['--seed', '3'], /^headroom: error: unknown argument --seed \(at headroom command line\)/],
    ['speed', ['--episodes', 'many'], /^speed: error: --episodes many \(at command line\); expected a positive integer$/],
  ];
  for (const [name, args, pattern] of cases) {
    const r = spawnSync(process.execPath, [script(name), '--instance', 'synthetic_batch2_5exec_train', ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, `${name} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr.trim(), pattern);
    assert.equal(r.stdout, '', 'nothing measured');
  }
});
