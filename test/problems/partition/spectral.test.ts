import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { graphFromEdges, weightedDegrees, type CsrGraph } from '../../../src/core/graph.js';
import { randomGeometricGraph, triangulatedMesh } from '../../../src/problems/partition/instances.js';
import { balance, edgeCut } from '../../../src/problems/partition/evaluate.js';
import { randomPartition } from '../../../src/problems/partition/heuristics.js';
import { lanczosLargest, tridiagonalEigen } from '../../../src/problems/partition/lanczos.js';
import { DEFAULT_SPECTRAL, laplacianEigenpairs, spectralBisection, spectralPartition } from '../../../src/problems/partition/spectral.js';

/** Dense reference: cyclic Jacobi rotations on a symmetric matrix; returns its eigenvalues ascending. */
function jacobiEigenvalues(a: Float64Array[], sweeps = 100): number[] {
  const n = a.length;
  const m = a.map((r) => Float64Array.from(r));
  for (let s = 0; s < sweeps; s++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p]![q]! ** 2;
    if (off < 1e-24) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(m[p]![q]!) < 1e-300) continue;
        const theta = (m[q]![q]! - m[p]![p]!) / (2 * m[p]![q]!);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), sn = t * c;
        for (let k = 0; k < n; k++) {
          const akp = m[k]![p]!, akq = m[k]![q]!;
          m[k]![p] = c * akp - sn * akq; m[k]![q] = sn * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p]![k]!, aqk = m[q]![k]!;
          m[p]![k] = c * apk - sn * aqk; m[q]![k] = sn * apk + c * aqk;
        }
      }
    }
  }
  return m.map((r, i) => r[i]!).sort((x, y) => x - y);
}

function denseNormalizedLaplacian(g: CsrGraph): Float64Array[] {
  const d = weightedDegrees(g);
  const L = Array.from({ length: g.n }, (_, i) => { const r = new Float64Array(g.n); r[i] = 1; return r; });
  for (let v = 0; v < g.n; v++) for (let e = g.xadj[v]!; e < g.xadj[v + 1]!; e++) L[v]![g.adjncy[e]!]! -= g.adjwgt[e]! / Math.sqrt(d[v]! * d[g.adjncy[e]!]!);
  return L;
}

function applyDense(L: Float64Array[], x: Float64Array): Float64Array {
  return Float64Array.from(L, (row) => row.reduce((s, a, j) => s + a * x[j]!, 0));
}

test('tridiagonal QL: eigenpairs of the 1-2-1 matrix are the known cosines', () => {
  const m = 12;
  const { theta, S, order } = tridiagonalEigen(new Float64Array(m).fill(2), new Float64Array(m - 1).fill(-1), m);
  const want = Array.from({ length: m }, (_, j) => 2 - 2 * Math.cos(((j + 1) * Math.PI) / (m + 1))).sort((a, b) => b - a);
  for (let c = 0; c < m; c++) assert.ok(Math.abs(theta[order[c]!]! - want[c]!) < 1e-12);
  // columns of S are orthonormal
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) {
    let s = 0;
    for (let r = 0; r < m; r++) s += S[r * m + a]! * S[r * m + b]!;
    assert.ok(Math.abs(s - (a === b ? 1 : 0)) < 1e-12);
  }
});

test('Lanczos: Laplacian eigenpairs match a dense reference, with small residuals', () => {
  // a small irregular weighted graph: a random geometric graph with weights 1..3
  const base = randomGeometricGraph(40, 7, 0.3);
  const rng = new Rng(3);
  const us: number[] = [], vs: number[] = [], ws: number[] = [];
  for (let v = 0; v < base.n; v++) for (let e = base.xadj[v]!; e < base.xadj[v + 1]!; e++) if (base.adjncy[e]! > v) { us.push(v); vs.push(base.adjncy[e]!); ws.push(1 + rng.int(3)); }
  const g = graphFromEdges(base.n, us, vs, ws);
  const L = denseNormalizedLaplacian(g);
  const ref = jacobiEigenvalues(L);
  const zeros = ref.filter((x) => x < 1e-9).length; // one per connected component
  const r = laplacianEigenpairs(g, 5, 'normalized', new Rng(1), 200, 1e-10);
  for (let i = 0; i < 5; i++) {
    // the deflated trivial vector removes one zero eigenvalue; the rest follow in order
    assert.ok(Math.abs(r.values[i]! - ref[i + 1]!) < 1e-8, `eigenvalue ${i}: ${r.values[i]} vs ${ref[i + 1]} (zeros ${zeros})`);
    const Lv = applyDense(L, r.vectors[i]!);
    let res = 0;
    for (let j = 0; j < g.n; j++) res += (Lv[j]! - r.values[i]! * r.vectors[i]![j]!) ** 2;
    assert.ok(Math.sqrt(res) < 1e-7, `residual ${Math.sqrt(res)}`);
  }
});

test('Lanczos finds a diagonal operator\'s largest eigenvalues through breakdowns (block structure)', () => {
  const n = 30;
  const diag = Float64Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 5 : i / n));
  const r = lanczosLargest(n, (x, y) => { for (let i = 0; i < n; i++) y[i] = diag[i]! * x[i]!; }, 3, new Rng(2), { maxSteps: n, tol: 1e-12 });
  // 5 has multiplicity 10: Lanczos sees one copy per Krylov space, then the next distinct values
  assert.ok(Math.abs(r.values[0]! - 5) < 1e-10);
  for (const res of r.residuals) assert.ok(res < 1e-8);
});

test('spectral bisection of two cliques joined by one edge cuts exactly that edge', () => {
  const us: number[] = [], vs: number[] = [];
  for (const off of [0, 10]) for (let i = 0; i < 10; i++) for (let j = i + 1; j < 10; j++) { us.push(off + i); vs.push(off + j); }
  us.push(3); vs.push(14);
  const g = graphFromEdges(20, us, vs);
  for (const laplacian of ['normalized', 'combinatorial'] as const) {
    const where = spectralBisection(g, 0.5, new Rng(5), { ...DEFAULT_SPECTRAL, laplacian }, 1.03);
    assert.equal(edgeCut(g, where), 1, laplacian);
    assert.notEqual(where[3], where[14]);
    for (let i = 1; i < 10; i++) assert.equal(where[i], where[0]);
  }
});

test('recursive spectral partitioning: balance <= 1.03 and a cut far below random, with and without FM', () => {
  for (const g of [triangulatedMesh(2500, 3), randomGeometricGraph(3000, 4)]) {
    for (const k of [2, 5, 16]) {
      const plain = spectralPartition(g, k, new Rng(1));
      const fm = spectralPartition(g, k, new Rng(1), { ...DEFAULT_SPECTRAL, fmPasses: 10 });
      const rand = edgeCut(g, randomPartition(g, k, new Rng(1)));
      for (const p of [plain, fm]) {
        assert.ok(balance(g, k, p) <= 1.03, `k=${k} balance ${balance(g, k, p)}`);
        assert.equal(new Set(p).size, k);
        assert.ok(edgeCut(g, p) < 0.15 * rand, `k=${k} cut ${edgeCut(g, p)} vs random ${rand}`);
      }
      if (k === 2) assert.ok(edgeCut(g, fm) <= edgeCut(g, plain), `FM post-step raised the cut: ${edgeCut(g, fm)} > ${edgeCut(g, plain)}`);
    }
  }
});
