import { test } from 'node:test';
import assert from 'node:assert/strict';
import { graphFromEdges } from '../../../src/core/graph.js';
import { Rng } from '../../../src/core/rng.js';
import { evaluatePartition } from '../../../src/problems/partition/evaluate.js';
import { heuristicSolvers } from '../../../src/problems/partition/heuristics.js';
import { generateGraph, parseGeneratedName } from '../../../src/problems/partition/instances.js';
import { partitionMatrix } from '../../../src/problems/partition/picture.js';
import { partitionProblem } from '../../../src/problems/partition/index.js';

// Two triangles {0,1,2} and {3,4,5} joined by edge 2-3 of weight 2; vertex 5 weighs 3.
const g = graphFromEdges(6, [0, 1, 0, 3, 4, 3, 2], [1, 2, 2, 4, 5, 5, 3], [1, 1, 1, 1, 1, 1, 2], new Int32Array([1, 1, 1, 1, 1, 3]));

const sum = (a: Float64Array) => a.reduce((s, x) => s + x, 0);

test('the partition matrix orders vertices by part, then id, and puts each edge in its cell, cut or not', () => {
  // Part 0 holds 0 and 2 (ranks 0, 1), part 1 holds 1, 3, 4, 5 (ranks 2..5): one cell per rank.
  const a = partitionMatrix(g, 2, new Int32Array([0, 1, 0, 1, 1, 1]));
  assert.equal(a.cells, 6);
  assert.deepEqual(Array.from(a.partStart), [0, 2, 6]);
  assert.deepEqual(Array.from(a.partWeight), [2, 6]);
  const cell = (m: Float64Array, r: number, c: number) => m[r * 6 + c];
  const expectInternal = new Map([['0,1', 1], ['3,4', 1], ['3,5', 1], ['4,5', 1]]);
  const expectCut = new Map([['0,2', 1], ['1,2', 1], ['1,3', 2]]);
  for (let r = 0; r < 6; r++) {
    for (let c = 0; c < 6; c++) {
      const key = `${Math.min(r, c)},${Math.max(r, c)}`;
      assert.equal(cell(a.internal, r, c), expectInternal.get(key) ?? 0, `internal ${r},${c}`);
      assert.equal(cell(a.cut, r, c), expectCut.get(key) ?? 0, `cut ${r},${c}`);
    }
  }
  // Fewer cells than vertices: ranks share cells, the weights stay.
  const b = partitionMatrix(g, 2, new Int32Array([0, 1, 0, 1, 1, 1]), 4);
  assert.equal(b.cells, 4);
  assert.equal(sum(b.cut), 2 * 4);
  assert.equal(sum(b.internal), 2 * 4);
});

test('the matrix accounts for every edge of a generated graph: its red weight is twice the evaluator\'s edge cut', async () => {
  const { graph } = generateGraph(parseGeneratedName('mesh_1k')!);
  const k = 8;
  for (const solver of heuristicSolvers.filter((s) => ['random', 'multilevel'].includes(s.info.name))) {
    const part = await solver.solve({ id: 'mesh_1k_k8', name: 'mesh_1k', graph, k }, { seed: 1, rng: new Rng(1), quick: true, options: {} });
    const m = evaluatePartition({ id: 'mesh_1k_k8', name: 'mesh_1k', graph, k }, part, { solveMs: 0 });
    const a = partitionMatrix(graph, k, part);
    assert.equal(sum(a.cut), 2 * m.edge_cut!, solver.info.name);
    assert.equal(sum(a.cut) + sum(a.internal), graph.adjwgt.reduce((s, w) => s + w, 0));
    for (let r = 0; r < a.cells; r++) for (let c = 0; c < r; c++) assert.equal(a.cut[r * a.cells + c], a.cut[c * a.cells + r]);
    assert.equal(Math.max(...a.partWeight) / (sum(a.partWeight) / k), m.balance);
  }
});

test('the partition problem draws a solution with the evaluator\'s figures', async () => {
  const { graph } = generateGraph(parseGeneratedName('mesh_1k')!);
  const inst = { id: 'mesh_1k_k8', name: 'mesh_1k', graph, k: 8 };
  const pictures = new Map<string, string>();
  for (const solver of heuristicSolvers.filter((s) => ['random', 'multilevel'].includes(s.info.name))) {
    const part = await solver.solve(inst, { seed: 1, rng: new Rng(1), quick: true, options: {} });
    const m = evaluatePartition(inst, part, { solveMs: 0 });
    const svg = partitionProblem.picture!(inst, part, `mesh_1k_k8 · ${solver.info.name} · seed 1`)!;
    assert.match(svg, /^<svg[\s\S]*<\/svg>\s*$/);
    assert.match(svg, new RegExp(`edge cut ${m.edge_cut!.toLocaleString('en-US')} \\(.*\\) · balance ${m.balance!.toFixed(3)} · normalized cut ${m.normalized_cut!.toFixed(3)}`));
    // Cells are grouped by shade: at most 8 paths a colour, whatever the graph's size.
    assert.ok((svg.match(/stroke="#dc2626" stroke-width/g) ?? []).length <= 8);
    pictures.set(solver.info.name, svg);
  }
  // A random partition cuts most edges, so far more of its cells are red.
  const redCells = (svg: string) => [...svg.matchAll(/<path d="([^"]*)" fill="none" stroke="#dc2626" stroke-width="(\d+)"/g)]
    .reduce((s, x) => s + [...x[1]!.matchAll(/h(\d+)/g)].reduce((t, h) => t + Number(h[1]) / Number(x[2]), 0), 0);
  assert.ok(redCells(pictures.get('random')!) > 3 * redCells(pictures.get('multilevel')!));
});
