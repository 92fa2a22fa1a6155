/**
 * Warm start for the compiler PPO policy: behaviour cloning of greedy search on the train
 * programs (a departure from CompilerGym's PPO, which starts from random weights; see README).
 *
 * Demonstrations: greedy search (heuristics.ts, every action tried at every step) run on each
 * train program; at every state where some pass removes instructions, the demo keeps the
 * module's features, the passes taken so far, and the instruction count after each of the
 * ACTIONS.length actions (the current count where the pass failed, changed nothing or is masked:
 * passes.ts MASKED are never run). Greedy computes all of these anyway, so one run gives 119
 * labels per state, not one.
 *
 * Target distribution at a state: 0.7 spread evenly over the passes that remove the most
 * instructions (greedy's choice, its ties included) and 0.3 over every pass that removes any,
 * in proportion to how many it removes. The argmax of a cloned policy then follows greedy, and
 * its ranking puts useful passes first (what guided search's top-k needs).
 * The critic is fitted to greedy's remaining return from each state (the normalised decrease to
 * greedy's final count), so that PPO fine-tuning starts with a sensible value function.
 */
import { Rng } from '../../core/rng.js';
import { Adam, clipGradNorm } from '../../learn/optim.js';
import { tensor } from '../../learn/tensor.js';
import { logSoftmax } from '../../learn/ops/softmax.js';
import { add, mul, square, sub } from '../../learn/ops/elementwise.js';
import { mean, sum } from '../../learn/ops/reduce.js';
import type { MlpPolicy } from '../../learn/policy.js';
import { ACTION_MASK, ACTIONS } from './passes.js';
import { featureSize, finishObservation, moduleFeatures, observationSize, type ObservationKind } from './env.js';
import type { OptSession, State } from './session.js';
import type { CompilerInstance } from './instances.js';

export interface Demo {
  program: string;
  /** Action indices greedy took before this state. */
  taken: number[];
  /** moduleFeatures of the state's module. */
  features: number[];
  count: number;
  /** Instruction count after each action from this state. */
  childCounts: number[];
  /** (count here - greedy's final count) / (count at -O0 - count after -Oz). */
  returnToGo: number;
}

/**
 * Every action tried at `cur`: the instruction count after each (the current count where the
 * pass failed or is masked) and the module it gives (undefined where it failed, changed nothing
 * or is masked).
 */
function tryEvery(session: OptSession, cur: State, mask: Readonly<Uint8Array>): { childCounts: number[]; children: (State | undefined)[] } {
  const childCounts = new Array<number>(ACTIONS.length).fill(cur.count);
  const children = new Array<State | undefined>(ACTIONS.length).fill(undefined);
  for (let a = 0; a < ACTIONS.length; a++) {
    if (!mask[a]) continue;
    const t = session.apply(cur.hash, ACTIONS[a]!.pass);
    if (!t.ok) continue;
    childCounts[a] = t.state.count;
    if (t.state.hash !== cur.hash) children[a] = t.state;
  }
  return { childCounts, children };
}

/** Greedy search over every action from the program's -O0 module, recording each state's children. */
export function greedyDemos(inst: CompilerInstance, session: OptSession, kind: ObservationKind, maxSteps: number, mask: Readonly<Uint8Array> = ACTION_MASK): Demo[] {
  let cur = session.addState(inst.ir);
  const taken: number[] = [];
  const out: Demo[] = [];
  const feats = new Float32Array(featureSize(kind));
  for (let step = 0; step < maxSteps; step++) {
    const { childCounts, children } = tryEvery(session, cur, mask);
    let best = -1;
    for (let a = 0; a < ACTIONS.length; a++) if (childCounts[a]! < (best < 0 ? cur.count : childCounts[best]!)) best = a;
    if (best < 0) break;
    moduleFeatures(session.irOf(cur.hash), inst.countO0, kind, feats);
    out.push({ program: inst.id, taken: [...taken], features: Array.from(feats), count: cur.count, childCounts, returnToGo: 0 });
    taken.push(best);
    cur = children[best]!;
  }
  const scale = Math.max(1, inst.countO0 - inst.countOz);
  for (const d of out) d.returnToGo = (d.count - cur.count) / scale;
  return out;
}

/**
 * DAgger (Ross, Gordon and Bagnell 2011): the states the policy reaches on its own, labelled as
 * greedy's are. From the program's -O0 module, `steps` moves of the policy (its most likely pass
 * among those that change the module, as `ppo` and guided search move); at each state every
 * action is tried (the 119 labels, and the no-ops to skip). A cloned policy that strays from
 * greedy's path meets states no greedy demo shows; these teach it what greedy would do there.
 * returnToGo: the decrease from the state to the best module later on this trajectory.
 */
export function policyDemos(inst: CompilerInstance, session: OptSession, kind: ObservationKind, steps: number, logProbs: (features: Float32Array, taken: readonly number[]) => Float32Array, mask: Readonly<Uint8Array> = ACTION_MASK): Demo[] {
  let cur = session.addState(inst.ir);
  const taken: number[] = [];
  const out: Demo[] = [];
  const counts: number[] = [];
  const at: number[] = [];
  for (let step = 0; step < steps; step++) {
    const { childCounts, children } = tryEvery(session, cur, mask);
    const feats = moduleFeatures(session.irOf(cur.hash), inst.countO0, kind, new Float32Array(featureSize(kind)));
    if (childCounts.some((c) => c < cur.count)) at.push(step), out.push({ program: inst.id, taken: [...taken], features: Array.from(feats), count: cur.count, childCounts, returnToGo: 0 });
    counts.push(cur.count);
    const lp = logProbs(feats, taken);
    let a = -1;
    for (let j = 0; j < lp.length; j++) if (children[j] && (a < 0 || lp[j]! > lp[a]!)) a = j;
    if (a < 0) break;
    taken.push(a);
    cur = children[a]!;
  }
  counts.push(cur.count);
  const scale = Math.max(1, inst.countO0 - inst.countOz);
  // the best module at or after each demo's state
  out.forEach((d, i) => { d.returnToGo = (d.count - Math.min(...counts.slice(at[i]))) / scale; });
  return out;
}

/** The cloning target at a demo state (see the file comment); sums to 1. */
export function cloneTarget(d: Demo, out = new Float32Array(ACTIONS.length)): Float32Array {
  out.fill(0);
  let bestCount = d.count, nBest = 0, totalGain = 0;
  for (const c of d.childCounts) if (c < bestCount) bestCount = c;
  for (const c of d.childCounts) {
    if (c === bestCount) nBest++;
    if (c < d.count) totalGain += d.count - c;
  }
  if (bestCount >= d.count) return out.fill(1 / out.length);
  d.childCounts.forEach((c, a) => {
    if (c === bestCount) out[a] = out[a]! + 0.7 / nBest;
    if (c < d.count) out[a] = out[a]! + (0.3 * (d.count - c)) / totalGain;
  });
  return out;
}

export interface CloneConfig {
  kind: ObservationKind;
  actionHistory: boolean;
  episodeLength: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
}

/** The observation of a demo state, as the env and the solvers build it. */
export function demoObservation(d: Demo, cfg: Pick<CloneConfig, 'kind' | 'actionHistory' | 'episodeLength'>): Float32Array {
  const obs = new Float32Array(observationSize(cfg.kind, cfg.actionHistory));
  obs.set(d.features);
  return finishObservation(cfg.kind, cfg.actionHistory ? d.taken : null, Math.min(1, d.taken.length / cfg.episodeLength), cfg.episodeLength, obs);
}

/**
 * Fits the actor to the cloning targets (cross-entropy) and the critic to greedy's return to go
 * (squared error), with Adam on shuffled minibatches. Returns the last epoch's mean losses.
 */
export function behaviourClone(net: MlpPolicy, demos: readonly Demo[], cfg: CloneConfig, rng: Rng, log: (row: Record<string, number>) => void): { policyLoss: number; valueLoss: number } {
  const A = ACTIONS.length;
  const obs = demos.map((d) => demoObservation(d, cfg));
  const targets = demos.map((d) => cloneTarget(d));
  const opt = new Adam(net.parameters(), { lr: cfg.learningRate });
  const order = Array.from(demos.keys());
  let last = { policyLoss: NaN, valueLoss: NaN };
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    rng.shuffle(order);
    let pSum = 0, vSum = 0, batches = 0;
    for (let start = 0; start < order.length; start += cfg.batchSize) {
      const idx = order.slice(start, start + cfg.batchSize);
      const B = idx.length;
      const tgt = new Float32Array(B * A), ret = new Float32Array(B);
      idx.forEach((i, r) => { tgt.set(targets[i]!, r * A); ret[r] = demos[i]!.returnToGo; });
      const out = net.forward(idx.map((i) => obs[i]!));
      const pLoss = mul(sum(mul(logSoftmax(out.logits, null), tensor(tgt, [B, A]))), -1 / B);
      const vLoss = mean(square(sub(out.value, tensor(ret, [B, 1]))));
      opt.zeroGrad();
      add(pLoss, mul(vLoss, 0.5)).backward();
      clipGradNorm(net.parameters(), 0.5);
      opt.step();
      pSum += pLoss.item(); vSum += vLoss.item(); batches++;
    }
    last = { policyLoss: pSum / batches, valueLoss: vSum / batches };
    log({ bcEpoch: epoch + 1, bcPolicyLoss: last.policyLoss, bcValueLoss: last.valueLoss });
  }
  return last;
}
