/**
 * Where a Decima net and its imitation expert (weighted fair, arrival or smallest-work-first
 * order) disagree, by kind of decision: a diagnostic for the imitation warm start.
 *
 *   node dist/src/problems/scheduling/agreement.js --instance tpch_batch20_50exec_train \
 *     [--seeds 5] [--alpha A | tuned] [--sjf] CHECKPOINT...
 *
 * The net runs greedily (as the solver) on validation seeds (1,500,000 + i); at every state the
 * expert's answer is computed too and the two are compared:
 * - `stay`: the source executors' own job has a selectable stage, so the expert keeps them there
 *   (first runnable stage in the order stages became runnable), sending all of them;
 * - `visit`: otherwise, the expert visits the jobs under their share and picks a stage of the first
 *   one; its limit is the share (or all the executors it can send).
 * For stage choices: right job or not, and, within the right job, right stage or not (and whether
 * the expert's job had one selectable stage or several: the order in which stages became
 * runnable, which decides between them, is not among the net's inputs). For limits (judged at the
 * expert's stage): the label is a set when the expert sends all it can ("full"), one limit
 * otherwise ("exact").
 */
import { pathToFileURL } from 'node:url';
import { inference, stepIndices } from '../../learn/index.js';
import { DataPath } from '../../core/data.js';
import { reportError, SelfoptError } from '../../core/errors.js';
import { countFrom, flagNumber } from '../../core/options.js';
import { mean } from '../../core/stats.js';
import { schedulingProblem } from './index.js';
import { loadInstance } from './instances.js';
import { makeEnv } from './evaluate.js';
import { sweepAlpha, SWEEP_EPISODES } from './heuristics.js';
import { WeightedFair, type JobOrder } from './weighted-fair.js';
import { VALIDATION_SEED_BASE } from './validate.js';
import { encodeAction, type SchedulingEnv, type SchedulingObs } from './env.js';
import { equivalentLimits } from './decima-imitation.js';
import { decide, loadDecima, StructureCache } from './decima-policy.js';
import { type DecimaNet, type Structure, viewOf } from './decima-net.js';

export interface AgreementCounts {
  /** Labelled states by kind, and greedy hits. */
  stay: number; stayStage: number; stayLimit: number;
  visit: number; visitJob: number; visitStage: number; visitLimit: number;
  /** Of the states where the net picked the expert's job: how many had several selectable stages there, and the hits among them. */
  rightJob: number; rightJobMulti: number; rightJobMultiHits: number;
  /** Limits: label kind and hits. */
  full: number; fullHits: number; exact: number; exactHits: number;
  /** Exact limits missed by one. */
  exactOffByOne: number;
  /** Mean average JCT (s) of the net's episodes. */
  avgJctS: number[];
}

export function emptyCounts(): AgreementCounts {
  return { stay: 0, stayStage: 0, stayLimit: 0, visit: 0, visitJob: 0, visitStage: 0, visitLimit: 0, rightJob: 0, rightJobMulti: 0, rightJobMultiHits: 0, full: 0, fullHits: 0, exact: 0, exactHits: 0, exactOffByOne: 0, avgJctS: [] };
}

function selectableIn(o: SchedulingObs, k: number): number {
  let n = 0;
  for (let r = o.jobPtr[k]!; r < o.jobPtr[k + 1]!; r++) n += o.stageMask[r]!;
  return n;
}

/** Whether the expert's answer here is its stay rule (the source job has a selectable stage). */
export function isStay(o: SchedulingObs): boolean {
  return o.sourceJob >= 0 && selectableIn(o, o.sourceJob) > 0;
}

/** The net's greedy limit for the job of stage `row` of the current state (as decide's, at a stage the net did not pick). */
export function greedyLimit(net: DecimaNet, o: SchedulingObs, s: Structure, row: number): number {
  return inference(() => {
    const st = viewOf(o, s);
    const em = net.embed([st]);
    const k = o.stageJob[row]!;
    const pairStep = stepIndices(1), pairJob = stepIndices(1); // the pair (step 0, job k), from the scratch as decide's
    pairJob[0] = k;
    const lg = net.limitLogits(em, [st], pairStep, pairJob).data;
    let best = -1;
    for (let l = o.limitMin[k]!; l <= o.numExecutors; l++) if (best < 0 || lg[l - 1]! > lg[best - 1]!) best = l;
    return best;
  });
}

/** Runs the net greedily for one episode, comparing each decision with the expert's; adds to `c`. */
export function agreementEpisode(env: SchedulingEnv, net: DecimaNet, expert: WeightedFair, seed: number, c: AgreementCounts): void {
  let { obs, info } = env.reset({ seed });
  const cache = new StructureCache();
  let total = 0;
  for (;;) {
    const s = cache.get(obs);
    const a = expert.act(obs, info);
    const d = decide(net, viewOf(obs, s), null);
    if (a !== env.idleAction) {
      const { row, limit } = env.decode(a);
      const k = obs.stageJob[row]!, kn = obs.stageJob[d.row]!;
      const stageHit = d.row === row ? 1 : 0;
      const [lo, hi] = equivalentLimits(obs, row, limit);
      const l = d.row === row ? d.limit : greedyLimit(net, obs, s, row);
      const limitHit = l >= lo && l <= hi ? 1 : 0;
      if (isStay(obs)) { c.stay++; c.stayStage += stageHit; c.stayLimit += limitHit; }
      else { c.visit++; c.visitJob += kn === k ? 1 : 0; c.visitStage += stageHit; c.visitLimit += limitHit; }
      if (kn === k) {
        c.rightJob++;
        if (selectableIn(obs, k) > 1) { c.rightJobMulti++; c.rightJobMultiHits += stageHit; }
      }
      if (hi === obs.numExecutors) { c.full++; c.fullHits += limitHit; }
      else { c.exact++; c.exactHits += limitHit; if (Math.abs(l - lo) === 1) c.exactOffByOne++; }
    }
    const r = env.step(encodeAction(d.row, d.limit, obs.numExecutors));
    total += r.reward;
    if (r.terminated || r.truncated) break;
    obs = r.obs;
    info = r.info;
  }
  c.avgJctS.push(-total / env.sim.jobTpl.length);
}

export function formatCounts(c: AgreementCounts): string {
  const p = (a: number, b: number) => `${b ? ((100 * a) / b).toFixed(1) : '-'}% of ${b}`;
  const n = c.stay + c.visit;
  return [
    `stage: ${p(c.stayStage + c.visitStage, n)} (stay ${p(c.stayStage, c.stay)}; visit ${p(c.visitStage, c.visit)}, right job ${p(c.visitJob, c.visit)})`,
    `  right job, several selectable stages there: ${p(c.rightJobMulti, c.rightJob)} of right-job states, right stage in ${p(c.rightJobMultiHits, c.rightJobMulti)}`,
    `limit: ${p(c.stayLimit + c.visitLimit, n)} (stay ${p(c.stayLimit, c.stay)}; visit ${p(c.visitLimit, c.visit)}; full-send labels ${p(c.fullHits, c.full)}; exact labels ${p(c.exactHits, c.exact)}, off by one ${c.exactOffByOne})`,
  ].join('\n');
}

function main(): void {
  const args = process.argv.slice(2), paths: string[] = [];
  let instance = 'tpch_batch20_50exec_train', seeds = 5, alphaArg = 'tuned', order: JobOrder = 'arrival';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--instance') instance = args[++i]!;
    else if (a === '--seeds') seeds = flagNumber('--seeds', countFrom(1))(args[++i] ?? '');
    else if (a === '--alpha') alphaArg = args[++i]!;
    else if (a === '--sjf') order = 'work';
    else if (a.startsWith('--')) throw new SelfoptError(`unknown flag ${a}`, 'agreement command line', '--instance, --seeds, --alpha, --sjf, then checkpoint paths');
    else paths.push(a);
  }
  const inst = loadInstance(schedulingProblem.resolveInstance(instance, { data: new DataPath(), quick: false }));
  const alpha = alphaArg === 'tuned' ? sweepAlpha(inst, SWEEP_EPISODES.full, undefined, order).alpha : flagNumber('--alpha', { expected: "a number, or 'tuned'" })(alphaArg);
  const env = makeEnv(inst);
  for (const p of paths) {
    const net = loadDecima(p), c = emptyCounts();
    for (let i = 0; i < seeds; i++) agreementEpisode(env, net, new WeightedFair(alpha, order), VALIDATION_SEED_BASE + i, c);
    console.log(`${p} on ${instance}, validation seeds ${VALIDATION_SEED_BASE}..${VALIDATION_SEED_BASE + seeds - 1}, expert weighted fair alpha ${alpha} (${order} order); the net's own greedy episodes: ${mean(c.avgJctS).toFixed(2)} s`);
    console.log(formatCounts(c));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main();
  } catch (e) {
    reportError(e, 'agreement');
  }
}
