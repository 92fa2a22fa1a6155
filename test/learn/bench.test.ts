/** The benchmark's METIS reader and its self-checking bench functions, on tiny inputs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { SelfoptError } from '../../src/core/errors.js';
import { parseMetisGraph } from '../../src/learn/metis.js';
import { gcnAdjacency } from '../../src/learn/gnn.js';
import { benchMatmul, benchSpmm, benchGcnStep, benchPpo } from '../../src/learn/bench.js';

test('METIS reader: comments, isolated vertices, edge weights', () => {
  const g = parseMetisGraph('% a triangle and an isolated vertex\n4 3\n2 3\n1 3\n1 2\n\n', 't.graph');
  assert.equal(g.n, 4);
  assert.equal(g.m, 3);
  assert.deepEqual(Array.from(g.adjacency.rowPtr), [0, 2, 4, 6, 6]);
  assert.deepEqual(Array.from(g.adjacency.colIdx), [1, 2, 0, 2, 0, 1]);
  assert.equal(g.adjacency.values, null);
  const w = parseMetisGraph('3 2 011 1\n5 2 7\n1 1 7 3 4\n9 2 4\n', 'w.graph');
  assert.deepEqual(Array.from(w.adjacency.colIdx), [1, 0, 2, 1]);
  assert.deepEqual(Array.from(w.adjacency.values!), [7, 7, 4, 4]);
});

test('METIS reader: malformed files name the file, the line and what was expected', () => {
  const cases: [string, RegExp][] = [
    ['', /no header line \(at x\.graph:1\)/],
    ['3 x\n', /bad header "3 x" \(at x\.graph:1\)/],
    ['2 1\n2\n3\n', /vertex 2 lists neighbour "3" \(at x\.graph:3\); expected neighbour ids in 1\.\.2/],
    ['3 1\n2\n', /only 1 vertex lines/],
    ['2 2\n2\n1\n', /hold 2 entries but the header declares 2 edges/],
    ['1 0\n\n5\n', /more vertex lines than the 1 the header declares \(at x\.graph:3\)/],
    ['2 1 1\n2\n1 1\n', /vertex 1 has 1 numbers \(at x\.graph:2\)/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseMetisGraph(text, 'x.graph'), (e: unknown) => e instanceof SelfoptError && re.test(e.message + ` (at ${e.where})`), `${JSON.stringify(text)}`);
  }
});

test('bench functions check their answers and return positive rates', () => {
  const rng = new Rng(1);
  const mm = benchMatmul(17, 'float32', 3, rng);
  assert.ok(mm.wall > 0 && mm.cpu > 0);
  const ring = parseMetisGraph('5 5\n2 5\n1 3\n2 4\n3 5\n4 1\n', 'ring');
  const ahat = gcnAdjacency(ring.adjacency);
  assert.ok(benchSpmm(ahat, 8, 3, rng).wall > 0);
  assert.ok(benchGcnStep(ahat, { input: 4, hidden: 6, classes: 3 }, 3, rng).wallMs > 0);
});

test('benchPpo checks its updates and returns positive rates', async () => {
  const r = await benchPpo({ workers: 0, updates: 2, warmup: 1, numEnvs: 2, numSteps: 16, hidden: [8] });
  assert.ok(r.stepsPerSec > 0 && r.cpuStepsPerSec > 0);
});
