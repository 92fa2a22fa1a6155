/**
 * The builder of the Debian package dependency graph (`selfopt data build debian-bookworm-deps-lcc.graph`),
 * from this machine's apt lists, by the derivation shared/data/partition/PROVENANCE.md gives:
 * binary packages are the vertices (distinct names, sorted); a package and each package it
 * Pre-Depends or Depends on are joined, taking the first alternative of each `|` group without its
 * version or architecture, a virtual package standing for all its providers; self-loops and
 * repeated pairs are dropped; the largest connected component is kept, its vertices in name order.
 * The apt lists change with every archive update, so the graph built on another day differs a little.
 *
 * And of the training computation graphs (`vgg16.aten_train.graph`, ...), traced by Debian's
 * python3-torch: see TRACE_STEP.
 */
import { basename, dirname, join } from 'node:path';
import { SelfoptError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/files.js';
import { graphFromEdges, type CsrGraph } from '../../core/graph.js';
import type { DatasetBuilder } from '../../core/problem.js';
import { runSourceTool } from '../../core/data.js';
import { formatMetisGraph } from './instances.js';

/** The dependency graph of the packages an `apt-cache dumpavail` text describes: names sorted, and the undirected edges (u < v), sorted. */
export function debianDependencyGraph(dumpavail: string): { names: string[]; edges: [number, number][] } {
  const deps = new Map<string, Set<string>>();
  const providers = new Map<string, Set<string>>();
  for (const stanza of dumpavail.split('\n\n')) {
    const field = new Map<string, string>();
    let current: string | undefined;
    for (const line of stanza.split('\n')) {
      if (line === '') continue;
      if ((line[0] === ' ' || line[0] === '\t') && current !== undefined) {
        field.set(current, `${field.get(current)} ${line.trim()}`);
        continue;
      }
      const colon = line.indexOf(':');
      current = colon < 0 ? line : line.slice(0, colon);
      field.set(current, colon < 0 ? '' : line.slice(colon + 1).trim());
    }
    const name = field.get('Package');
    if (name === undefined) continue;
    const own = deps.get(name) ?? new Set<string>();
    deps.set(name, own);
    for (const f of ['Pre-Depends', 'Depends']) {
      for (const group of (field.get(f) ?? '').split(',')) {
        const first = withoutVersion(group.split('|')[0]!).split(':')[0]!.trim();
        if (first) own.add(first);
      }
    }
    for (const p of (field.get('Provides') ?? '').split(',')) {
      const virtual = withoutVersion(p);
      if (virtual) (providers.get(virtual) ?? providers.set(virtual, new Set()).get(virtual)!).add(name);
    }
  }
  const names = [...deps.keys()].sort();
  const index = new Map(names.map((n, i) => [n, i]));
  const reads: [number, number][] = [];
  for (const [a, ds] of deps) {
    for (const d of ds) {
      for (const t of index.has(d) ? [d] : [...(providers.get(d) ?? [])]) {
        if (index.has(t)) reads.push([index.get(a)!, index.get(t)!]);
      }
    }
  }
  return { names, edges: undirectedEdges(names.length, reads) };
}

/** The distinct undirected edges (u < v), sorted, of `n` vertices' directed pairs; self-loops dropped. */
function undirectedEdges(n: number, pairs: [number, number][]): [number, number][] {
  const keys = new Set<number>();
  for (const [a, b] of pairs) if (a !== b) keys.add(Math.min(a, b) * n + Math.max(a, b));
  return [...keys].sort((x, y) => x - y).map((k): [number, number] => [Math.floor(k / n), k % n]);
}

/** The CSR graph of sorted edges (u < v): every neighbour list ascending, as METIS files list them. */
function sortedGraph(n: number, edges: [number, number][]): CsrGraph {
  return graphFromEdges(n, edges.map(([u]) => u), edges.map(([, v]) => v));
}

/** A dependency text without its `(version)` constraints, trimmed. */
function withoutVersion(s: string): string {
  return s.replace(/\(.*?\)/g, '').trim();
}

/** The vertices of the largest connected component (the first found among equals), ascending. */
export function largestComponent(g: CsrGraph): number[] {
  const seen = new Uint8Array(g.n);
  let best: number[] = [];
  for (let s = 0; s < g.n; s++) {
    if (seen[s]) continue;
    const comp = [s];
    seen[s] = 1;
    for (let q = 0; q < comp.length; q++) {
      const v = comp[q]!;
      for (let e = g.xadj[v]!; e < g.xadj[v + 1]!; e++) {
        const u = g.adjncy[e]!;
        if (!seen[u]) { seen[u] = 1; comp.push(u); }
      }
    }
    if (comp.length > best.length) best = comp;
  }
  return best.sort((a, b) => a - b);
}

/** The subgraph on `nodes` (ascending), renumbered in their order; neighbour lists ascending. */
function induced(edges: [number, number][], n: number, nodes: number[]): CsrGraph {
  const local = new Int32Array(n).fill(-1);
  nodes.forEach((v, i) => { local[v] = i; });
  // renumbering keeps the order (nodes ascending), so the kept edges stay sorted
  return sortedGraph(nodes.length, edges.filter(([u, v]) => local[u]! >= 0 && local[v]! >= 0).map(([u, v]) => [local[u]!, local[v]!]));
}

export const debianDepsBuilder: DatasetBuilder = {
  needs: "a Debian machine's apt lists (apt-get update)",
  build(path, log) {
    const text = runSourceTool('apt-cache', ['dumpavail'], "list apt's packages (apt-cache dumpavail)", "a Debian machine with apt's package lists (apt-get update)");
    const { names, edges } = debianDependencyGraph(text);
    if (edges.length === 0) throw new SelfoptError('apt-cache dumpavail lists no dependencies', 'selfopt data build', "apt's package lists (apt-get update)");
    const lcc = largestComponent(sortedGraph(names.length, edges));
    const g = induced(edges, names.length, lcc);
    // the names first: the graph is what marks the dataset as built
    writeFileAtomic(join(dirname(path), basename(path).replace(/\.graph$/, '') + '.names'), lcc.map((v) => names[v]).join('\n') + '\n');
    writeFileAtomic(path, formatMetisGraph(g));
    log(`${names.length} packages, ${edges.length} dependency edges; largest component ${g.n} vertices, ${g.adjncy.length / 2} edges`);
  },
};

/**
 * One training step of a torchvision model (random initialisation: nothing is downloaded), traced
 * at the level of aten ops by torch's make_fx: forward, cross-entropy loss and the gradients of
 * every parameter, for a batch of 2 images. The vertices are the traced graph's nodes but its
 * output (parameters and inputs are placeholder nodes), in trace order; an edge joins a node and
 * each node it reads. Printed as JSON: the node count and the edges (from, to), sorted. Written
 * for Debian bookworm's python3-torch 1.13 (before torch.func existed).
 */
const TRACE_STEP = `
import json, sys, torch, torchvision
from torch.fx.experimental.proxy_tensor import make_fx
name = sys.argv[1]
torch.manual_seed(0)
ctor, side = {'vgg16': (torchvision.models.vgg16, 224), 'resnet50': (torchvision.models.resnet50, 224),
              'inception_v3': (lambda: torchvision.models.inception_v3(aux_logits=False, init_weights=False), 299)}[name]
model = ctor()
model.train()
params = dict(model.named_parameters())
def step(params, x, y):
    out = torch.nn.utils.stateless.functional_call(model, params, (x,))
    return torch.autograd.grad(torch.nn.functional.cross_entropy(out, y), list(params.values()))
graph = make_fx(step)(params, torch.randn(2, 3, side, side), torch.tensor([1, 2])).graph
nodes = [n for n in graph.nodes if n.op != 'output']
index = {n: i for i, n in enumerate(nodes)}
edges = sorted({(index[u], index[n]) for n in nodes for u in n.all_input_nodes if u in index and u is not n})
json.dump({'nodes': len(nodes), 'edges': edges}, sys.stdout)
`;

/** Debian's own Python, where python3-torch is installed (a pyenv or venv python3 on PATH has no torch). */
const DEBIAN_PYTHON = '/usr/bin/python3';

/** The undirected METIS graph of a traced step (TRACE_STEP's JSON): its node count, and each read as an edge. */
export function traceGraph(json: string, where: string): CsrGraph {
  let t: { nodes: number; edges: [number, number][] };
  try {
    t = JSON.parse(json);
  } catch {
    throw new SelfoptError('the trace printed no JSON', where, '{"nodes": N, "edges": [[from, to], ...]}');
  }
  return sortedGraph(t.nodes, undirectedEdges(t.nodes, t.edges));
}

function compgraphBuilder(model: string): DatasetBuilder {
  return {
    needs: 'apt-get install python3-torch python3-torchvision',
    build(path, log) {
      log(`tracing one training step of ${model} (make_fx)`);
      const out = runSourceTool(DEBIAN_PYTHON, ['-c', TRACE_STEP, model], `trace ${model}`,
        "Debian's python3-torch and python3-torchvision installed (apt-get install python3-torch python3-torchvision)",
        (stderr) => /No module named '(torch|torchvision)'/.exec(stderr)?.[0]);
      const g = traceGraph(out, `${model}'s trace`);
      writeFileAtomic(path, formatMetisGraph(g));
      log(`${g.n} nodes, ${g.adjncy.length / 2} edges`);
    },
  };
}

/** The builders of the partition sets, by relPath (index.ts gives them to DATASETS). */
export const BUILDERS: Record<string, DatasetBuilder> = {
  'partition/debian/debian-bookworm-deps-lcc.graph': debianDepsBuilder,
  ...Object.fromEntries(['vgg16', 'resnet50', 'inception_v3'].map((m) => [`partition/ml_compgraphs/${m}.aten_train.graph`, compgraphBuilder(m)])),
};
