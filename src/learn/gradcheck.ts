/**
 * Gradient check: the autodiff gradient of a function against central finite differences,
 * in float64.
 *
 * In float32 a central difference (f(x+h) - f(x-h)) / 2h loses about 7 - log10(1/h) digits to
 * rounding, so no step size separates a wrong gradient from noise. Here every checked tensor
 * must hold a Float64Array: the ops compute in float64, the loss is accumulated in a double,
 * and with h = 1e-6 the truncation error (~h^2) and the rounding error (~1e-16/h) both stay
 * around 1e-10, far below any real bug.
 *
 * A function with a non-scalar output is reduced to the scalar sum(out * w) with fixed random
 * weights w, so every output element (and every mix-up between elements) shows in the check.
 */
import { Rng } from '../core/rng.js';
import { Tensor, noGrad } from './tensor.js';
import { mul } from './ops/elementwise.js';
import { sum } from './ops/reduce.js';
import { opError, shapeStr } from './check.js';

export interface GradCheckOptions {
  /** Finite-difference step. */
  eps?: number;
  /** Pass if |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|). */
  atol?: number;
  rtol?: number;
  /** Seed of the output weights. */
  seed?: number;
}

export interface GradCheckResult {
  ok: boolean;
  /** Largest |analytic - numeric| / (atol + rtol * max(|a|, |n|)): the check passes when <= 1. */
  worstRatio: number;
  worst: { input: number; index: number; analytic: number; numeric: number } | null;
  checked: number;
}

/**
 * Checks d loss / d t for every t in `wrt` (leaf float64 tensors that `f` reads), where loss is
 * f() reduced to a scalar as above. `f` is called once with gradients on and twice per element
 * under noGrad; it must be deterministic.
 */
export function gradCheck(f: () => Tensor, wrt: readonly Tensor[], opts: GradCheckOptions = {}): GradCheckResult {
  const eps = opts.eps ?? 1e-6, atol = opts.atol ?? 1e-7, rtol = opts.rtol ?? 1e-5;
  for (const [i, t] of wrt.entries()) {
    if (t.dtype !== 'float64') throw opError('gradCheck', `input ${i} ${shapeStr(t.shape)} is ${t.dtype}`, "float64 inputs (tensor(..., { dtype: 'float64' })): float32 differences are rounding noise");
    if (t.backwardFn !== null) throw opError('gradCheck', `input ${i} ${shapeStr(t.shape)} was computed by '${t.op}'`, 'leaf tensors that f reads');
  }

  // Analytic gradient.
  const saved = wrt.map((t) => [t.requiresGrad, t.grad] as const);
  for (const t of wrt) {
    t.requiresGrad = true;
    t.grad = null;
  }
  const out0 = f();
  const w = new Tensor(new Float64Array(out0.size), out0.shape);
  const rng = new Rng(opts.seed ?? 1);
  for (let i = 0; i < w.size; i++) w.data[i] = Number.isFinite(out0.data[i]!) ? rng.uniform(0.5, 1.5) * (rng.next() < 0.5 ? -1 : 1) : 0;
  sum(mul(out0, w)).backward();
  const analytic = wrt.map((t) => (t.grad ? Float64Array.from(t.grad) : new Float64Array(t.size)));
  wrt.forEach((t, i) => {
    t.requiresGrad = saved[i]![0];
    t.grad = saved[i]![1];
  });

  // Numeric gradient. Non-finite outputs (log-probabilities of masked entries) carry weight 0.
  const loss = (): number => {
    const out = noGrad(f);
    let s = 0;
    for (let i = 0; i < out.size; i++) if (w.data[i] !== 0) s += w.data[i]! * out.data[i]!;
    return s;
  };
  let worstRatio = 0, checked = 0;
  let worst: GradCheckResult['worst'] = null;
  for (const [k, t] of wrt.entries()) {
    const x = t.data;
    for (let i = 0; i < x.length; i++) {
      const x0 = x[i]!;
      x[i] = x0 + eps;
      const lp = loss();
      x[i] = x0 - eps;
      const lm = loss();
      x[i] = x0;
      const numeric = (lp - lm) / (2 * eps);
      const a = analytic[k]![i]!;
      const ratio = Math.abs(a - numeric) / (atol + rtol * Math.max(Math.abs(a), Math.abs(numeric)));
      checked++;
      if (!(ratio <= worstRatio)) {
        worstRatio = Number.isNaN(ratio) ? Infinity : ratio;
        worst = { input: k, index: i, analytic: a, numeric };
      }
    }
  }
  return { ok: worstRatio <= 1, worstRatio, worst, checked };
}
