/**
 * A rollout worker thread for Decima's training (started by decima-rollouts.ts when `workers` > 0). It
 * is handed the training instances themselves (their job templates included) and builds a net of the
 * same architecture, then answers one
 * request at a time: take the weights, run the episodes asked for (each with its own seed,
 * sampling Rng and horizon, so the results do not depend on which thread ran them), send them
 * back. Errors go back as data.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Rng } from '../../core/rng.js';
import { setFlatWeights } from '../../learn/index.js';
import { makeEnv } from './evaluate.js';
import type { SchedulingInstance } from './instances.js';
import { DecimaNet, type DecimaNetOptions } from './decima-net.js';
import { runDecimaEpisode, ImitationRunner, type DecimaEpisode, type ImitationExpert } from './decima-rollouts.js';
import type { BufferedEpisode } from './decima-imitation.js';

export interface WorkerInit {
  /** Sent whole, not by id: an id found again here, on this thread's default data path, missed
   * `--data DIR` (the stream recipe failed to find its TPC-H profiles) and any pool not made from its id. */
  instances: SchedulingInstance[];
  net: DecimaNetOptions;
}

/** One episode to run: a Decima episode, or an imitation episode when `imitation` is given. */
export interface EpisodeTask {
  index: number;
  instance: number;
  seed: number;
  rngState: number[];
  horizonS: number;
  rewardScale: number;
  imitation?: ImitationExpert;
}

export interface EpisodeRequest {
  weights: Float32Array;
  tasks: EpisodeTask[];
}

if (parentPort === null) throw new Error('decima-worker.js runs as a worker thread');
const port = parentPort;
const init = workerData as WorkerInit;
const insts = init.instances;
const envs = insts.map((i) => makeEnv(i));
const imitation = new ImitationRunner(insts);
const net = new DecimaNet(init.net, new Rng(0));

port.on('message', (req: EpisodeRequest) => {
  try {
    setFlatWeights(net, req.weights);
    const out: { index: number; ep: DecimaEpisode | BufferedEpisode }[] = req.tasks.map((t) => ({
      index: t.index,
      ep: t.imitation === undefined
        ? runDecimaEpisode(envs[t.instance]!, net, t.seed, Rng.fromState(t.rngState), t.horizonS, t.rewardScale)
        : imitation.run(t.instance, envs[t.instance]!, net, t.seed, Rng.fromState(t.rngState), t.imitation),
    }));
    // The cached per-structure DAG schedule is a class instance (and cheap to rebuild): not sent.
    for (const o of out) for (const st of o.ep.steps) st.s.schedule = null;
    port.postMessage({ ok: true, episodes: out });
  } catch (e) {
    const err = e as Error;
    port.postMessage({ ok: false, message: err?.message ?? String(e), stack: err?.stack });
  }
});
