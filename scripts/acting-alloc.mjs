#!/usr/bin/env node
// What one acting step costs in allocation and time, for several builds side by side (not part of
// the test suite): MlpPolicy acting on ContextualBandit (asPolicy), Decima's decide on recorded
// decisions and its policy's act on recorded observations, the chip RL policy's greedy steps on
// recorded observations and a whole placement (of --chip), GAP partitioning one graph.
//
// Per step: bytes allocated on the JavaScript heap (V8's sampling heap profiler, collected objects
// included), typed arrays constructed and their storage bytes (counted by wrapping the global
// constructors), and steps per CPU second (`--passes` timed passes). Each build runs in a process of its own
// (two builds in one process measured up to 5x apart on identical code, by which was loaded
// second), `--rounds` rounds, the builds' order alternating; each process first checks a digest
// of every step's forward-pass output bytes and result, which must be the same for every build.
//
// Usage: npx tsc -p . && node scripts/acting-alloc.mjs --builds old=/tmp/old,new=. [--rounds 3] [--passes 5] [--only mlp,decima,decimaact,chipstep,chip,gap] [--chip synth_h12_s40_7]
import path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector/promises';

const args = process.argv.slice(2);
const arg = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const builds = arg('builds', 'new=.').split(',').map((s) => { const [name, root] = s.split('='); return { name, root: path.resolve(root) }; });
const ROUNDS = Number(arg('rounds', '3'));
const PASSES = Number(arg('passes', '5'));
const only = arg('only', 'mlp,decima,decimaact,chipstep,chip,gap').split(',');
/** The netlist the chip workloads place (a generated instance's name). */
const CHIP = arg('chip', 'synth_h12_s40_7');

// ---- typed-array construction counter (only switched on while counting)
const KINDS = ['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array'];
const originals = Object.fromEntries(KINDS.map((k) => [k, globalThis[k]]));
const counts = Object.fromEntries(KINDS.map((k) => [k, 0]));
let typedBytes = 0;
const proxies = Object.fromEntries(KINDS.map((k) => [k, new Proxy(originals[k], {
  construct(t, a, nt) {
    counts[k]++;
    const made = Reflect.construct(t, a, nt === proxies[k] ? t : nt);
    // A view of another array's buffer allocates no storage.
    if (!(a[0] instanceof ArrayBuffer)) typedBytes += made.byteLength;
    return made;
  },
})]));
function counting(on) { for (const k of KINDS) globalThis[k] = on ? proxies[k] : originals[k]; }

// ---- workloads: setup(root) returns { steps, unit, run(i) -> its result, outputs(i) -> the forward pass's output bytes }
async function imp(root, p) { return import(path.join(root, 'dist', 'src', p)); }
/** The bytes of some tensors as hex (called inside the build's inference(), where they are views). */
const hex = (...ts) => Buffer.concat(ts.map((t) => Buffer.from(Float32Array.from(t.data).buffer))).toString('hex');

/**
 * The shipped Decima checkpoint, the batch of 20 jobs for its cluster size and an env on it, the
 * scheduling modules the workloads call, and outputsOf(step): the forward pass's output bytes on
 * the step that step() makes inside the build's inference().
 */
async function decimaSetup(root) {
  const modules = {
    ...await imp(root, 'problems/scheduling/decima-policy.js'), ...await imp(root, 'problems/scheduling/decima-net.js'),
    ...await imp(root, 'problems/scheduling/env.js'),
  };
  const { makeEnv } = await imp(root, 'problems/scheduling/evaluate.js');
  const { loadInstance, instanceRef } = await imp(root, 'problems/scheduling/instances.js');
  const { DataPath } = await imp(root, 'core/data.js');
  const { shippedCheckpointPath } = await imp(root, 'core/train.js');
  const { inference } = await imp(root, 'learn/index.js');
  const net = modules.loadDecima(shippedCheckpointPath('scheduling', 'decima'));
  const inst = loadInstance(instanceRef(`synthetic_batch20_${net.opts.numExecutors}exec`, new DataPath()));
  const outputsOf = (step) => inference(() => {
    const st = step();
    const em = net.embed([st]);
    return hex(em.q, em.y, em.z, net.limitLogits(em, [st], Int32Array.of(0), Int32Array.of(st.s.stageJob[0])));
  });
  return { ...modules, net, inst, env: makeEnv(inst), outputsOf };
}

const workloads = {
  async mlp(root) {
    const { Rng } = await imp(root, 'core/rng.js');
    const { ContextualBandit } = await imp(root, 'learn/envs.js');
    const { MlpPolicy, asPolicy } = await imp(root, 'learn/policy.js');
    const { inference } = await imp(root, 'learn/index.js');
    const env = new ContextualBandit({ contexts: 4, arms: 4, horizon: 1 << 30 });
    const net = new MlpPolicy({ obsDim: 4, numActions: 4 }, new Rng(1));
    const policy = asPolicy(net);
    const rng = new Rng(2);
    let { obs, info } = env.reset({ seed: 3 });
    return {
      steps: 2000, unit: 'action',
      run() { const a = policy.act(obs, info, rng); const r = env.step(a); obs = r.obs; info = r.info; return a; },
      outputs() { return inference(() => { const o = net.forward([obs]); return hex(o.logits, o.value); }); },
    };
  },
  async chipstep(root) {
    const { Rng } = await imp(root, 'core/rng.js');
    const { asPolicy } = await imp(root, 'learn/policy.js');
    const { PlacementPolicy } = await imp(root, 'problems/chip/rl.js');
    const { inference } = await imp(root, 'learn/index.js');
    const { PlacementEnv } = await imp(root, 'problems/chip/rl-env.js');
    const { shippedCheckpointPath } = await imp(root, 'core/train.js');
    const net = new PlacementPolicy({ maxCells: 1024, init: shippedCheckpointPath('chip', 'rl') }, new Rng(0));
    const policy = asPolicy(net, { greedy: true });
    const env = new PlacementEnv({ instances: [{ id: CHIP }], maxCells: 1024, fdRounds: 1, rewardScale: 1 });
    const recorded = [];
    let { obs, info } = env.reset({ seed: 5 });
    for (;;) {
      recorded.push([obs, info]);
      const r = env.step(policy.act(obs, info, null));
      if (r.terminated || r.truncated) break;
      obs = r.obs; info = r.info;
    }
    // Each recorded macro 20 times per pass: one placement is too few steps to measure.
    return { steps: 20 * recorded.length, unit: 'macro (greedy policy step)', run(i) { const [o, inf] = recorded[i % recorded.length]; return policy.act(o, inf, null); },
      outputs(i) { return inference(() => { const o = net.forward([recorded[i % recorded.length][0]]); return hex(o.logits, o.value); }); },
    };
  },
  async decima(root) {
    const { net, inst, env, decide, structureOf, snapshot, encodeAction, outputsOf } = await decimaSetup(root);
    const recorded = [];
    let { obs } = env.reset({ seed: inst.seedBase });
    for (;;) {
      const st = snapshot(obs, structureOf(obs));
      recorded.push(st);
      const d = decide(net, st, null);
      const r = env.step(encodeAction(d.row, d.limit, net.opts.numExecutors));
      if (r.terminated || r.truncated) break;
      obs = r.obs;
    }
    return {
      steps: recorded.length, unit: 'decision',
      run(i) { const d = decide(net, recorded[i], null); return d.row * 1000 + d.limit; },
      outputs(i) { return outputsOf(() => recorded[i]); },
    };
  },
  async decimaact(root) {
    const { net, inst, env, decimaPolicy, structureOf, viewOf, outputsOf } = await decimaSetup(root);
    const policy = decimaPolicy(net);
    // Copies of the observations (the env reuses its arrays); one rowPtr per system state, as the env's, so the policy's structure cache hits as it does in an episode.
    const recorded = [];
    let { obs, info } = env.reset({ seed: inst.seedBase });
    let envRowPtr = null, rowPtr = null;
    for (;;) {
      const copy = structuredClone(obs);
      if (obs.rowPtr === envRowPtr) copy.rowPtr = rowPtr;
      else { envRowPtr = obs.rowPtr; rowPtr = copy.rowPtr; }
      recorded.push(copy);
      const r = env.step(policy.act(obs, info, null));
      if (r.terminated || r.truncated) break;
      obs = r.obs; info = r.info;
    }
    return {
      steps: recorded.length, unit: 'decision (decimaPolicy act: the view of the observation, both heads)',
      run(i) { return policy.act(recorded[i], {}, null); },
      outputs(i) { return outputsOf(() => viewOf(recorded[i], structureOf(recorded[i]))); },
    };
  },
  async chip(root) {
    const { Rng } = await imp(root, 'core/rng.js');
    const { generateInstance } = await imp(root, 'problems/chip/instances.js');
    const { PlacementPolicy, placeWithPolicy, RL_DEFAULTS } = await imp(root, 'problems/chip/rl.js');
    const { shippedCheckpointPath } = await imp(root, 'core/train.js');
    const policy = new PlacementPolicy({ maxCells: 1024, init: shippedCheckpointPath('chip', 'rl') }, new Rng(0));
    const inst = generateInstance(CHIP);
    const cfg = { ...RL_DEFAULTS, maxCells: 1024 };
    return { steps: 8, unit: 'placement', run() { return JSON.stringify(placeWithPolicy(inst, policy, cfg, new Rng(2))); }, outputs() { return ''; } };
  },
  async gap(root) {
    const { Rng } = await imp(root, 'core/rng.js');
    const { triangulatedMesh } = await imp(root, 'problems/partition/instances.js');
    const { loadGap, gapPartition, prepareGraph, evaluateGapLoss } = await imp(root, 'problems/partition/gap.js');
    const { shippedCheckpointPath } = await imp(root, 'core/train.js');
    const net = loadGap(shippedCheckpointPath('partition', 'gap'));
    const g = triangulatedMesh(2000, 6);
    const prepared = [prepareGraph(g, new Rng(7))];
    return {
      steps: 6, unit: 'partition (k = 8)',
      run() { return Array.from(gapPartition(net, g, 8, new Rng(1), false)).join(''); },
      outputs() { return JSON.stringify(evaluateGapLoss(net, prepared)); }, // the loss terms, exactly
    };
  },
};

// ---- one build, one workload (a child process)
// V8's sampling heap profiler, keeping the samples of objects already collected: an estimate of
// every byte allocated on the JavaScript heap (a sample per SAMPLE bytes on average), not
// disturbed by collections or by how the heap accounts its spaces.
const SAMPLE = 64;

async function allocation(w) {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', { samplingInterval: SAMPLE, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  for (let i = 0; i < w.steps; i++) w.run(i);
  const { profile } = await session.post('HeapProfiler.stopSampling');
  session.disconnect();
  let bytes = 0;
  const stack = [profile.head];
  while (stack.length > 0) { const n = stack.pop(); bytes += n.selfSize; stack.push(...n.children); }
  return bytes / w.steps;
}

function constructions(w) {
  for (const k of KINDS) counts[k] = 0;
  typedBytes = 0;
  counting(true);
  try { for (let i = 0; i < w.steps; i++) w.run(i); } finally { counting(false); }
  return { bytes: typedBytes / w.steps, made: Object.fromEntries(KINDS.map((k) => [k, counts[k] / w.steps])) };
}

async function child(root, name) {
  const w = await workloads[name](root);
  const digest = createHash('sha256');
  for (let i = 0; i < w.steps; i++) digest.update(`${w.outputs(i)}|${w.run(i)}\n`);
  for (let i = 0; i < w.steps; i++) w.run(i); // warm-up
  // CPU time, not wall time: the machine is shared, and a process waiting for a core is not slower.
  const c0 = process.cpuUsage();
  for (let k = 0; k < PASSES; k++) for (let i = 0; i < w.steps; i++) w.run(i);
  const c = process.cpuUsage(c0);
  const sps = (PASSES * w.steps) / ((c.user + c.system) / 1e6);
  const heap = await allocation(w);
  console.log(JSON.stringify({ unit: w.unit, steps: w.steps, digest: digest.digest('hex'), sps, heap, arrays: constructions(w) }));
}

// ---- the builds side by side
const { pairedRatio } = await import(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src', 'core', 'stats.js'));
const fmt = (x, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const childAt = args.indexOf('--child');
if (childAt >= 0) await child(path.resolve(args[childAt + 1]), arg('workload'));
else for (const name of only) {
  const rows = builds.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    const order = builds.map((_, j) => j);
    if (r % 2 === 1) order.reverse();
    for (const j of order) {
      const p = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', builds[j].root, '--workload', name, '--passes', String(PASSES), '--chip', CHIP], { encoding: 'utf8', maxBuffer: 1 << 26 });
      if (p.status !== 0) throw new Error(`${name}, ${builds[j].name}: ${p.stderr}`);
      rows[j][r] = JSON.parse(p.stdout.trim().split('\n').pop());
    }
  }
  const first = rows[0][0];
  for (const [j, rs] of rows.entries()) for (const x of rs) if (x.digest !== first.digest) throw new Error(`${name}: ${builds[j].name}'s outputs or results differ from ${builds[0].name}'s`);
  console.log(`\n${name}: per ${first.unit}, ${first.steps} per pass; every step's output bytes and result identical across builds (digest ${first.digest.slice(0, 12)})`);
  for (let r = 0; r < ROUNDS; r++) {
    builds.forEach((b, j) => console.log(`  round ${r + 1} ${b.name.padEnd(4)} ${fmt(rows[j][r].sps, 1).padStart(9)} steps/cpu-s  heap ${fmt(rows[j][r].heap).padStart(11)} B/step`));
  }
  builds.forEach((b, j) => {
    const c = rows[j][ROUNDS - 1].arrays;
    const a = Object.entries(c.made).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${fmt(v, 1)}`).join(', ') || 'none';
    console.log(`  ${b.name.padEnd(4)} typed arrays made per step: ${a}; their storage ${fmt(c.bytes)} B`);
  });
  for (let j = 1; j < builds.length; j++) {
    const f = (key) => rows[j].map((x, r) => fmt(x[key] / rows[0][r][key], 3)).join(' ');
    console.log(`  ${builds[j].name}/${builds[0].name} per round: steps/cpu-s ${f('sps')}; heap ${f('heap')}`);
    // Rounds paired by position (each round ran every build back to back): the geometric mean ratio and its bootstrap interval.
    const ratio = (key) => { const e = pairedRatio(rows[j].map((x) => x[key]), rows[0].map((x) => x[key])); return `x${fmt(e.mean, 3)} (95% CI ${fmt(e.ci95[0], 3)}-${fmt(e.ci95[1], 3)})`; };
    const meanOf = (rs, key) => rs.reduce((a, x) => a + x[key], 0) / rs.length;
    console.log(`  ${builds[j].name}/${builds[0].name} over ${ROUNDS} rounds: steps/cpu-s ${ratio('sps')}; heap ${ratio('heap')} (means ${fmt(meanOf(rows[0], 'heap'))} -> ${fmt(meanOf(rows[j], 'heap'))} B/step)`);
  }
}
