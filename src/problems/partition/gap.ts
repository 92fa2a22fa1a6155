/**
 * GAP, the learned partitioner of Nazi et al. ("GAP: Generalizable Approximate Graph Partitioning
 * Framework", 2019), read top to bottom: config, the per-graph data (its node features are in
 * gap-features.ts), network, loss, training, solvers.
 *
 * The paper's definitions reproduced (section 3): the network maps each vertex to a probability
 * row Y_i over g parts (softmax); with D the weighted degrees and Gamma = Y^T D the expected volume
 * of each part, the expected normalized cut is
 *     E[Ncut] = reduce-sum( (Y ./ Gamma) (1 - Y)^T .* A ) = sum_{(i,j) in E} w_ij sum_k Y_ik (1 - Y_jk) / Gamma_k
 * (each undirected edge counted from both ends, as A is symmetric), and the balance term is
 *     sum_k (sum_i Y_ik - n / g)^2.
 * Training is unsupervised on E[Ncut] + balance over a family of graphs; the trained network is
 * applied to unseen graphs with argmax(Y) as the partition. The embedding is GraphSAGE (mean
 * aggregator, the paper's choice for generalization) over node features; the paper's inputs for
 * unseen graphs are structural (they use PCA of the adjacency); ours are listed below.
 *
 * Departures, each for a reason:
 * - g = 2 with k parts by recursive bisection (as `multilevel` and `spectral`), not one g-way head:
 *   one checkpoint then serves every k, on graphs of any size. The target share of part 0
 *   (k0 / k, 1/2 for powers of two) is an input feature and the balance term's target.
 * - The balance term is divided by the squared part target (frac0 n)^2 and weighted by
 *   `balanceWeight`: the paper's raw squared vertex counts grow as n^2 while E[Ncut] stays O(g), so
 *   one weight could not serve graphs of 500 and 30,000 vertices.
 * - Features per vertex (gap-features.ts, which lists them and says why): structural, computed per
 *   (sub)graph: the Fiedler vector and the level of a breadth-first search from a pseudo-peripheral
 *   vertex, each with its weighted rank quantile; the degree; the vertex weight; the target share;
 *   a constant.
 * - Vertex weights: the balance term counts weight (sum_i w_i Y_ik against frac0 W), so the network
 *   partitions coarsened graphs, whose vertices weigh what they contract.
 * - Multilevel inference (the default, `gap.multilevel=1`): every bisection coarsens its (sub)graph
 *   by heavy-edge matching to about 100 vertices (multilevel.ts), GAP bisects the coarsest graph
 *   and the bisection is projected back. The network and its features then see graphs of about a
 *   hundred weighted vertices, not tens of thousands (the paper's speed claim is about the
 *   network's forward pass; ours also pays for the features). `gap.multilevel=0` runs GAP on the
 *   whole (sub)graph at every split.
 * - `gap+fm`: `bisectionTries` (4) whole multilevel bisections per split, FM refining each within
 *   ub^(1/levels) at every level while projecting back, the lower cut kept; then k-way refinement
 *   (kway.ts) of the finished partition and `vcycles` (2) V-cycles of it (multilevel.ts kwayVcycle):
 *   exactly `multilevel --opt bisection_tries=4 --opt vcycles=2` with GAP's one bisection of the
 *   coarsest graph in place of its 8 grown-and-refined ones, so the two compare GAP against greedy
 *   graph growing. `gap` alone is the projected argmax (one try per split): no FM, no balancing.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CsrGraph } from '../../core/graph.js';
import { totalVertexWeight, weightedDegrees } from '../../core/graph.js';
import { Rng } from '../../core/rng.js';
import { SelfoptError } from '../../core/errors.js';
import { configOption, countFrom, NON_NEGATIVE, PROBABILITY, type FieldRule } from '../../core/options.js';
import { checkpointFor, stopRequested, trainStateFiles } from '../../core/train.js';
import type { CheckpointModel, LearnedSolver, SolveContext, TrainBudget, TrainContext } from '../../core/problem.js';
import {
  Adam, Csr, Linear, Module, SAGEConv, collect, div, gather, inference, loadCheckpoint, matmul, meanAdjacency, mul, checkpointHeaderOf, relu,
  saveCheckpoint, softmax, square, stepInput, sub, sum, tensor, tidy, add, Tensor, type AdamState,
} from '../../learn/index.js';
import type { PartitionInstance } from './instances.js';
import { GENERATED_MAX_N, generateGraph, type GeneratedSpec } from './instances.js';
import { balancedSplit } from './spectral.js';
import { DEFAULT_MULTILEVEL, coarsenHierarchy, inducedSubgraph, kwayVcycle, multilevelPartition } from './multilevel.js';
import { Fm } from './fm.js';
import { kwayRefine } from './kway.js';
import { imbalanceBound } from './heuristics.js';
import { NUM_FEATURES, SHARE, gapFeatures } from './gap-features.js';

// ---------------------------------------------------------------------------------------------
// Config: every hyperparameter, with its default

export interface GapConfig {
  /** Width of the GraphSAGE layers. */
  hidden: number;
  /** Number of GraphSAGE layers (ReLU after each). */
  layers: number;
  learningRate: number;
  /** Weight of the (normalized) balance term beside E[Ncut]. */
  balanceWeight: number;
  /** Training graphs generated per family (rgg, mesh, ba, sbm, compgraph) besides the given instances. */
  graphsPerFamily: number;
  /** Coarsened copies of each generated graph added to the family (as GAP sees them at inference). */
  coarsenedCopies: number;
  /** Vertex counts of generated training graphs, drawn uniformly in [min, max]. */
  minVertices: number;
  maxVertices: number;
  /** Probability that a training step asks for an uneven share (1/3, 2/5, 3/7) instead of 1/2. */
  unevenShareProb: number;
  /** Save resumable state this often. */
  saveEverySeconds: number;
  /** Inference: 1 = each bisection multilevel, GAP on its coarsest graph; 0 = GAP on the whole (sub)graph. */
  multilevel: number;
  /** gap+fm: V-cycles of k-way refinement after the k-way refinement of GAP's partition. */
  vcycles: number;
  /** gap+fm: whole multilevel bisections per split (each its own coarsening), the lower cut kept, as multilevel's bisection_tries. */
  bisectionTries: number;
  /** gap+fm: partitions sampled from Y per coarsest graph besides the argmax (and, when > 0, the split in Y's order); FM keeps the best. */
  samples: number;
}

export const GAP_DEFAULTS: GapConfig = {
  hidden: 32, layers: 2, learningRate: 3e-3, balanceWeight: 4, graphsPerFamily: 8, coarsenedCopies: 2, minVertices: 300, maxVertices: 3000,
  unevenShareProb: 0.25, saveEverySeconds: 60, multilevel: 1, vcycles: 2, samples: 0, bisectionTries: 4,
};

/** The settings GAP's inference reads (a bench's); the others shape the network or its training, which a checkpoint fixes. */
export const GAP_INFERENCE_FIELDS: readonly (keyof GapConfig)[] = ['multilevel', 'vcycles', 'samples', 'bisectionTries'];

const TRAINING_VERTICES: FieldRule = { int: true, min: 2, max: GENERATED_MAX_N, expected: `an integer in [2, ${GENERATED_MAX_N}] (a generated graph's vertex count)` };

/** What each field of GAP's settings takes (configOption). */
const GAP_RULES: Record<keyof GapConfig, FieldRule> = {
  hidden: countFrom(1), layers: countFrom(1), learningRate: NON_NEGATIVE, balanceWeight: NON_NEGATIVE, graphsPerFamily: countFrom(0),
  // Training graphs are generated as rgg_<n> and the others are: at most GENERATED_MAX_N vertices (a
  // larger n failed in the generator with a RangeError, or ran the machine out of memory).
  coarsenedCopies: countFrom(0), minVertices: TRAINING_VERTICES, maxVertices: TRAINING_VERTICES, unevenShareProb: PROBABILITY,
  saveEverySeconds: NON_NEGATIVE, multilevel: { oneOf: [0, 1], expected: '1 (each bisection multilevel) or 0 (GAP on the whole graph)' },
  vcycles: countFrom(0), samples: countFrom(0), bisectionTries: countFrom(1),
};

/** GAP's settings: each field of GAP_DEFAULTS overridden by `--opt gap.<field>=value` (GAP_RULES). */
export function gapConfig(options: Readonly<Record<string, string>>): GapConfig {
  const cfg = configOption(options, 'gap.', GAP_DEFAULTS, { rules: GAP_RULES });
  // The training graphs' sizes are drawn from [minVertices, maxVertices]: an empty range made
  // every graph minVertices, silently.
  if (cfg.minVertices > cfg.maxVertices) {
    throw new SelfoptError(`gap.minVertices ${cfg.minVertices} is above gap.maxVertices ${cfg.maxVertices}`, '--opt gap.minVertices, gap.maxVertices',
      `gap.minVertices <= gap.maxVertices (defaults ${GAP_DEFAULTS.minVertices} and ${GAP_DEFAULTS.maxVertices})`);
  }
  return cfg;
}

// ---------------------------------------------------------------------------------------------
// The per-graph data the loss needs (the node features are in gap-features.ts)

/** A graph prepared for the network: features, mean adjacency, edge list, degrees and vertex weights. */
export interface GapGraph {
  n: number;
  features: Float32Array; // [n, NUM_FEATURES], the share column rewritten per use
  /** The features as the network's input, on the same storage: setting the share copies nothing. */
  input: Tensor;
  mean: Csr;
  src: Int32Array;
  dst: Int32Array;
  weights: Tensor; // [2m, 1]
  degrees: Tensor; // [1, n]
  vweights: Tensor; // [1, n]
  totalWeight: number;
}

export function prepareGraph(g: CsrGraph, rng: Rng, frac0 = 0.5): GapGraph {
  const { n, xadj, adjncy, adjwgt } = g;
  const f = gapFeatures(g, rng, frac0);
  const deg = weightedDegrees(g);
  const m2 = xadj[n]!;
  const src = new Int32Array(m2), dst = new Int32Array(m2), w = new Float32Array(m2);
  for (let v = 0; v < n; v++) for (let e = xadj[v]!; e < xadj[v + 1]!; e++) { src[e] = v; dst[e] = adjncy[e]!; w[e] = adjwgt[e]!; }
  const vals = new Float32Array(m2).fill(1);
  const mean = meanAdjacency(new Csr(n, n, xadj, adjncy, vals));
  return {
    n, features: f, input: new Tensor(f, [n, NUM_FEATURES]), mean, src, dst, weights: tensor(w, [m2, 1]), degrees: tensor(Float32Array.from(deg), [1, n]),
    vweights: tensor(Float32Array.from(g.vwgt), [1, n]), totalWeight: totalVertexWeight(g),
  };
}

/** The input at share frac0: valid until the next setShare on this graph (one step uses it). */
function setShare(gg: GapGraph, frac0: number): Tensor {
  for (let v = 0; v < gg.n; v++) gg.features[v * NUM_FEATURES + SHARE] = frac0;
  return gg.input;
}

// ---------------------------------------------------------------------------------------------
// Network: GraphSAGE layers, then a linear softmax head over g = 2 parts

export class GapNet extends Module {
  readonly convs: SAGEConv[];
  readonly head: Linear;

  constructor(readonly hidden: number, readonly layers: number, rng: Rng) {
    super();
    this.convs = [];
    for (let l = 0; l < layers; l++) this.convs.push(new SAGEConv(l === 0 ? NUM_FEATURES : hidden, hidden, { rng }));
    this.head = new Linear(hidden, 2, { rng });
  }

  /** Partition probabilities Y [n, 2]. */
  forward(gg: GapGraph, x: Tensor): Tensor {
    let h = x;
    for (const c of this.convs) h = relu(c.forward(gg.mean, h));
    return softmax(this.head.forward(h));
  }

  namedParameters(): [string, Tensor][] {
    return collect([...this.convs.map((c, i) => [`convs.${i}`, c] as const), ['head', this.head]]);
  }

  architecture(): Record<string, unknown> {
    return { type: 'GapNet', hidden: this.hidden, layers: this.layers, features: NUM_FEATURES, parts: 2 };
  }
}

// ---------------------------------------------------------------------------------------------
// Loss: GAP's expected normalized cut plus the balance term

/** E[Ncut] (paper eq. 2) and the normalized balance term for probabilities Y [n, 2]. */
export function gapLoss(gg: GapGraph, Y: Tensor, frac0: number, balanceWeight: number): { loss: Tensor; ncut: Tensor; balance: Tensor } {
  const gamma = matmul(gg.degrees, Y); // [1, 2]: expected volume of each part
  const yi = gather(Y, gg.src), yj = gather(Y, gg.dst); // [2m, 2]
  const ncut = sum(div(mul(mul(yi, sub(1, yj)), gg.weights), add(gamma, 1e-6)));
  const sizes = matmul(gg.vweights, Y); // [1, 2]: expected weight of each part
  const targets = stepInput([1, 2], [frac0 * gg.totalWeight, (1 - frac0) * gg.totalWeight]);
  const balance = sum(square(div(sub(sizes, targets), targets)));
  return { loss: add(ncut, mul(balance, balanceWeight)), ncut, balance };
}

// ---------------------------------------------------------------------------------------------
// Training

const FAMILIES: GeneratedSpec['kind'][] = ['rgg', 'mesh', 'ba', 'sbm', 'compgraph'];
const UNEVEN_SHARES = [1 / 3, 2 / 5, 3 / 7];

interface SavedState { step: number; elapsedS: number; rng: ReturnType<Rng['state']>; adam: AdamState; config: GapConfig }

/** Trains GapNet on the given graphs plus a generated family; resumes from ctx.stateDir. */
export async function trainGap(graphs: CsrGraph[], budget: TrainBudget, ctx: TrainContext, cfg: GapConfig = gapConfig(ctx.options)): Promise<GapNet> {
  const net = new GapNet(cfg.hidden, cfg.layers, ctx.rng.split('init'));
  const opt = new Adam(net.parameters(), { lr: cfg.learningRate });
  let rng = ctx.rng.split('train');
  let step = 0, elapsedBefore = 0;
  // The state (step, Adam's moments, Rng) and the weights it goes with, saved as one unit.
  const saved = trainStateFiles<SavedState>(ctx.stateDir, 'gap-state', { weights: 'gap-state.ckpt' });
  const resumed = saved.load();
  if (resumed?.weights['weights']) {
    const s = resumed.state;
    loadCheckpoint(resumed.weights['weights'], net);
    opt.setState(s.adam, `${join(ctx.stateDir, 'gap-state.json')}, field adam`);
    step = s.step; elapsedBefore = s.elapsedS; rng = Rng.fromState(s.rng);
  }

  // The training family: the given graphs and fresh generated ones (seeds from the training Rng,
  // never the test instances' seed 42), each prepared once. Made anew by every run (nothing of it
  // is saved), so a stop while making it returns between its parts (a graph made, its features,
  // each coarsened copy): with large gap.maxVertices (millions of vertices a graph) it takes
  // minutes, and a stop was heard only at the first training step.
  const famRng = ctx.rng.split('family');
  const pool: GapGraph[] = graphs.map((g, i) => prepareGraph(g, famRng.split(`given${i}`)));
  for (const kind of FAMILIES) {
    for (let i = 0; i < cfg.graphsPerFamily; i++) {
      if (await stopRequested(ctx)) return net;
      const n = cfg.minVertices + famRng.int(Math.max(1, cfg.maxVertices - cfg.minVertices + 1));
      const { graph } = generateGraph({ kind, n, seed: 1000 + famRng.int(1 << 30) });
      if (await stopRequested(ctx)) return net;
      pool.push(prepareGraph(graph, famRng.split(`${kind}${i}`)));
      // Coarsened as inference coarsens (multilevel bisection stops near 100 vertices): to 40-400.
      for (let c = 0; c < cfg.coarsenedCopies; c++) {
        if (await stopRequested(ctx)) return net;
        const lo = 40, hi = 400;
        const h = coarsenHierarchy(graph, lo + famRng.int(hi - lo + 1), famRng.split(`${kind}${i}c${c}`));
        pool.push(prepareGraph(h.graphs[h.graphs.length - 1]!, famRng.split(`${kind}${i}c${c}f`)));
      }
    }
  }
  if (pool.length === 0) throw new SelfoptError('no training graphs', 'GAP training', 'instances or gap.graphsPerFamily > 0');

  const hyper = { ...cfg, poolSize: pool.length } as unknown as Record<string, unknown>;
  const t0 = performance.now();
  const elapsed = () => elapsedBefore + (performance.now() - t0) / 1000;
  const save = () => {
    const s: SavedState = { step, elapsedS: elapsed(), rng: rng.state(), adam: opt.getState(), config: cfg };
    saved.save(s, { weights: (path) => saveCheckpoint(path, net, { hyperparameters: hyper, command: ctx.command, seed: ctx.seed }) });
  };
  let lastSave = performance.now(), lastYield = -Infinity; // the first step looks for a stop too
  const maxSteps = budget.steps ?? Infinity;
  while (step < maxSteps && !(budget.seconds !== undefined && elapsed() >= budget.seconds)) {
    // The steps are synchronous: every 100 ms a turn of the event loop lets a stop (Ctrl-C) in.
    if (performance.now() - lastYield >= 100) {
      if (await stopRequested(ctx)) { save(); return net; }
      lastYield = performance.now();
    }
    const gg = pool[rng.int(pool.length)]!;
    const frac0 = rng.next() < cfg.unevenShareProb ? UNEVEN_SHARES[rng.int(UNEVEN_SHARES.length)]! : 0.5;
    const x = setShare(gg, frac0);
    opt.zeroGrad();
    const r = tidy(() => {
      const { loss, ncut, balance } = gapLoss(gg, net.forward(gg, x), frac0, cfg.balanceWeight);
      loss.backward();
      return { loss: loss.data[0]!, ncut: ncut.data[0]!, balance: balance.data[0]! };
    });
    opt.step();
    step++;
    ctx.log({ step, loss: r.loss, expectedNcut: r.ncut, balanceTerm: r.balance, n: gg.n, frac0, elapsedS: elapsed() });
    if (budget.seconds !== undefined) ctx.progress(Math.min(budget.seconds, elapsed()), budget.seconds);
    else ctx.progress(step, maxSteps);
    if (performance.now() - lastSave >= cfg.saveEverySeconds * 1000) { save(); lastSave = performance.now(); }
  }
  save();
  saveCheckpoint(ctx.out, net, { hyperparameters: { ...hyper, steps: step }, command: ctx.command, seed: ctx.seed });
  return net;
}

/** Mean loss terms of `net` over graphs at share 1/2 (for tests and reports). */
export function evaluateGapLoss(net: GapNet, graphs: GapGraph[], balanceWeight = GAP_DEFAULTS.balanceWeight): { loss: number; ncut: number; balance: number } {
  let loss = 0, ncut = 0, balance = 0;
  for (const gg of graphs) {
    inference(() => {
      const r = gapLoss(gg, net.forward(gg, setShare(gg, 0.5)), 0.5, balanceWeight);
      loss += r.loss.data[0]!; ncut += r.ncut.data[0]!; balance += r.balance.data[0]!;
    });
  }
  return { loss: loss / graphs.length, ncut: ncut / graphs.length, balance: balance / graphs.length };
}

// ---------------------------------------------------------------------------------------------
// Inference: recursive bisection with the trained network

/**
 * GAP's bisection: argmax of Y for share frac0 (0 = part 0). When the argmax leaves a side empty
 * (the network sends every vertex of a small graph one way), the vertices are split instead at
 * the target share in the order of their probability of part 0 (spectral.ts balancedSplit), so
 * recursive bisection never asks for parts of an empty graph.
 */
export function gapBisection(net: GapNet, g: CsrGraph, frac0: number, rng: Rng): Int32Array {
  return gapCandidates(net, g, frac0, rng, 0)[0]!;
}

/**
 * Bisections drawn from GAP's output Y for refinement to choose from: the argmax (as
 * gapBisection), the split at the target share in the order of Y, and `samples` partitions with
 * each vertex's side drawn from its row of Y (GAP's output read as the distribution it is).
 */
export function gapCandidates(net: GapNet, g: CsrGraph, frac0: number, rng: Rng, samples: number): Int32Array[] {
  const gg = prepareGraph(g, rng, frac0);
  const out: Int32Array[] = [];
  // One step acting (learn README, inference): Y is a view of the scratch the next bisection reuses, so everything is read off it here.
  inference(() => {
    const Y = net.forward(gg, setShare(gg, frac0)).data;
    const score = new Float64Array(g.n);
    for (let v = 0; v < g.n; v++) score[v] = Y[2 * v + 1]!;
    const split = balancedSplit(g, score, frac0);
    let where: Int32Array = new Int32Array(g.n);
    let ones = 0;
    for (let v = 0; v < g.n; v++) { where[v] = Y[2 * v]! >= Y[2 * v + 1]! ? 0 : 1; ones += where[v]!; }
    if (g.n >= 2 && (ones === 0 || ones === g.n)) where = split;
    out.push(where);
    if (samples > 0) out.push(split);
    for (let s = 0; s < samples; s++) {
      const w = new Int32Array(g.n);
      for (let v = 0; v < g.n; v++) w[v] = rng.next() < Y[2 * v]! ? 0 : 1;
      out.push(w);
    }
  });
  return out;
}

/**
 * k parts by GAP. With `multilevel`, each bisection of the recursive bisection is multilevel
 * (multilevel.ts): the (sub)graph is coarsened by heavy-edge matching to about 100 vertices, GAP
 * bisects the coarsest graph and the bisection is projected back, FM-refined at every level with
 * `refine`; then, with `refine`, k-way refinement of the finished partition. That is `multilevel`
 * with GAP's one bisection in place of its 8 grown-and-refined initial bisections. Without
 * `multilevel`, GAP bisects the whole (sub)graph at every split (FM on it with `refine`).
 */
export function gapPartition(net: GapNet, g: CsrGraph, k: number, rng: Rng, refine: boolean, ub = 1.03, multilevel = true, vcycles = 0, samples = 0, bisectionTries = DEFAULT_MULTILEVEL.bisectionTries): Int32Array {
  if (k <= 1 || g.n === 0) return new Int32Array(g.n);
  let part: Int32Array;
  if (multilevel) {
    // Without refinement one try per split: choosing the lower cut of two would be a refinement.
    const cfg = { ...DEFAULT_MULTILEVEL, ub, kwayPasses: 0, vcycles: 0, bisectionTries: refine ? Math.max(1, bisectionTries) : 1 };
    part = multilevelPartition(g, k, rng, cfg, { initial: (c, frac0, r) => gapCandidates(net, c, frac0, r, refine ? samples : 0), refine });
  } else {
    part = gapRecursiveBisection(net, g, k, rng, refine, ub);
  }
  if (!refine) return part;
  kwayRefine(g, part, k, ub, DEFAULT_MULTILEVEL.kwayPasses, rng);
  for (let c = 0; c < vcycles; c++) part = kwayVcycle(g, part, k, ub, DEFAULT_MULTILEVEL.kwayPasses, rng);
  return part;
}

/** k parts: GAP bisections of the whole (sub)graph, recursively (k0 = floor(k/2) parts on side 0), each refined by FM with `refine`. */
export function gapRecursiveBisection(net: GapNet, g: CsrGraph, k: number, rng: Rng, refine: boolean, ub: number): Int32Array {
  const part = new Int32Array(g.n);
  if (k <= 1 || g.n === 0) return part;
  const ubLevel = Math.pow(ub, 1 / Math.ceil(Math.log2(k)));
  const fm = new Fm(g.n);
  const recurse = (sub: CsrGraph, vmap: Int32Array, kk: number, offset: number) => {
    if (kk === 1 || sub.n === 0) { for (let v = 0; v < sub.n; v++) part[vmap[v]!] = offset; return; }
    const k0 = Math.floor(kk / 2);
    const frac0 = k0 / kk;
    const where = sub.n >= 2 ? gapBisection(net, sub, frac0, rng) : new Int32Array(sub.n);
    if (refine && sub.n > 1) {
      const tw = totalVertexWeight(sub);
      const targets = [frac0 * tw, (1 - frac0) * tw] as const;
      fm.refine(sub, where, targets, [ubLevel * targets[0], ubLevel * targets[1]], 10, rng);
    }
    for (const side of [0, 1]) {
      const { sub: s, subMap } = inducedSubgraph(sub, where, side, vmap);
      recurse(s, subMap, side === 0 ? k0 : kk - k0, offset + (side === 0 ? 0 : k0));
    }
  };
  recurse(g, Int32Array.from({ length: g.n }, (_, i) => i), k, 0);
  return part;
}

// ---------------------------------------------------------------------------------------------
// Solvers

/** What gap and gap+fm load. */
const GAP_CHECKPOINT: CheckpointModel = { type: 'GapNet', expected: 'a GapNet checkpoint (selfopt train partition gap)' };

export function loadGap(path: string): GapNet {
  const a = checkpointHeaderOf(path, GAP_CHECKPOINT.type, GAP_CHECKPOINT.expected).architecture;
  const net = new GapNet(Number(a.hidden), Number(a.layers), new Rng(0));
  loadCheckpoint(path, net);
  return net;
}

const nets = new Map<string, GapNet>();
function netFor(options: Record<string, string>): GapNet {
  const path = checkpointFor('partition', 'gap', options);
  let net = nets.get(path);
  if (!net) nets.set(path, (net = loadGap(path)));
  return net;
}

async function trainFromInstances(instances: PartitionInstance[], budget: TrainBudget, ctx: TrainContext): Promise<void> {
  await trainGap(instances.map((i) => i.graph), budget, ctx);
}

export const gapSolver: LearnedSolver<PartitionInstance, Int32Array> = {
  info: {
    name: 'gap', kind: 'learned',
    description: 'GAP: GraphSAGE over spectral, BFS-level and degree features, softmax head, trained on expected normalized cut + balance; recursive bisection by argmax on the coarsened graph, projected back',
    reference: 'Nazi, Hang, Goldie, Ravi & Mirhoseini, GAP: Generalizable Approximate Graph Partitioning Framework (2019)',
    checkpoint: GAP_CHECKPOINT,
  },
  solve: (inst: PartitionInstance, ctx: SolveContext) =>
    gapPartition(netFor(ctx.options), inst.graph, inst.k, ctx.rng, false, imbalanceBound(ctx.options), gapConfig(ctx.options).multilevel !== 0),
  train: trainFromInstances,
};

/** GAP then FM: uses the `gap` checkpoint (trained once, by `selfopt train partition gap`). */
export const gapFmSolver: LearnedSolver<PartitionInstance, Int32Array> = {
  info: {
    name: 'gap+fm', kind: 'learned',
    description: 'GAP bisections of the coarsened graph each refined by FM, then k-way refinement at every level while projecting back (ub 1.03, or --opt ub); the gap checkpoint',
    reference: 'Nazi et al. 2019 (GAP); Fiduccia & Mattheyses 1982',
    checkpoint: GAP_CHECKPOINT,
  },
  solve: (inst: PartitionInstance, ctx: SolveContext) => {
    const cfg = gapConfig(ctx.options);
    return gapPartition(netFor(ctx.options), inst.graph, inst.k, ctx.rng, true, imbalanceBound(ctx.options), cfg.multilevel !== 0, cfg.vcycles, cfg.samples, cfg.bisectionTries);
  },
  train: trainFromInstances,
};
