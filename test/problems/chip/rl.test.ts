import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import type { TrainContext } from '../../../src/core/problem.js';
import { noGrad } from '../../../src/learn/tensor.js';
import { inference, inferenceScratchBytes, releaseBufferPool } from '../../../src/learn/scratch.js';
import { asPolicy } from '../../../src/learn/policy.js';
import { typedArraysMadeBy } from '../../typed-arrays.js';
import { logSoftmax } from '../../../src/learn/ops/softmax.js';
import { shippedCheckpointPath } from '../../../src/core/train.js';
import { legality } from '../../../src/problems/chip/cost.js';
import { generateInstance } from '../../../src/problems/chip/instances.js';
import { PlacementEnv, type PlacementObs } from '../../../src/problems/chip/rl-env.js';
import { PlacementPolicy, placeWithPolicy, RL_DEFAULTS, rlSolver, trainRl, type RlConfig } from '../../../src/problems/chip/rl.js';
import { Adam, Linear, loadCheckpoint, saveCheckpoint, sum } from '../../../src/learn/index.js';
import { SelfoptError } from '../../../src/core/errors.js';
import { killedSave } from '../../core/killed-save.js';

const TINY: RlConfig = { ...RL_DEFAULTS, maxCells: 144, numEnvs: 2, numSteps: 16, numMinibatches: 2, updateEpochs: 2, fdRounds: 3, updatesPerChunk: 1 };

test('RL env: masks only legal cells, one step per macro, reward = -proxy x scale at the end', () => {
  const env = new PlacementEnv({ instances: [{ id: 'synth_h6_s24_101' }], maxCells: 144, fdRounds: 3, rewardScale: 2 });
  let { obs, info } = env.reset({ seed: 1 });
  const rng = new Rng(1);
  let steps = 0, last = 0;
  for (;;) {
    const mask = info.actionMask!;
    assert.ok(mask.slice(obs.cells).every((m) => m === 0), 'padding cells masked');
    const legal = [...mask.keys()].filter((a) => mask[a] === 1);
    const r = env.step(legal[rng.int(legal.length)]!);
    steps++;
    if (r.terminated) { last = r.reward; assert.ok(Math.abs(r.reward + 2 * (r.info['proxy'] as number)) < 1e-12); assert.equal(r.info['legal'], true); break; }
    assert.equal(r.reward, 0);
    obs = r.obs; info = r.info;
  }
  assert.equal(steps, 6);
  assert.ok(last < 0);
  const inst = generateInstance('synth_h6_s24_101');
  assert.equal(legality(inst.nl, env.lastPlacement!, inst.settings).legal, true);
});

test('RL: a few seconds of PPO train, resume and checkpoint round-trip; the policy places legally', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chip-rl-'));
  try {
    const points: Record<string, number>[] = [];
    const ctx = (out: string): TrainContext => ({
      seed: 1, rng: new Rng(1), quick: true, options: {}, stateDir: join(dir, 'state'), out, command: 'test',
      log: (p) => points.push(p), progress: () => {},
    });
    const specs = [{ id: 'synth_h6_s24_101' }];
    await trainRl(specs, { steps: 1 }, ctx(join(dir, 'a.ckpt')), TINY);
    const state1 = JSON.parse(readFileSync(join(dir, 'state', 'rl-state.json'), 'utf8')) as { updates: number };
    assert.equal(state1.updates, 1);
    // the same command with a larger budget resumes from the saved state
    await trainRl(specs, { steps: 2 }, ctx(join(dir, 'b.ckpt')), TINY);
    const state2 = JSON.parse(readFileSync(join(dir, 'state', 'rl-state.json'), 'utf8')) as { updates: number };
    assert.equal(state2.updates, 2);
    assert.ok(points.length === 2 && points[1]!['update'] === 2);
    assert.ok(existsSync(join(dir, 'b.ckpt')));
    // round-trip: a policy loaded from the checkpoint computes what the saved state computes
    const a = new PlacementPolicy({ maxCells: 144, init: join(dir, 'b.ckpt') }, new Rng(5));
    const b = new PlacementPolicy({ maxCells: 144, init: join(dir, 'state', (JSON.parse(readFileSync(join(dir, 'state', 'rl-state.json'), 'utf8')) as { files: { weights: string } }).files.weights) }, new Rng(6));
    const fresh = new PlacementPolicy({ maxCells: 144 }, new Rng(7));
    const env = new PlacementEnv({ instances: specs, maxCells: 144 });
    const { obs } = env.reset({ seed: 3 });
    const la = noGrad(() => a.forward([obs]).logits.data.slice()), lb = noGrad(() => b.forward([obs]).logits.data.slice()), lf = noGrad(() => fresh.forward([obs]).logits.data.slice());
    assert.deepEqual(la, lb);
    assert.notDeepEqual(la, lf);
    const inst = generateInstance('synth_h6_s24_101');
    const pl = placeWithPolicy(inst, a, TINY, new Rng(2));
    assert.equal(legality(inst.nl, pl, inst.settings).legal, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('RL: a checkpoint of another model is one clear error, not a list of mismatched tensors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chip-rl-'));
  try {
    const other = join(dir, 'linear.ckpt');
    saveCheckpoint(other, new Linear(3, 2, { rng: new Rng(1) }), {});
    await assert.rejects(async () => rlSolver.solve(generateInstance('synth_h6_s24_101'), { seed: 1, rng: new Rng(1), quick: true, options: { checkpoint: other } }), (e: unknown) =>
      e instanceof SelfoptError && !e.message.includes('\n') && /checkpoint holds a Linear .*linear\.ckpt.*a ChipPlacementPolicy checkpoint/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('RL: with a budget in seconds the progress is in seconds (not n/n updates, 100% at every chunk); a stop saves the chunks done', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chip-rl-'));
  try {
    const stop = new AbortController();
    const seen: [number, number][] = [];
    const ctx: TrainContext = {
      seed: 1, rng: new Rng(1), quick: true, options: {}, stateDir: join(dir, 'state'), out: join(dir, 'a.ckpt'), command: 'test',
      log: () => {}, progress: (done, total) => { seen.push([done, total]); stop.abort(); }, signal: stop.signal,
    };
    await trainRl([{ id: 'synth_h6_s24_101' }], { seconds: 600 }, ctx, TINY);
    assert.equal(seen.length, 1);
    const [done, total] = seen[0]!;
    assert.equal(total, 600);
    assert.ok(done > 0 && done < 600, `done ${done}`);
    // stopped after the first chunk: its update saved, no final checkpoint
    assert.equal((JSON.parse(readFileSync(join(dir, 'state', 'rl-state.json'), 'utf8')) as { updates: number }).updates, 1);
    assert.ok(!existsSync(join(dir, 'a.ckpt')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('RL: a save killed after a chunk\'s weights and before its update count resumes whole: the chunk is not trained twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chip-rl-kill-'));
  try {
    const specs = [{ id: 'synth_h6_s24_101' }];
    const run = (state: string, steps: number) => trainRl(specs, { steps }, { seed: 1, rng: new Rng(1), quick: true, options: {}, stateDir: join(dir, state), out: join(dir, `${state}.ckpt`), command: 'test', log: () => {}, progress: () => {} }, TINY);
    // Exactly equal to the straight run b: each chunk is its own PPO run (seed + updates so far, a fresh
    // Adam) from the last chunk's weights, and TINY's chunks are 1 update, so a resume lands on a chunk boundary.
    await killedSave(dir, run, 1, 2);
    const env = new PlacementEnv({ instances: specs, maxCells: 144 });
    const { obs } = env.reset({ seed: 3 });
    const logits = (ckpt: string) => noGrad(() => new PlacementPolicy({ maxCells: 144, init: join(dir, ckpt) }, new Rng(5)).forward([obs]).logits.data.slice());
    assert.deepEqual(logits('k.ckpt'), logits('b.ckpt'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("RL: a grid with more cells than the checkpoint's policy scores is one line naming the grid and the checkpoint, not 'maxCells >= N'", async () => {
  const inst = generateInstance('synth_h4_s8_1');
  const big = { ...inst, settings: { ...inst.settings, columns: 40, rows: 40 } };
  await assert.rejects(async () => rlSolver.solve(big, { seed: 1, rng: new Rng(1), quick: true, options: {} }),
    (e: unknown) => e instanceof SelfoptError && /has a 40 x 40 grid \(1600 cells\), more than the 1024 the rl checkpoint .*rl\.ckpt places on/.test(e.message));
});

test("RL env: the last step's info says whether the placement is legal (a macro with no room anywhere was left overlapping, told by nothing but the reward)", () => {
  // Two 60 x 45 macros on a 100 x 100 canvas of 4 x 4 cells: once the first sits on a cell centre the
  // second has no legal spot (cell centres or the finer lattice).
  const attr = (k: string, v: string) => `  attr {\n    key: "${k}"\n    value {\n      ${v}\n    }\n  }\n`;
  const macro = (m: string) => `node {\n  name: "${m}"\n${attr('type', 'placeholder: "MACRO"')}${attr('width', 'f: 60')}${attr('height', 'f: 45')}}\n`
    + `node {\n  name: "${m}/A"\n${attr('type', 'placeholder: "MACRO_PIN"')}${attr('macro_name', `placeholder: "${m}"`)}}\n`;
  const dir = mkdtempSync(join(tmpdir(), 'chip-crowded-'));
  try {
    writeFileSync(join(dir, 'netlist.pb.txt'), `node {\n  name: "P"\n  input: "M0/A"\n  input: "M1/A"\n${attr('type', 'placeholder: "PORT"')}${attr('y', 'f: 50')}}\n` + macro('M0') + macro('M1'));
    writeFileSync(join(dir, 'initial.plc'), '# Columns : 4  Rows : 4\n# Width : 100  Height : 100\n');
    const env = new PlacementEnv({ instances: [{ id: 'crowded', netlist: join(dir, 'netlist.pb.txt'), plc: join(dir, 'initial.plc') }], maxCells: 16, fdRounds: 1 });
    const { info } = env.reset({ seed: 1 });
    const r = env.step(info.actionMask!.indexOf(1));
    assert.equal(r.terminated, true);
    assert.equal(r.info['legal'], false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('RL places in inference(): the cells the noGrad forward pass picks, the same placement, and a second placement reuses the scratch (shipped checkpoint)', () => {
  releaseBufferPool(); // the scratch starts empty whatever ran before
  const policy = new PlacementPolicy({ maxCells: 1024, init: shippedCheckpointPath('chip', 'rl') }, new Rng(0));
  const cfg = { ...RL_DEFAULTS, maxCells: 1024 };
  for (const id of ['synth_h6_s24_101', 'synth_h12_s40_7']) {
    const inst = generateInstance(id);
    // placeWithPolicy as it ran before: each macro's cell the most likely legal one off a noGrad forward pass.
    const env = new PlacementEnv({ instances: [{ id }], maxCells: cfg.maxCells, fdRounds: 30, rewardScale: 1 });
    let { obs, info } = env.reset({ seed: new Rng(2).int(1 << 30) });
    let macros = 0;
    for (;;) {
      const mask = info.actionMask!;
      const logits = noGrad(() => logSoftmax(policy.forward([obs]).logits, mask).data);
      let best = -1;
      for (let a = 0; a < obs.cells; a++) if (mask[a] && (best < 0 || logits[a]! > logits[best]!)) best = a;
      macros++;
      const r = env.step(best);
      if (r.terminated || r.truncated) break;
      obs = r.obs; info = r.info;
    }
    const pl = placeWithPolicy(inst, policy, cfg, new Rng(2));
    assert.deepEqual(pl, { ...env.lastPlacement!, solver: 'rl' }, `${id}: placement`);
    const held = inferenceScratchBytes();
    assert.ok(held > 0, `${id} (${macros} macros): the cells were chosen in inference()`);
    assert.deepEqual(placeWithPolicy(inst, policy, cfg, new Rng(2)), pl);
    assert.equal(inferenceScratchBytes(), held, `${id}: the scratch grew on a placement already made`);
  }
});

test('RL acting takes its cell and global inputs and its index arrays from the inference scratch: once warm, a step makes no typed array, and the logits are noGrad\'s bit for bit (shipped checkpoint)', () => {
  const net = new PlacementPolicy({ maxCells: 1024, init: shippedCheckpointPath('chip', 'rl') }, new Rng(0));
  const env = new PlacementEnv({ instances: [{ id: 'synth_h6_s24_101' }], maxCells: 1024, fdRounds: 1, rewardScale: 1 });
  const policy = asPolicy(net, { greedy: true });
  const seen: { obs: PlacementObs; mask: Uint8Array }[] = [];
  let { obs, info } = env.reset({ seed: 4 });
  for (;;) {
    seen.push({ obs, mask: info.actionMask! });
    const r = env.step(policy.act(obs, info, new Rng(0)));
    if (r.terminated || r.truncated) break;
    obs = r.obs; info = r.info;
  }
  const logits = (o: PlacementObs) => Buffer.from(Float32Array.from(net.forward([o]).logits.data).buffer);
  seen.forEach(({ obs: o, mask }, step) => {
    assert.ok(inference(() => logits(o)).equals(noGrad(() => logits(o))), `step ${step}: logits`);
    assert.deepEqual(typedArraysMadeBy(() => policy.act(o, { actionMask: mask }, new Rng(0))), { float32: 0, float64: 0, int32: 0 }, `step ${step}`);
  });
});

test('RL acting runs the GCN once per netlist and weights: once over a whole placement, again after an optimizer step, a checkpoint load or a write into its weights; every step\'s logits and value are noGrad\'s bit for bit, and training forwards run it every time (shipped checkpoint)', () => {
  const net = new PlacementPolicy({ maxCells: 1024, init: shippedCheckpointPath('chip', 'rl') }, new Rng(0));
  let gcnRuns = 0;
  const conv1 = net.conv1.forward.bind(net.conv1);
  net.conv1.forward = (ahat, h) => { gcnRuns++; return conv1(ahat, h); };
  const runs = (fn: () => void): number => { const before = gcnRuns; fn(); return gcnRuns - before; };
  const out = (o: PlacementObs) => { const r = net.forward([o]); return Buffer.concat([Buffer.from(Float32Array.from(r.logits.data).buffer), Buffer.from(Float32Array.from(r.value.data).buffer)]); };
  const acted = (o: PlacementObs) => inference(() => out(o));
  const env = new PlacementEnv({ instances: [{ id: 'synth_h12_s40_7' }], maxCells: 1024, fdRounds: 1, rewardScale: 1 });
  const policy = asPolicy(net, { greedy: true });
  const seen: PlacementObs[] = [];
  let { obs, info } = env.reset({ seed: 4 });
  const placement = runs(() => {
    for (;;) {
      seen.push({ ...obs, cellFeat: obs.cellFeat.slice(), global: obs.global.slice() });
      const r = env.step(policy.act(obs, info, new Rng(0)));
      if (r.terminated || r.truncated) break;
      obs = r.obs; info = r.info;
    }
  });
  assert.equal(seen.length, 12);
  assert.equal(placement, 1, 'GCN runs over a placement of 12 macros');
  seen.forEach((o, step) => assert.ok(acted(o).equals(noGrad(() => out(o))), `step ${step}`));
  const exact = (why: string, recomputed: number) => {
    assert.equal(runs(() => seen.forEach((o, step) => assert.ok(acted(o).equals(noGrad(() => out(o))), `${why}: step ${step}`))), seen.length + recomputed, why);
  };
  exact('warm', 0);
  // A training step: its forward passes run the GCN each time, and the weights it changes are seen.
  const adam = new Adam(net.parameters(), { lr: 1e-2 });
  assert.equal(runs(() => sum(net.forward([seen[0]!]).value).backward()), 1, 'a training forward pass');
  assert.equal(runs(() => sum(net.forward([seen[0]!]).value).backward()), 1, 'a second training forward pass');
  adam.step();
  exact('after an optimizer step', 1);
  loadCheckpoint(shippedCheckpointPath('chip', 'rl'), net);
  exact('after loading a checkpoint', 1);
  net.conv2.bias!.data[3]! += 0.25;
  exact('after a write into the GCN\'s weights', 1);
  net.cellW.data[0]! += 0.25; // not the GCN's: the embeddings hold
  exact('after a write into a cell weight', 0);
});
