#!/usr/bin/env node
// One SHA-256 over everything the scheduling env shows an agent, for checking that a change to
// the simulator or the env moved nothing (not part of the test suite): for each of four instances
// (a batch and a stream, each single-resource and with executor classes) and each policy (fair,
// FIFO, and one drawing uniformly from the mask; only the last on the executor-class instances,
// where fair and FIFO act through first fit), several episodes, and at every step every field of
// the observation (each typed array whole, its stale tail included, and each number),
// info.actionMask, the reward, and at the end the simulator's event log (every event time, kind,
// executor, stage, duration, wave and level) and the episode's statistics.
//
// Usage: npx tsc -p . && node scripts/sched-trace-hash.mjs [--root DIR] [--episodes 5]
// Compare the printed hash of two builds (--root of each); equal hashes: same trajectories.
import path from 'node:path';
import { createHash } from 'node:crypto';

const args = process.argv.slice(2);
const arg = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const root = path.resolve(arg('root', '.'));
const EPISODES = Number(arg('episodes', '5'));
const INSTANCES = ['tpch_batch20_50exec', 'tpch_batch10_20exec_mr', 'tpch_stream60-20s_25exec', 'tpch_stream40-10s_10exec_mr'];

const mod = (p) => import(path.join(root, 'dist/src', p));
const { makeEnv } = await mod('problems/scheduling/evaluate.js');
const { instanceRef, loadInstance } = await mod('problems/scheduling/instances.js');
const { WeightedFair } = await mod('problems/scheduling/weighted-fair.js');
const { Fifo } = await mod('problems/scheduling/heuristics.js');
const { DataPath } = await mod('core/data.js');
const { Rng } = await mod('core/rng.js');

/** Draws uniformly among the allowed actions (idle included when it is allowed) from its own seeded Rng. */
class UniformMasked {
  constructor(seed) { this.rng = new Rng(seed); }
  act(_obs, info) {
    const m = info.actionMask;
    let allowed = 0;
    for (let i = 0; i < m.length; i++) allowed += m[i];
    let k = this.rng.int(allowed);
    for (let i = 0; i < m.length; i++) if (m[i] && k-- === 0) return i;
    throw new Error('no allowed action');
  }
}

const total = createHash('sha256');
const bytes = (h, a) => h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
let steps = 0;
for (const id of INSTANCES) {
  const inst = loadInstance(instanceRef(id, new DataPath()));
  const env = makeEnv(inst, { recordEvents: true });
  const policies = inst.executorClasses ? ['uniform'] : ['fair', 'fifo', 'uniform'];
  const perInstance = createHash('sha256');
  for (const name of policies) {
    for (let ep = 0; ep < EPISODES; ep++) {
      const seed = 1000 + ep;
      const policy = name === 'fair' ? new WeightedFair(0) : name === 'fifo' ? new Fifo() : new UniformMasked(seed);
      let { obs, info } = env.reset({ seed });
      for (;;) {
        for (const key of Object.keys(obs).sort()) {
          const v = obs[key];
          perInstance.update(key);
          if (ArrayBuffer.isView(v)) bytes(perInstance, v);
          else perInstance.update(String(v));
        }
        bytes(perInstance, info.actionMask);
        const r = env.step(policy.act(obs, info));
        steps++;
        perInstance.update(`r${r.reward}`);
        if (r.terminated || r.truncated) break;
        obs = r.obs; info = r.info;
      }
      perInstance.update(JSON.stringify(env.sim.log));
      perInstance.update(JSON.stringify(env.stats()));
    }
  }
  const d = perInstance.digest('hex');
  console.log(id, d);
  total.update(d);
}
console.log('steps', steps);
console.log('hash', total.digest('hex'));
