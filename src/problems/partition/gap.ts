/**
 * GAP, the learned partitioner of Nazi et al. ("GAP: Generalizable Approximate Graph Partitioning
 * Framework", 2019), read top to bottom: config, node features, network, loss, training, solvers.
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
 * - Features per vertex (all invariant to relabeling, computed per (sub)graph): the Fiedler vector
 *   of the normalized Laplacian (spectral.ts, multilevel Lanczos) scaled to unit max, its rank
 *   quantile in [0, 1], log(1 + degree) / log(1 + max degree), the target share, and a constant.
 *   The Fiedler vector is the paper's PCA-of-adjacency idea in its cheapest form; its sign is
 *   arbitrary, which the loss does not care about (swapping parts leaves both terms unchanged
 *   for frac0 = 1/2; for other shares the network learns which end is smaller from the quantile).
 * - `gap+fm`: each bisection refined by FM within ub^(1/levels), then k-way refinement (balancing
 *   and greedy passes), as `spectral+fm`; `gap` alone is the argmax, no balancing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CsrGraph } from '../../core/graph.js';
import { totalVertexWeight, weightedDegrees } from '../../core/graph.js';
import { Rng } from '../../core/rng.js';
import { SelfoptError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/files.js';
import { checkpointFor } from '../../core/train.js';
import type { LearnedSolver, SolveContext, TrainBudget, TrainContext } from '../../core/problem.js';
import {
  Adam, Csr, Linear, Module, SAGEConv, collect, div, gather, loadCheckpoint, matmul, meanAdjacency, mul, noGrad, readCheckpoint, relu,
  saveCheckpoint, softmax, square, sub, sum, tensor, tidy, add, type AdamState, type Tensor,
} from '../../learn/index.js';
import type { PartitionInstance } from './instances.js';
import { generateGraph, type GeneratedSpec } from './instances.js';
import { DEFAULT_SPECTRAL, fiedlerVector } from './spectral.js';
import { Fm, inducedSubgraph } from './multilevel.js';
import { kwayRefine } from './kway.js';

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
  /** Training graphs generated per family (rgg, mesh, ba, sbm) besides the given instances. */
  graphsPerFamily: number;
  /** Vertex counts of generated training graphs, drawn uniformly in [min, max]. */
  minVertices: number;
  maxVertices: number;
  /** Probability that a training step asks for an uneven share (1/3, 2/5, 3/7) instead of 1/2. */
  unevenShareProb: number;
  /** Save resumable state this often. */
  saveEverySeconds: number;
}

export const GAP_DEFAULTS: GapConfig = {
  hidden: 32, layers: 2, learningRate: 3e-3, balanceWeight: 4, graphsPerFamily: 8, minVertices: 300, maxVertices: 2000,
  unevenShareProb: 0.25, saveEverySeconds: 60,
};

export function gapConfig(options: Record<string, string>): GapConfig {
  const cfg = { ...GAP_DEFAULTS };
  for (const key of Object.keys(GAP_DEFAULTS) as (keyof GapConfig)[]) {
    const v = options[`gap.${key}`];
    if (v === undefined) continue;
    const x = Number(v);
    if (!Number.isFinite(x) || x < 0) throw new SelfoptError(`--opt gap.${key}=${v}`, 'GAP options', 'a non-negative number');
    cfg[key] = x;
  }
  return cfg;
}

// ---------------------------------------------------------------------------------------------
// Node features and the per-graph data the loss needs

export const NUM_FEATURES = 5;

/** A graph prepared for the network: features, mean adjacency, edge list and degrees. */
export interface GapGraph {
  n: number;
  features: Float32Array; // [n, NUM_FEATURES], the share column (index 3) rewritten per use
  mean: Csr;
  src: Int32Array;
  dst: Int32Array;
  weights: Tensor; // [2m, 1]
  degrees: Tensor; // [1, n]
}

export function prepareGraph(g: CsrGraph, rng: Rng, frac0 = 0.5): GapGraph {
  const { n, xadj, adjncy, adjwgt } = g;
  const x = fiedlerVector(g, DEFAULT_SPECTRAL, rng);
  let maxAbs = 0;
  for (let v = 0; v < n; v++) maxAbs = Math.max(maxAbs, Math.abs(x[v]!));
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a]! - x[b]! || a - b);
  const deg = weightedDegrees(g);
  let maxDeg = 0;
  for (let v = 0; v < n; v++) maxDeg = Math.max(maxDeg, deg[v]!);
  const f = new Float32Array(n * NUM_FEATURES);
  for (let i = 0; i < n; i++) {
    const v = order[i]!;
    f[v * NUM_FEATURES + 1] = n > 1 ? i / (n - 1) : 0.5;
  }
  for (let v = 0; v < n; v++) {
    f[v * NUM_FEATURES] = maxAbs > 0 ? x[v]! / maxAbs : 0;
    f[v * NUM_FEATURES + 2] = maxDeg > 0 ? Math.log1p(deg[v]!) / Math.log1p(maxDeg) : 0;
    f[v * NUM_FEATURES + 3] = frac0;
    f[v * NUM_FEATURES + 4] = 1;
  }
  const m2 = xadj[n]!;
  const src = new Int32Array(m2), dst = new Int32Array(m2), w = new Float32Array(m2);
  for (let v = 0; v < n; v++) for (let e = xadj[v]!; e < xadj[v + 1]!; e++) { src[e] = v; dst[e] = adjncy[e]!; w[e] = adjwgt[e]!; }
  const vals = new Float32Array(m2).fill(1);
  const mean = meanAdjacency(new Csr(n, n, xadj, adjncy, vals));
  return { n, features: f, mean, src, dst, weights: tensor(w, [m2, 1]), degrees: tensor(Float32Array.from(deg), [1, n]) };
}

function setShare(gg: GapGraph, frac0: number): Tensor {
  for (let v = 0; v < gg.n; v++) gg.features[v * NUM_FEATURES + 3] = frac0;
  return tensor(gg.features, [gg.n, NUM_FEATURES]);
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
  const sizes = sum(Y, 0, { keepDims: true }); // [1, 2]
  const targets = tensor([frac0 * gg.n, (1 - frac0) * gg.n], [1, 2]);
  const balance = sum(square(div(sub(sizes, targets), targets)));
  return { loss: add(ncut, mul(balance, balanceWeight)), ncut, balance };
}

// ---------------------------------------------------------------------------------------------
// Training

const FAMILIES: GeneratedSpec['kind'][] = ['rgg', 'mesh', 'ba', 'sbm'];
const UNEVEN_SHARES = [1 / 3, 2 / 5, 3 / 7];

interface SavedState { step: number; elapsedS: number; rng: ReturnType<Rng['state']>; adam: AdamState; config: GapConfig }

/** Trains GapNet on the given graphs plus a generated family; resumes from ctx.stateDir. */
export function trainGap(graphs: CsrGraph[], budget: TrainBudget, ctx: TrainContext, cfg: GapConfig = gapConfig(ctx.options)): GapNet {
  const net = new GapNet(cfg.hidden, cfg.layers, ctx.rng.split('init'));
  const opt = new Adam(net.parameters(), { lr: cfg.learningRate });
  let rng = ctx.rng.split('train');
  let step = 0, elapsedBefore = 0;
  const weightsPath = join(ctx.stateDir, 'gap-state.ckpt'), statePath = join(ctx.stateDir, 'gap-state.json');
  if (existsSync(weightsPath) && existsSync(statePath)) {
    const s = JSON.parse(readFileSync(statePath, 'utf8')) as SavedState;
    loadCheckpoint(weightsPath, net);
    opt.setState(s.adam);
    step = s.step; elapsedBefore = s.elapsedS; rng = Rng.fromState(s.rng);
  }

  // The training family: the given graphs and fresh generated ones (seeds from the training Rng,
  // never the test instances' seed 42), each prepared once.
  const famRng = ctx.rng.split('family');
  const pool: GapGraph[] = graphs.map((g, i) => prepareGraph(g, famRng.split(`given${i}`)));
  for (const kind of FAMILIES) {
    for (let i = 0; i < cfg.graphsPerFamily; i++) {
      const n = cfg.minVertices + famRng.int(Math.max(1, cfg.maxVertices - cfg.minVertices + 1));
      const { graph } = generateGraph({ kind, n, seed: 1000 + famRng.int(1 << 30) });
      pool.push(prepareGraph(graph, famRng.split(`${kind}${i}`)));
    }
  }
  if (pool.length === 0) throw new SelfoptError('no training graphs', 'GAP training', 'instances or gap.graphsPerFamily > 0');

  const hyper = { ...cfg, poolSize: pool.length } as unknown as Record<string, unknown>;
  const t0 = performance.now();
  const elapsed = () => elapsedBefore + (performance.now() - t0) / 1000;
  const save = () => {
    saveCheckpoint(weightsPath, net, { hyperparameters: hyper, command: ctx.command, seed: ctx.seed });
    const s: SavedState = { step, elapsedS: elapsed(), rng: rng.state(), adam: opt.getState(), config: cfg };
    writeFileAtomic(statePath, JSON.stringify(s));
  };
  let lastSave = performance.now();
  const maxSteps = budget.steps ?? Infinity;
  while (step < maxSteps && !(budget.seconds !== undefined && elapsed() >= budget.seconds)) {
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
    noGrad(() => tidy(() => {
      const r = gapLoss(gg, net.forward(gg, setShare(gg, 0.5)), 0.5, balanceWeight);
      loss += r.loss.data[0]!; ncut += r.ncut.data[0]!; balance += r.balance.data[0]!;
      return null;
    }));
  }
  return { loss: loss / graphs.length, ncut: ncut / graphs.length, balance: balance / graphs.length };
}

// ---------------------------------------------------------------------------------------------
// Inference: recursive bisection with the trained network

/** GAP's bisection: argmax of Y for share frac0 (0 = part 0). */
export function gapBisection(net: GapNet, g: CsrGraph, frac0: number, rng: Rng): Int32Array {
  const gg = prepareGraph(g, rng, frac0);
  const where = new Int32Array(g.n);
  noGrad(() => tidy(() => {
    const Y = net.forward(gg, setShare(gg, frac0)).data;
    for (let v = 0; v < g.n; v++) where[v] = Y[2 * v]! >= Y[2 * v + 1]! ? 0 : 1;
    return null;
  }));
  return where;
}

/** k parts: GAP bisections, recursively; with `refine`, FM per bisection and k-way refinement at the end. */
export function gapPartition(net: GapNet, g: CsrGraph, k: number, rng: Rng, refine: boolean, ub = 1.03): Int32Array {
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
  if (refine) kwayRefine(g, part, k, ub, 10, rng);
  return part;
}

// ---------------------------------------------------------------------------------------------
// Solvers

export function loadGap(path: string): GapNet {
  const { header } = readCheckpoint(path);
  const a = header.architecture as Record<string, unknown>;
  if (a.type !== 'GapNet') throw new SelfoptError(`checkpoint holds a ${String(a.type)}`, path, 'a GapNet checkpoint (selfopt train partition gap)');
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

function trainFromInstances(instances: PartitionInstance[], budget: TrainBudget, ctx: TrainContext): void {
  trainGap(instances.map((i) => i.graph), budget, ctx);
}

export const gapSolver: LearnedSolver<PartitionInstance, Int32Array> = {
  info: {
    name: 'gap', kind: 'learned',
    description: 'GAP: GraphSAGE over spectral and degree features, softmax head, trained on expected normalized cut + balance; recursive bisection by argmax',
    reference: 'Nazi, Hang, Goldie, Ravi & Mirhoseini, GAP: Generalizable Approximate Graph Partitioning Framework (2019)',
  },
  solve: (inst: PartitionInstance, ctx: SolveContext) => gapPartition(netFor(ctx.options), inst.graph, inst.k, ctx.rng, false),
  train: trainFromInstances,
};

/** GAP then FM: uses the `gap` checkpoint (trained once, by `selfopt train partition gap`). */
export const gapFmSolver: LearnedSolver<PartitionInstance, Int32Array> = {
  info: {
    name: 'gap+fm', kind: 'learned',
    description: 'GAP bisections each refined by FM, then k-way refinement (ub 1.03); the gap checkpoint',
    reference: 'Nazi et al. 2019 (GAP); Fiduccia & Mattheyses 1982',
  },
  solve: (inst: PartitionInstance, ctx: SolveContext) => gapPartition(netFor(ctx.options), inst.graph, inst.k, ctx.rng, true),
  train: trainFromInstances,
};
