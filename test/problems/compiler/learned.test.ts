/** Compiler problem tests: imitation and PPO: demos, cloning targets, training, the mask the policy is held to. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { ACTION_MASK, actionMask, ACTIONS, actionByName } from '../../../src/problems/compiler/passes.js';
import { OptSession } from '../../../src/problems/compiler/session.js';
import { evaluateCompiler } from '../../../src/problems/compiler/evaluate.js';
import { skip, dir, tiny, own } from './fixtures.js';
import { killedSave } from '../../core/killed-save.js';

test('cloning target: 0.7 on greedy\'s choice (ties shared), 0.3 by instructions removed, sums to 1', async () => {
  const { cloneTarget } = await import('../../../src/problems/compiler/imitation.js');
  const childCounts = ACTIONS.map(() => 100);
  childCounts[3] = 90; childCounts[7] = 90; childCounts[9] = 95; childCounts[11] = 120;
  const t = cloneTarget({ program: 'p', taken: [], features: [], count: 100, childCounts, returnToGo: 0 });
  const total = t.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - 1) < 1e-6, String(total));
  assert.ok(Math.abs(t[3]! - (0.35 + 0.3 * 10 / 25)) < 1e-6 && Math.abs(t[7]! - t[3]!) < 1e-9);
  assert.ok(Math.abs(t[9]! - 0.3 * 5 / 25) < 1e-6);
  assert.equal(t[11], 0);
  assert.equal(t[0], 0);
});

test('DAgger demos: the policy\'s own moves, every state labelled with all passes as greedy labels it', { skip }, async () => {
  const { policyDemos } = await import('../../../src/problems/compiler/imitation.js');
  const inst = own('sieve');
  const s = new OptSession();
  // a "policy" that prefers late actions: it strays far from greedy's path
  // (and prefers the masked attributor above all: it must still never run it)
  const prefer = () => Float32Array.from(ACTIONS, (x, a) => (x.pass === 'attributor' ? 1e6 : a));
  const demos = policyDemos(inst, s, 'both', 4, prefer);
  assert.ok(demos.length > 0);
  let prev: number[] = [];
  for (const d of demos) {
    const check = new OptSession();
    const at = check.applyEach(check.addState(inst.ir).hash, d.taken.map((a) => ACTIONS[a]!.pass));
    assert.ok(at.ok);
    assert.equal(at.state.count, d.count);
    for (const a of [0, 7, ACTIONS.length - 1]) {
      const c = check.apply(at.state.hash, ACTIONS[a]!.pass);
      assert.equal(d.childCounts[a], c.ok ? c.state.count : d.count);
    }
    // a masked pass is never run: labelled as changing nothing, never taken
    assert.equal(d.childCounts[actionByName('attributor').index], d.count);
    assert.ok(!d.taken.includes(actionByName('attributor').index));
    check.close();
    // each move is the highest-preferred pass that changes the module: a prefix of the next demo's
    assert.deepEqual(d.taken.slice(0, prev.length), prev);
    assert.ok(d.returnToGo >= 0);
    prev = d.taken;
  }
  s.close();
});

test('ppo: a tiny training run writes a checkpoint that ppo and ppo-guided-search solve from', { skip }, async () => {
  const { ppoSolver, ppoGuidedSolver } = await import('../../../src/problems/compiler/ppo.js');
  const progs = [tiny(), own('sieve')];
  const stateDir = join(dir, 'ppo-state'), out = join(dir, 'ppo.ckpt');
  const points: Record<string, number>[] = [];
  const options = { chunkSteps: '64', numEnvs: '2', numSteps: '32', workers: '0', episodeLength: '6', hidden: '16x16', demoSteps: '3', bcEpochs: '20' };
  await ppoSolver.train(progs, { steps: 64 }, { seed: 1, rng: new Rng(1), quick: true, options, stateDir, out, command: 'test', log: (p) => points.push(p), progress: () => {} });
  assert.ok(existsSync(out));
  assert.ok(points.some((p) => typeof p.validationGeomeanVsOz === 'number'));
  // behaviour cloning ran on greedy's demonstrations before PPO, and its loss fell
  const bc = points.filter((p) => typeof p.bcPolicyLoss === 'number').slice(0, 20);
  assert.ok(bc.at(-1)!.bcPolicyLoss! < bc[0]!.bcPolicyLoss!, `${bc[0]!.bcPolicyLoss} -> ${bc.at(-1)!.bcPolicyLoss}`);
  // one DAgger round cloned again (20 more epochs), and the checkpoint names the passes greedy chose
  assert.equal(points.filter((p) => typeof p.bcPolicyLoss === 'number').length, 40);
  const { readCheckpoint } = await import('../../../src/learn/checkpoint.js');
  const best = (readCheckpoint(out).header.hyperparameters as { bestPasses: string[] }).bestPasses;
  assert.ok(best.length > 0 && best.every((p) => ACTIONS.some((a) => a.pass === p)), String(best));
  const ctx = { seed: 1, rng: new Rng(1), quick: true, options: { checkpoint: out } };
  const inst = own('fib');
  const alone = await ppoSolver.solve(inst, ctx);
  assert.ok(alone.passes.length <= 6);
  const guided = await ppoGuidedSolver.solve(inst, { ...ctx, rng: new Rng(2) });
  // guided search starts from the policy's own answer, so it is never worse
  assert.ok(guided.count! <= alone.count!, `${guided.count} > ${alone.count}`);
  const m = evaluateCompiler(inst, guided, { ...ctx, solveMs: 0, options: { semantics: '0' } });
  assert.equal(m.instructions, guided.count);
});

test('ppo training under --opt unmask: demos follow the mask, the checkpoint records it, a resume under another mask is refused', { skip }, async () => {
  const { greedyDemos } = await import('../../../src/problems/compiler/imitation.js');
  const { ppoSolver } = await import('../../../src/problems/compiler/ppo.js');
  const { readCheckpoint } = await import('../../../src/learn/checkpoint.js');
  // greedy's labels try exactly the passes of the mask they are given
  const allowed = ['mem2reg', 'instcombine', 'simplifycfg'];
  const narrow = Uint8Array.from(ACTIONS, (a) => (allowed.includes(a.pass) ? 1 : 0));
  const demos = greedyDemos(own('sieve'), new OptSession(), 'both', 3, narrow);
  assert.ok(demos.length > 0);
  for (const d of demos) {
    d.childCounts.forEach((c, a) => { if (!narrow[a]) assert.equal(c, d.count, ACTIONS[a]!.pass); });
    for (const a of d.taken) assert.ok(allowed.includes(ACTIONS[a]!.pass));
  }
  const stateDir = join(dir, 'ppo-unmask-state'), out = join(dir, 'ppo-unmask.ckpt');
  const options = { chunkSteps: '64', numEnvs: '2', numSteps: '32', workers: '0', episodeLength: '4', hidden: '8', demoSteps: '2', bcEpochs: '2', daggerRounds: '0', unmask: 'attributor' };
  const ctx = (o: Record<string, string>) => ({ seed: 1, rng: new Rng(1), quick: true, options: o, stateDir, out, command: 'test', log: () => {}, progress: () => {} });
  const progs = [tiny(), own('sieve')];
  await ppoSolver.train(progs, { steps: 64 }, ctx(options));
  assert.deepEqual((readCheckpoint(out).header.hyperparameters as { unmask: string[] }).unmask, ['attributor']);
  const { unmask: _, ...masked } = options;
  await assert.rejects(async () => ppoSolver.train(progs, { steps: 128 }, ctx(masked)), /made with unmask=attributor, this run asks for unmask=\(none\)/);
});

test('a policy that prefers a masked pass above all never takes it, alone or in guided search', { skip }, async () => {
  const { COMPILER_PPO_DEFAULTS, compilerPolicy } = await import('../../../src/problems/compiler/ppo.js');
  const { guidedSearch, policyAlone } = await import('../../../src/problems/compiler/ppo-search.js');
  const { observationSize } = await import('../../../src/problems/compiler/env.js');
  const cfg = { ...COMPILER_PPO_DEFAULTS, hidden: [8], episodeLength: 6 };
  const net = compilerPolicy({ obsDim: observationSize(cfg.observation, cfg.actionHistory), numActions: ACTIONS.length, hidden: cfg.hidden }, new Rng(1));
  const out = net.actor.layers.at(-1)!;
  out.bias!.data[actionByName('attributor').index] = 1e3;
  const inst = own('sieve');
  const alone = policyAlone({ net, cfg, mask: ACTION_MASK }, inst);
  assert.ok(alone.seq.length > 0);
  const guided = guidedSearch({ net, cfg, mask: ACTION_MASK }, inst, new Rng(2), { samples: 3, topK: 4, maxSteps: 6 });
  for (const seq of [alone.seq, guided.seq]) assert.ok(!seq.includes('attributor'), seq.join(' '));
  // The searches follow the mask they are given: unmasked, the preferred pass is taken first
  // (it changes sieve's -O0 module); a narrow mask keeps every pass inside it.
  const unmasked = policyAlone({ net, cfg, mask: actionMask(['attributor']) }, inst);
  assert.equal(unmasked.seq[0], 'attributor', unmasked.seq.join(' '));
  const allowed = ['mem2reg', 'instcombine', 'simplifycfg'];
  const narrow = Uint8Array.from(ACTIONS, (a) => (allowed.includes(a.pass) ? 1 : 0));
  for (const seq of [policyAlone({ net, cfg, mask: narrow }, inst).seq, guidedSearch({ net, cfg, mask: narrow }, inst, new Rng(2), { samples: 3, topK: 4, maxSteps: 6 }).seq]) {
    assert.ok(seq.length > 0 && seq.every((p) => allowed.includes(p)), seq.join(' '));
  }
});

test('guided search: the policy sees the action history it made, also where two actions run one pass (-simple-loop-unswitch is -loop-unswitch\'s pass)', { skip }, async () => {
  const { COMPILER_PPO_DEFAULTS, compilerPolicy } = await import('../../../src/problems/compiler/ppo.js');
  const { guidedSearch } = await import('../../../src/problems/compiler/ppo-search.js');
  const { featureSize, observationSize } = await import('../../../src/problems/compiler/env.js');
  const cfg = { ...COMPILER_PPO_DEFAULTS, hidden: [8], episodeLength: 6 };
  const net = compilerPolicy({ obsDim: observationSize(cfg.observation, cfg.actionHistory), numActions: ACTIONS.length, hidden: cfg.hidden }, new Rng(1));
  const older = actionByName('-loop-unswitch').index, newer = actionByName('-simple-loop-unswitch').index;
  assert.notEqual(older, newer);
  assert.equal(ACTIONS[older]!.pass, ACTIONS[newer]!.pass);
  // mem2reg, then the unswitch by its second flag (it changes sieve once mem2reg ran), then
  // passes that shrink the module below mem2reg's, so the best answer holds the unswitch.
  const bias = net.actor.layers.at(-1)!.bias!.data;
  bias[actionByName('mem2reg').index] = 1000;
  bias[newer] = 900;
  bias[actionByName('instcombine').index] = 800;
  bias[actionByName('simplifycfg').index] = 700;
  bias[older] = -1000;
  const seen: Float32Array[] = [];
  const forward = net.forward.bind(net);
  net.forward = ((obs: Float32Array[]) => { seen.push(...obs.map((o) => o.slice())); return forward(obs); }) as typeof net.forward;
  const best = guidedSearch({ net, cfg, mask: ACTION_MASK }, own('sieve'), new Rng(2), { samples: 0, topK: 2, maxSteps: 4 });
  assert.ok(best.seq.includes('simple-loop-unswitch'), best.seq.join(' '));
  const k = featureSize(cfg.observation);
  assert.ok(seen.some((o) => o[k + newer]! > 0), 'the policy took -simple-loop-unswitch');
  assert.equal(seen.filter((o) => o[k + older]! > 0).length, 0, 'the policy never took -loop-unswitch, and never saw it in its history');
});

test('ppo: a learning rate of 0 (PPO\'s or cloning\'s) is one clear error before any work, not a training run that changes nothing', { skip }, async () => {
  const { ppoSolver } = await import('../../../src/problems/compiler/ppo.js');
  const { compilerProblem } = await import('../../../src/problems/compiler/index.js');
  const { SelfoptError } = await import('../../../src/core/errors.js');
  const small = { chunkSteps: '64', numEnvs: '2', numSteps: '32', workers: '0', episodeLength: '6', hidden: '8', demoSteps: '2', bcEpochs: '2', daggerRounds: '0' };
  for (const key of ['learningRate', 'bcLearningRate']) {
    const clear = (e: unknown) => e instanceof SelfoptError && e.what === `option ${key}=0 is out of range` && e.where === `--opt ${key}` && e.expected === 'a positive number';
    // the bench's and train's check of --opt values, before any cell or demonstration
    assert.throws(() => compilerProblem.checkOptionValues!({ [key]: '0' }), clear, key);
    const stateDir = join(dir, `lr0-${key}`), out = join(dir, `lr0-${key}.ckpt`);
    await assert.rejects(async () => ppoSolver.train([tiny(), own('sieve')], { steps: 64 },
      { seed: 1, rng: new Rng(1), quick: true, options: { ...small, [key]: '0' }, stateDir, out, command: 'test', log: () => {}, progress: () => {} }), clear, key);
    assert.ok(!existsSync(out), 'no checkpoint');
    assert.ok(!existsSync(stateDir) || readdirSync(stateDir).length === 0, `nothing saved: ${existsSync(stateDir) ? readdirSync(stateDir) : ''}`);
  }
});

test('ppo: a checkpoint of another model is one clear error, not a crash in the policy constructor', async () => {
  const { policyFromCheckpoint } = await import('../../../src/problems/compiler/ppo.js');
  const { Linear, saveCheckpoint } = await import('../../../src/learn/index.js');
  const { SelfoptError } = await import('../../../src/core/errors.js');
  const other = join(dir, 'linear.ckpt');
  saveCheckpoint(other, new Linear(3, 2, { rng: new Rng(1) }), { hyperparameters: { hidden: 32 } });
  assert.throws(() => policyFromCheckpoint(other), (e: unknown) =>
    e instanceof SelfoptError && !e.message.includes('\n') && /checkpoint holds a Linear .*linear\.ckpt.*an MlpPolicy checkpoint/.test(e.message));
});

test('`selfopt train compiler ppo` without --instances trains on the train programs, then the validation ones, as the README says', async () => {
  const { compilerProblem } = await import('../../../src/problems/compiler/index.js');
  const { DataPath } = await import('../../../src/core/data.js');
  const refs = compilerProblem.listInstances({ data: new DataPath({ dataDir: dir }), quick: false });
  const train = refs.filter((r) => r.split === 'train').map((r) => r.id);
  for (const id of ['own/crc32', 'own/sieve', 'own/life']) assert.ok(train.includes(id), `${id} in ${train.join(' ')}`);
  assert.ok(train.indexOf('own/sieve') < train.indexOf('own/life'), 'train programs before validation ones');
  const test = refs.filter((r) => r.split === 'test').map((r) => r.id);
  assert.ok(test.includes('own/fib') && !test.some((id) => train.includes(id)));
});

test('ppo: --seconds covers every session of a resumed run: a budget already spent trains no more', { skip }, async () => {
  const { ppoSolver } = await import('../../../src/problems/compiler/ppo.js');
  const { readFileSync, writeFileSync } = await import('node:fs');
  const stateDir = join(dir, 'ppo-seconds-state'), out = join(dir, 'ppo-seconds.ckpt'), progressPath = join(stateDir, 'progress.json');
  const options = { chunkSteps: '64', numEnvs: '2', numSteps: '32', workers: '0', episodeLength: '4', hidden: '8', bcEpochs: '0' };
  const ctx = { seed: 1, rng: new Rng(1), quick: true, options, stateDir, out, command: 'test', log: () => {}, progress: () => {} };
  const progs = [tiny(), own('sieve')];
  await ppoSolver.train(progs, { steps: 64 }, ctx);
  const first = JSON.parse(readFileSync(progressPath, 'utf8')) as { steps: number; seconds: number };
  assert.equal(first.steps, 64);
  assert.ok(first.seconds > 0, `seconds ${first.seconds}`);
  // Pretend the sessions so far took 1000 s: a run with --seconds 600 has nothing left to train.
  writeFileSync(progressPath, JSON.stringify({ ...first, seconds: 1000 }));
  await ppoSolver.train(progs, { seconds: 600 }, ctx);
  assert.equal((JSON.parse(readFileSync(progressPath, 'utf8')) as { steps: number }).steps, 64);
  assert.ok(existsSync(out));
});

test('ppo: the warm start reports its progress and counts against --seconds: spent in the demos, one clear error with the demos saved; the same command with more budget resumes them', { skip }, async () => {
  const { ppoSolver } = await import('../../../src/problems/compiler/ppo.js');
  const { SelfoptError } = await import('../../../src/core/errors.js');
  const { readFileSync } = await import('node:fs');
  const stateDir = join(dir, 'ppo-warm-state'), out = join(dir, 'ppo-warm.ckpt');
  const options = { chunkSteps: '64', numEnvs: '2', numSteps: '32', workers: '0', episodeLength: '4', hidden: '8', demoSteps: '2', bcEpochs: '2', daggerRounds: '0' };
  let calls: [number, number][] = [];
  // Each progress report takes 0.25 s: a 0.2 s budget is spent after the first program's demos.
  const progress = (done: number, total: number) => { calls.push([done, total]); const until = performance.now() + 250; while (performance.now() < until); };
  const ctx = { seed: 1, rng: new Rng(1), quick: true, options, stateDir, out, command: 'test', log: () => {}, progress };
  const progs = [own('sieve'), own('crc32')];
  await assert.rejects(async () => ppoSolver.train(progs, { seconds: 0.2 }, ctx), (e: Error) => e instanceof SelfoptError && /the --seconds 0\.2 budget ran out in the warm start, before any weights were trained \(greedy demonstrations on 1 of 2 programs, saved\).*larger --seconds/.test(e.message));
  assert.deepEqual(calls.map(([, total]) => total), [0.2], 'the demos report progress, in seconds under --seconds');
  assert.equal(Object.keys(JSON.parse(readFileSync(join(stateDir, 'demos.json'), 'utf8')) as object).length, 1);
  assert.ok(!existsSync(out));
  // --steps counts PPO env steps: the warm start runs to its end first, its progress in programs (the first one's demos kept).
  calls = [];
  await ppoSolver.train(progs, { steps: 64 }, ctx);
  assert.deepEqual(calls, [[2, 2], [64, 64]]);
  assert.ok(existsSync(out));
});

/** The weights of a checkpoint by tensor name. */
async function weightsOf(path: string): Promise<Record<string, number[]>> {
  const { readCheckpoint } = await import('../../../src/learn/checkpoint.js');
  return Object.fromEntries([...readCheckpoint(path).weights].map(([k, v]) => [k, Array.from(v)]));
}
/** The largest difference between two checkpoints' weights (Infinity when their tensors differ). */
function maxDiff(a: Record<string, number[]>, b: Record<string, number[]>): number {
  if (JSON.stringify(Object.keys(a)) !== JSON.stringify(Object.keys(b))) return Infinity;
  let d = 0;
  for (const k of Object.keys(a)) a[k]!.forEach((x, i) => { d = Math.max(d, Math.abs(x - (b[k]![i] ?? NaN))); });
  return d;
}
/** The latest weights a state directory's progress.json names. */
function latestWeights(stateDir: string): Promise<Record<string, number[]>> {
  const { files } = JSON.parse(readFileSync(join(stateDir, 'progress.json'), 'utf8')) as { files: Record<string, string> };
  return weightsOf(join(stateDir, files['weights']!));
}
/** Greedy demos on two train programs (sieve and crc32), cloning, one DAgger round, then PPO in 64-step chunks: every phase the trainer saves and resumes. */
const RESUME_OPTIONS = { chunkSteps: '64', numEnvs: '2', numSteps: '32', workers: '0', episodeLength: '4', hidden: '8', demoSteps: '2', bcEpochs: '2', daggerRounds: '1' };

test('ppo: a run stopped after each step of its warm start and PPO chunk, resumed each time, trains the same weights as a run never stopped', { skip }, async () => {
  const { ppoSolver } = await import('../../../src/problems/compiler/ppo.js');
  const root = join(dir, 'ppo-resume');
  const progs = [own('sieve'), own('crc32')];
  const ctx = (state: string, signal?: AbortSignal, log: (p: Record<string, number>) => void = () => {}) =>
    ({ seed: 1, rng: new Rng(1), quick: true, options: RESUME_OPTIONS, stateDir: join(root, state), out: join(root, `${state}.ckpt`), command: 'test', log, progress: () => {}, signal });
  await ppoSolver.train(progs, { steps: 192 }, ctx('straight'));
  // Each session is stopped (as Ctrl-C stops it) at the first thing it saves: one program's
  // demos (greedy's, then DAgger's), a clone, a PPO chunk; the next session resumes from there.
  const stops: string[] = [];
  for (let session = 0; !existsSync(join(root, 'resumed.ckpt')); session++) {
    assert.ok(session < 20, `no end after ${session} sessions: ${stops.join(', ')}`);
    const stop = new AbortController();
    const log = (p: Record<string, number>) => {
      const what = p.demoPrograms !== undefined ? `demos ${p.demoPrograms}` : p.validationGeomeanVsOz !== undefined ? `step ${p.step}` : undefined;
      if (what && !stop.signal.aborted) { stops.push(what); stop.abort(); }
    };
    await ppoSolver.train(progs, { steps: 192 }, ctx('resumed', stop.signal, log));
  }
  assert.deepEqual(stops, ['demos 1', 'demos 2', 'step 0', 'demos 1', 'demos 2', 'step 0', 'step 64', 'step 128', 'step 192']);
  const diffs = {
    final: maxDiff(await weightsOf(join(root, 'resumed.ckpt')), await weightsOf(join(root, 'straight.ckpt'))),
    latest: maxDiff(await latestWeights(join(root, 'resumed')), await latestWeights(join(root, 'straight'))),
  };
  assert.deepEqual(diffs, { final: 0, latest: 0 });
});

test('ppo: a save killed after its weights and before its progress JSON resumes whole: the same weights as a run never killed', { skip }, async () => {
  const { ppoSolver } = await import('../../../src/problems/compiler/ppo.js');
  const root = join(dir, 'ppo-kill');
  const progs = [own('sieve'), own('crc32')];
  const run = async (state: string, steps: number) => {
    await ppoSolver.train(progs, { steps }, { seed: 1, rng: new Rng(1), quick: true, options: RESUME_OPTIONS, stateDir: join(root, state), out: join(root, `${state}.ckpt`), command: 'test', log: () => {}, progress: () => {} });
    return latestWeights(join(root, state));
  };
  // Each chunk is its own PPO run (seed + chunks so far, a fresh Adam) from the last chunk's weights: a resume lands on a chunk boundary.
  const { whole, resumed } = await killedSave(root, run, 64, 128);
  assert.equal(maxDiff(resumed, whole), 0);
  assert.equal(maxDiff(await weightsOf(join(root, 'k.ckpt')), await weightsOf(join(root, 'b.ckpt'))), 0);
});

test('guided search shows the policy each observation once: at a module a pass left unchanged, and at -O0 where every search starts, it reuses the answer', { skip }, async () => {
  const { COMPILER_PPO_DEFAULTS, compilerPolicy } = await import('../../../src/problems/compiler/ppo.js');
  const { guidedSearch } = await import('../../../src/problems/compiler/ppo-search.js');
  const { observationSize } = await import('../../../src/problems/compiler/env.js');
  const cfg = { ...COMPILER_PPO_DEFAULTS, hidden: [8], episodeLength: 6 };
  const net = compilerPolicy({ obsDim: observationSize(cfg.observation, cfg.actionHistory), numActions: ACTIONS.length, hidden: cfg.hidden }, new Rng(1));
  const shown = new Map<string, number>();
  const forward = net.forward.bind(net);
  net.forward = ((obs: Float32Array[]) => {
    for (const o of obs) { const k = Buffer.from(o.buffer, o.byteOffset, o.byteLength).toString('base64'); shown.set(k, (shown.get(k) ?? 0) + 1); }
    return forward(obs);
  }) as typeof net.forward;
  const session = new OptSession();
  const best = guidedSearch({ net, cfg, mask: ACTION_MASK }, own('sieve'), new Rng(2), { samples: 2, topK: 4, maxSteps: 6 }, session);
  session.close();
  assert.ok(best.seq.length > 0);
  // A random policy's most likely passes often leave the module unchanged: rollouts look at it again.
  assert.ok(session.stats.lookups > shown.size, `${session.stats.lookups} passes tried, ${shown.size} observations`);
  const repeats = [...shown.values()].filter((n) => n > 1).length;
  assert.equal(repeats, 0, `${repeats} of ${shown.size} observations were shown more than once`);
});

test('ppo acts in inference(): log-probabilities bit for bit as under noGrad, and a guided search made again reuses the scratch (shipped checkpoint)', { skip }, async () => {
  const { policyFromCheckpoint } = await import('../../../src/problems/compiler/ppo.js');
  const { guidedSearch, passLogProbs } = await import('../../../src/problems/compiler/ppo-search.js');
  const { shippedCheckpointPath } = await import('../../../src/core/train.js');
  const { noGrad } = await import('../../../src/learn/tensor.js');
  const { inferenceScratchBytes, releaseBufferPool } = await import('../../../src/learn/scratch.js');
  const { logSoftmax } = await import('../../../src/learn/ops/softmax.js');
  releaseBufferPool(); // the scratch starts empty whatever ran before
  const { net, cfg } = policyFromCheckpoint(shippedCheckpointPath('compiler', 'ppo'));
  const policy = { net, cfg, mask: ACTION_MASK };
  const seen: Float32Array[] = [];
  const forward = net.forward.bind(net);
  net.forward = ((obs: Float32Array[]) => { seen.push(...obs.map((o) => o.slice())); return forward(obs); }) as typeof net.forward;
  const search = () => guidedSearch(policy, own('sieve'), new Rng(2), { samples: 2, topK: 4, maxSteps: 6 }, new OptSession());
  const first = search();
  const held = inferenceScratchBytes();
  assert.ok(held > 0, 'the policy ranked the passes in inference()');
  assert.deepEqual(search(), first);
  assert.equal(inferenceScratchBytes(), held, 'the scratch grew on a search already made');
  // At every observation the searches showed the policy, the log-probabilities are the noGrad forward pass's (fresh storage every op).
  assert.ok(seen.length > 20, `${seen.length} observations`);
  net.forward = forward;
  const out = new Float32Array(net.numActions);
  const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  seen.forEach((o, i) => {
    const ref = noGrad(() => logSoftmax(forward([o]).logits, ACTION_MASK).data as Float32Array);
    assert.ok(bytes(passLogProbs(net, o, ACTION_MASK, out)).equals(bytes(ref)), `observation ${i}`);
  });
});

test('guided search: sampleTopP draws the sampled rollouts from the policy\'s most likely passes; at 0 they repeat the argmax rollout, at 1 they are the plain samples', { skip }, async () => {
  const { COMPILER_PPO_DEFAULTS, compilerPolicy, ppoGuidedSolver } = await import('../../../src/problems/compiler/ppo.js');
  const { guidedSearch, samplePass } = await import('../../../src/problems/compiler/ppo-search.js');
  const { observationSize } = await import('../../../src/problems/compiler/env.js');
  const cfg = { ...COMPILER_PPO_DEFAULTS, hidden: [8], episodeLength: 6 };
  // A random policy spreads its probability over all passes: a plain sample goes where the argmax rollout does not.
  const net = compilerPolicy({ obsDim: observationSize(cfg.observation, cfg.actionHistory), numActions: ACTIONS.length, hidden: cfg.hidden }, new Rng(1));
  const search = (opts: { samples: number; sampleTopP?: number }) => {
    const session = new OptSession();
    const best = guidedSearch({ net, cfg, mask: ACTION_MASK }, own('sieve'), new Rng(2), { topK: 4, maxSteps: 6, ...opts }, session);
    session.close();
    return { seq: best.seq, count: best.count, optCalls: session.stats.optCalls };
  };
  const none = search({ samples: 0 });
  const plain = search({ samples: 3 });
  assert.ok(plain.optCalls > none.optCalls, `plain samples ${plain.optCalls} opt calls, none ${none.optCalls}`);
  assert.deepEqual(search({ samples: 3, sampleTopP: 1 }), plain);
  // The nucleus of one pass is the most likely one: every sampled transition is one the argmax rollout made.
  assert.deepEqual(search({ samples: 3, sampleTopP: 0 }), none);
  // Between the two: only the most likely passes that hold sampleTopP of the probability of those not skipped, in proportion.
  const lp = Float32Array.from([0.4, 0.3, 0.2, 0.1], Math.log);
  const draws = (topP: number, skipped: number[]) => {
    const rng = new Rng(3), n = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) n[samplePass(lp, (j) => skipped.includes(j), rng, topP)]!++;
    return n;
  };
  const top2 = draws(0.6, []);
  assert.ok(top2[2] === 0 && top2[3] === 0 && top2[0]! > 1.2 * top2[1]! && top2[0]! < 1.5 * top2[1]!, top2.join(' ')); // 4:3
  const next2 = draws(0.6, [0]); // 0.6 of the 0.6 left: 0.3 + 0.2
  assert.ok(next2[0] === 0 && next2[3] === 0 && next2[1]! > 1.3 * next2[2]! && next2[1]! < 1.7 * next2[2]!, next2.join(' ')); // 3:2
  assert.ok(draws(1, []).every((k) => k > 0));
  // The solver reads it from --opt (shipped checkpoint).
  const solve = (options: Record<string, string>) => ppoGuidedSolver.solve(own('sieve'), { seed: 1, rng: new Rng(1).split('solve:ppo-guided-search'), quick: false, options });
  const [s0, s3narrow] = [await solve({ samples: '0' }), await solve({ samples: '3', sampleTopP: '0' })];
  assert.deepEqual([s3narrow.passes, s3narrow.count, s3narrow.stats?.optCalls], [s0.passes, s0.count, s0.stats?.optCalls]);
});
