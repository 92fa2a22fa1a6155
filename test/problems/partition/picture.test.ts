import { test } from 'node:test';
import assert from 'node:assert/strict';
import { graphFromEdges } from '../../../src/core/graph.js';
import { Rng } from '../../../src/core/rng.js';
import { evaluatePartition } from '../../../src/problems/partition/evaluate.js';
import { heuristicSolvers } from '../../../src/problems/partition/heuristics.js';
import { generateGraph, parseGeneratedName, type PartitionInstance } from '../../../src/problems/partition/instances.js';
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
    pictures.set(solver.info.name, svg);
  }
  // A random partition cuts most edges, so far more of its cells are red.
  const redCells = (svg: string) => [...svg.matchAll(/<path d="([^"]*)" fill="none" stroke="#dc2626" stroke-width="(\d+)"/g)]
    .reduce((s, x) => s + [...x[1]!.matchAll(/h(\d+)/g)].reduce((t, h) => t + Number(h[1]) / Number(x[2]), 0), 0);
  assert.ok(redCells(pictures.get('random')!) > 3 * redCells(pictures.get('multilevel')!));
});

test('the partition picture of degenerate cases: one vertex, one part, no edges, every vertex in one of 8 parts', () => {
  const one = graphFromEdges(1, [], [], [], new Int32Array([1]));
  const four = graphFromEdges(4, [0, 1, 2], [1, 2, 3], [1, 1, 1], new Int32Array([1, 1, 1, 1]));
  const cases: [string, PartitionInstance, Int32Array][] = [
    ['one vertex, k = 1', { id: 'a', name: 'a', graph: one, k: 1 }, new Int32Array([0])],
    ['no edges, k = 2', { id: 'b', name: 'b', graph: graphFromEdges(3, [], [], [], new Int32Array([1, 1, 1])), k: 2 }, new Int32Array([0, 1, 0])],
    ['all in part 0 of 8', { id: 'c', name: 'c', graph: four, k: 8 }, new Int32Array(4)],
  ];
  for (const [what, inst, part] of cases) {
    const svg = partitionProblem.picture!(inst, part, what)!;
    assert.match(svg, /^<svg[\s\S]*<\/svg>\s*$/, what);
    assert.doesNotMatch(svg, /NaN|Infinity|undefined/, what);
    // Every tick of the part-weight axis is a weight ratio: never below 0.
    const ticks = [...svg.matchAll(/text-anchor="(?:start|middle|end)" fill="[^"]*">([^<]*)</g)].map((m) => Number(m[1]));
    assert.ok(ticks.length >= 3 && ticks.every((t) => t >= 0), `${what}: ticks ${ticks}`);
  }
  const lopsided = partitionProblem.picture!(cases[2]![1], cases[2]![2], 'x')!;
  assert.match(lopsided, /4 vertices in 4 × 4 cells; shade: edge weight in a cell, log scale · 7 empty parts/);
  assert.match(lopsided, /balance 8\.000/);
  assert.match(partitionProblem.picture!(cases[0]![1], cases[0]![2], 'x')!, /1 vertex, 0 edges, k = 1/);
});
