/**
 * Decima's policy network (Mao et al., SIGCOMM 2019, section 5), on src/learn.
 *
 * - Node inputs x_v (section 5.1 / decima-sim's translate_state): the env's five node features
 *   (executors on the job / 20, +-2 whether the free executors are local to the job, free
 *   executors / 20, remaining work of the stage / 1e5 ms, tasks remaining / 200) plus the
 *   paper's "average task duration" (the stage's rough duration / 1e4 ms).
 * - Node embeddings e_v: DAG message passing from the leaves up (learn/gnn.ts DagMessagePassing,
 *   widths as decima-sim: h, f, g with hidden [16, 8], output 8).
 * - Summaries: per job y_i = sum over its unfinished stages of jobSummary([x_v, e_v]); global
 *   z = sum over jobs of globalSummary(y_i) (decima-sim's gsn.py: one MLP per level, summed).
 * - Stage head: q_v = stageScore([x_v, e_v, y_job(v), z]) over the stages the mask allows,
 *   softmax over them (the paper's "node selection").
 * - Parallelism-limit head, conditioned on the chosen stage's job: w(l) = limitScore([job
 *   inputs, y_i, z, l / E]) for l in limitMin..E, softmax over them. The score function's first
 *   layer is split into a job part and a limit part (an exact rewrite of a linear layer on the
 *   concatenation), so all E limits of a job cost one job row plus E cheap rows.
 * Activations: leaky ReLU (slope 0.2) as decima-sim, none after the score outputs.
 *
 * Optional job inputs (`jobExtras` = JOB_EXTRAS; a departure from the paper, 0 = the paper's
 * inputs, which is how older checkpoints load): the job's rank in arrival order / 20, log(1 +
 * total work in s) / 10, log(1 + remaining work in s) / 10 and the number of jobs in the system
 * / 20, appended to every stage's inputs and to the limit head's job inputs. Without them the
 * policy cannot see which job arrived first (every heuristic's tie-break and fair sharing's order)
 * nor a job's total work (what weighted fair's shares are made of).
 *
 * Expert-state inputs (`jobExtras` = JOB_EXTRAS_FULL, `stageExtras` = STAGE_EXTRAS; departures
 * from the paper, off by default): what the weighted fair family decides from and the paper's
 * inputs do not show (measured by agreement.ts: without them a net imitating
 * tuned-weighted-fair-sjf picks the expert's job in half of the decisions outside the source job,
 * and its stage inside the right job in 73% of the cases with several candidates). Per job,
 * after the four above: its rank by total work among the jobs in the system / 20 (the visiting
 * order of smallest work first), whether it still has tasks not yet assigned (weighted fair's
 * "unfinished"), its executors' deficit against the fair share ceil(E / unfinished jobs) and
 * against the weighted fair share ceil(E T^a / sum of T^a over unfinished jobs) (both / 20), and
 * that weighted share / 20 (a = `shareAlpha`, recorded in the checkpoint; the tuned alpha of the
 * expert; with `shareShape`, also recorded, each T^a times tuned-rank-weighted-fair's bump over the
 * job's rank by total work among the unfinished jobs, as that expert's shares). Per stage: whether it is runnable (parents done, tasks left), its rank among its job's
 * runnable stages in the order they became runnable / 10 (1 when not runnable) and its index in
 * the job / 20: which stage of a job Spark's (and decima-sim's) agents take first.
 *
 * Inputs are `Step`s: copies of what a decision saw (observations are reused by the env), with
 * the job structure shared between the steps of one system state.
 */
import type { Rng } from '../../core/rng.js';
import { SelfoptError } from '../../core/errors.js';
import {
  Module, MLP, Linear, DagMessagePassing, DagSchedule, Csr, type Tensor, collect, tensor, stepInput, stepBuffer, stepIndices,
  concat, gather, segmentSum, add, sub, mul, div, exp, log, matmul, reshape, logSoftmax, categoricalEntropy, activate,
} from '../../learn/index.js';
import { NODE_FEATURES, JOB_FEATURES, type SchedulingObs } from './env.js';
import { rankBump, type RankShape } from './weighted-fair.js';

/** Node inputs: the env's five plus the average task duration. */
export const DECIMA_NODE_INPUTS = NODE_FEATURES + 1;
/** The optional job inputs (see above): the four of the first extension, or all of the expert-state ones. */
export const JOB_EXTRAS = 4;
export const JOB_EXTRAS_FULL = 9;
/** The optional stage inputs (see above). */
export const STAGE_EXTRAS = 3;
/**
 * With JOB_EXTRAS_FULL the limit head also reads, in executors rather than / 20, the executors
 * the job holds besides the offered ones, its weighted share and its fair share, and the limit l
 * itself in executors (not l / E): so that one executor more or less is a unit step its first
 * layer can separate (with l / E and shares / 20, a net imitating weighted fair got the exact
 * share in half of the cases, a third of the misses off by one).
 */
export const LIMIT_COUNTS = 3;
/** Per-job raw quantities kept in a Step for the expert-state inputs: total work (s), unfinished (0/1), executors. */
const JOB_RAW = 3;

export interface DecimaNetOptions {
  numExecutors: number;
  /** Width of node embeddings and summaries (decima-sim: 8). */
  embed: number;
  /** Hidden widths of the message-passing and summary MLPs (decima-sim: [16, 8]). */
  gnnHidden: number[];
  /** Hidden widths of the two score functions (decima-sim: [32, 16, 8]). */
  headHidden: number[];
  /** Extra job inputs: 0 (the paper's inputs), JOB_EXTRAS or JOB_EXTRAS_FULL. */
  jobExtras: number;
  /** Extra stage inputs: 0 or STAGE_EXTRAS. */
  stageExtras: number;
  /** The alpha of the weighted fair share among the JOB_EXTRAS_FULL inputs. */
  shareAlpha: number;
  /** That share's bump over the size rank (tuned-rank-weighted-fair's); null: flat (tuned-weighted-fair-sjf's). */
  shareShape?: RankShape | null;
}

export const DECIMA_NET_DEFAULTS: Omit<DecimaNetOptions, 'numExecutors'> = { embed: 8, gnnHidden: [16, 8], headHidden: [32, 16, 8], jobExtras: 0, stageExtras: 0, shareAlpha: 0 };

/** The job structure of one system state (changes when a job arrives or leaves). */
export interface Structure {
  numNodes: number;
  numJobs: number;
  rowPtr: Int32Array;
  colIdx: Int32Array;
  jobPtr: Int32Array;
  stageJob: Int32Array;
  /** Stage rough durations / 1e4 ms. */
  duration: Float32Array;
  schedule: DagSchedule | null;
}

/** What one decision saw. */
export interface Step {
  s: Structure;
  nodeFeatures: Float32Array;
  jobFeatures: Float32Array;
  stageMask: Uint8Array;
  stageDone: Uint8Array;
  limitMin: Int32Array;
  /** [numJobs, JOB_EXTRAS] optional job inputs (always computed; used when the net's jobExtras > 0). */
  jobExtra: Float32Array;
  /** [numJobs, 3] total work (s), unfinished (0/1), executors: what the JOB_EXTRAS_FULL inputs are computed from. */
  jobRaw: Float32Array;
  /** [numNodes, STAGE_EXTRAS] optional stage inputs (always computed; used when the net's stageExtras > 0). */
  stageExtra: Float32Array;
}

export function structureOf(o: SchedulingObs): Structure {
  return {
    numNodes: o.numNodes, numJobs: o.numJobs, rowPtr: o.rowPtr, colIdx: o.colIdx, jobPtr: o.jobPtr, stageJob: o.stageJob,
    duration: Float32Array.from(o.stageRoughMs, (x) => x / 1e4), schedule: null,
  };
}

/** A copy of the decision's dynamic inputs (the env reuses its arrays). */
export function snapshot(o: SchedulingObs, s: Structure): Step {
  return { s, nodeFeatures: o.nodeFeatures.slice(0, o.numNodes * NODE_FEATURES), jobFeatures: o.jobFeatures.slice(0, o.numJobs * JOB_FEATURES), stageMask: o.stageMask.slice(0, o.numNodes), stageDone: o.stageDone.slice(0, o.numNodes), limitMin: o.limitMin.slice(0, o.numJobs), jobExtra: jobExtrasOf(o), jobRaw: jobRawOf(o), stageExtra: stageExtrasOf(o) };
}

/**
 * A view of the observation itself, for one forward pass now (no copy but the small extras, which
 * are stepBuffers: inside inference() they come from the scratch and last as long as the step).
 */
export function viewOf(o: SchedulingObs, s: Structure): Step {
  const extras = (n: number) => stepBuffer('float32', n) as Float32Array;
  return {
    s, nodeFeatures: o.nodeFeatures, jobFeatures: o.jobFeatures, stageMask: o.stageMask, stageDone: o.stageDone, limitMin: o.limitMin,
    jobExtra: jobExtrasOf(o, extras(o.numJobs * JOB_EXTRAS)), jobRaw: jobRawOf(o, extras(o.numJobs * JOB_RAW)), stageExtra: stageExtrasOf(o, extras(o.numNodes * STAGE_EXTRAS)),
  };
}

/** Per job: total work (s), whether it has tasks not yet assigned, executors held (module comment). Written into `out` when given (of that size). */
export function jobRawOf(o: SchedulingObs, out: Float32Array = new Float32Array(o.numJobs * JOB_RAW)): Float32Array {
  for (let k = 0; k < o.numJobs; k++) {
    let unfinished = 0;
    for (let r = o.jobPtr[k]!; r < o.jobPtr[k + 1]!; r++) if (o.stageUnassigned[r]! > 0) { unfinished = 1; break; }
    out[k * JOB_RAW] = o.jobTotalWorkMs[k]! / 1000;
    out[k * JOB_RAW + 1] = unfinished;
    out[k * JOB_RAW + 2] = o.jobExecutors[k]!;
  }
  return out;
}

/** Per stage: runnable (0/1), rank among the job's runnable stages by when they became runnable / 10 (1 if not), index in the job / 20. Written into `out` when given. */
export function stageExtrasOf(o: SchedulingObs, out: Float32Array = new Float32Array(o.numNodes * STAGE_EXTRAS)): Float32Array {
  for (let k = 0; k < o.numJobs; k++) {
    const r0 = o.jobPtr[k]!, r1 = o.jobPtr[k + 1]!;
    for (let r = r0; r < r1; r++) {
      const q = o.stageFrontierSeq[r]!;
      let rank = 0;
      if (q >= 0) for (let u = r0; u < r1; u++) if (o.stageFrontierSeq[u]! >= 0 && o.stageFrontierSeq[u]! < q) rank++;
      out[r * STAGE_EXTRAS] = q >= 0 ? 1 : 0;
      out[r * STAGE_EXTRAS + 1] = q >= 0 ? rank / 10 : 1;
      out[r * STAGE_EXTRAS + 2] = (r - r0) / 20;
    }
  }
  return out;
}

/**
 * The JOB_EXTRAS_FULL inputs of a step's jobs ([numJobs, JOB_EXTRAS_FULL]; module comment): the
 * first JOB_EXTRAS from the step, the rest from its raw job quantities, E and alpha. Written into
 * `out` when given (zeroed, of that size).
 */
export function fullJobExtras(st: Step, E: number, alpha: number, shape?: RankShape | null, out: Float32Array = new Float32Array(st.s.numJobs * JOB_EXTRAS_FULL)): Float32Array {
  const J = st.s.numJobs, raw = st.jobRaw;
  let total = 0, unfinished = 0;
  const w = stepBuffer('float64', J);
  for (let k = 0; k < J; k++) {
    if (raw[k * JOB_RAW + 1]! === 0) continue;
    w[k] = alpha === 0 ? 1 : Math.pow(raw[k * JOB_RAW]! * 1000, alpha); // weighted fair's T^alpha, T in ms
    total += w[k]!;
    unfinished++;
  }
  if (shape) {
    // tuned-rank-weighted-fair's bump over the rank among unfinished jobs, summed in its order
    // (WeightedFair.shares: by total work, ties in arrival order). The order is found by counting,
    // into the step's index scratch, rather than by sorting a fresh array per decision.
    const bySize = stepIndices(unfinished);
    for (let k = 0; k < J; k++) {
      if (raw[k * JOB_RAW + 1]! === 0) continue;
      const T = raw[k * JOB_RAW]!;
      let i = 0;
      for (let u = 0; u < J; u++) {
        if (raw[u * JOB_RAW + 1]! === 0) continue;
        const Tu = raw[u * JOB_RAW]!;
        if (Tu < T || (Tu === T && u < k)) i++;
      }
      bySize[i] = k;
    }
    total = 0;
    for (let i = 0; i < unfinished; i++) {
      const k = bySize[i]!;
      w[k]! *= rankBump(unfinished > 1 ? i / (unfinished - 1) : 0, shape);
      total += w[k]!;
    }
  }
  const fair = Math.ceil(E / Math.max(1, unfinished));
  for (let k = 0; k < J; k++) {
    const o = k * JOB_EXTRAS_FULL, T = raw[k * JOB_RAW]!, ex = raw[k * JOB_RAW + 2]!;
    for (let f = 0; f < JOB_EXTRAS; f++) out[o + f] = st.jobExtra[k * JOB_EXTRAS + f]!;
    // rank by total work, ties in arrival order (the expert's stable sort)
    let rank = 0;
    for (let u = 0; u < J; u++) { const Tu = raw[u * JOB_RAW]!; if (Tu < T || (Tu === T && u < k)) rank++; }
    const share = unfinished === 0 ? E : Math.ceil((E * w[k]!) / total);
    out[o + 4] = rank / 20;
    out[o + 5] = raw[k * JOB_RAW + 1]!;
    out[o + 6] = ((raw[k * JOB_RAW + 1]! || unfinished === 0 ? fair : 0) - ex) / 20;
    out[o + 7] = (share - ex) / 20;
    out[o + 8] = share / 20;
  }
  return out;
}

/** The optional job inputs (module comment): rank, log total and remaining work, jobs in the system. Written into `out` when given. */
export function jobExtrasOf(o: SchedulingObs, out: Float32Array = new Float32Array(o.numJobs * JOB_EXTRAS)): Float32Array {
  const J = o.numJobs;
  for (let k = 0; k < J; k++) {
    out[k * JOB_EXTRAS] = k / 20;
    out[k * JOB_EXTRAS + 1] = Math.log1p(o.jobTotalWorkMs[k]! / 1000) / 10;
    out[k * JOB_EXTRAS + 2] = Math.log1p(o.jobRemainingWorkMs[k]! / 1000) / 10;
    out[k * JOB_EXTRAS + 3] = J / 20;
  }
  return out;
}

/** Embeddings of a batch of steps (one disjoint graph). */
export interface Embedded {
  /** [N, 1] stage scores (unmasked). */
  q: Tensor;
  /** [Jtot, embed] job summaries; [B, embed] global summaries. */
  y: Tensor;
  z: Tensor;
  /** Offsets of each step's nodes and jobs in the batch. */
  nodeOff: Int32Array;
  jobOff: Int32Array;
  nodeStep: Int32Array;
  /** Each step's job extras as the net reads them (jobExtrasFor), computed once for both heads. */
  jobExtras: readonly (readonly [Float32Array, number])[];
}

export class DecimaNet extends Module {
  readonly opts: DecimaNetOptions;
  readonly gnn: DagMessagePassing;
  readonly jobSummary: MLP;
  readonly globalSummary: MLP;
  readonly stageScore: MLP;
  /** First layer of the limit score on [job inputs, y, z]; the limit's column is limitWeight. */
  readonly limitJob: Linear;
  readonly limitWeight: Tensor;
  readonly limitRest: MLP;
  /** Inputs per stage and per job of the limit head (the paper's, plus jobExtras). */
  readonly nodeInputs: number;
  readonly jobInputs: number;

  constructor(options: Partial<DecimaNetOptions> & Pick<DecimaNetOptions, 'numExecutors'>, rng: Rng) {
    super();
    const o: DecimaNetOptions = { ...DECIMA_NET_DEFAULTS, ...options };
    if (!(Number.isInteger(o.numExecutors) && o.numExecutors > 0)) throw new SelfoptError(`numExecutors = ${o.numExecutors}`, 'DecimaNet options', 'a positive integer');
    this.opts = o;
    if (![0, JOB_EXTRAS, JOB_EXTRAS_FULL].includes(o.jobExtras)) throw new SelfoptError(`jobExtras = ${o.jobExtras}`, 'DecimaNet options', `0 (the paper's inputs), ${JOB_EXTRAS} or ${JOB_EXTRAS_FULL}`);
    if (o.stageExtras !== 0 && o.stageExtras !== STAGE_EXTRAS) throw new SelfoptError(`stageExtras = ${o.stageExtras}`, 'DecimaNet options', `0 (the paper's inputs) or ${STAGE_EXTRAS}`);
    if (o.shareShape && !(Number.isFinite(o.shareShape.mu) && o.shareShape.sigma > 0)) throw new SelfoptError(`shareShape = ${JSON.stringify(o.shareShape)}`, 'DecimaNet options', 'null, or { mu, sigma } with sigma > 0 (tuned-rank-weighted-fair\'s bump)');
    if (!Number.isFinite(o.shareAlpha)) throw new SelfoptError(`shareAlpha = ${o.shareAlpha}`, 'DecimaNet options', 'a finite number (the alpha of the weighted fair share input)');
    const d = o.embed, act = { rng, activation: 'leakyRelu' as const, slope: 0.2 };
    this.nodeInputs = DECIMA_NODE_INPUTS + o.stageExtras + o.jobExtras;
    this.jobInputs = JOB_FEATURES + o.jobExtras + (o.jobExtras === JOB_EXTRAS_FULL ? LIMIT_COUNTS : 0);
    this.gnn = new DagMessagePassing({ inFeatures: this.nodeInputs, outFeatures: d, hidden: o.gnnHidden, rng });
    const xe = this.nodeInputs + d;
    this.jobSummary = new MLP([xe, ...o.gnnHidden, d], { ...act, outputActivation: 'leakyRelu' });
    this.globalSummary = new MLP([d, ...o.gnnHidden, d], { ...act, outputActivation: 'leakyRelu' });
    this.stageScore = new MLP([xe + 2 * d, ...o.headHidden, 1], act);
    const [h0, ...hs] = o.headHidden;
    this.limitJob = new Linear(this.jobInputs + 2 * d, h0!, { rng });
    // The limit's row of the first layer (Glorot scale of the whole first layer's fan-in).
    const lim = 1 / Math.sqrt(this.jobInputs + 2 * d + 1);
    this.limitWeight = tensor(Array.from({ length: h0! }, () => (2 * rng.next() - 1) * lim), [1, h0!], { requiresGrad: true });
    this.limitRest = new MLP([h0!, ...hs, 1], act);
  }

  /** Node embeddings, summaries and stage scores of a batch of steps. */
  embed(steps: readonly Step[]): Embedded {
    const B = steps.length;
    // The inputs and index arrays come from the scratch when acting (inference): no storage per decision.
    const nodeOff = stepIndices(B + 1), jobOff = stepIndices(B + 1);
    let edges = 0, liveCount = 0;
    for (let b = 0; b < B; b++) {
      const st = steps[b]!, s = st.s;
      nodeOff[b + 1] = nodeOff[b]! + s.numNodes;
      jobOff[b + 1] = jobOff[b]! + s.numJobs;
      edges += s.rowPtr[s.numNodes]!;
      for (let v = 0; v < s.numNodes; v++) if (!st.stageDone[v]) liveCount++;
    }
    const N = nodeOff[B]!, J = jobOff[B]!;
    const NI = this.nodeInputs, X = this.opts.jobExtras, SX = this.opts.stageExtras;
    const xt = stepInput([N, NI]), x = xt.data;
    const nodeJob = stepIndices(N), nodeStep = stepIndices(N), jobStep = stepIndices(J);
    // The live (unfinished) stages, and their jobs: what the job summaries sum over.
    const live = stepIndices(liveCount), liveJob = stepIndices(liveCount);
    let nextLive = 0;
    const jobExtras = steps.map((st) => this.jobExtrasFor(st));
    for (let b = 0; b < B; b++) {
      const st = steps[b]!, s = st.s, n0 = nodeOff[b]!;
      const [jx, JX] = jobExtras[b]!;
      for (let v = 0; v < s.numNodes; v++) {
        const r = (n0 + v) * NI;
        for (let f = 0; f < NODE_FEATURES; f++) x[r + f] = st.nodeFeatures[v * NODE_FEATURES + f]!;
        x[r + NODE_FEATURES] = s.duration[v]!;
        for (let f = 0; f < SX; f++) x[r + DECIMA_NODE_INPUTS + f] = st.stageExtra[v * STAGE_EXTRAS + f]!;
        for (let f = 0; f < X; f++) x[r + DECIMA_NODE_INPUTS + SX + f] = jx[s.stageJob[v]! * JX + f]!;
        nodeJob[n0 + v] = jobOff[b]! + s.stageJob[v]!;
        nodeStep[n0 + v] = b;
        if (!st.stageDone[v]) { live[nextLive] = n0 + v; liveJob[nextLive++] = nodeJob[n0 + v]!; }
      }
      for (let k = 0; k < s.numJobs; k++) jobStep[jobOff[b]! + k] = b;
    }
    const schedule = B === 1 ? (steps[0]!.s.schedule ??= new DagSchedule(new Csr(N, N, steps[0]!.s.rowPtr, steps[0]!.s.colIdx))) : unionSchedule(steps, nodeOff, N, edges);
    const e = this.gnn.forward(schedule, xt);
    const xe = concat([xt, e], 1);
    const y = segmentSum(this.jobSummary.forward(gather(xe, live)), liveJob, J);
    const z = segmentSum(this.globalSummary.forward(y), jobStep, B);
    const q = this.stageScore.forward(concat([xe, gather(y, nodeJob), gather(z, nodeStep)], 1));
    return { q, y, z, nodeOff, jobOff, nodeStep, jobExtras };
  }

  /**
   * Limit logits [P, E] for P (step, job) pairs: pairJob[i] is a job index in the batch
   * (jobOff[step] + job row), pairStep[i] its step; `stepsIn` are the steps `em` embedded.
   */
  limitLogits(em: Embedded, stepsIn: readonly Step[], pairStep: Int32Array, pairJob: Int32Array): Tensor {
    const P = pairStep.length, E = this.opts.numExecutors;
    const JI = this.jobInputs, X = this.opts.jobExtras, counts = X === JOB_EXTRAS_FULL;
    const jt = stepInput([P, JI]), jf = jt.data;
    for (let i = 0; i < P; i++) {
      const st = stepsIn[pairStep[i]!]!, k = pairJob[i]! - em.jobOff[pairStep[i]!]!;
      for (let f = 0; f < JOB_FEATURES; f++) jf[i * JI + f] = st.jobFeatures[k * JOB_FEATURES + f]!;
      if (X > 0) {
        const [jx, JX] = em.jobExtras[pairStep[i]!]!;
        for (let f = 0; f < X; f++) jf[i * JI + JOB_FEATURES + f] = jx[k * JX + f]!;
        if (counts) {
          // In executors: the executors the job holds besides the offered ones, its weighted and its fair share.
          const o = i * JI + JOB_FEATURES + X, ex = st.jobRaw[k * JOB_RAW + 2]!;
          jf[o] = st.limitMin[k]! - 1;
          jf[o + 1] = Math.round(jx[k * JX + 8]! * 20);
          jf[o + 2] = Math.round(jx[k * JX + 6]! * 20) + ex;
        }
      }
    }
    const a = this.limitJob.forward(concat([jt, gather(em.y, pairJob), gather(em.z, pairStep)], 1)); // [P, h0]
    const rep = stepIndices(P * E), lt = stepInput([P * E, 1]), lcol = lt.data;
    for (let i = 0; i < P; i++) for (let l = 0; l < E; l++) {
      rep[i * E + l] = i;
      lcol[i * E + l] = counts ? l + 1 : (l + 1) / E;
    }
    const h1 = activate(add(gather(a, rep), matmul(lt, this.limitWeight)), 'leakyRelu', 0.2);
    return reshape(this.limitRest.forward(h1), [P, E]);
  }

  /** The step's job extras as this net reads them, with their row width (from the scratch when acting, as the inputs they feed). */
  private jobExtrasFor(st: Step): [Float32Array, number] {
    if (this.opts.jobExtras !== JOB_EXTRAS_FULL) return [st.jobExtra, JOB_EXTRAS];
    const out = stepBuffer('float32', st.s.numJobs * JOB_EXTRAS_FULL) as Float32Array;
    return [fullJobExtras(st, this.opts.numExecutors, this.opts.shareAlpha, this.opts.shareShape, out), JOB_EXTRAS_FULL];
  }

  namedParameters(): [string, Tensor][] {
    return collect([['gnn', this.gnn], ['jobSummary', this.jobSummary], ['globalSummary', this.globalSummary], ['stageScore', this.stageScore], ['limitJob', this.limitJob], ['limitWeight', this.limitWeight], ['limitRest', this.limitRest]]);
  }

  architecture(): Record<string, unknown> {
    // The optional inputs are recorded only when used, so checkpoints from before them match a net without them.
    const { jobExtras, stageExtras, shareAlpha, shareShape, ...rest } = this.opts;
    return {
      type: 'DecimaNet', ...rest, gnnHidden: [...this.opts.gnnHidden], headHidden: [...this.opts.headHidden], nodeInputs: this.nodeInputs, jobInputs: this.jobInputs,
      ...(jobExtras > 0 ? { jobExtras } : {}), ...(stageExtras > 0 ? { stageExtras } : {}), ...(jobExtras === JOB_EXTRAS_FULL ? { shareAlpha } : {}),
      ...(jobExtras === JOB_EXTRAS_FULL && shareShape ? { shareShape: { mu: shareShape.mu, sigma: shareShape.sigma } } : {}),
    };
  }
}

function unionSchedule(steps: readonly Step[], nodeOff: Int32Array, N: number, edges: number): DagSchedule {
  const rowPtr = new Int32Array(N + 1), colIdx = new Int32Array(edges);
  let e = 0;
  for (let b = 0; b < steps.length; b++) {
    const s = steps[b]!.s, n0 = nodeOff[b]!;
    for (let v = 0; v < s.numNodes; v++) {
      for (let p = s.rowPtr[v]!; p < s.rowPtr[v + 1]!; p++) colIdx[e++] = n0 + s.colIdx[p]!;
      rowPtr[n0 + v + 1] = e;
    }
  }
  return new DagSchedule(new Csr(N, N, rowPtr, colIdx));
}

/**
 * Masked log-softmax of the stage scores within each step, and each step's entropy: the
 * stage head's distribution. A masked stage gets a constant -1e4 shift (probability 0 in float32,
 * no gradient in effect); the per-step maximum over allowed stages is subtracted for stability.
 */
export function stageLogProbs(em: Embedded, steps: readonly Step[]): { logp: Tensor; entropy: Tensor; allowed: Int32Array } {
  const B = steps.length, N = em.nodeOff[B]!;
  const qd = em.q.data;
  const shiftT = stepInput([N, 1]), shift = shiftT.data;
  const allowed = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const n0 = em.nodeOff[b]!, mask = steps[b]!.stageMask;
    let m = -Infinity;
    for (let v = 0; v < em.nodeOff[b + 1]! - n0; v++) if (mask[v]) { m = Math.max(m, qd[n0 + v]!); allowed[b]++; }
    if (allowed[b] === 0) throw new SelfoptError(`step ${b} of the batch has no selectable stage`, 'Decima stage head', 'a decision with at least one selectable stage (the env never asks otherwise)');
    for (let v = 0; v < em.nodeOff[b + 1]! - n0; v++) shift[n0 + v] = mask[v] ? -m : -qd[n0 + v]! - 1e4;
  }
  const zt = add(em.q, shiftT);
  const ez = exp(zt);
  const S = segmentSum(ez, em.nodeStep, B); // [B, 1]
  const logS = log(S);
  const logp = sub(zt, gather(logS, em.nodeStep)); // [N, 1]
  // H = log S - sum p z = log S - (sum e^z z) / S
  const entropy = sub(logS, div(segmentSum(mul(ez, zt), em.nodeStep, B), S));
  return { logp, entropy, allowed };
}

/** Masked log-softmax and entropy of the limit head for one (step, job) pair per row. */
export function limitLogProbs(logits: Tensor, limitMin: Int32Array, E: number): { logp: Tensor; entropy: Tensor; mask: Uint8Array } {
  const P = limitMin.length;
  const mask = new Uint8Array(P * E);
  for (let i = 0; i < P; i++) mask.fill(1, i * E + Math.max(0, limitMin[i]! - 1), i * E + E);
  return { logp: logSoftmax(logits, mask), entropy: categoricalEntropy(logits, mask), mask };
}

/**
 * Both heads on a batch of steps, each with the stage chosen at it (`rows[b]`, a node of step b):
 * the stage log-probabilities, the flat index of each chosen node, and the limit head's logits
 * and masked log-probabilities for the chosen stage's job. What REINFORCE and imitation score.
 */
export function chosenStageHeads(net: DecimaNet, steps: readonly Step[], rows: Int32Array): {
  em: Embedded; st: ReturnType<typeof stageLogProbs>; chosen: Int32Array; lmin: Int32Array; logits: Tensor; lim: ReturnType<typeof limitLogProbs>;
} {
  const B = steps.length;
  const em = net.embed(steps);
  const st = stageLogProbs(em, steps);
  const chosen = Int32Array.from(rows, (r, b) => em.nodeOff[b]! + r);
  const pairJob = Int32Array.from(rows, (r, b) => em.jobOff[b]! + steps[b]!.s.stageJob[r]!);
  const lmin = Int32Array.from(rows, (r, b) => steps[b]!.limitMin[steps[b]!.s.stageJob[r]!]!);
  const logits = net.limitLogits(em, steps, Int32Array.from({ length: B }, (_, b) => b), pairJob);
  return { em, st, chosen, lmin, logits, lim: limitLogProbs(logits, lmin, net.opts.numExecutors) };
}
