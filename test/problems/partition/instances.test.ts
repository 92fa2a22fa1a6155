import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SelfoptError } from '../../../src/core/errors.js';
import { findGraphDefect, graphFromEdges } from '../../../src/core/graph.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatMetisGraph, parseMetisGraph, randomGeometricGraph, triangulatedMesh, type PartitionInstance } from '../../../src/problems/partition/instances.js';
import { DataPath } from '../../../src/core/data.js';
import { partitionProblem } from '../../../src/problems/partition/index.js';
import { tempDir } from '../../tmp.js';

/** A 4-cycle 1-2-3-4 with a chord 1-3 (METIS text, 1-based). */
const square = '% a comment\n4 5\n2 3 4\n1 3\n1 2 4\n1 3\n';

function throwsAt(text: string, line: number, pattern: RegExp): void {
  assert.throws(() => parseMetisGraph(text, 'g.graph'), (e: unknown) => {
    assert.ok(e instanceof SelfoptError, String(e));
    assert.match(e.where, new RegExp(`^g\\.graph:${line}$`), e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

test('loader reads plain and weighted METIS graphs; writer round-trips', () => {
  const g = parseMetisGraph(square, 'square');
  assert.equal(g.n, 4);
  assert.deepEqual([...g.xadj], [0, 3, 5, 8, 10]);
  assert.deepEqual([...g.adjncy], [1, 2, 3, 0, 2, 0, 1, 3, 0, 2]);
  assert.equal(findGraphDefect(g), undefined);
  assert.equal(formatMetisGraph(g), '4 5\n2 3 4\n1 3\n1 2 4\n1 3\n');
  const w = parseMetisGraph('3 2 11\n5 2 7\n1 1 7 3 2\n0 2 2\n', 'w');
  assert.deepEqual([...w.vwgt], [5, 1, 0]);
  assert.deepEqual([...w.adjwgt], [7, 7, 2, 2]);
  const again = parseMetisGraph(formatMetisGraph(w), 'again');
  assert.deepEqual(again, w);
  // vertex sizes (fmt 100) are read and skipped; an empty line is an isolated vertex
  const s = parseMetisGraph('3 1 100\n4 2\n4 1\n9\n', 's');
  assert.deepEqual([...s.xadj], [0, 1, 2, 2]);
});

test('every bad input is a SelfoptError naming the line', () => {
  throwsAt('4 6\n2 3 4\n1 3\n1 2 4\n1 3\n', 1, /m = 6 edges but the body lists 10/);
  throwsAt('5 5\n2 3 4\n1 3\n1 2 4\n1 3\n', 5, /only 4 vertex lines/);
  throwsAt('2 1\n2\n1\n1\n', 4, /beyond the 2 vertices/);
  throwsAt('4 5\n2 3 4\n1 3\n1 2 4\n1 2\n', 3, /lists 3 as a neighbour but 3 does not list 4|does not list/);
  throwsAt('% c\n4 5\n2 3 4\n1 3\n1 2 4\n1 4\n', 6, /self-loop/);
  throwsAt('4 5\n2 3 9\n1 3\n1 2 4\n1 3\n', 2, /neighbour 9, out of range/);
  throwsAt('2 1 1\n2 0\n1 0\n', 2, /weight 0/);
  throwsAt('2 1 1\n2 5\n1 6\n', 2, /weight 5 but its reverse has 6/);
  throwsAt('2 1 10\n1073741824 2\n1 1\n', 2, /weight 1073741824/);
  throwsAt('2 1\n2 x\n1\n', 2, /'x' is not a non-negative integer/);
  throwsAt('2 1 2\n2\n1\n', 1, /fmt/);
  throwsAt('2 1 10 2\n1 1 2\n1 1 1\n', 1, /multi-constraint/);
  throwsAt('2 2\n2 2\n1 1\n', 2, /listed twice/);
  // A header n far beyond the file (a typo, a cut file) was allocated before any line was read:
  // 2e9 vertices failed with a bare RangeError "Array buffer allocation failed", or took the memory.
  throwsAt('2000000000 1\n2\n1\n', 1, /n = 2000000000 vertices but only 4 bytes follow/);
});

test('weights whose total passes 2^31 - 1 are refused: coarsening sums them in 32-bit integers', () => {
  // Each weight is in range, but a coarse vertex or edge can carry the whole total: a path of 4
  // vertices with three edges of weight 2^30 - 1 coarsened (Int32Array) wrapped to negative weights,
  // and every multilevel solver cut several times more than on the same graph with unit weights.
  const big = 2 ** 30 - 1;
  throwsAt(`4 3 1\n2 ${big}\n1 ${big} 3 ${big}\n2 ${big} 4 ${big}\n3 ${big}\n`, 4, /total edge weight .* over 2\^31 - 1/);
  throwsAt(`3 2 10\n${big} 2\n${big} 1 3\n${big} 2\n`, 4, /total vertex weight .* over 2\^31 - 1/);
  // a total of exactly 2^31 - 1 is fine
  const g = parseMetisGraph(`3 2 11\n${big} 2 ${big}\n${big} 1 ${big} 3 1\n1 2 1\n`, 'ok');
  assert.equal(g.vwgt[0]! + g.vwgt[1]! + g.vwgt[2]!, 2 ** 31 - 1);
});

test('generators give valid graphs, deterministic per seed', () => {
  const a = randomGeometricGraph(1000, 7), b = randomGeometricGraph(1000, 7);
  assert.equal(findGraphDefect(a), undefined);
  assert.deepEqual(a, b);
  assert.ok(a.adjncy.length / 2 > 2000, `rgg has ${a.adjncy.length / 2} edges`);
  const m = triangulatedMesh(400, 1);
  assert.equal(m.n, 400);
  assert.equal(findGraphDefect(m), undefined);
  assert.equal(m.adjncy.length / 2, 2 * 20 * 19 + 19 * 19);
  assert.deepEqual(graphFromEdges(3, [0, 0], [1, 1]).adjwgt, new Int32Array([2, 2]));
});

test('real 4elt loads through the data path when present', (t) => {
  const data = new DataPath({ cwd: '/work/main' });
  const refs = partitionProblem.listInstances({ data, quick: true });
  const ref = refs.find((r) => r.id === '4elt_k8');
  if (!ref) { t.skip('4elt.graph not on the data path'); return; }
  const inst = partitionProblem.load(ref) as { graph: { n: number; adjncy: Int32Array }; k: number };
  assert.equal(inst.graph.n, 15606);
  assert.equal(inst.graph.adjncy.length / 2, 45878);
  assert.equal(inst.k, 8);
});

test('a graph file of the user\'s is an instance: <path>_k<k>, METIS, or a SNAP edge list when it ends in .txt', () => {
  // It was "unknown instance": only the named real graphs and generated ones could be partitioned.
  const dir = tempDir('selfopt-partition-file-');
  const ctx = { data: new DataPath({ env: {}, cwd: dir }), quick: true };
  const metis = join(dir, 'square.graph');
  writeFileSync(metis, square);
  const ref = partitionProblem.resolveInstance(`${metis}_k2`, ctx);
  assert.equal(ref.id, 'square.graph_k2');
  assert.equal(ref.split, 'test');
  const inst = partitionProblem.load(ref) as PartitionInstance;
  assert.equal(inst.k, 2);
  assert.deepEqual([...inst.graph.adjncy], [1, 2, 3, 0, 2, 0, 1, 3, 0, 2]);
  const snap = join(dir, 'edges.txt');
  writeFileSync(snap, '# u v\n0 1\n1 0\n1 2\n');
  const s = partitionProblem.load(partitionProblem.resolveInstance(`${snap}_k3`, ctx)) as PartitionInstance;
  assert.equal(s.graph.n, 3);
  assert.equal(s.graph.adjncy.length / 2, 2);
  // a bad file is the loader's error, with file:line
  const bad = join(dir, 'bad.graph');
  writeFileSync(bad, '2 1\n2\n\n');
  assert.throws(() => partitionProblem.load(partitionProblem.resolveInstance(`${bad}_k2`, ctx)), /bad\.graph:1/);
  // a path that is no file says so (it was "unknown instance" and a list of every id)
  assert.throws(() => partitionProblem.resolveInstance(join(dir, 'none.graph_k2'), ctx), new RegExp(`no such file '${join(dir, 'none.graph')}' \\(at partition instance\\)`));
  assert.throws(() => partitionProblem.resolveInstance(`${dir}_k2`, ctx), /is a directory, not a file/);
  assert.throws(() => partitionProblem.resolveInstance(metis, ctx), new RegExp(`graph file '${metis}' names no part count .*'${metis}_k8'`));
  assert.throws(() => partitionProblem.resolveInstance('rgg_2x_k2', ctx), /unknown instance 'rgg_2x_k2'/);
});

test('a part count or generated size out of range says so, not "unknown instance" with every id', () => {
  const dir = tempDir('selfopt-partition-range-');
  const ctx = { data: new DataPath({ env: {}, cwd: dir }), quick: true };
  const metis = join(dir, 'square.graph');
  writeFileSync(metis, square);
  const refused = (id: string, message: RegExp) => assert.throws(() => partitionProblem.resolveInstance(id, ctx), (e: unknown) => {
    assert.ok(e instanceof SelfoptError, String(e));
    assert.match(e.message, message);
    assert.doesNotMatch(e.message, /unknown instance/);
    return true;
  }, id);
  refused(`${metis}_k1`, /part count k = 1 in '.*square\.graph_k1' \(at partition instance\); expected k from 2 to 1048576/);
  refused('rgg_2k_k1', /part count k = 1 in 'rgg_2k_k1'.*e\.g\. rgg_2k_k8/);
  refused('rgg_2k_k2000000', /part count k = 2000000/);
  // k02 would be another id for the cells of k2
  refused(`${metis}_k02`, /part count k = 02 .*without leading zeros/);
  refused('rgg_10_k2', /generated graph 'rgg_10' has 10 vertices \(at partition instance\); expected from 16 to 10,000,000 vertices/);
  refused('mesh_20000k_k8', /generated graph 'mesh_20000k' has 20000000 vertices/);
  // a path that is no file, with no part count: the file is missing (it was "unknown instance")
  refused('./none.graph', /no such file '\.\/none\.graph' \(at partition instance\)/);
  assert.equal(partitionProblem.resolveInstance(`${metis}_k3`, ctx).id, 'square.graph_k3');
});

test('an hMETIS hypergraph file is refused as one, not read as a METIS graph', () => {
  // It was read as a .graph and refused for what it is not: "vertex 1 has a self-loop (at x.hgr:3)".
  const dir = tempDir('selfopt-partition-hgr-');
  const ctx = { data: new DataPath({ env: {}, cwd: dir }), quick: true };
  const hgr = join(dir, 'tiny.hgr');
  writeFileSync(hgr, '4 7\n1 2\n1 7 5 6\n5 6 4\n2 3 4\n');
  assert.throws(() => partitionProblem.resolveInstance(`${hgr}_k2`, ctx),
    /tiny\.hgr is an hMETIS hypergraph \(\.hgr\): no solver partitions hypergraphs yet \(at --instances \(problem partition\)\); expected a METIS \.graph file/);
});

test("a user's graph file named as a real or generated graph is refused: its rows would be recorded among theirs", () => {
  // /x/4elt_k8 (the user's own graph in a file named 4elt) was recorded as instance 4elt_k8.
  const dir = tempDir('selfopt-partition-collide-');
  const ctx = { data: new DataPath({ env: {}, cwd: dir }), quick: true };
  for (const [name, taken] of [['4elt', 'real graph'], ['email-Eu-core', 'real graph'], ['rgg_2k', 'generated graph'], ['sbm_100_s7', 'generated graph']]) {
    const path = join(dir, name!);
    writeFileSync(path, square);
    assert.throws(() => partitionProblem.resolveInstance(`${path}_k8`, ctx), (e: unknown) => {
      assert.ok(e instanceof SelfoptError, String(e));
      assert.equal(e.message, `graph file ${path} has the name of the ${taken} ${name} (instance ${name}_k8) (at --instances (problem partition)); expected a graph file whose name is no ${taken}'s (rename it, e.g. my_${name})`);
      return true;
    });
  }
  // its size and content hash are the instance's, so a changed file is another cell config
  const mine = join(dir, 'mine.graph');
  writeFileSync(mine, square);
  const a = partitionProblem.resolveInstance(`${mine}_k2`, ctx);
  assert.equal(a.contents?.startsWith(`${square.length} bytes, sha256 `), true, a.contents);
  writeFileSync(mine, square.replace('% a comment', '% a commenT'));
  assert.notEqual(partitionProblem.resolveInstance(`${mine}_k2`, ctx).contents, a.contents);
});

test("a generated instance's description gives the vertex count its graph has (a mesh is a square grid)", () => {
  // mesh_2k was described as 2000 vertices; its 45 x 45 grid has 2025.
  const ctx = { data: new DataPath({ env: {}, cwd: tempDir('selfopt-partition-desc-') }), quick: true };
  for (const id of ['mesh_2k_k2', 'mesh_50_k2', 'rgg_100_k2', 'compgraph_300_k2']) {
    const ref = partitionProblem.resolveInstance(id, ctx);
    const n = (partitionProblem.load(ref) as PartitionInstance).graph.n;
    assert.match(ref.description ?? '', new RegExp(`, ${n} vertices,`), id);
  }
});
