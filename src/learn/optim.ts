/**
 * Optimizers and gradient clipping. Update rules follow PyTorch's documented definitions, so
 * hyperparameters carry over from papers and reference code unchanged. Each update is a plain
 * loop over the parameter's typed array, in parameter order: the same gradients give the same
 * weights bit for bit. A parameter whose grad is null (unused by the last loss) is left alone,
 * its optimizer state included.
 */
import { type Tensor, type Storage, alloc } from './tensor.js';
import { opError } from './check.js';
import { SelfoptError } from '../core/errors.js';

export interface Optimizer {
  readonly params: readonly Tensor[];
  /** Learning rate; may be changed between steps (schedules). */
  lr: number;
  step(): void;
  zeroGrad(): void;
}

/** Sets every parameter's grad to null (the next backward starts from zero). */
export function zeroGrad(params: readonly Tensor[]): void {
  for (const p of params) p.grad = null;
}

/**
 * Scales all gradients together so that their global L2 norm is at most maxNorm (Pascanu et al.
 * 2013; PyTorch's clip_grad_norm_). Returns the norm before clipping, for logging.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw opError('clipGradNorm', `maxNorm = ${maxNorm}`, 'a positive number');
  let sq = 0;
  for (const p of params) {
    const g = p.grad;
    if (g === null) continue;
    for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
  }
  const norm = Math.sqrt(sq);
  if (norm > maxNorm) {
    const s = maxNorm / (norm + 1e-6);
    for (const p of params) {
      const g = p.grad;
      if (g !== null) for (let i = 0; i < g.length; i++) g[i] *= s;
    }
  }
  return norm;
}

function checkParams(op: string, params: readonly Tensor[]): void {
  if (params.length === 0) throw opError(op, 'no parameters', 'at least one tensor to optimize (model.parameters())');
  const seen = new Set<Tensor>();
  params.forEach((p, i) => {
    if (!p.requiresGrad) throw opError(op, `parameter ${i} does not require gradients`, 'tensors with requiresGrad: true');
    if (seen.has(p)) throw opError(op, `parameter ${i} is listed twice`, 'each parameter once (it would be updated twice per step)');
    seen.add(p);
  });
}

function checkRate(op: string, name: string, v: number, lo: number, hi: number): void {
  if (!(v >= lo && v < hi)) throw opError(op, `${name} = ${v}`, `${lo} <= ${name} < ${hi}`);
}

export interface SgdOptions {
  lr: number;
  /** Heavy-ball momentum mu: v = mu v + g, p -= lr v. Default 0. */
  momentum?: number;
  /** Nesterov's variant: p -= lr (g + mu v). Default false. */
  nesterov?: boolean;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
}

export class SGD implements Optimizer {
  lr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  private readonly velocity: (Storage | null)[];

  constructor(readonly params: readonly Tensor[], opts: SgdOptions) {
    checkParams('SGD', params);
    checkRate('SGD', 'momentum', opts.momentum ?? 0, 0, 1);
    this.lr = opts.lr;
    this.momentum = opts.momentum ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    this.velocity = params.map(() => null);
  }

  step(): void {
    const { lr, momentum: mu, weightDecay: wd } = this;
    this.params.forEach((p, k) => {
      const g = p.grad, x = p.data;
      if (g === null) return;
      // Starting from v = 0, the first step gives v = g, PyTorch's initialization.
      const v = mu !== 0 ? (this.velocity[k] ??= alloc(p.dtype, p.size)) : null;
      for (let i = 0; i < x.length; i++) {
        const gi = g[i]! + wd * x[i]!;
        if (v === null) x[i] -= lr * gi;
        else {
          const vi = (v[i] = mu * v[i]! + gi);
          x[i] -= lr * (this.nesterov ? gi + mu * vi : vi);
        }
      }
    });
  }

  zeroGrad(): void {
    zeroGrad(this.params);
  }
}

export interface AdamOptions {
  /** Default 1e-3. */
  lr?: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-8. */
  eps?: number;
  /** L2 penalty added to the gradient (Adam, not AdamW). Default 0. */
  weightDecay?: number;
}

/** Adam (Kingma & Ba 2015) with bias correction; the step count is per parameter. */
export class Adam implements Optimizer {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly m: (Storage | null)[];
  private readonly v: (Storage | null)[];
  private readonly t: number[];

  constructor(readonly params: readonly Tensor[], opts: AdamOptions = {}) {
    checkParams('Adam', params);
    this.lr = opts.lr ?? 1e-3;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    checkRate('Adam', 'beta1', this.beta1, 0, 1);
    checkRate('Adam', 'beta2', this.beta2, 0, 1);
    this.m = params.map(() => null);
    this.v = params.map(() => null);
    this.t = params.map(() => 0);
  }

  step(): void {
    const { lr, beta1: b1, beta2: b2, eps, weightDecay: wd } = this;
    this.params.forEach((p, k) => {
      const g = p.grad, x = p.data;
      if (g === null) return;
      const m = (this.m[k] ??= alloc(p.dtype, p.size));
      const v = (this.v[k] ??= alloc(p.dtype, p.size));
      const t = ++this.t[k]!;
      const c1 = 1 / (1 - Math.pow(b1, t)), c2 = 1 / (1 - Math.pow(b2, t));
      for (let i = 0; i < x.length; i++) {
        const gi = g[i]! + wd * x[i]!;
        const mi = (m[i] = b1 * m[i]! + (1 - b1) * gi);
        const vi = (v[i] = b2 * v[i]! + (1 - b2) * gi * gi);
        x[i] -= (lr * (mi * c1)) / (Math.sqrt(vi * c2) + eps);
      }
    });
  }

  zeroGrad(): void {
    zeroGrad(this.params);
  }

  /**
   * The moments and step counts, to save a resumable training run (copies). A NaN or infinite
   * moment (training that diverged) is refused: JSON would store it as null, and the run would
   * resume from zeros as if nothing had happened. The state saved before it is kept.
   */
  getState(): AdamState {
    const s = { m: this.m.map((a) => (a ? Array.from(a) : null)), v: this.v.map((a) => (a ? Array.from(a) : null)), t: [...this.t] };
    for (const name of ['m', 'v'] as const) {
      s[name].forEach((a, k) => {
        const i = a?.findIndex((x) => !Number.isFinite(x)) ?? -1;
        if (i >= 0) throw new SelfoptError(`Adam's moment ${name}[${k}][${i}] is ${a![i]}: the training diverged`, 'saving the training state (Adam.getState)', 'finite moments (a lower learning rate, or gradient clipping); the state saved before is kept');
      });
    }
    return s;
  }

  /**
   * Restores what getState() returned, for the same parameter list. `where` names the state's
   * file and field for the error of a state that does not fit (a hand edit, a moment an older
   * version saved as null from NaN).
   */
  setState(s: AdamState, where = 'Adam.setState'): void {
    const ok = s && Array.isArray(s.m) && Array.isArray(s.v) && Array.isArray(s.t) && s.m.length === this.params.length && s.v.length === this.params.length && s.t.length === this.params.length
      && this.params.every((p, k) => (s.m[k] === null || s.m[k]!.length === p.size) && (s.v[k] === null || s.v[k]!.length === p.size));
    if (!ok) throw new SelfoptError('an Adam state that does not fit the parameters', where, `moments for ${this.params.length} parameters of sizes ${this.params.map((p) => p.size).join(', ')}`);
    const expected = 'finite moments and whole step counts >= 0, as Adam saved them; --fresh starts the run over';
    s.t.forEach((t, k) => {
      if (!(Number.isSafeInteger(t) && t >= 0)) throw new SelfoptError(`Adam's step count t[${k}] is ${JSON.stringify(t)}`, where, expected);
      // A parameter gets its moments at its first step: none before it, both after.
      if ((s.m[k] === null) !== (s.v[k] === null)) throw new SelfoptError(`Adam's moments m[${k}] and v[${k}] are not both saved`, where, expected);
    });
    for (const name of ['m', 'v'] as const) {
      s[name].forEach((a, k) => {
        const i = a?.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x)) ?? -1;
        if (i >= 0) throw new SelfoptError(`Adam's moment ${name}[${k}][${i}] is ${JSON.stringify(a![i])}${a![i] === null ? ' (a NaN or infinite moment saved as null: the training had diverged)' : ''}`, where, expected);
      });
    }
    this.params.forEach((p, k) => {
      const m = s.m[k], v = s.v[k];
      this.m[k] = m ? Float32Array.from(m) : null;
      this.v[k] = v ? Float32Array.from(v) : null;
      if (p.dtype === 'float64') {
        this.m[k] = m ? Float64Array.from(m) : null;
        this.v[k] = v ? Float64Array.from(v) : null;
      }
      this.t[k] = s.t[k]!;
    });
  }
}

/** Adam's moments (null before a parameter's first step) and per-parameter step counts, as plain data. */
export interface AdamState {
  m: (number[] | null)[];
  v: (number[] | null)[];
  t: number[];
}

export interface RmsPropOptions {
  /** Default 1e-2. */
  lr?: number;
  /** Smoothing of the squared-gradient average. Default 0.99. */
  alpha?: number;
  /** Default 1e-8. */
  eps?: number;
  /** Default 0. */
  momentum?: number;
  /** Default 0. */
  weightDecay?: number;
}

/** RMSProp (Tieleman & Hinton 2012): p -= lr g / (sqrt(E[g^2]) + eps), optionally with momentum. */
export class RMSProp implements Optimizer {
  lr: number;
  readonly alpha: number;
  readonly eps: number;
  readonly momentum: number;
  readonly weightDecay: number;
  private readonly sq: (Storage | null)[];
  private readonly buf: (Storage | null)[];

  constructor(readonly params: readonly Tensor[], opts: RmsPropOptions = {}) {
    checkParams('RMSProp', params);
    this.lr = opts.lr ?? 1e-2;
    this.alpha = opts.alpha ?? 0.99;
    this.eps = opts.eps ?? 1e-8;
    this.momentum = opts.momentum ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
    checkRate('RMSProp', 'alpha', this.alpha, 0, 1);
    checkRate('RMSProp', 'momentum', this.momentum, 0, 1);
    this.sq = params.map(() => null);
    this.buf = params.map(() => null);
  }

  step(): void {
    const { lr, alpha: a, eps, momentum: mu, weightDecay: wd } = this;
    this.params.forEach((p, k) => {
      const g = p.grad, x = p.data;
      if (g === null) return;
      const sq = (this.sq[k] ??= alloc(p.dtype, p.size));
      const buf = mu !== 0 ? (this.buf[k] ??= alloc(p.dtype, p.size)) : null;
      for (let i = 0; i < x.length; i++) {
        const gi = g[i]! + wd * x[i]!;
        const s = (sq[i] = a * sq[i]! + (1 - a) * gi * gi);
        const d = gi / (Math.sqrt(s) + eps);
        if (buf === null) x[i] -= lr * d;
        else x[i] -= lr * (buf[i] = mu * buf[i]! + d);
      }
    });
  }

  zeroGrad(): void {
    zeroGrad(this.params);
  }
}
