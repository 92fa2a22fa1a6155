import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { graphFromEdges } from '../../../src/core/graph.js';
import { triangulatedMesh, type PartitionInstance } from '../../../src/problems/partition/instances.js';
import { evaluatePartition } from '../../../src/problems/partition/evaluate.js';
import { findScotch, formatScotchGraph, parseScotchMapping, scotchListed, scotchSolver } from '../../../src/problems/partition/scotch.js';
import { gpmetisListed, gpmetisSolver } from '../../../src/problems/partition/gpmetis.js';
import { SelfoptError } from '../../../src/core/errors.js';
import { partitionProblem } from '../../../src/problems/partition/index.js';
import { graphFileHasNoEdges } from '../../../src/problems/partition/instances.js';
import { planGrid, runBench } from '../../../src/bench/runner.js';
import { ResultsStore } from '../../../src/bench/store.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchOptions } from '../../bench/fixtures.js';
import { tempDir } from '../../tmp.js';

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

test('a peer that exits 0 but writes no answer file is one SelfoptError, not a raw ENOENT', async (t) => {
  // /bin/true as the tool: it was "Error: ENOENT: no such file or directory, open .../g.map" and a stack trace, exit 1.
  if (process.platform === 'win32') { t.skip('no /bin/true'); return; }
  const inst: PartitionInstance = { id: 'mesh_100_k2', name: 'mesh_100', graph: triangulatedMesh(100, 3), k: 2 };
  const ctx = { seed: 1, rng: new Rng(1), quick: true, options: {} };
  const saved = { scotch: process.env.SELFOPT_SCOTCH, gpmetis: process.env.SELFOPT_GPMETIS };
  process.env.SELFOPT_SCOTCH = '/bin/true';
  process.env.SELFOPT_GPMETIS = '/bin/true';
  try {
    for (const [solver, message] of [[scotchSolver, /scotch_gpart \(\/bin\/true\) exited 0 but wrote no g\.map/], [gpmetisSolver, /gpmetis \(\/bin\/true\) exited 0 but wrote no g\.graph\.part\.2/]] as const) {
      await assert.rejects(async () => solver.solve(inst, ctx), (e: unknown) => {
        assert.ok(e instanceof SelfoptError, String(e));
        assert.match(e.message, message);
        assert.match(e.message, /\(at (scotch|gpmetis) on mesh_100_k2\)/);
        return true;
      });
    }
  } finally {
    for (const [name, v] of [['SELFOPT_SCOTCH', saved.scotch], ['SELFOPT_GPMETIS', saved.gpmetis]] as const) {
      if (v === undefined) delete process.env[name]; else process.env[name] = v;
    }
  }
});

test('a peer path in $SELFOPT_GPMETIS or $SELFOPT_SCOTCH that is no executable is named in the error, the peer still listed', async () => {
  // It left the peer out of the solver list: "unknown solver 'gpmetis'", the variable unnamed.
  const inst: PartitionInstance = { id: 'mesh_100_k2', name: 'mesh_100', graph: triangulatedMesh(100, 3), k: 2 };
  const ctx = { seed: 1, rng: new Rng(1), quick: true, options: {} };
  const saved = { scotch: process.env.SELFOPT_SCOTCH, gpmetis: process.env.SELFOPT_GPMETIS };
  process.env.SELFOPT_SCOTCH = '/nope/scotch_gpart';
  process.env.SELFOPT_GPMETIS = '/nope/gpmetis';
  try {
    assert.equal(gpmetisListed(), true);
    assert.equal(scotchListed(), true);
    await assert.rejects(async () => gpmetisSolver.solve(inst, ctx), /\$SELFOPT_GPMETIS is '\/nope\/gpmetis', which is not an executable file \(at solver gpmetis\); expected the path of METIS's gpmetis, or \$SELFOPT_GPMETIS unset/);
    await assert.rejects(async () => scotchSolver.solve(inst, ctx), /\$SELFOPT_SCOTCH is '\/nope\/scotch_gpart', which is not an executable file \(at solver scotch\)/);
  } finally {
    for (const [name, v] of [['SELFOPT_SCOTCH', saved.scotch], ['SELFOPT_GPMETIS', saved.gpmetis]] as const) {
      if (v === undefined) delete process.env[name]; else process.env[name] = v;
    }
  }
});

test("gpmetis is no peer for a graph without edges: a user's such file leaves its gpmetis cells out, said once, and the run and --resume finish", async (t) => {
  // gpmetis 5.1 refuses it ("nvtxs:6 and nedges:0 must be positive"): a default bench on such a
  // file stopped at its gpmetis cell, and --resume stopped there again.
  const dir = tempDir('selfopt-edgeless-');
  const files = {
    metis: join(dir, 'isolated.graph'), snap: join(dir, 'loops.txt'), edges: join(dir, 'path.graph'),
    snapEdges: join(dir, 'edge.txt'), bad: join(dir, 'bad.graph'),
  };
  writeFileSync(files.metis, '% six isolated vertices\n\n6 0\n\n\n\n\n\n\n');
  writeFileSync(files.snap, '# only self-loops\n0 0\r\n1 1\n2 2\n');
  writeFileSync(files.edges, '3 2\n2\n1 3\n2\n');
  writeFileSync(files.snapEdges, '# one edge after a self-loop\n1 1\n1 2\n');
  writeFileSync(files.bad, 'x y\n');
  assert.equal(graphFileHasNoEdges(files.metis, 'metis'), true);
  assert.equal(graphFileHasNoEdges(files.snap, 'snap'), true);
  assert.equal(graphFileHasNoEdges(files.edges, 'metis'), false);
  assert.equal(graphFileHasNoEdges(files.snapEdges, 'snap'), false);
  assert.equal(graphFileHasNoEdges(files.bad, 'metis'), false, "a malformed file is the loader's to describe");
  // A graph the grid could not check is refused by the solver in words, before any process runs.
  const ctx = { seed: 1, rng: new Rng(1), quick: true, options: {} };
  const isolated: PartitionInstance = { id: 'isolated_k2', name: 'isolated', graph: graphFromEdges(6, [], []), k: 2 };
  await assert.rejects(async () => gpmetisSolver.solve(isolated, ctx), /^SelfoptError: graph isolated_k2 has no edges \(at solver gpmetis\); expected a graph with at least one edge/);

  if (!partitionProblem.solvers.includes(gpmetisSolver)) { t.skip('gpmetis not installed'); return; }
  const opts = benchOptions({ problems: ['partition'], instances: [`${files.metis}_k2`, `${files.snap}_k2`, `${files.edges}_k2`], solvers: ['multilevel', 'gpmetis'], seeds: 1 });
  const plan = planGrid(opts)[0]!;
  assert.deepEqual(plan.cells.map((c) => `${c.instance.id} ${c.solver}`),
    ['isolated.graph_k2 multilevel', 'loops.txt_k2 multilevel', 'path.graph_k2 multilevel', 'path.graph_k2 gpmetis']);
  assert.deepEqual(plan.leftOut, [{ solver: 'gpmetis', instances: ['isolated.graph_k2', 'loops.txt_k2'] }]);
  const store = await ResultsStore.open(join(dir, 'r.duckdb'));
  const writes: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const first = await runBench(opts, store);
    assert.deepEqual([first.total, first.ran], [4, 4]);
    const resumed = await runBench({ ...opts, resume: true }, store);
    assert.deepEqual([resumed.runId, resumed.ran, resumed.skipped], [first.runId, 0, 4]);
  } finally {
    process.stderr.write = write;
    await store.close();
  }
  const notes = writes.filter((w) => w.includes('does not apply'));
  assert.equal(notes.length, 2, 'once per run');
  assert.match(notes[0]!, /^selfopt: note: solver partition\/gpmetis does not apply to instances isolated\.graph_k2, loops\.txt_k2: no cells there \(.*graphs with edges only/);
});
