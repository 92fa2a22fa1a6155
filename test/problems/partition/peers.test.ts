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
