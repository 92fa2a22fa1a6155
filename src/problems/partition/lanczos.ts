/**
 * Extreme eigenpairs of a large sparse symmetric operator by the Lanczos method with full
 * reorthogonalization (Golub & Van Loan, Matrix Computations, sections 10.1-10.3), used for the
 * Laplacian eigenvectors of spectral partitioning and for GAP's spectral node features.
 *
 * Plain Lanczos loses orthogonality as Ritz values converge and then repeats eigenvalues ("ghost"
 * copies); reorthogonalizing every new vector against all previous ones (twice, Kahan's "twice is
 * enough") keeps Q orthonormal to working precision, at O(n j) per step. Known eigenvectors (the
 * trivial null vector of a Laplacian) are deflated by keeping every Lanczos vector orthogonal to
 * them. A breakdown (beta = 0: an invariant subspace, e.g. one component of a disconnected graph)
 * restarts from a fresh random vector orthogonal to everything so far, so the other components'
 * eigenvectors are still found.
 *
 * The tridiagonal T_j is diagonalized by the implicit QL method with Wilkinson-style shifts
 * (EISPACK tql2). A Ritz pair (theta, Q s) has residual norm |beta_j s_last| exactly, which is
 * the convergence test; the caller gets the residual of each returned pair.
 */
import type { Rng } from '../../core/rng.js';

/** y = B x for the symmetric operator B (both of length n; y is overwritten). */
export type SymmetricOperator = (x: Float64Array, y: Float64Array) => void;

export interface LanczosOptions {
  /** Lanczos steps at most (capped at n minus the deflated vectors). */
  maxSteps: number;
  /** Stop when every wanted Ritz pair has residual below tol x (largest |Ritz value|). */
  tol: number;
  /** Vectors to deflate (orthonormal, length n): the search stays orthogonal to them. */
  deflate?: Float64Array[];
  /** Starting vector (random when absent); a good guess of the wanted eigenvector speeds convergence. */
  start?: Float64Array;
}

export interface Eigenpairs {
  /** Eigenvalues of B, largest first. */
  values: Float64Array;
  /** Matching unit eigenvectors (Ritz vectors), each of length n. */
  vectors: Float64Array[];
  /** ||B v - theta v|| for each pair. */
  residuals: Float64Array;
  /** Lanczos steps taken. */
  steps: number;
}

/** The `count` largest eigenpairs of B (apply it to a vector with `op`). */
export function lanczosLargest(n: number, op: SymmetricOperator, count: number, rng: Rng, opts: LanczosOptions): Eigenpairs {
  const deflate = opts.deflate ?? [];
  const maxSteps = Math.max(1, Math.min(opts.maxSteps, n - deflate.length));
  count = Math.min(count, maxSteps);
  const Q = new Float64Array(maxSteps * n); // Lanczos vectors, row j = q_j
  const alpha = new Float64Array(maxSteps), beta = new Float64Array(maxSteps);
  const w = new Float64Array(n);

  const qRow = (j: number) => Q.subarray(j * n, (j + 1) * n);
  // Orthogonalizes x against q_0..q_{j-1} and the deflated vectors, twice.
  const orthogonalize = (x: Float64Array, j: number) => {
    for (let pass = 0; pass < 2; pass++) {
      for (const u of deflate) axpyDot(x, u, n);
      for (let i = 0; i < j; i++) axpyDot(x, Q.subarray(i * n, (i + 1) * n), n);
    }
  };
  // A random unit vector orthogonal to everything so far, or false when none is left.
  const fresh = (into: Float64Array, j: number): boolean => {
    for (let tries = 0; tries < 3; tries++) {
      for (let i = 0; i < n; i++) into[i] = rng.next() - 0.5;
      orthogonalize(into, j);
      const norm = Math.sqrt(dot(into, into, n));
      if (norm > 1e-8) { scale(into, 1 / norm, n); return true; }
    }
    return false;
  };

  let started = false;
  if (opts.start) {
    const q0 = qRow(0);
    q0.set(opts.start.subarray(0, n));
    orthogonalize(q0, 0);
    const norm = Math.sqrt(dot(q0, q0, n));
    if (norm > 1e-8) { scale(q0, 1 / norm, n); started = true; }
  }
  if (!started && !fresh(qRow(0), 0)) return { values: new Float64Array(0), vectors: [], residuals: new Float64Array(0), steps: 0 };
  let steps = 0;
  let ritz: { theta: Float64Array; S: Float64Array; order: Int32Array } | undefined;
  let lastBeta = 0;
  for (let j = 0; j < maxSteps; j++) {
    const q = qRow(j);
    op(q, w);
    const a = dot(q, w, n);
    alpha[j] = a;
    for (let i = 0; i < n; i++) w[i]! -= a * q[i]! + (j > 0 ? beta[j - 1]! * Q[(j - 1) * n + i]! : 0);
    orthogonalize(w, j + 1);
    const b = Math.sqrt(dot(w, w, n));
    steps = j + 1;
    lastBeta = b;
    const done = steps === maxSteps;
    // Convergence check every 10 steps (a tridiagonal QL of size j is cheap beside j n).
    if (done || steps % 10 === 0) {
      ritz = tridiagonalEigen(alpha, beta, steps);
      let maxTheta = 0;
      for (let i = 0; i < steps; i++) maxTheta = Math.max(maxTheta, Math.abs(ritz.theta[i]!));
      let converged = steps >= count;
      for (let c = 0; c < count && converged; c++) {
        const col = ritz.order[c]!;
        if (Math.abs(b * ritz.S[(steps - 1) * steps + col]!) > opts.tol * Math.max(maxTheta, 1e-300)) converged = false;
      }
      if (converged || done) break;
    }
    const next = qRow(j + 1);
    if (b > 1e-10 * Math.max(1, Math.abs(a))) {
      for (let i = 0; i < n; i++) next[i] = w[i]! / b;
      beta[j] = b;
    } else {
      // Invariant subspace found: T decouples (beta 0) and the search goes on elsewhere.
      beta[j] = 0;
      if (!fresh(next, j + 1)) { ritz = tridiagonalEigen(alpha, beta, steps); lastBeta = 0; break; }
    }
  }
  if (!ritz) ritz = tridiagonalEigen(alpha, beta, steps);

  const values = new Float64Array(count), residuals = new Float64Array(count);
  const vectors: Float64Array[] = [];
  for (let c = 0; c < count; c++) {
    const col = ritz.order[c]!;
    values[c] = ritz.theta[col]!;
    residuals[c] = Math.abs(lastBeta * ritz.S[(steps - 1) * steps + col]!);
    const v = new Float64Array(n);
    for (let j = 0; j < steps; j++) {
      const s = ritz.S[j * steps + col]!;
      if (s === 0) continue;
      const off = j * n;
      for (let i = 0; i < n; i++) v[i]! += s * Q[off + i]!;
    }
    vectors.push(v);
  }
  return { values, vectors, residuals, steps };
}

function dot(a: Float64Array, b: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i]! * b[i]!;
  return s;
}

function scale(a: Float64Array, f: number, n: number): void {
  for (let i = 0; i < n; i++) a[i]! *= f;
}

/** x -= (u . x) u for a unit vector u. */
function axpyDot(x: Float64Array, u: Float64Array, n: number): void {
  const c = dot(x, u, n);
  if (c === 0) return;
  for (let i = 0; i < n; i++) x[i]! -= c * u[i]!;
}

/**
 * Eigen-decomposition of the m x m symmetric tridiagonal matrix with diagonal alpha[0..m) and
 * off-diagonal beta[0..m-1) by implicit QL (EISPACK tql2). Returns the eigenvalues theta, the
 * eigenvectors as the columns of S (row-major m x m: S[row * m + col]) and `order`, the columns
 * sorted by eigenvalue, largest first.
 */
export function tridiagonalEigen(alpha: Float64Array, beta: Float64Array, m: number): { theta: Float64Array; S: Float64Array; order: Int32Array } {
  const d = Float64Array.from(alpha.subarray(0, m));
  const e = new Float64Array(m);
  for (let i = 0; i < m - 1; i++) e[i] = beta[i]!;
  const V = new Float64Array(m * m);
  for (let i = 0; i < m; i++) V[i * m + i] = 1;
  const eps = 2 ** -52;
  let f = 0, tst1 = 0;
  for (let l = 0; l < m; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let k = l;
    while (k < m - 1 && Math.abs(e[k]!) > eps * tst1) k++;
    if (k > l) {
      let iter = 0;
      do {
        if (++iter > 60) break; // does not happen for symmetric input; a guard against a NaN loop
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < m; i++) d[i]! -= h;
        f += h;
        p = d[k]!;
        let c = 1, c2 = 1, c3 = 1, s = 0, s2 = 0;
        const el1 = e[l + 1]!;
        for (let i = k - 1; i >= l; i--) {
          c3 = c2; c2 = c; s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          for (let row = 0; row < m; row++) {
            const at = row * m;
            h = V[at + i + 1]!;
            V[at + i + 1] = s * V[at + i]! + c * h;
            V[at + i] = c * V[at + i]! - s * h;
          }
        }
        p = -s * s2 * c3 * el1 * e[l]! / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
  const order = Int32Array.from({ length: m }, (_, i) => i).sort((a, b) => d[b]! - d[a]!);
  return { theta: d, S: V, order };
}
