/**
 * Graph neural network layers. Each takes the graph as a Csr prepared once per graph (the
 * normalized adjacency, the neighbour mean, the DAG schedule) and reused for every step, so a
 * training loop never renormalizes or re-sorts a graph.
 *
 * - GCNConv: Kipf & Welling (ICLR 2017), H' = D^-1/2 (A+I) D^-1/2 H W (+ b).
 * - SAGEConv: Hamilton, Ying & Leskovec (NeurIPS 2017), mean aggregator,
 *   h'_v = [h_v, mean_{u in N(v)} h_u] W (+ b).
 * - DagMessagePassing: Decima's graph embedding (Mao et al., SIGCOMM 2019, Sec. 5.1),
 *   e_v = g(sum_{w in children(v)} f(e_w)) + x_v, computed from the leaves up.
 * Activations between layers are the caller's (as in PyG), except inside Decima's f, g and h.
 */
import type { Rng } from '../core/rng.js';
import { Tensor, zeros, isGradEnabled, fromOp, matrixShape, commonDtype, type DType } from './tensor.js';
import { outBuffer, stepBuffer } from './scratch.js';
import { Csr, spmm, spmmAcc, gather, scatterAdd } from './ops/sparse.js';
import { matmul, linear } from './ops/matmul.js';
import { add, type Activation } from './ops/elementwise.js';
import { concat } from './ops/shape.js';
import { Module, MLP, collect, initWeight, type Init } from './layers.js';
import { opError, shapeStr } from './check.js';

// ---------------------------------------------------------------------------------------------
// Graph preparation (once per graph)
// ---------------------------------------------------------------------------------------------

function requireSquare(op: string, a: Csr): void {
  if (a.rows !== a.cols) throw opError(op, `adjacency is ${a.rows}x${a.cols}`, 'a square adjacency matrix (one row and one column per node)');
}

/**
 * Kipf & Welling's propagation matrix D^-1/2 (A+I) D^-1/2 with D the row sums of A+I. A's values
 * are edge weights (1 when absent); an existing self loop gets +1, as A+I says. For an undirected
 * graph pass A with both directions of each edge; the result is then symmetric.
 */
export function gcnAdjacency(adj: Csr): Csr {
  requireSquare('gcnAdjacency', adj);
  const n = adj.rows, { rowPtr, colIdx, values } = adj;
  const hasDiag = new Uint8Array(n);
  for (let r = 0; r < n; r++) for (let p = rowPtr[r]!; p < rowPtr[r + 1]!; p++) if (colIdx[p] === r) hasDiag[r] = 1;
  const ptr = new Int32Array(n + 1);
  for (let r = 0; r < n; r++) ptr[r + 1] = ptr[r]! + (rowPtr[r + 1]! - rowPtr[r]!) + (hasDiag[r] ? 0 : 1);
  const idx = new Int32Array(ptr[n]!);
  const val = new Float32Array(ptr[n]!);
  const deg = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let q = ptr[r]!;
    let diagDone = false;
    for (let p = rowPtr[r]!; p < rowPtr[r + 1]!; p++) {
      const c = colIdx[p]!;
      // Keep column order: the self loop goes in before the first larger column.
      if (!hasDiag[r] && !diagDone && c > r) {
        idx[q] = r;
        val[q++] = 1;
        diagDone = true;
      }
      idx[q] = c;
      val[q++] = (values ? values[p]! : 1) + (c === r && !diagDone ? 1 : 0);
      if (c === r) diagDone = true;
    }
    if (!diagDone) {
      idx[q] = r;
      val[q++] = 1;
    }
    for (let p = ptr[r]!; p < ptr[r + 1]!; p++) deg[r] += val[p]!;
    if (!(deg[r]! > 0)) throw opError('gcnAdjacency', `node ${r} has degree ${deg[r]} in A+I`, 'non-negative edge weights (every degree of A+I positive)');
  }
  for (let r = 0; r < n; r++) {
    const dr = 1 / Math.sqrt(deg[r]!);
    for (let p = ptr[r]!; p < ptr[r + 1]!; p++) val[p] = val[p]! * dr / Math.sqrt(deg[idx[p]!]!);
  }
  return new Csr(n, n, ptr, idx, val);
}

/** Row-normalized adjacency D^-1 A: row v averages v's neighbours. A node without neighbours averages to 0. */
export function meanAdjacency(adj: Csr): Csr {
  requireSquare('meanAdjacency', adj);
  const { rows, rowPtr, colIdx, values } = adj;
  const val = new Float32Array(colIdx.length);
  for (let r = 0; r < rows; r++) {
    const len = rowPtr[r + 1]! - rowPtr[r]!;
    for (let p = rowPtr[r]!; p < rowPtr[r + 1]!; p++) val[p] = (values ? values[p]! : 1) / len;
  }
  return new Csr(rows, rows, rowPtr, colIdx, val);
}

// ---------------------------------------------------------------------------------------------
// GCN and GraphSAGE
// ---------------------------------------------------------------------------------------------

export interface ConvOptions {
  rng: Rng;
  bias?: boolean;
  init?: Init;
  dtype?: DType;
}

/** One GCN layer: Â H W + b with Â from gcnAdjacency(). */
export class GCNConv extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: ConvOptions) {
    super();
    const dtype = opts.dtype ?? 'float32';
    this.weight = initWeight([inFeatures, outFeatures], opts.rng, opts.init ?? 'glorot', dtype);
    this.bias = opts.bias === false ? null : zeros([outFeatures], { dtype, requiresGrad: true });
  }

  /**
   * Â (H W) and (Â H) W are equal; the cheaper order multiplies the sparse matrix into the
   * narrower side (DGL's rule). At equal widths aggregating first wins when H needs no gradient,
   * because the backward pass then skips the sparse product altogether.
   */
  forward(ahat: Csr, h: Tensor): Tensor {
    checkGraphInput(`GCNConv(${this.inFeatures}->${this.outFeatures})`, ahat, h, this.inFeatures);
    if (this.inFeatures <= this.outFeatures) return linear(spmm(ahat, h), this.weight, this.bias);
    const y = spmm(ahat, matmul(h, this.weight));
    return this.bias ? add(y, this.bias) : y;
  }

  namedParameters(): [string, Tensor][] {
    return collect([['weight', this.weight], ['bias', this.bias]]);
  }

  architecture(): Record<string, unknown> {
    return { type: 'GCNConv', inFeatures: this.inFeatures, outFeatures: this.outFeatures, bias: this.bias !== null };
  }
}

/** One GraphSAGE layer with the mean aggregator: [h_v, mean of neighbours] W + b, W [2 in, out]. */
export class SAGEConv extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: ConvOptions) {
    super();
    const dtype = opts.dtype ?? 'float32';
    this.weight = initWeight([2 * inFeatures, outFeatures], opts.rng, opts.init ?? 'glorot', dtype);
    this.bias = opts.bias === false ? null : zeros([outFeatures], { dtype, requiresGrad: true });
  }

  /** `mean` from meanAdjacency(). */
  forward(mean: Csr, h: Tensor): Tensor {
    checkGraphInput(`SAGEConv(${this.inFeatures}->${this.outFeatures})`, mean, h, this.inFeatures);
    return linear(concat([h, spmm(mean, h)], 1), this.weight, this.bias);
  }

  namedParameters(): [string, Tensor][] {
    return collect([['weight', this.weight], ['bias', this.bias]]);
  }

  architecture(): Record<string, unknown> {
    return { type: 'SAGEConv', aggregator: 'mean', inFeatures: this.inFeatures, outFeatures: this.outFeatures, bias: this.bias !== null };
  }
}

function checkGraphInput(op: string, a: Csr, h: Tensor, inFeatures: number): void {
  if (h.rank !== 2 || h.shape[0] !== a.cols || h.shape[1] !== inFeatures) {
    throw opError(op, `node features ${shapeStr(h.shape)} for a graph of ${a.cols} nodes`, `features of shape [${a.cols},${inFeatures}]`);
  }
}

// ---------------------------------------------------------------------------------------------
// Decima's DAG message passing
// ---------------------------------------------------------------------------------------------

/** One round of messages: every parent at this height reads its children. */
export interface DagStep {
  /** The nodes updated in this round (all at the same height), ascending. */
  parents: Int32Array;
  /** Their children, each once, ascending: the rows f is applied to. */
  children: Int32Array;
  /** |parents| x |children|, 1 where the child belongs to the parent: the sum over children. */
  msg: Csr;
}

/**
 * The order in which DagMessagePassing visits a DAG (or a batch of DAGs as one disjoint graph):
 * a node's height is 0 for a leaf and 1 + the largest height of its children, and round h updates
 * every node of height h. So each node is updated once, after all its children are final, which
 * is exactly the paper's recursion. decima-sim caps the rounds at max_depth = 8; this schedule
 * always runs to the top of the DAG, which is the same on DAGs at most 8 levels deep.
 */
export class DagSchedule {
  readonly steps: DagStep[];
  readonly height: Int32Array;

  /** `children` is the n x n adjacency with an entry (v, w) for each edge parent v -> child w. */
  constructor(readonly children: Csr) {
    requireSquare('DagSchedule', children);
    const n = children.rows, { rowPtr, colIdx } = children;
    // Kahn's algorithm from the leaves: a node is ready once all its children have a height.
    const pending = new Int32Array(n);
    for (let v = 0; v < n; v++) pending[v] = rowPtr[v + 1]! - rowPtr[v]!;
    const parentsOf = children.transpose();
    const height = new Int32Array(n);
    const queue = new Int32Array(n);
    let head = 0, tail = 0;
    for (let v = 0; v < n; v++) if (pending[v] === 0) queue[tail++] = v;
    while (head < tail) {
      const w = queue[head++]!;
      for (let p = parentsOf.rowPtr[w]!; p < parentsOf.rowPtr[w + 1]!; p++) {
        const v = parentsOf.colIdx[p]!;
        if (height[w]! + 1 > height[v]!) height[v] = height[w]! + 1;
        if (--pending[v] === 0) queue[tail++] = v;
      }
    }
    if (tail < n) {
      const stuck = [...pending.keys()].filter((v) => pending[v]! > 0).slice(0, 5);
      throw opError('DagSchedule', `the graph has a cycle (through nodes ${stuck.join(', ')}${n - tail > 5 ? ', ...' : ''})`, 'a directed acyclic graph');
    }
    this.height = height;
    let maxH = 0;
    for (let v = 0; v < n; v++) if (height[v]! > maxH) maxH = height[v]!;
    const byHeight: number[][] = Array.from({ length: maxH + 1 }, () => []);
    for (let v = 0; v < n; v++) byHeight[height[v]!]!.push(v);
    const local = new Int32Array(n).fill(-1);
    this.steps = [];
    for (let h = 1; h <= maxH; h++) {
      const parents = Int32Array.from(byHeight[h]!);
      const kids: number[] = [];
      for (const v of parents) for (let p = rowPtr[v]!; p < rowPtr[v + 1]!; p++) if (local[colIdx[p]!] === -1) { local[colIdx[p]!] = 0; kids.push(colIdx[p]!); }
      kids.sort((a, b) => a - b);
      kids.forEach((w, i) => (local[w] = i));
      const src: number[] = [], dst: number[] = [];
      parents.forEach((v, i) => {
        for (let p = rowPtr[v]!; p < rowPtr[v + 1]!; p++) {
          src.push(i);
          dst.push(local[colIdx[p]!]!);
        }
      });
      for (const w of kids) local[w] = -1;
      this.steps.push({ parents, children: Int32Array.from(kids), msg: Csr.fromCoo(parents.length, kids.length, src, dst) });
    }
  }

  get nodes(): number {
    return this.children.rows;
  }
}

export interface DagMessagePassingOptions {
  inFeatures: number;
  /** Width of the embeddings e_v (Decima: 8). */
  outFeatures: number;
  /** Hidden widths of each of h, f and g (Decima: [16, 8]). */
  hidden: readonly number[];
  rng: Rng;
  /** Decima used leaky ReLU with TensorFlow's slope 0.2, after every layer of h, f and g. */
  activation?: Activation;
  slope?: number;
  dtype?: DType;
}

/**
 * Decima's per-node embedding: x_v = h(features_v) lifts the raw features, then
 * e_v = g(sum_{w in children(v)} f(e_w)) + x_v from the leaves up (leaves keep e_v = x_v).
 * h, f and g are MLPs whose every layer, the last included, is followed by the activation, as in
 * decima-sim's gcn.py; f and g are shared by all rounds.
 */
export class DagMessagePassing extends Module {
  readonly prep: MLP;
  readonly f: MLP;
  readonly g: MLP;
  readonly config: { inFeatures: number; outFeatures: number; hidden: number[]; activation: Activation; slope: number };

  constructor(opts: DagMessagePassingOptions) {
    super();
    const act = opts.activation ?? 'leakyRelu', slope = opts.slope ?? 0.2;
    this.config = { inFeatures: opts.inFeatures, outFeatures: opts.outFeatures, hidden: [...opts.hidden], activation: act, slope };
    const mlp = (inW: number) => new MLP([inW, ...opts.hidden, opts.outFeatures], { rng: opts.rng, activation: act, outputActivation: act, slope, dtype: opts.dtype });
    this.prep = mlp(opts.inFeatures);
    this.f = mlp(opts.outFeatures);
    this.g = mlp(opts.outFeatures);
  }

  forward(schedule: DagSchedule, features: Tensor): Tensor {
    const n = schedule.nodes;
    if (features.rank !== 2 || features.shape[0] !== n || features.shape[1] !== this.config.inFeatures) {
      throw opError('DagMessagePassing', `node features ${shapeStr(features.shape)} for a DAG of ${n} nodes`, `features of shape [${n},${this.config.inFeatures}]`);
    }
    if (!isGradEnabled()) return this.forwardNoGraph(schedule, features);
    let e = this.prep.forward(features);
    for (const step of schedule.steps) {
      // Only the children are transformed and only the parents receive: the masking that
      // decima-sim does over all nodes, done by indexing instead.
      const messages = spmm(step.msg, this.f.forward(gather(e, step.children)));
      e = add(e, scatterAdd(this.g.forward(messages), step.parents, n));
    }
    return e;
  }

  /**
   * forward() when no graph is recorded (acting): one op, where forward() makes six per round
   * (gather, f, spmm, g, scatterAdd, add) and those make a tensor each. The rounds work on plain
   * storage, their intermediates in step buffers (the inference scratch when acting), and do the
   * same arithmetic in the same order: the scatter into zeros, then e + it over every row.
   */
  private forwardNoGraph(schedule: DagSchedule, features: Tensor): Tensor {
    const n = schedule.nodes, d = this.config.outFeatures;
    // The check each op of forward() makes: the rounds below would mix the two storages silently.
    const dtype = commonDtype('DagMessagePassing', features, this.prep.layers[0]!.weight);
    const e = outBuffer(dtype, n * d);
    this.prep.forwardRows(features.data, n, e);
    for (const step of schedule.steps) {
      const { parents, children } = step, c = children.length, p = parents.length;
      const kids = stepBuffer(dtype, c * d);
      for (let i = 0; i < c; i++) {
        const from = children[i]! * d, to = i * d;
        for (let j = 0; j < d; j++) kids[to + j] = e[from + j]!;
      }
      const messages = stepBuffer(dtype, p * d);
      spmmAcc(step.msg, this.f.forwardRows(kids, c), messages, d);
      const update = this.g.forwardRows(messages, p), scattered = stepBuffer(dtype, n * d);
      for (let i = 0; i < p; i++) {
        const to = parents[i]! * d, from = i * d;
        for (let j = 0; j < d; j++) scattered[to + j] += update[from + j]!;
      }
      for (let i = 0; i < n * d; i++) e[i] += scattered[i]!;
    }
    return fromOp('dagMessagePassing', e, matrixShape(n, d), features);
  }

  namedParameters(): [string, Tensor][] {
    return collect([['prep', this.prep], ['f', this.f], ['g', this.g]]);
  }

  architecture(): Record<string, unknown> {
    return { type: 'DagMessagePassing', ...this.config, hidden: [...this.config.hidden] };
  }
}
