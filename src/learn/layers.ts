/**
 * Layers: the Module contract, Linear and MLP, and seeded initializers. Graph layers (GCN,
 * GraphSAGE, Decima's DAG message passing) are in gnn.ts on top of these.
 *
 * A Module owns its parameters and lists them, with stable dotted names ("layers.0.weight"), in a
 * fixed order: optimizers keep their state in that order and checkpoints store weights by those
 * names, so the order and the names are part of a model's contract. Initialization draws from the
 * Rng it is given, in parameter order, so the same seed gives the same model bit for bit.
 */
import type { Rng } from '../core/rng.js';
import { Tensor, zeros, isGradEnabled, type DType, type Storage } from './tensor.js';
import { linear, linearStack, stackRows } from './ops/matmul.js';
import { type Activation } from './ops/elementwise.js';
import { opError, shapeStr } from './check.js';

export abstract class Module {
  /** Every parameter with its dotted name, in a fixed order. */
  abstract namedParameters(): [string, Tensor][];

  /** Plain data (JSON) describing the architecture: recorded in checkpoints and compared on load. */
  abstract architecture(): Record<string, unknown>;

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Number of scalar parameters. */
  parameterCount(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }
}

/** Prefixes a child module's parameter names: collect([['encoder', enc], ['head', head]]). */
export function collect(children: readonly (readonly [string, Module | Tensor | null])[]): [string, Tensor][] {
  const out: [string, Tensor][] = [];
  for (const [name, c] of children) {
    if (c === null) continue;
    if (c instanceof Tensor) out.push([name, c]);
    else for (const [n, t] of c.namedParameters()) out.push([`${name}.${n}`, t]);
  }
  return out;
}

export type Init = 'glorot' | 'he';

/**
 * A [fanIn, fanOut] weight. glorot: uniform in +-sqrt(6 / (fanIn + fanOut)) (Glorot & Bengio
 * 2010, eq. 16; what Decima used); he: normal with std sqrt(2 / fanIn) (He et al. 2015, for ReLU
 * stacks).
 */
export function initWeight(shape: readonly [number, number], rng: Rng, init: Init, dtype: DType = 'float32'): Tensor {
  const [fanIn, fanOut] = shape;
  const w = zeros(shape, { dtype, requiresGrad: true });
  if (init === 'glorot') {
    const a = Math.sqrt(6 / (fanIn + fanOut));
    for (let i = 0; i < w.size; i++) w.data[i] = rng.uniform(-a, a);
  } else if (init === 'he') {
    const std = Math.sqrt(2 / fanIn);
    for (let i = 0; i < w.size; i++) w.data[i] = std * rng.normal();
  } else {
    throw opError('initWeight', `unknown init '${String(init)}'`, "'glorot' or 'he'");
  }
  return w;
}

export interface LinearOptions {
  rng: Rng;
  /** Add a bias (initialized to 0). Default true. */
  bias?: boolean;
  /** Default 'glorot'. */
  init?: Init;
  dtype?: DType;
}

/** y = x W + b with W [in, out] (the x @ W layout of TensorFlow and Decima, no transpose needed). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions) {
    super();
    for (const [k, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!(Number.isInteger(v) && v > 0)) throw opError('Linear', `${k} = ${v}`, 'a positive integer');
    }
    const dtype = opts.dtype ?? 'float32';
    this.weight = initWeight([inFeatures, outFeatures], opts.rng, opts.init ?? 'glorot', dtype);
    this.bias = opts.bias === false ? null : zeros([outFeatures], { dtype, requiresGrad: true });
  }

  /** x W + b, followed by `activation` (with `slope` for leaky ReLU) in the same op. */
  forward(x: Tensor, activation: Activation = 'none', slope = 0.01): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
      throw opError(`Linear(${this.inFeatures}->${this.outFeatures})`, `input ${shapeStr(x.shape)}`, `an input of shape [n,${this.inFeatures}]`);
    }
    return linear(x, this.weight, this.bias, activation, slope);
  }

  namedParameters(): [string, Tensor][] {
    return collect([['weight', this.weight], ['bias', this.bias]]);
  }

  architecture(): Record<string, unknown> {
    return { type: 'Linear', inFeatures: this.inFeatures, outFeatures: this.outFeatures, bias: this.bias !== null };
  }
}

export interface MlpOptions extends LinearOptions {
  /** After every hidden layer. Default 'relu'. */
  activation?: Activation;
  /** After the last layer. Default 'none' (logits, values). */
  outputActivation?: Activation;
  /** Negative slope when an activation is 'leakyRelu'. Default 0.01. */
  slope?: number;
}

/** A multilayer perceptron: sizes [in, h1, ..., out] give sizes.length - 1 Linear layers. */
export class MLP extends Module {
  readonly layers: Linear[];
  readonly activation: Activation;
  readonly outputActivation: Activation;
  readonly slope: number;
  /** Each layer's activation: `activation` after the hidden ones, `outputActivation` after the last. */
  private readonly activations: Activation[];

  constructor(readonly sizes: readonly number[], opts: MlpOptions) {
    super();
    if (sizes.length < 2) throw opError('MLP', `sizes ${JSON.stringify(sizes)}`, 'at least [in, out]');
    this.activation = opts.activation ?? 'relu';
    this.outputActivation = opts.outputActivation ?? 'none';
    this.slope = opts.slope ?? 0.01;
    this.layers = [];
    for (let i = 0; i + 1 < sizes.length; i++) this.layers.push(new Linear(sizes[i]!, sizes[i + 1]!, opts));
    this.activations = this.layers.map((_, i) => (i < this.layers.length - 1 ? this.activation : this.outputActivation));
  }

  /**
   * One op per layer (its activation fused in) when a graph may be recorded; one op for the whole
   * MLP when none is (acting, noGrad), its hidden layers in step buffers: the same numbers either way.
   */
  forward(x: Tensor): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.sizes[0]) {
      throw opError(`MLP(${this.sizes.join('->')})`, `input ${shapeStr(x.shape)}`, `an input of shape [n,${this.sizes[0]}]`);
    }
    if (!isGradEnabled()) return linearStack(x, this.layers, this.activations, this.slope);
    for (let i = 0; i < this.layers.length; i++) x = this.layers[i]!.forward(x, this.activations[i]!, this.slope);
    return x;
  }

  /**
   * forward() on m rows of plain storage h [m, in], with no tensor and no graph: for a forward pass
   * that records none and runs the MLP inside a step of its own (DagMessagePassing's rounds). Into
   * `out` when given (zeroed, [m, out]), else a step buffer; the numbers of forward() exactly.
   */
  forwardRows(h: Storage, m: number, out: Storage | null = null): Storage {
    return stackRows(h, m, this.layers, this.activations, this.slope, out);
  }

  namedParameters(): [string, Tensor][] {
    return collect(this.layers.map((l, i) => [`layers.${i}`, l] as const));
  }

  architecture(): Record<string, unknown> {
    return { type: 'MLP', sizes: [...this.sizes], activation: this.activation, outputActivation: this.outputActivation, slope: this.slope, bias: this.layers[0]!.bias !== null };
  }
}
