import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { SelfoptError } from '../../../src/core/errors.js';
import { findGraphDefect } from '../../../src/core/graph.js';
import { barabasiAlbert, computationGraph, stochasticBlockModel } from '../../../src/problems/partition/generators.js';
import { generateGraph, parseGeneratedName, parseSnapEdgeList, parseVertexLabels, sbmParameters } from '../../../src/problems/partition/instances.js';
import { normalizedMutualInformation } from '../../../src/problems/partition/evaluate.js';
import { DataPath } from '../../../src/core/data.js';
import { partitionProblem } from '../../../src/problems/partition/index.js';

test('Barabasi-Albert: edge count, minimum degree m, a heavy tail, seeded', () => {
  const n = 3000, m = 4;
  const g = barabasiAlbert(n, m, 1);
  assert.equal(findGraphDefect(g), undefined);
  assert.equal(g.adjncy.length / 2, (m * (m + 1)) / 2 + (n - m - 1) * m);
  let minDeg = Infinity, maxDeg = 0;
  for (let v = 0; v < n; v++) { const d = g.xadj[v + 1]! - g.xadj[v]!; minDeg = Math.min(minDeg, d); maxDeg = Math.max(maxDeg, d); }
  assert.equal(minDeg, m);
  // preferential attachment: the hub's degree grows like sqrt(n) x m, far above the mean 2m
  assert.ok(maxDeg > 10 * 2 * m, `max degree ${maxDeg}`);
  assert.deepEqual(barabasiAlbert(200, 3, 5).adjncy, barabasiAlbert(200, 3, 5).adjncy);
  assert.notDeepEqual(barabasiAlbert(200, 3, 5).adjncy, barabasiAlbert(200, 3, 6).adjncy);
});

test('stochastic block model: mean degree and the share of edges inside blocks follow pIn, pOut', () => {
  const n = 4000;
  const { blocks, pIn, pOut } = sbmParameters(n);
  const { graph: g, labels } = stochasticBlockModel(n, blocks, pIn, pOut, 3);
  assert.equal(findGraphDefect(g), undefined);
  assert.equal(new Set(labels).size, 8);
  let inside = 0;
  for (let v = 0; v < n; v++) for (let e = g.xadj[v]!; e < g.xadj[v + 1]!; e++) if (labels[g.adjncy[e]!] === labels[v]) inside++;
  const meanDeg = g.adjncy.length / n;
  assert.ok(Math.abs(meanDeg - 12) < 0.5, `mean degree ${meanDeg}`);
  assert.ok(Math.abs(inside / g.adjncy.length - 0.8) < 0.02, `inside share ${inside / g.adjncy.length}`);
  // dense limit: pIn = 1, pOut = 0 gives disjoint cliques
  const c = stochasticBlockModel(12, 3, 1, 0, 1).graph;
  assert.equal(c.adjncy.length / 2, 3 * 6);
  // generated names carry the labels to the evaluator
  const spec = parseGeneratedName('sbm_2k_s9')!;
  assert.deepEqual(spec, { kind: 'sbm', n: 2000, seed: 9 });
  assert.equal(generateGraph(spec).labels?.length, 2000);
  assert.equal(parseGeneratedName('ba_500')?.kind, 'ba');
});

test('SNAP edge lists: directed pairs become one edge, self-loops dropped, CRLF read, bad lines named', () => {
  const g = parseSnapEdgeList('# a comment\r\r\n0\t1\r\r\n1\t0\r\n2 2\n3\t1\n\n', 'e.txt');
  assert.equal(g.n, 4);
  assert.equal(g.adjncy.length / 2, 2);
  assert.deepEqual([...g.adjwgt], [1, 1, 1, 1]);
  assert.equal(g.xadj[3]! - g.xadj[2]!, 0); // vertex 2 only had a self-loop
  for (const [text, line] of [['0 1\n1 x\n', 2], ['0 1\n\n1 2 3\n', 3], ['-1 2\n', 1]] as const) {
    assert.throws(() => parseSnapEdgeList(text, 'e.txt'), (e: unknown) => e instanceof SelfoptError && e.where === `e.txt:${line}`);
  }
  assert.deepEqual(parseVertexLabels('0 1\n2 0\n1 1\n', 3, 'l'), Int32Array.from([1, 1, 0]));
  assert.throws(() => parseVertexLabels('0 1\n', 2, 'l'), /vertex 1 has no label/);
  assert.throws(() => parseVertexLabels('0 1\n0 2\n', 2, 'l'), (e: unknown) => e instanceof SelfoptError && e.where === 'l:2');
});

test('a SNAP edge list whose ids leave most of 0..max id unused is refused, not allocated', () => {
  // '1 2000000000' made 2e9 + 1 vertices: the process was killed for memory, with no message.
  assert.throws(() => parseSnapEdgeList('0 1\n1 2000000000\n', 'e.txt'),
    (e: unknown) => e instanceof SelfoptError && e.where === 'e.txt:2' && /ids run to 2000000000 but only 3 distinct ids appear/.test(e.message) && /renumber/.test(e.expected));
  // up to half of 0..max id unused is read (email-Eu-core has 19 isolated vertices of 1,005)
  assert.equal(parseSnapEdgeList('0 1\n1 3\n', 'e.txt').n, 4);
});

test('a SNAP edge list with ids past 2^22 reads its own edges', () => {
  // An edge was keyed lo * 2^31 + hi, a double inexact once lo reaches 2^22 (4,194,304): this path
  // failed as 'self-loop (4194304, 4194304)'. A path over 2^21 .. 2^22 + 8 keeps half of 0..max used.
  const a = 2 ** 21, b = 2 ** 22 + 8;
  const lines: string[] = [];
  for (let i = a; i < b; i++) lines.push(`${i + 1} ${i}`);
  const g = parseSnapEdgeList(lines.join('\n'), 'big.txt');
  assert.equal(g.n, b + 1);
  assert.equal(g.adjncy.length / 2, b - a);
  for (const v of [a, 2 ** 22 - 1, 2 ** 22, 2 ** 22 + 1, b]) {
    const nbrs = [...g.adjncy.subarray(g.xadj[v]!, g.xadj[v + 1]!)].sort((x, y) => x - y);
    assert.deepEqual(nbrs, [v - 1, v + 1].filter((w) => w >= a && w <= b), `vertex ${v}`);
  }
});

test('NMI: known values', () => {
  const a = Int32Array.from([0, 0, 1, 1]);
  assert.equal(normalizedMutualInformation(a, a), 1);
  assert.ok(Math.abs(normalizedMutualInformation(a, Int32Array.from([1, 1, 0, 0])) - 1) < 1e-12); // renamed labels
  assert.ok(Math.abs(normalizedMutualInformation(a, Int32Array.from([0, 1, 0, 1]))) < 1e-12); // independent
  // by hand: I = 1/2 ln(4/3) + 1/4 ln(2/3) + 1/4 ln 2, H(A) = ln 2, H(B) = -(3/4 ln 3/4 + 1/4 ln 1/4)
  const I = 0.5 * Math.log(4 / 3) + 0.25 * Math.log(2 / 3) + 0.25 * Math.log(2);
  const hb = -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25));
  const want = (2 * I) / (Math.log(2) + hb);
  assert.ok(Math.abs(normalizedMutualInformation(a, Int32Array.from([0, 0, 0, 1])) - want) < 1e-12);
  assert.ok(Math.abs(want - 0.3437) < 1e-3);
});

test('email-Eu-core loads with its 42 departments and reports NMI (when on the data path)', async (t) => {
  const data = new DataPath({ cwd: process.cwd() });
  const refs = partitionProblem.listInstances({ quick: false, data });
  const ref = refs.find((r) => r.id === 'email-Eu-core_k42');
  if (!ref) { t.skip('email-Eu-core not on the data path (../shared/data/partition/snap)'); return; }
  assert.ok(existsSync(ref.path!));
  const inst = await partitionProblem.load(ref);
  assert.equal(inst.graph.n, 1005);
  assert.equal(inst.graph.adjncy.length / 2, 16064); // as the METIS conversion in PROVENANCE.md
  assert.equal(new Set(inst.labels).size, 42);
  const m = await partitionProblem.evaluate(inst, inst.labels!.map((l: number) => l % 42), { seed: 1, rng: undefined as never, quick: true, options: {}, solveMs: 0 });
  assert.equal(m.nmi, 1);
});

test('computation graph: exactly n vertices, a long thin ladder (small degrees, large diameter), seeded', () => {
  for (const n of [2, 3, 10, 999, 2000]) {
    const g = computationGraph(n, 4);
    assert.equal(g.n, n);
    assert.equal(findGraphDefect(g), undefined);
    for (let e = 0; e < g.adjwgt.length; e++) assert.equal(g.adjwgt[e], 1); // no repeated edge
  }
  const g = computationGraph(2000, 4);
  let maxDeg = 0, isolated = 0;
  for (let v = 0; v < g.n; v++) { const d = g.xadj[v + 1]! - g.xadj[v]!; maxDeg = Math.max(maxDeg, d); if (d === 0) isolated++; }
  assert.ok(maxDeg <= 16, `max degree ${maxDeg}`);
  assert.ok(isolated <= 1);
  const m = g.adjncy.length / 2;
  assert.ok(m > 1.1 * g.n && m < 1.8 * g.n, `${m} edges on ${g.n} vertices`);
  // BFS eccentricity of vertex 0: path-like graphs have a diameter far above a mesh's sqrt(n)
  const dist = new Int32Array(g.n).fill(-1);
  const queue = [0]; dist[0] = 0;
  for (let h = 0; h < queue.length; h++) { const v = queue[h]!; for (let e = g.xadj[v]!; e < g.xadj[v + 1]!; e++) { const u = g.adjncy[e]!; if (dist[u]! < 0) { dist[u] = dist[v]! + 1; queue.push(u); } } }
  assert.ok(queue.length >= g.n - 1, `component of vertex 0 has ${queue.length} vertices`);
  assert.ok(Math.max(...dist) > 100, `eccentricity ${Math.max(...dist)}`);
  assert.deepEqual(computationGraph(500, 5).adjncy, computationGraph(500, 5).adjncy);
  assert.notDeepEqual(computationGraph(500, 5).adjncy, computationGraph(500, 6).adjncy);
  assert.equal(parseGeneratedName('compgraph_2k_s3')?.kind, 'compgraph');
  assert.equal(generateGraph(parseGeneratedName('compgraph_2k')!).graph.n, 2000);
});
