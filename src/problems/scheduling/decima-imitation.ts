/**
 * A warm start for Decima by imitation of a heuristic (a departure from the paper, which trains
 * from scratch; off unless `decima.imitationIterations` > 0). The expert is weighted fair
 * sharing with the alpha that tuned weighted fair picks on the training seeds, the best
 * heuristic of the batch setting (or a fixed alpha, `decima.expertAlpha`; 0 is fair, the best
 * on streams), or the rollout teacher of decima-teacher.ts, which improves on it by simulation.
 *
 * DAgger (Ross, Gordon and Bagnell, AISTATS 2011): each iteration runs episodes in which every
 * decision is taken by the expert with probability beta and by the current net (sampled)
 * otherwise, and labels every state visited with the expert's (stage, limit); beta decays from 1
 * to 0 over the first half of the imitation iterations, so later iterations visit the states the
 * net itself reaches. The net is fitted by cross-entropy on a buffer of the recent iterations'
 * labelled states.
 *
 * The limit label is a set: limits that send the same executors are the same decision (the env
 * sends min(unassigned tasks, limit - executors the job holds, offered executors)), so when the
 * expert sends all it can, every limit from the one that does so up to E is right, and the loss
 * is minus the log of their summed probability. States where the expert leaves the offered
 * executors idle (Decima's heads never do) are not labelled.
 */
import { Rng } from '../../core/rng.js';
import { SelfoptError } from '../../core/errors.js';
import { readArrays, writeArrays } from '../../core/files.js';
import { tidy, gather, pick, reshape, sum, add, sub, mul, logSoftmax } from '../../learn/index.js';
import { encodeFirstFit, JOB_FEATURES, type SchedulingEnv, type SchedulingObs } from './env.js';
import type { SchedulingPolicy } from './evaluate.js';
import { decide, StructureCache } from './decima-policy.js';
import type { RolloutTeacher } from './decima-teacher.js';
import { type DecimaNet, type Step, snapshot, chosenStageHeads, fullJobExtras, JOB_EXTRAS_FULL, STAGE_EXTRAS } from './decima-net.js';
import type { RankShape } from './weighted-fair.js';

/** The labelled states of one episode, and what remakes them (replayImitationEpisode). */
export interface ImitationEpisode {
  steps: Step[];
  /** Expert's stage row; the range [limitLo, limitHi] of limits equivalent to its limit. */
  rows: Int32Array;
  limitLo: Int32Array;
  limitHi: Int32Array;
  /** Decisions taken, and how many of them by the expert. */
  decisions: number;
  expertDecisions: number;
  complete: boolean;
  /** Average JCT (s) of the episode as it ran (mixed policy). */
  avgJctS: number;
  /** The episode's seed, every action taken (by whoever took it) and, per decision, 1 where its state was labelled (a step of `steps`). */
  seed: number;
  actions: Int32Array;
  labelled: Uint8Array;
}

/** An imitation episode and the training instance it ran on (its index in the trainer's list): what the trainer's buffer holds. */
export interface BufferedEpisode extends ImitationEpisode {
  instance: number;
}

/** The limits equivalent to `limit` for stage `row` (same executors sent), as [lo, hi]. */
export function equivalentLimits(o: SchedulingObs, row: number, limit: number): [number, number] {
  const k = o.stageJob[row]!, held = o.limitMin[k]! - 1;
  const full = held + Math.min(o.stageUnassigned[row]!, o.numSourceExec);
  return limit >= full ? [Math.max(o.limitMin[k]!, Math.min(full, o.numExecutors)), o.numExecutors] : [limit, limit];
}

/**
 * One DAgger episode. With a `teacher` (decima-teacher.ts), a `labelShare` of the states are
 * labelled by it (and, with probability beta, acted on by it); at the other states the expert
 * (the teacher's base policy) acts when beta says so, and nothing is labelled.
 */
export function runImitationEpisode(env: SchedulingEnv, net: DecimaNet, expert: SchedulingPolicy, seed: number, rng: Rng, beta: number, teacher: RolloutTeacher | null = null, labelShare = 1): ImitationEpisode {
  const cache = new StructureCache();
  let { obs, info } = env.reset({ seed });
  teacher?.begin(env, seed);
  const steps: Step[] = [], rows: number[] = [], lo: number[] = [], hi: number[] = [], actions: number[] = [], labelFlags: number[] = [];
  let decisions = 0, expertDecisions = 0, total = 0, complete = false;
  for (;;) {
    const structure = cache.get(obs);
    const labelled = teacher === null || rng.next() < labelShare;
    const a = labelled && teacher !== null ? teacher.act(obs, info, rng) : expert.act(obs, info, rng);
    let st: Step | null = null;
    if (labelled && a !== env.idleAction) {
      const { row, limit } = env.decode(a);
      const [l0, l1] = equivalentLimits(obs, row, limit);
      st = snapshot(obs, structure);
      steps.push(st);
      rows.push(row);
      lo.push(l0);
      hi.push(l1);
    }
    let action = a;
    if (rng.next() >= beta) {
      const d = decide(net, st ?? snapshot(obs, structure), rng);
      action = encodeFirstFit(obs, d.row, d.limit);
    } else expertDecisions++;
    decisions++;
    actions.push(action);
    labelFlags.push(st === null ? 0 : 1);
    const r = env.step(action);
    teacher?.record(action);
    total += r.reward;
    if (r.terminated) { complete = true; break; }
    if (r.truncated) break;
    obs = r.obs;
    info = r.info;
  }
  const jobs = env.sim.jobTpl.length;
  return {
    steps, rows: Int32Array.from(rows), limitLo: Int32Array.from(lo), limitHi: Int32Array.from(hi), decisions, expertDecisions, complete, avgJctS: jobs > 0 ? -total / jobs : -1,
    seed, actions: Int32Array.from(actions), labelled: Uint8Array.from(labelFlags),
  };
}

/**
 * The labelled states of a recorded episode, remade by replaying its seed and actions in an env
 * of its instance: the env is a function of the two (the rollout teacher's replay branch relies on
 * it too), so the states are the recorded ones, bit for bit, and neither the net that acted nor
 * the expert is needed. The replay must end as the episode did (decisions, end, average JCT to
 * the last bit): a simulator changed since the recording is refused, not trained on other states.
 */
export function replayImitationEpisode(env: SchedulingEnv, ep: Omit<ImitationEpisode, 'steps'>, where: string): Step[] {
  const cache = new StructureCache();
  const steps: Step[] = [];
  let total = 0, complete = false, taken = 0, failure = '';
  try {
    let { obs } = env.reset({ seed: ep.seed });
    while (taken < ep.actions.length) {
      // Every decision, as the recording did, so that its steps share the same structures.
      const structure = cache.get(obs);
      if (ep.labelled[taken]) steps.push(snapshot(obs, structure));
      const r = env.step(ep.actions[taken++]!);
      total += r.reward;
      if (r.terminated) { complete = true; break; }
      if (r.truncated) break;
      obs = r.obs;
    }
  } catch (e) {
    failure = `: ${(e as Error).message}`;
  }
  const jobs = env.sim.jobTpl.length, avgJctS = jobs > 0 ? -total / jobs : -1;
  if (failure !== '' || taken !== ep.actions.length || complete !== ep.complete || !Object.is(avgJctS, ep.avgJctS)) {
    const ended = failure !== '' ? `failed at decision ${taken}${failure}` : `ended after ${taken} decisions (${complete ? 'complete' : 'cut'}, average JCT ${avgJctS} s)`;
    throw new SelfoptError(`the replay of an imitation episode (seed ${ep.seed}, ${ep.actions.length} decisions, ${ep.complete ? 'complete' : 'cut'}, average JCT ${ep.avgJctS} s) ${ended}`, where, 'a state saved by this version of the simulator; --fresh starts the run over');
  }
  return steps;
}

/**
 * Cross-entropy of the expert's labels on a batch of states, times `scale` (backward() is
 * called here); returns the summed loss and how many labels the greedy net gets right.
 */
export function imitationGradient(net: DecimaNet, steps: Step[], rows: Int32Array, limitLo: Int32Array, limitHi: Int32Array, scale: number): { loss: number; stageHits: number; limitHits: number } {
  return tidy(() => {
    const B = steps.length, E = net.opts.numExecutors;
    const { em, st, chosen, lmin, logits, lim } = chosenStageHeads(net, steps, rows);
    // log P(limit in [lo, hi]) = log-softmax over the allowed limits minus log-softmax over the set, at any member.
    const setMask = new Uint8Array(B * E);
    for (let b = 0; b < B; b++) setMask.fill(1, b * E + limitLo[b]! - 1, b * E + limitHi[b]!);
    const at = Int32Array.from(limitLo, (l) => l - 1);
    const limitLp = sub(pick(lim.logp, at), pick(logSoftmax(logits, setMask), at));
    const loss = add(sum(reshape(gather(st.logp, chosen), [B])), sum(limitLp));
    mul(loss, -scale).backward();
    // Greedy agreement
    let stageHits = 0, limitHits = 0;
    const q = em.q.data, ld = logits.data;
    for (let b = 0; b < B; b++) {
      const n0 = em.nodeOff[b]!, n = em.nodeOff[b + 1]! - n0, mask = steps[b]!.stageMask;
      let best = -1;
      for (let v = 0; v < n; v++) if (mask[v] && (best < 0 || q[n0 + v]! > q[n0 + best]!)) best = v;
      if (best === rows[b]) stageHits++;
      let bl = -1;
      for (let l = lmin[b]!; l <= E; l++) if (bl < 0 || ld[b * E + l - 1]! > ld[b * E + bl - 1]!) bl = l;
      if (bl >= limitLo[b]! && bl <= limitHi[b]!) limitHits++;
    }
    return { loss: -loss.item(), stageHits, limitHits };
  });
}

/** A uniform sample of `n` (episode, step) pairs from the buffer. */
export function sampleBatch(buffer: ImitationEpisode[], n: number, rng: Rng): { steps: Step[]; rows: Int32Array; lo: Int32Array; hi: Int32Array } {
  const sizes = buffer.map((e) => e.steps.length), total = sizes.reduce((a, b) => a + b, 0);
  const steps: Step[] = [], rows = new Int32Array(n), lo = new Int32Array(n), hi = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let j = Math.floor(rng.next() * total), e = 0;
    while (j >= sizes[e]!) j -= sizes[e++]!;
    const ep = buffer[e]!;
    steps.push(ep.steps[j]!);
    rows[i] = ep.rows[j]!;
    lo[i] = ep.limitLo[j]!;
    hi[i] = ep.limitHi[j]!;
  }
  return { steps, rows, lo, hi };
}

/**
 * The imitation buffer in an arrays file (core/files.ts), so that a resumed run samples its
 * minibatches from the same labelled states as an uninterrupted one. What is saved is what
 * remakes the states, not the states: per episode its instance, seed, actions, which decisions
 * were labelled and the labels (the expert's, which may have cost a rollout teacher thousands of
 * simulations each); loadImitationBuffer replays the episodes. The shipped batch config (80
 * episodes of a 20-job TPC-H batch, 26,200 decisions) saved its states at 1.3-1.6 MB per
 * episode, 117 MB in all, written in 4.5 s at every save; the recipe takes 17.5 bytes per
 * decision, 458 KB, written in 13 ms, and replays in about the time the states took to read
 * (2.6 s against 3.1 s; MEASUREMENTS.md, "The imitation buffer's size").
 */
export function saveImitationBuffer(path: string, buffer: readonly BufferedEpisode[]): void {
  const header = { episodes: buffer.map((e) => ({ instance: e.instance, seed: e.seed, decisions: e.decisions, expertDecisions: e.expertDecisions, complete: e.complete, avgJctS: e.avgJctS })) };
  writeArrays(path, BUFFER_FORMAT, header, buffer.flatMap((e) => [e.actions, e.labelled, e.rows, e.limitLo, e.limitHi]));
}

/** The buffer saveImitationBuffer wrote, its states remade in `envs` (the env of each training instance, in the trainer's order). */
export function loadImitationBuffer(path: string, envs: readonly SchedulingEnv[]): BufferedEpisode[] {
  type Saved = Omit<BufferedEpisode, 'steps' | 'actions' | 'labelled' | 'rows' | 'limitLo' | 'limitHi'>;
  const r = readArrays<{ episodes: Saved[] }>(path, BUFFER_FORMAT);
  const saved = r.header.episodes.map((h, i) => {
    const ep = { ...h, actions: r.next(Int32Array), labelled: r.next(Uint8Array), rows: r.next(Int32Array), limitLo: r.next(Int32Array), limitHi: r.next(Int32Array) };
    const labels = ep.labelled.reduce((n, l) => n + l, 0);
    const bad = !Number.isInteger(ep.instance) || ep.instance < 0 || ep.instance >= envs.length ? `instance ${ep.instance} of ${envs.length}`
      : ep.actions.length !== ep.decisions || ep.labelled.length !== ep.decisions ? `${ep.decisions} decisions with ${ep.actions.length} actions and ${ep.labelled.length} labelled flags`
      : ep.rows.length !== labels || ep.limitLo.length !== labels || ep.limitHi.length !== labels ? `${labels} labelled decisions with ${ep.rows.length} labels` : '';
    if (bad) throw new SelfoptError(`episode ${i} of the imitation buffer has ${bad}`, path, 'one action and one labelled flag per decision, one label per labelled decision, an instance of the run; --fresh starts the run over');
    return ep;
  });
  r.done();
  return saved.map((ep, i) => ({ ...ep, steps: replayImitationEpisode(envs[ep.instance]!, ep, `${path}, episode ${i}`) }));
}

const BUFFER_FORMAT = 'decima-imitation-buffer-2';

/**
 * Weighted fair's stage choice (smallest-work-first order, the share at the net's shareAlpha and shareShape)
 * computed from a Step's inputs alone (the paper's source-job flag, the stage mask and the
 * expert-state inputs of decima-net.ts): a check that those inputs determine the expert's
 * choice. Returns the stage row and, when the share bounds the executors sent, that share (the
 * expert's limit then), else -1.
 */
export function expertFromInputs(st: Step, E: number, alpha: number, shape: RankShape | null = null): { row: number; share: number } {
  const s = st.s, jx = fullJobExtras(st, E, alpha, shape), X = JOB_EXTRAS_FULL;
  const firstStage = (k: number): number => {
    let best = -1, bestRank = Infinity, first = -1;
    for (let r = s.jobPtr[k]!; r < s.jobPtr[k + 1]!; r++) {
      if (!st.stageMask[r]) continue;
      if (first < 0) first = r;
      const runnable = st.stageExtra[r * STAGE_EXTRAS]! === 1, rank = st.stageExtra[r * STAGE_EXTRAS + 1]!;
      if (runnable && rank < bestRank) { bestRank = rank; best = r; }
    }
    return best >= 0 ? best : first;
  };
  for (let k = 0; k < s.numJobs; k++) {
    if (st.jobFeatures[k * JOB_FEATURES + 1]! !== 2) continue;
    const r = firstStage(k);
    if (r >= 0) return { row: r, share: -1 };
  }
  const order = Array.from({ length: s.numJobs }, (_, k) => k).sort((a, b) => jx[a * X + 4]! - jx[b * X + 4]!);
  for (const k of order) {
    if (!(jx[k * X + 7]! > 0)) continue;
    const r = firstStage(k);
    if (r >= 0) return { row: r, share: Math.round(jx[k * X + 8]! * 20) };
  }
  return { row: -1, share: -1 };
}
