/**
 * Acting with a Decima net (decima-net.ts): one decision, sampled (training) or the most likely
 * (evaluation); the net as a SchedulingPolicy; a trained net loaded from its checkpoint.
 */
import { Rng } from '../../core/rng.js';
import { SelfoptError } from '../../core/errors.js';
import type { Info } from '../../core/env.js';
import type { CheckpointModel } from '../../core/problem.js';
import { inference, stepIndices, loadCheckpoint, checkpointHeaderOf } from '../../learn/index.js';
import { encodeAction, type SchedulingObs } from './env.js';
import type { SchedulingPolicy } from './evaluate.js';
import { DecimaNet, structureOf, viewOf, type Step, type Structure } from './decima-net.js';
import type { RankShape } from './weighted-fair.js';

/** Picks (stage row, limit) for one observation: sampled with `rng`, or the most likely (greedy). */
export function decide(net: DecimaNet, step: Step, rng: Rng | null): { row: number; limit: number } {
  return inference(() => {
    const em = net.embed([step]);
    const q = em.q.data, mask = step.stageMask, n = step.s.numNodes;
    const row = choose(q, 0, n, (v) => mask[v] === 1, rng);
    const k = step.s.stageJob[row]!;
    const pairStep = stepIndices(1), pairJob = stepIndices(1); // the pair (step 0, job k), in index arrays from the scratch
    pairJob[0] = k;
    const logits = net.limitLogits(em, [step], pairStep, pairJob).data;
    const lmin = step.limitMin[k]!;
    const l = choose(logits, 0, net.opts.numExecutors, (j) => j + 1 >= lmin, rng);
    return { row, limit: l + 1 };
  });
}

/** Softmax over the allowed entries of scores[off..off+n): a draw (inverse CDF) or the argmax. */
function choose(scores: ArrayLike<number>, off: number, n: number, ok: (i: number) => boolean, rng: Rng | null): number {
  let m = -Infinity, best = -1;
  for (let i = 0; i < n; i++) if (ok(i) && scores[off + i]! > m) { m = scores[off + i]!; best = i; }
  if (best < 0) throw new SelfoptError('no allowed choice', 'Decima policy', 'a decision with a selectable stage and limit');
  if (rng === null) return best;
  let s = 0;
  for (let i = 0; i < n; i++) if (ok(i)) s += Math.exp(scores[off + i]! - m);
  const u = rng.next() * s;
  let c = 0, last = best;
  for (let i = 0; i < n; i++) {
    if (!ok(i)) continue;
    c += Math.exp(scores[off + i]! - m);
    last = i;
    if (u < c) return i;
  }
  return last;
}

/** Keeps one Structure per system state (the env's rowPtr changes identity exactly then). */
export class StructureCache {
  private key: Int32Array | null = null;
  private s: Structure | null = null;
  get(o: SchedulingObs): Structure {
    if (o.rowPtr !== this.key) {
      this.key = o.rowPtr;
      this.s = structureOf(o);
    }
    return this.s!;
  }
}

/** A Decima net as a Policy: greedy by default (the deterministic choice), or sampling with the cell's rng. */
export function decimaPolicy(net: DecimaNet, opts: { sample?: boolean } = {}): SchedulingPolicy {
  const cache = new StructureCache();
  return {
    act(obs: SchedulingObs, _info: Info, rng: Rng): number {
      // The view's extras are stepBuffers: made inside the step, they come from the scratch too (decide's step nests in it).
      const { row, limit } = inference(() => decide(net, viewOf(obs, cache.get(obs)), opts.sample ? rng : null));
      return encodeAction(row, limit, obs.numExecutors);
    },
  };
}

/** What a Decima checkpoint is, for the error when a file holds another model. */
export const DECIMA_CHECKPOINT = 'a DecimaNet checkpoint (selfopt train scheduling decima)';
export const DECIMA_MODEL: CheckpointModel = { type: 'DecimaNet', expected: DECIMA_CHECKPOINT };

/** The cluster size a Decima checkpoint was trained for (its limit head has one output per executor). */
export function decimaExecutors(path: string): number {
  return Number(checkpointHeaderOf(path, DECIMA_MODEL.type, DECIMA_MODEL.expected).architecture.numExecutors);
}

/** Loads a Decima checkpoint (its architecture gives the net's options). */
export function loadDecima(path: string): DecimaNet {
  const a = checkpointHeaderOf(path, DECIMA_MODEL.type, DECIMA_MODEL.expected).architecture;
  // Checkpoints from before the optional job inputs have none.
  const net = new DecimaNet({
    numExecutors: Number(a.numExecutors), embed: Number(a.embed), gnnHidden: a.gnnHidden as number[], headHidden: a.headHidden as number[],
    jobExtras: Number(a.jobExtras ?? 0), stageExtras: Number(a.stageExtras ?? 0), shareAlpha: Number(a.shareAlpha ?? 0),
    shareShape: a.shareShape ? { mu: Number((a.shareShape as RankShape).mu), sigma: Number((a.shareShape as RankShape).sigma) } : null,
  }, new Rng(0));
  loadCheckpoint(path, net);
  return net;
}
