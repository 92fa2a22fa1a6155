import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { graphFromEdges } from '../../../src/core/graph.js';
import { formatMetisGraph, loadMetisGraph } from '../../../src/problems/partition/instances.js';
import { tempDir } from '../../tmp.js';
import { BUILDERS, debianDepsBuilder, debianDependencyGraph, largestComponent, traceGraph } from '../../../src/problems/partition/build-data.js';
import { partitionProblem } from '../../../src/problems/partition/index.js';

// Stanzas as `apt-cache dumpavail` prints them: a package may appear twice (two versions), fields
// wrap onto indented lines, dependencies carry versions, architecture qualifiers and alternatives.
const DUMPAVAIL = `Package: app
Version: 1.0
Depends: libc6 (>= 2.34), python3:any (>= 3.11~), mail-transport-agent | exim4,
 libfoo
Description: an app

Package: app
Version: 1.1
Pre-Depends: dpkg (>= 1.19)

Package: libc6
Depends: libc6 (= 2.36-9)

Package: postfix
Provides: mail-transport-agent, smtp-server (= 1)
Depends: libc6

Package: exim4
Depends: libc6

Package: msmtp-mta
Provides: mail-transport-agent

Package: python3
Depends: libc6

Package: dpkg

Package: lonely-a
Depends: lonely-b

Package: lonely-b

Package: nothing-here
Depends: missing-pkg
`;

test('the Debian dependency graph: first alternatives, no versions or architectures, virtual packages to all providers, no self-loops or repeats', () => {
  const { names, edges } = debianDependencyGraph(DUMPAVAIL);
  assert.deepEqual(names, ['app', 'dpkg', 'exim4', 'libc6', 'lonely-a', 'lonely-b', 'msmtp-mta', 'nothing-here', 'postfix', 'python3']);
  const named = edges.map(([u, v]) => `${names[u]}-${names[v]}`);
  assert.deepEqual(named, [
    'app-dpkg', // Pre-Depends of the second stanza, merged with the first's
    'app-libc6',
    'app-msmtp-mta', 'app-postfix', // mail-transport-agent: every provider; exim4, the second alternative, not taken
    'app-python3', // python3:any
    'exim4-libc6', 'libc6-postfix', 'libc6-python3', 'lonely-a-lonely-b',
  ]);
  // libfoo (on a continuation line) and missing-pkg name no package: no edge; libc6's self-dependency is dropped
  for (const [u, v] of edges) assert.ok(u < v);
  const g = graphFromEdges(names.length, edges.map(([u]) => u), edges.map(([, v]) => v));
  assert.deepEqual(largestComponent(g).map((v) => names[v]), ['app', 'dpkg', 'exim4', 'libc6', 'msmtp-mta', 'postfix', 'python3']);
});

test('the partition problem offers the Debian graph\'s builder through its datasets', () => {
  const d = partitionProblem.datasets.find((x) => x.relPath === 'partition/debian/debian-bookworm-deps-lcc.graph');
  assert.ok(d?.build && /apt/.test(d.build.needs));
  assert.deepEqual(partitionProblem.datasets.filter((x) => x.build).map((x) => x.relPath).sort(), Object.keys(BUILDERS).sort());
  assert.equal(Object.keys(BUILDERS).length, 4);
});

test('a traced step becomes an undirected METIS graph: each read an edge, repeated and reversed reads one edge, unread nodes isolated', () => {
  // 0,1 placeholders; 2 reads both (twice 0); 3 reads 2; 4 is a placeholder nothing reads
  const g = traceGraph(JSON.stringify({ nodes: 5, edges: [[0, 2], [1, 2], [0, 2], [2, 3], [3, 2]] }), 'trace');
  assert.equal(formatMetisGraph(g), '5 3\n3\n3\n1 2 4\n3\n\n');
  assert.throws(() => traceGraph('Traceback (most recent call last):', 'resnet50\'s trace'), /the trace printed no JSON \(at resnet50's trace\)/);
});

// apt-cache answers even with no package lists; the test needs lists that name packages
const apt = /^Package: /m.test(spawnSync('apt-cache', ['dumpavail'], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout ?? '');
test('on a Debian machine the graph builds from its apt lists: one connected METIS graph, its names beside it', { skip: !apt && 'no apt-cache with package lists here' }, async () => {
  const dir = tempDir('selfopt-debdeps-');
  const path = join(dir, 'debian-bookworm-deps-lcc.graph');
  const log: string[] = [];
  await debianDepsBuilder.build(path, (l) => log.push(l));
  const g = loadMetisGraph(path); // refuses an asymmetric or self-looped graph
  const names = readFileSync(join(dir, 'debian-bookworm-deps-lcc.names'), 'utf8').trimEnd().split('\n');
  assert.equal(names.length, g.n);
  assert.deepEqual(names, [...names].sort(), 'vertices in name order');
  assert.equal(largestComponent(g).length, g.n, 'connected');
  assert.match(log[0]!, new RegExp(`largest component ${g.n} vertices, ${g.adjncy.length / 2} edges$`));
});

const torch = spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status === 0;
test('with Debian\'s python3-torch, resnet50\'s training step traces into one METIS graph: parameters, forward, loss and gradients', { skip: !torch && 'python3-torch or python3-torchvision is not installed' }, async () => {
  const dir = tempDir('selfopt-trace-');
  const path = join(dir, 'resnet50.aten_train.graph');
  const log: string[] = [];
  await BUILDERS['partition/ml_compgraphs/resnet50.aten_train.graph']!.build(path, (l) => log.push(l));
  const g = loadMetisGraph(path);
  assert.match(log.at(-1)!, new RegExp(`^${g.n} nodes, ${g.adjncy.length / 2} edges$`));
  // 161 parameter tensors, each read by the forward pass and answered by a gradient: far more nodes than layers
  assert.ok(g.n > 1000 && g.adjncy.length / 2 > g.n, `${g.n} nodes`);
});
