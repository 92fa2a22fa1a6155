/**
 * Using a trained PPO policy (ppo.ts) to find a pass sequence: what the `ppo` and
 * `ppo-guided-search` solvers run. CompilerGym's PPO + guided search, the llvm-ic-v0
 * leaderboard's leader (Cummins et al. 2022): the policy proposes pass sequences, a short search
 * refines them; the search's tiers (topKGreedy) are ours.
 *
 * - `ppo`: the policy alone. From -O0, the most likely pass at each of `episodeLength` steps; the
 *   answer is the prefix with the fewest instructions (a prefix is free: its module was seen).
 * - `ppo-guided-search`: the policy's answer, then greedy searches that try the policy's most
 *   likely passes first and widen to every useful pass only where those remove nothing
 *   (guidedSearch). Its cost is a fraction of greedy's, which tries all 118 usable passes at every
 *   step.
 *
 * Training (ppo.ts) uses two of these too: the validation score is policyAlone's, and DAgger ranks
 * passes by passLogProbs.
 */
import type { Rng } from '../../core/rng.js';
import type { MlpPolicy } from '../../learn/policy.js';
import { inference } from '../../learn/scratch.js';
import { logSoftmax } from '../../learn/ops/softmax.js';
import { ACTIONS } from './passes.js';
import { featureSize, finishObservation, moduleFeatures, observationSize } from './env.js';
import { OptSession } from './session.js';
import type { CompilerInstance } from './instances.js';
import type { CompilerPpoConfig } from './ppo.js';

/**
 * A trained policy as the searches use it: the network, its checkpoint's hyperparameters, and the
 * action mask it is held to (the Env's: passes.ts ACTION_MASK, or actionMask(unmask)).
 */
export interface PassPolicy { net: MlpPolicy; cfg: CompilerPpoConfig; mask: Readonly<Uint8Array> }

/**
 * The policy's log-probabilities under `mask` (a masked pass is -Infinity), written into `out`
 * (one per rollout or search, read before the next call). One inference step: the forward pass's
 * outputs are views of a scratch the next step reuses, so the row is copied out inside it.
 */
export function passLogProbs(net: MlpPolicy, obs: Float32Array, mask: Readonly<Uint8Array>, out: Float32Array): Float32Array {
  inference(() => out.set(logSoftmax(net.forward([obs]).logits, mask).data));
  return out;
}

/** A module reached by a search, with the passes that changed it on the way and their actions (the history the policy sees). */
interface Node { hash: string; count: number; seq: string[]; taken: number[] }
/**
 * The best module found so far, with its history: the last search starts from it, and a pass
 * name alone does not say which action took it (-loop-unswitch and -simple-loop-unswitch are both
 * `simple-loop-unswitch`), so the policy saw another history there than the one that made it.
 */
export type Best = Node;

/** Module features by state, per session: rollouts and searches revisit modules, and parsing the IR costs about what a pass does. */
const featureCache = new WeakMap<OptSession, Map<string, Float32Array>>();

/** The policy's log-probabilities of every action at a module reached by a history (`node.taken`); the array is read, never written. */
type Scorer = (node: Node) => Float32Array;

/**
 * One search's Scorer: the policy's answer is computed once per observation. A rollout looks
 * again at the same module after every pass that left it unchanged or failed on it, and each
 * rollout and the first greedy search start at -O0 with no history: the same observation, so the
 * same forward pass and the same answer (on the 27 test programs, seed 1, 751 forward passes
 * where there were 1,840).
 */
function policyScorer({ net, cfg, mask }: PassPolicy, inst: CompilerInstance, session: OptSession): Scorer {
  const byHash = featureCache.get(session) ?? new Map<string, Float32Array>();
  featureCache.set(session, byHash);
  const obs = new Float32Array(observationSize(cfg.observation, cfg.actionHistory));
  const obsBytes = Buffer.from(obs.buffer, obs.byteOffset, obs.byteLength);
  const scored = new Map<string, Float32Array>();
  return (node) => {
    let f = byHash.get(node.hash);
    if (!f) { f = moduleFeatures(session.irOf(node.hash), inst.countO0, cfg.observation, new Float32Array(featureSize(cfg.observation))); byHash.set(node.hash, f); }
    obs.set(f);
    finishObservation(cfg.observation, cfg.actionHistory ? node.taken : null, Math.min(1, node.taken.length / cfg.episodeLength), cfg.episodeLength, obs);
    const key = obsBytes.toString('base64');
    let lp = scored.get(key);
    if (!lp) { lp = passLogProbs(net, obs, mask, new Float32Array(net.numActions)); scored.set(key, lp); }
    return lp;
  };
}

function better(best: Best, n: Node): Best {
  return n.count < best.count ? n : best;
}

/**
 * A pass drawn from the policy among those `skip` leaves, restricted to the most likely ones that
 * hold `topP` of their probability (nucleus sampling; at least one pass; 1: all of them, with the
 * same draw as before the option). About half of a plain sample's opt calls leave the module
 * unchanged (validation, 3 December); the nucleus skips most of those, but its rollouts then take
 * passes that work, which cost more, so it raised the score there without saving time.
 */
export function samplePass(lp: Float32Array, skip: (j: number) => boolean, rng: Rng, topP: number): number {
  const keep = new Uint8Array(lp.length);
  let z = 0;
  for (let j = 0; j < lp.length; j++) if (!skip(j)) { keep[j] = 1; z += Math.exp(lp[j]!); }
  if (topP < 1) {
    const ranked = Array.from(lp.keys()).filter((j) => keep[j]).sort((x, y) => lp[y]! - lp[x]!);
    keep.fill(0);
    let mass = 0;
    for (const j of ranked) {
      if (mass > 0 && mass >= topP * z) break;
      keep[j] = 1;
      mass += Math.exp(lp[j]!);
    }
    z = 0;
    for (let j = 0; j < lp.length; j++) if (keep[j]) z += Math.exp(lp[j]!);
  }
  let a = -1;
  let u = rng.next() * z;
  for (let j = 0; j < lp.length; j++) {
    if (!keep[j]) continue;
    a = j;
    u -= Math.exp(lp[j]!);
    if (u <= 0) break;
  }
  return a;
}

/**
 * One rollout of `episodeLength` steps from -O0: the most likely pass (or one sampled with `rng`,
 * from the nucleus `sampleTopP`: samplePass) among those not yet known to leave the current module
 * unchanged or to fail on it (a no-op would otherwise repeat forever: the module, hence the
 * observation, does not change). Returns the best prefix seen. `patience` counts passes since the
 * last new best module of the whole search (`best`, which a sampled rollout inherits from the
 * rollouts before it), not of this rollout: a sampled rollout from -O0 therefore ends after
 * `patience` passes unless it beats that best by then, so on it the option acts as a length cap.
 */
function rolloutPolicy({ cfg, mask }: PassPolicy, inst: CompilerInstance, session: OptSession, score: Scorer, rng: Rng | null, best: Best, patience = Infinity, sampleTopP = 1): Best {
  const root = session.addState(inst.ir);
  let cur: Node = { hash: root.hash, count: root.count, seq: [], taken: [] };
  // Masked passes are never tried, like the ones found useless here.
  const useless = new Set<number>();
  const skip = (j: number) => useless.has(j) || !mask[j];
  let sinceBest = 0;
  for (let step = 0; step < cfg.episodeLength && sinceBest < patience; step++) {
    const lp = score(cur);
    let a = -1;
    if (rng) a = samplePass(lp, skip, rng, sampleTopP);
    else for (let j = 0; j < lp.length; j++) if (!skip(j) && (a < 0 || lp[j]! > lp[a]!)) a = j;
    if (a < 0) break;
    const t = session.apply(cur.hash, ACTIONS[a]!.pass);
    if (!t.ok || t.state.hash === cur.hash) { useless.add(a); continue; }
    useless.clear();
    cur = { hash: t.state.hash, count: t.state.count, seq: [...cur.seq, ACTIONS[a]!.pass], taken: [...cur.taken, a] };
    sinceBest = cur.count < best.count ? 0 : sinceBest + 1;
    best = better(best, cur);
  }
  return best;
}

/** The policy alone; with `patience`, the rollout stops after that many passes without a new best module. */
export function policyAlone(policy: PassPolicy, inst: CompilerInstance, session = new OptSession(), patience = Infinity, score = policyScorer(policy, inst, session)): Best {
  const root = session.addState(inst.ir);
  return rolloutPolicy(policy, inst, session, score, null, { count: root.count, seq: [], hash: root.hash, taken: [] }, patience);
}

/**
 * Greedy search guided by the policy's ranking of the passes at each module, in tiers: first its
 * most likely passes (at most `topK`, cut once they hold `topP` of its probability); only when
 * none of them removes an instruction, the next ones up to rank `widen`, then up to rank `polish`
 * (the wider tiers try only the passes that were greedy's choice somewhere on the train programs,
 * cfg.bestPasses: 33 of 119 in the shipped checkpoint). Masked passes are never ranked. Take the
 * pass that removes the most among those tried; stop when a step's tiers find none, or after
 * `maxSteps`. Greedy tries all 118 usable passes at every module; here
 * most steps cost `topK` passes, and the full useful set is paid only where the policy is stuck.
 */
function topKGreedy({ cfg, mask }: PassPolicy, session: OptSession, score: Scorer, start: Node, opts: { topK: number; topP?: number; widen?: number; polish?: number; maxSteps: number }, best: Best): Best {
  // Wider tiers try only the passes that were ever greedy's choice on the train programs (all when the checkpoint does not say).
  const useful = new Uint8Array(ACTIONS.length).fill(cfg.bestPasses ? 0 : 1);
  for (const p of cfg.bestPasses ?? []) useful[ACTIONS.findIndex((x) => x.pass === p)] = 1;
  let cur = start;
  for (let step = 0; step < opts.maxSteps; step++) {
    const lp = score(cur);
    const ranked = Array.from(lp.keys()).filter((a) => mask[a]).sort((x, y) => lp[y]! - lp[x]!);
    // First tier: the topK most likely passes, cut once they hold `topP` of the policy's probability (at least 2).
    let first = 0, mass = 0;
    while (first < ranked.length && first < opts.topK && (first < 2 || mass < (opts.topP ?? 1))) mass += Math.exp(lp[ranked[first++]!]!);
    let next: Node | undefined;
    let tried = 0;
    for (const limit of [first, Math.min(ranked.length, opts.widen ?? 0), Math.min(ranked.length, opts.polish ?? 0)]) {
      for (; tried < limit; tried++) {
        const a = ranked[tried]!;
        if (tried >= first && !useful[a]) continue;
        const t = session.apply(cur.hash, ACTIONS[a]!.pass);
        if (t.ok && t.state.count < (next?.count ?? cur.count)) next = { hash: t.state.hash, count: t.state.count, seq: [...cur.seq, ACTIONS[a]!.pass], taken: [...cur.taken, a] };
      }
      if (next) break;
    }
    if (!next) break;
    cur = next;
    best = better(best, cur);
  }
  return best;
}

/**
 * PPO + guided search: the policy's own answer (its argmax rollout, plus `samples` sampled
 * rollouts, each pass drawn from the nucleus `sampleTopP` of the policy's probability), then a
 * tiered greedy search (topKGreedy) from -O0 with the first two tiers, then one from the best
 * module found so far with all three (the `polish` tier: where the policy is stuck at the end,
 * every useful pass is tried, as greedy's last step tries every pass); the best module of all is
 * the answer (so never worse than the policy alone).
 */
export function guidedSearch(policy: PassPolicy, inst: CompilerInstance, rng: Rng, opts: { samples: number; sampleTopP?: number; topK: number; topP?: number; widen?: number; polish?: number; maxSteps: number; patience?: number }, session = new OptSession()): Best {
  const score = policyScorer(policy, inst, session);
  let best = policyAlone(policy, inst, session, opts.patience, score);
  for (let k = 0; k < opts.samples; k++) best = rolloutPolicy(policy, inst, session, score, rng, best, opts.patience, opts.sampleTopP);
  const root = session.addState(inst.ir);
  best = topKGreedy(policy, session, score, { hash: root.hash, count: root.count, seq: [], taken: [] }, { ...opts, polish: 0 }, best);
  return topKGreedy(policy, session, score, best, opts, best);
}
