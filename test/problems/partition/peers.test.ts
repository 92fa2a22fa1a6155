import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { graphFromEdges } from '../../../src/core/graph.js';
import { triangulatedMesh, type PartitionInstance } from '../../../src/problems/partition/instances.js';
import { evaluatePartition } from '../../../src/problems/partition/evaluate.js';
import { findScotch, formatScotchGraph, parseScotchMapping, scotchSolver } from '../../../src/problems/partition/scotch.js';
import { partitionProblem } from '../../../src/problems/partition/index.js';

test('Scotch graph format: header, flags, weight before each neighbour', () => {
  // path 0-1-2 with edge weights 3 and 1, vertex 2 weighing 5
  const g = graphFromEdges(3, [0, 1], [1, 2], [3, 1]);
  const w = { ...g, vwgt: Int32Array.from([1, 1, 5]) };
  assert.equal(formatScotchGraph(w), '0\n3\t4\n0\t011\n1\t1\t3\t1\n1\t2\t3\t0\t1\t2\n5\t1\t1\t1\n');
  assert.equal(formatScotchGraph(graphFromEdges(3, [0, 1], [1, 2])), '0\n3\t4\n0\t000\n1\t1\n2\t0\t2\n1\t1\n');
});

test('Scotch mapping parser: reads any vertex order, refuses a bad mapping with its line', () => {
  assert.deepEqual(parseScotchMapping('3\n2\t1\n0\t0\n1\t1\n', 3, 2, 'm'), Int32Array.from([0, 1, 1]));
  assert.throws(() => parseScotchMapping('3\n0 0\n1 2\n2 0\n', 3, 2, 'm'), /line 3 is '1 2'/);
  assert.throws(() => parseScotchMapping('3\n0 0\n0 1\n2 0\n', 3, 2, 'm'), /line 3/);
  assert.throws(() => parseScotchMapping('2\n0 0\n1 1\n', 3, 2, 'm'), /count '2'/);
});

test('scotch peer partitions a mesh (listed only when installed)', async (t) => {
  const listed = partitionProblem.solvers.some((s) => s.info.name === 'scotch');
  assert.equal(listed, findScotch() !== undefined);
  if (!findScotch()) { t.skip('scotch not installed (apt-get install scotch)'); return; }
  const inst: PartitionInstance = { id: 'mesh_2500_k4', name: 'mesh_2500', graph: triangulatedMesh(2500, 3), k: 4 };
  const part = await scotchSolver.solve(inst, { seed: 1, rng: new Rng(1), quick: true, options: {} });
  const m = evaluatePartition(inst, part, { solveMs: 0 });
  assert.equal(new Set(part).size, 4);
  assert.ok(m.balance! <= 1.05, `balance ${m.balance}`);
  assert.ok(m.edge_cut! < 400, `cut ${m.edge_cut}`);
});
