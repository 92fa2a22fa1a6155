import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { triangulatedMesh, randomGeometricGraph, type PartitionInstance } from '../../../src/problems/partition/instances.js';
import { balance, edgeCut, evaluatePartition } from '../../../src/problems/partition/evaluate.js';
import { graphGrowingPartition, randomPartition } from '../../../src/problems/partition/heuristics.js';
import { multilevelBisection, multilevelPartition } from '../../../src/problems/partition/multilevel.js';
import { Fm } from '../../../src/problems/partition/fm.js';
import { findGpmetis, gpmetisSolver } from '../../../src/problems/partition/gpmetis.js';

const mesh = triangulatedMesh(2500, 3);

test('multilevel on a generated mesh: balance <= 1.03 and a cut far below random', () => {
  for (const k of [2, 3, 8, 13]) {
    const p = multilevelPartition(mesh, k, new Rng(1));
    const r = randomPartition(mesh, k, new Rng(1));
    assert.ok(balance(mesh, k, p) <= 1.03, `k=${k} balance ${balance(mesh, k, p)}`);
    assert.ok(edgeCut(mesh, p) < 0.1 * edgeCut(mesh, r), `k=${k} cut ${edgeCut(mesh, p)} vs random ${edgeCut(mesh, r)}`);
    assert.equal(new Set(p).size, k);
  }
  // a 50 x 50 triangulated grid bisects with about 50-100 cut edges
  assert.ok(edgeCut(mesh, multilevelPartition(mesh, 2, new Rng(2))) <= 110);
});

test('FM never worsens a balanced bisection', () => {
  const g = randomGeometricGraph(1500, 5);
  const fm = new Fm(g.n);
  for (let s = 0; s < 5; s++) {
    const where = randomPartition(g, 2, new Rng(s));
    const before = edgeCut(g, where);
    const targets = [g.n / 2, g.n / 2] as const, maxw = [1.03 * g.n / 2, 1.03 * g.n / 2] as const;
    const { cut, excess } = fm.refine(g, where, targets, maxw, 10, new Rng(s));
    assert.equal(cut, edgeCut(g, where));
    assert.ok(cut <= before, `${cut} > ${before}`);
    assert.equal(excess, 0);
    // refining an already refined bisection keeps its cut or lowers it
    const again = fm.refine(g, where, targets, maxw, 10, new Rng(s + 100)).cut;
    assert.ok(again <= cut);
  }
});

test('uneven bisection targets (non-power-of-2 k) are met', () => {
  const where = multilevelBisection(mesh, 1 / 3, 1.01, new Rng(4));
  let w0 = 0;
  for (let v = 0; v < mesh.n; v++) if (where[v] === 0) w0++;
  assert.ok(w0 <= 1.01 * mesh.n / 3 && w0 >= mesh.n / 3 - 0.02 * mesh.n, `side 0 has ${w0} of ${mesh.n}`);
});

test('deterministic per seed', () => {
  assert.deepEqual(multilevelPartition(mesh, 8, new Rng(9)), multilevelPartition(mesh, 8, new Rng(9)));
  assert.deepEqual(graphGrowingPartition(mesh, 8, new Rng(9)), graphGrowingPartition(mesh, 8, new Rng(9)));
  assert.deepEqual(randomPartition(mesh, 8, new Rng(9)), randomPartition(mesh, 8, new Rng(9)));
  assert.notDeepEqual(multilevelPartition(mesh, 8, new Rng(9)), multilevelPartition(mesh, 8, new Rng(10)));
});

test('graph growing gives k nonempty parts, balanced for unit weights', () => {
  const p = graphGrowingPartition(mesh, 7, new Rng(1));
  assert.equal(new Set(p).size, 7);
  assert.ok(balance(mesh, 7, p) < 1.01);
});

test('gpmetis peer returns a valid partition', async (t) => {
  if (!findGpmetis()) { t.skip('gpmetis not installed'); return; }
  const inst: PartitionInstance = { id: 'mesh_2500_k4', name: 'mesh_2500', graph: mesh, k: 4 };
  const part = await gpmetisSolver.solve(inst, { seed: 1, rng: new Rng(1), quick: true, options: {} });
  const m = evaluatePartition(inst, part, { solveMs: 0 });
  assert.ok(m.balance! <= 1.031, `balance ${m.balance}`);
  assert.ok(m.edge_cut! < 400, `cut ${m.edge_cut}`);
});
