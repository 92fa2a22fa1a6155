import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SelfoptError } from '../../../src/core/errors.js';
import { graphFromEdges } from '../../../src/core/graph.js';
import { evaluatePartition } from '../../../src/problems/partition/evaluate.js';

// Two triangles {0,1,2} and {3,4,5} joined by edge 2-3 of weight 2; vertex 5 weighs 3.
const g = graphFromEdges(6, [0, 1, 0, 3, 4, 3, 2], [1, 2, 2, 4, 5, 5, 3], [1, 1, 1, 1, 1, 1, 2], new Int32Array([1, 1, 1, 1, 1, 3]));
const inst = { id: 'two_triangles_k2', name: 'two_triangles', graph: g, k: 2 };

test('metrics on a hand-made graph', () => {
  const m = evaluatePartition(inst, new Int32Array([0, 0, 0, 1, 1, 1]), { solveMs: 4 });
  assert.equal(m.edge_cut, 2);
  // weights 3 and 5, average 4
  assert.equal(m.balance, 5 / 4);
  // vol(0) = 2+2+4 = 8, vol(1) = 4+2+2 = 8; ncut = 2/8 + 2/8
  assert.equal(m.normalized_cut, 0.5);
  assert.equal(m.partition_ms, 4);
  const one = evaluatePartition(inst, new Int32Array([0, 1, 0, 1, 1, 1]), { solveMs: 0 });
  // cut edges 0-1, 1-2, 2-3(2): 4; vol(0) = 2 + 4 = 6, vol(1) = 2 + 8 = 10
  assert.equal(one.edge_cut, 4);
  assert.ok(Math.abs(one.normalized_cut - (4 / 6 + 4 / 10)) < 1e-12);
});

test('invalid solutions are refused with a clear error', () => {
  assert.throws(() => evaluatePartition(inst, new Int32Array(5), { solveMs: 0 }), (e: unknown) => e instanceof SelfoptError && /5 entries/.test(e.message));
  assert.throws(() => evaluatePartition(inst, new Int32Array([0, 0, 0, 1, 1, 2]), { solveMs: 0 }), (e: unknown) => e instanceof SelfoptError && /vertex 5 .* part 2/.test(e.message));
  assert.throws(() => evaluatePartition(inst, [0, 0, 0, 1, 1, 1], { solveMs: 0 }), SelfoptError);
});
