/**
 * Spaces describe what an environment observes and what it accepts, as Gymnasium's spaces do.
 * Each space can check membership (`contains`) and draw a sample from a given Rng, and serializes
 * to plain JSON (`toJSON`) so the language-neutral protocol can send it to any client.
 */
import type { Rng } from './rng.js';

export interface Space<T> {
  readonly kind: string;
  /** True when `x` is a valid element of this space. */
  contains(x: unknown): x is T;
  /** A uniform (or natural) sample drawn with `rng`. */
  sample(rng: Rng): T;
  toJSON(): Record<string, unknown>;
}

/** {start, ..., start + n - 1}, as Gymnasium's Discrete. */
export class Discrete implements Space<number> {
  readonly kind = 'Discrete';
  constructor(readonly n: number, readonly start = 0) {
    if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`Discrete(n) needs a positive integer, got ${n}`);
  }
  contains(x: unknown): x is number {
    return typeof x === 'number' && Number.isInteger(x) && x >= this.start && x < this.start + this.n;
  }
  sample(rng: Rng): number {
    return this.start + rng.int(this.n);
  }
  toJSON() {
    return { kind: this.kind, n: this.n, start: this.start };
  }
}

/**
 * A variable action set: Discrete(n) where only the actions with mask[i] = 1 are valid at this
 * step. The env puts the current mask in `info.actionMask` (and in the observation when the
 * policy needs it); `contains` checks against the mask it was last given.
 */
export class MaskedDiscrete implements Space<number> {
  readonly kind = 'MaskedDiscrete';
  mask: Uint8Array;
  constructor(readonly n: number) {
    if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`MaskedDiscrete(n) needs a positive integer, got ${n}`);
    this.mask = new Uint8Array(n).fill(1);
  }
  setMask(mask: Uint8Array): void {
    if (mask.length !== this.n) throw new RangeError(`mask has length ${mask.length}, space has n=${this.n}`);
    this.mask = mask;
  }
  contains(x: unknown): x is number {
    return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < this.n && this.mask[x] === 1;
  }
  sample(rng: Rng): number {
    let count = 0;
    for (let i = 0; i < this.n; i++) count += this.mask[i]!;
    if (count === 0) throw new RangeError('MaskedDiscrete.sample: every action is masked out');
    let k = rng.int(count);
    for (let i = 0; i < this.n; i++) if (this.mask[i] === 1 && k-- === 0) return i;
    throw new Error('unreachable');
  }
  toJSON() {
    return { kind: this.kind, n: this.n };
  }
}

/** A box of real vectors with per-dimension bounds (infinite bounds allowed), shape flattened. */
export class Box implements Space<Float32Array> {
  readonly kind = 'Box';
  readonly size: number;
  constructor(readonly low: number, readonly high: number, readonly shape: readonly number[]) {
    this.size = shape.reduce((a, b) => a * b, 1);
    if (!(low <= high)) throw new RangeError(`Box needs low <= high, got ${low} > ${high}`);
  }
  contains(x: unknown): x is Float32Array {
    if (!(x instanceof Float32Array) || x.length !== this.size) return false;
    for (let i = 0; i < x.length; i++) if (!(x[i]! >= this.low && x[i]! <= this.high)) return false;
    return true;
  }
  sample(rng: Rng): Float32Array {
    const out = new Float32Array(this.size);
    const bounded = Number.isFinite(this.low) && Number.isFinite(this.high);
    for (let i = 0; i < out.length; i++) {
      out[i] = bounded ? rng.uniform(this.low, this.high) : Number.isFinite(this.low) ? this.low + rng.exponential(1) : Number.isFinite(this.high) ? this.high - rng.exponential(1) : rng.normal();
    }
    return out;
  }
  toJSON() {
    return { kind: this.kind, low: this.low, high: this.high, shape: [...this.shape] };
  }
}

/**
 * A graph observation: node features (n x nodeDim, row-major), optional edge features
 * (m x edgeDim) and edges in CSR form (rowPtr of n+1, colIdx of m), as Gymnasium's Graph space
 * but with the adjacency kept in the form message passing wants.
 */
export interface GraphObs {
  numNodes: number;
  nodeFeatures: Float32Array;
  edgeFeatures?: Float32Array;
  rowPtr: Int32Array;
  colIdx: Int32Array;
}

export class GraphSpace implements Space<GraphObs> {
  readonly kind = 'Graph';
  constructor(readonly nodeDim: number, readonly edgeDim = 0) {}
  contains(x: unknown): x is GraphObs {
    const g = x as GraphObs;
    if (!g || typeof g.numNodes !== 'number' || !(g.nodeFeatures instanceof Float32Array)) return false;
    if (!(g.rowPtr instanceof Int32Array) || !(g.colIdx instanceof Int32Array)) return false;
    if (g.nodeFeatures.length !== g.numNodes * this.nodeDim || g.rowPtr.length !== g.numNodes + 1) return false;
    const m = g.rowPtr[g.numNodes]!;
    if (g.colIdx.length !== m) return false;
    if (this.edgeDim > 0 && (!(g.edgeFeatures instanceof Float32Array) || g.edgeFeatures.length !== m * this.edgeDim)) return false;
    for (let i = 0; i < m; i++) if (g.colIdx[i]! < 0 || g.colIdx[i]! >= g.numNodes) return false;
    return true;
  }
  /** A small random graph (for smoke tests of policies). */
  sample(rng: Rng): GraphObs {
    const n = 1 + rng.int(8);
    const rowPtr = new Int32Array(n + 1);
    const cols: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) if (j !== i && rng.next() < 0.3) cols.push(j);
      rowPtr[i + 1] = cols.length;
    }
    const nodeFeatures = new Float32Array(n * this.nodeDim);
    for (let i = 0; i < nodeFeatures.length; i++) nodeFeatures[i] = rng.normal();
    const g: GraphObs = { numNodes: n, nodeFeatures, rowPtr, colIdx: Int32Array.from(cols) };
    if (this.edgeDim > 0) {
      g.edgeFeatures = new Float32Array(cols.length * this.edgeDim);
      for (let i = 0; i < g.edgeFeatures.length; i++) g.edgeFeatures[i] = rng.normal();
    }
    return g;
  }
  toJSON() {
    return { kind: this.kind, nodeDim: this.nodeDim, edgeDim: this.edgeDim };
  }
}

/** A fixed set of named sub-spaces (Gymnasium's Dict). */
export class DictSpace<T extends Record<string, unknown>> implements Space<T> {
  readonly kind = 'Dict';
  constructor(readonly spaces: { [K in keyof T]: Space<T[K]> }) {}
  contains(x: unknown): x is T {
    if (typeof x !== 'object' || x === null) return false;
    for (const k of Object.keys(this.spaces)) if (!this.spaces[k as keyof T].contains((x as Record<string, unknown>)[k])) return false;
    return true;
  }
  sample(rng: Rng): T {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(this.spaces)) out[k] = this.spaces[k as keyof T].sample(rng);
    return out as T;
  }
  toJSON() {
    const s: Record<string, unknown> = {};
    for (const k of Object.keys(this.spaces)) s[k] = this.spaces[k as keyof T].toJSON();
    return { kind: this.kind, spaces: s };
  }
}
