import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { triangulatedMesh, randomGeometricGraph } from '../../../src/problems/partition/instances.js';
import { balance, edgeCut } from '../../../src/problems/partition/evaluate.js';
import { randomPartition } from '../../../src/problems/partition/heuristics.js';
import { GAP_DEFAULTS, GapNet, evaluateGapLoss, gapLoss, gapPartition, loadGap, prepareGraph, trainGap } from '../../../src/problems/partition/gap.js';
import { noGrad, tensor } from '../../../src/learn/index.js';

test('GAP loss: expected normalized cut equals the normalized cut for a hard assignment', () => {
  const g = triangulatedMesh(100, 1);
  const gg = prepareGraph(g, new Rng(1));
  const part = randomPartition(g, 2, new Rng(2));
  const Y = new Float32Array(2 * g.n);
  for (let v = 0; v < g.n; v++) Y[2 * v + part[v]!] = 1;
  const { ncut, balance: bal } = noGrad(() => gapLoss(gg, tensor(Y, [g.n, 2]), 0.5, 1));
  // sum over parts of cut(part) / vol(part), computed directly
  const cut = [0, 0], vol = [0, 0];
  for (let v = 0; v < g.n; v++) for (let e = g.xadj[v]!; e < g.xadj[v + 1]!; e++) { vol[part[v]!]! += 1; if (part[g.adjncy[e]!] !== part[v]) cut[part[v]!]! += 1; }
  assert.ok(Math.abs(ncut.data[0]! - (cut[0]! / vol[0]! + cut[1]! / vol[1]!)) < 1e-4);
  assert.ok(bal.data[0]! < 1e-9); // round-robin halves are exact
});

test('a few seconds of GAP training lower the expected normalized cut on unseen graphs, balance kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'selfopt-gap-test-'));
  try {
    const cfg = { ...GAP_DEFAULTS, hidden: 16, graphsPerFamily: 2, minVertices: 150, maxVertices: 300 };
    const unseen = [triangulatedMesh(400, 42), randomGeometricGraph(400, 42)].map((g) => prepareGraph(g, new Rng(7)));
    const before = evaluateGapLoss(new GapNet(cfg.hidden, cfg.layers, new Rng(3).split('init')), unseen, cfg.balanceWeight);
    const ctx = {
      seed: 3, rng: new Rng(3), quick: true, options: {}, stateDir: dir, out: join(dir, 'gap.ckpt'), command: 'test',
      log: () => {}, progress: () => {},
    };
    const net = trainGap([], { steps: 300 }, ctx, cfg);
    const after = evaluateGapLoss(net, unseen, cfg.balanceWeight);
    assert.ok(after.loss < before.loss, `loss ${after.loss} >= ${before.loss}`);
    assert.ok(after.ncut < before.ncut, `E[Ncut] ${after.ncut} >= ${before.ncut}`);
    assert.ok(after.balance < 0.05, `balance term ${after.balance}`);
    // the final checkpoint round-trips, and resumable state was saved
    assert.ok(existsSync(join(dir, 'gap-state.json')));
    const loaded = loadGap(ctx.out);
    assert.deepEqual(evaluateGapLoss(loaded, unseen, cfg.balanceWeight), after);
    // applied to an unseen graph: k valid parts, far below a random cut; +fm within 1.03
    const g = triangulatedMesh(900, 5);
    const rand = edgeCut(g, randomPartition(g, 4, new Rng(1)));
    const p = gapPartition(loaded, g, 4, new Rng(1), false);
    assert.equal(new Set(p).size, 4);
    assert.ok(edgeCut(g, p) < 0.5 * rand, `gap cut ${edgeCut(g, p)} vs random ${rand}`);
    const pf = gapPartition(loaded, g, 4, new Rng(1), true);
    assert.ok(balance(g, 4, pf) <= 1.03, `gap+fm balance ${balance(g, 4, pf)}`);
    assert.ok(edgeCut(g, pf) < 0.25 * rand);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
