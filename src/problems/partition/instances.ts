/**
 * Graphs for the partitioning problem: the METIS/Chaco `.graph` format (loader and writer), the
 * SNAP edge-list format (loader), the real graphs found on the data path, and the named generated
 * graphs (generators.ts) so the problem runs on a fresh machine.
 *
 * METIS format (METIS 5 manual, section 4.1.1; Chaco's is the same): lines starting with '%' are
 * comments. The first other line is `n m [fmt [ncon]]`. Then exactly n vertex lines, line i for
 * vertex i: [size] [w_1 .. w_ncon] then neighbours (1-based), each followed by an edge weight when
 * fmt's last digit is 1. fmt is three 0/1 digits (leading zeros may be dropped): 100 = vertex
 * sizes, 010 = vertex weights, 001 = edge weights. Every undirected edge appears in both of its
 * endpoints' lines, so the body holds 2m neighbour entries. An empty line is an isolated vertex.
 */
import { readFileSync } from 'node:fs';
import { SelfoptError } from '../../core/errors.js';
import { findGraphDefect, graphFromEdges, type CsrGraph } from '../../core/graph.js';
import type { Dataset } from '../../core/problem.js';
import { barabasiAlbert, computationGraph, randomGeometricGraph, stochasticBlockModel, triangulatedMesh } from './generators.js';

export { barabasiAlbert, computationGraph, randomGeometricGraph, stochasticBlockModel, triangulatedMesh };

/** Weights must fit METIS's idx_t sums; we keep each below 2^30 so sums of a few stay exact int32. */
export const MAX_WEIGHT = 1 << 30;
/**
 * Coarsening adds vertex and edge weights in Int32Arrays (as METIS's 32-bit idx_t), and a coarse
 * vertex or edge can carry a graph's whole total, so each total must stay at most 2^31 - 1.
 */
export const MAX_TOTAL_WEIGHT = 2 ** 31 - 1;

export interface PartitionInstance {
  id: string;
  /** The graph's name (instance id without the _k suffix). */
  name: string;
  graph: CsrGraph;
  /** Number of parts. */
  k: number;
  /** Ground-truth communities (email-Eu-core's departments, an SBM's blocks): the evaluator reports NMI. */
  labels?: Int32Array;
}

const SPACE = 32, TAB = 9, CR = 13, LF = 10, PERCENT = 37;

/**
 * Parses METIS `.graph` text. Every defect is one SelfoptError naming `source:line`, and nothing is
 * returned for a bad file. Multi-constraint graphs (ncon > 1) are refused for now.
 */
export function parseMetisGraph(data: Uint8Array | string, source: string): CsrGraph {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  const len = buf.length;
  let p = 0;
  let line = 0;
  const bad = (ln: number, what: string, expected: string) => new SelfoptError(what, `${source}:${ln}`, expected);

  // Reads the integers of the line starting at p into `nums` (returns their count); advances p past
  // the line end. A token that is not a non-negative decimal integer throws.
  let nums = new Float64Array(64);
  const readLine = (): number => {
    let count = 0;
    while (p < len && buf[p] !== LF) {
      const c = buf[p]!;
      if (c === SPACE || c === TAB || c === CR) { p++; continue; }
      let v = 0, digits = 0;
      const start = p;
      while (p < len) {
        const d = buf[p]! - 48;
        if (d < 0 || d > 9) break;
        v = v * 10 + d;
        digits++;
        p++;
      }
      const end = p < len ? buf[p]! : SPACE;
      if (digits === 0 || !(end === SPACE || end === TAB || end === CR || end === LF)) {
        let q = start;
        while (q < len && buf[q] !== SPACE && buf[q] !== TAB && buf[q] !== CR && buf[q] !== LF) q++;
        const tok = Buffer.from(buf.subarray(start, q)).toString('utf8');
        throw bad(line, `'${tok}' is not a non-negative integer`, 'whitespace-separated non-negative integers');
      }
      if (count === nums.length) { const t = new Float64Array(2 * count); t.set(nums); nums = t; }
      nums[count++] = v;
    }
    p++; // past LF
    return count;
  };
  const isComment = (): boolean => {
    let q = p;
    while (q < len && (buf[q] === SPACE || buf[q] === TAB)) q++;
    return q < len && buf[q] === PERCENT;
  };
  const skipLine = () => { while (p < len && buf[p] !== LF) p++; p++; };

  // Header: the first line that is neither a comment nor blank.
  let headerCount = 0;
  while (p < len) {
    line++;
    if (isComment()) { skipLine(); continue; }
    headerCount = readLine();
    if (headerCount > 0) break;
  }
  const headerLine = line;
  if (headerCount === 0) throw bad(Math.max(1, line), 'no header line', 'a first line "n m [fmt [ncon]]"');
  if (headerCount < 2 || headerCount > 4) throw bad(headerLine, `header has ${headerCount} numbers`, '"n m [fmt [ncon]]"');
  const n = nums[0]!, m = nums[1]!;
  if (n > 0x7ffffff0 || 2 * m > 0x7ffffff0) throw bad(headerLine, `header n = ${n}, m = ${m} is too large`, 'n and 2m below 2^31');
  const fmtNum = headerCount >= 3 ? nums[2]! : 0;
  const fmt = String(fmtNum).padStart(3, '0');
  if (!/^[01]{3}$/.test(fmt)) throw bad(headerLine, `fmt ${fmtNum} is not a valid format code`, 'fmt of three 0/1 digits: 100 vertex sizes, 010 vertex weights, 001 edge weights (e.g. 1, 10, 11, 111)');
  // Each vertex line takes at least its newline: a larger n is a wrong header, refused before the
  // arrays of n entries are allocated.
  const rest = Math.max(0, len - p);
  if (n > rest + 1) throw bad(headerLine, `header says n = ${n} vertices but only ${rest} bytes follow it`, 'n vertex lines after the header, one per vertex');
  const hasSize = fmt[0] === '1', hasVw = fmt[1] === '1', hasEw = fmt[2] === '1';
  const ncon = headerCount === 4 ? nums[3]! : hasVw ? 1 : 0;
  if (headerCount === 4 && !hasVw) throw bad(headerLine, `ncon ${ncon} given but fmt ${fmt} has no vertex weights`, 'ncon only with fmt x1x');
  if (hasVw && ncon !== 1) throw bad(headerLine, `ncon = ${ncon} (multi-constraint graph)`, 'ncon = 1: multi-constraint partitioning is not supported');
  const lead = (hasSize ? 1 : 0) + ncon;
  const step = hasEw ? 2 : 1;

  const xadj = new Int32Array(n + 1);
  const vwgt = new Int32Array(n).fill(1);
  const lineOf = new Int32Array(n);
  let adjncy = new Int32Array(Math.min(2 * m, 1 << 24) + 16);
  let adjwgt = new Int32Array(adjncy.length);
  let e = 0;
  let v = 0;
  let totalVw = 0, totalEw = 0;
  const tooHeavy = (what: string, total: number) => bad(line, `the ${what} reaches ${total} at vertex ${v + 1}, over 2^31 - 1`,
    `a ${what} of at most 2^31 - 1 (coarsening adds weights in 32-bit integers, as METIS)`);
  while (p < len) {
    line++;
    if (isComment()) { skipLine(); continue; }
    const count = readLine();
    if (v === n) {
      if (count === 0) continue; // trailing blank lines
      throw bad(line, `a vertex line beyond the ${n} vertices the header declares`, `exactly n = ${n} vertex lines (header at line ${headerLine})`);
    }
    lineOf[v] = line;
    if (count < lead || (count - lead) % step !== 0) {
      throw bad(line, `vertex ${v + 1} has ${count} numbers`, `${lead} leading weight(s) then ${hasEw ? 'neighbour/weight pairs' : 'neighbours'} (fmt ${fmt})`);
    }
    if (hasVw) {
      const w = nums[lead - 1]!;
      if (w >= MAX_WEIGHT) throw bad(line, `vertex ${v + 1} has weight ${w}`, `a vertex weight in [0, 2^30)`);
      vwgt[v] = w;
      totalVw += w;
      if (totalVw > MAX_TOTAL_WEIGHT) throw tooHeavy('total vertex weight', totalVw);
    }
    const deg = (count - lead) / step;
    if (e + deg > adjncy.length) {
      const cap = Math.max(2 * adjncy.length, e + deg);
      const a = new Int32Array(cap); a.set(adjncy); adjncy = a;
      const b = new Int32Array(cap); b.set(adjwgt); adjwgt = b;
    }
    for (let t = lead; t < count; t += step) {
      const u = nums[t]!;
      if (u < 1 || u > n) throw bad(line, `vertex ${v + 1} has neighbour ${u}, out of range`, `neighbours in [1, ${n}] (1-based)`);
      if (u === v + 1) throw bad(line, `vertex ${v + 1} has a self-loop`, 'no vertex listed as its own neighbour');
      let w = 1;
      if (hasEw) {
        w = nums[t + 1]!;
        if (w < 1 || w >= MAX_WEIGHT) throw bad(line, `edge (${v + 1}, ${u}) has weight ${w}`, 'an edge weight in [1, 2^30)');
      }
      // Each edge counted once, in its lower endpoint's line (symmetry is checked below).
      if (u > v + 1) {
        totalEw += w;
        if (totalEw > MAX_TOTAL_WEIGHT) throw tooHeavy('total edge weight', totalEw);
      }
      adjncy[e] = u - 1;
      adjwgt[e++] = w;
    }
    xadj[++v] = e;
  }
  if (v < n) throw bad(line, `only ${v} vertex lines for the ${n} vertices the header declares`, `exactly n = ${n} vertex lines (header at line ${headerLine})`);
  if (e !== 2 * m) {
    throw bad(headerLine, `header says m = ${m} edges but the body lists ${e} neighbour entries (${e / 2} edges)`, `2m = ${2 * m} neighbour entries, each edge listed by both endpoints`);
  }
  const g: CsrGraph = { n, xadj, adjncy: adjncy.slice(0, e), vwgt, adjwgt: adjwgt.slice(0, e) };
  const d = findGraphDefect(g, 1);
  if (d) throw bad(lineOf[d.vertex]!, d.what, 'a symmetric adjacency: each edge in both endpoints\' lines with the same weight, no repeats');
  return g;
}

/** Reads a METIS `.graph` file (see parseMetisGraph). */
export function loadMetisGraph(path: string): CsrGraph {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (e) {
    throw new SelfoptError(`cannot read graph file: ${(e as Error).message}`, path, 'a readable METIS .graph file');
  }
  return parseMetisGraph(data, path);
}

/** METIS `.graph` text; fmt 11 when any weight is not 1 (else plain), so the output round-trips. */
export function formatMetisGraph(g: CsrGraph): string {
  let vw = false, ew = false;
  for (let v = 0; v < g.n; v++) if (g.vwgt[v] !== 1) { vw = true; break; }
  for (let e = 0; e < g.adjwgt.length; e++) if (g.adjwgt[e] !== 1) { ew = true; break; }
  const fmt = vw || ew ? ` ${vw ? 1 : 0}${ew ? 1 : 0}` : '';
  const out: string[] = [`${g.n} ${g.adjncy.length / 2}${fmt}`];
  for (let v = 0; v < g.n; v++) {
    const parts: number[] = [];
    if (vw) parts.push(g.vwgt[v]!);
    for (let e = g.xadj[v]!; e < g.xadj[v + 1]!; e++) {
      parts.push(g.adjncy[e]! + 1);
      if (ew) parts.push(g.adjwgt[e]!);
    }
    out.push(parts.join(' '));
  }
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// SNAP edge lists

/**
 * Parses a SNAP edge list: '#' lines are comments, every other non-blank line is `u v` (two
 * non-negative integer ids, tab or space separated; CR before LF tolerated, as in copies made on
 * Windows). SNAP graphs are often directed: an edge list is read as undirected, a reciprocated pair
 * becomes one edge of weight 1 and self-loops are dropped (as SNAP's own undirected conversion, and
 * as the METIS conversion beside email-Eu-core in the data path). Vertices are the ids 0..max id, so
 * ids without edges are isolated vertices. A bad line is one SelfoptError naming `source:line`.
 */
export function parseSnapEdgeList(text: string, source: string): CsrGraph {
  const lines = text.split('\n');
  // Each edge as (lo, hi), lo < hi; a self-loop is dropped.
  const lo: number[] = [], hi: number[] = [];
  // Every endpoint, counted distinct after reading: a Set holds at most 2^24 entries in V8.
  const ends: number[] = [];
  let maxId = -1, maxLine = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(/\s+/);
    const u = Number(f[0]), v = Number(f[1]);
    if (f.length !== 2 || !/^\d+$/.test(f[0]!) || !/^\d+$/.test(f[1]!) || u > 0x7ffffff0 || v > 0x7ffffff0) {
      throw new SelfoptError(`line is '${line.slice(0, 60)}'`, `${source}:${i + 1}`, 'two non-negative integer vertex ids "u v"');
    }
    if (Math.max(u, v) > maxId) { maxId = Math.max(u, v); maxLine = i + 1; }
    ends.push(u, v);
    if (u !== v) { lo.push(Math.min(u, v)); hi.push(Math.max(u, v)); }
  }
  // The vertices are 0..max id: a sparse id space (user ids, hashes) would be mostly isolated
  // vertices, and a large one more memory than the machine has.
  const sorted = Int32Array.from(ends).sort();
  let distinct = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  if (maxId + 1 > 2 * distinct) {
    throw new SelfoptError(`ids run to ${maxId} but only ${distinct} distinct ids appear: 0..${maxId} would be ${maxId + 1} vertices, mostly isolated`,
      `${source}:${maxLine}`, 'ids numbered from 0 with at most half of 0..max id unused; renumber a sparse id space 0, 1, 2, ...');
  }
  // Edges in (lo, hi) order, each once: bucketed by lo, each bucket sorted. (A key lo * 2^31 + hi
  // is not exact in a double once lo reaches 2^22: ids past 4,194,303 decoded as other edges.)
  const n = maxId + 1, m = lo.length;
  const start = new Int32Array(n + 1);
  for (let e = 0; e < m; e++) start[lo[e]! + 1]!++;
  for (let a = 0; a < n; a++) start[a + 1]! += start[a]!;
  const next = start.slice(0, n), byLo = new Int32Array(m);
  for (let e = 0; e < m; e++) byLo[next[lo[e]!]!++] = hi[e]!;
  const us: number[] = [], vs: number[] = [];
  for (let a = 0; a < n; a++) {
    const row = byLo.subarray(start[a]!, start[a + 1]!).sort();
    for (let j = 0; j < row.length; j++) if (j === 0 || row[j] !== row[j - 1]) { us.push(a); vs.push(row[j]!); }
  }
  return graphFromEdges(n, us, vs);
}

/** Parses `vertex label` lines (SNAP's community files): one integer label per vertex of n. */
export function parseVertexLabels(text: string, n: number, source: string): Int32Array {
  const labels = new Int32Array(n).fill(-1);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(/\s+/);
    const v = Number(f[0]), c = Number(f[1]);
    if (f.length !== 2 || !Number.isInteger(v) || v < 0 || v >= n || !Number.isInteger(c) || c < 0 || labels[v] !== -1) {
      throw new SelfoptError(`line is '${line.slice(0, 60)}'`, `${source}:${i + 1}`, `"vertex label": a new vertex in [0, ${n}) and a non-negative integer label`);
    }
    labels[v] = c;
  }
  const missing = labels.indexOf(-1);
  if (missing >= 0) throw new SelfoptError(`vertex ${missing} has no label`, source, `one label for each of the ${n} vertices`);
  return labels;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new SelfoptError(`cannot read ${what}: ${(e as Error).message}`, path, `a readable ${what}`);
  }
}

export function loadSnapEdgeList(path: string): CsrGraph {
  return parseSnapEdgeList(readText(path, 'SNAP edge list'), path);
}

/**
 * Whether a graph file has no edges, read no further than tells: a METIS file's header gives its
 * edge count; a SNAP edge list has an edge at its first line of two distinct ids. A file the
 * loader would refuse (unreadable, a malformed line) counts as having edges here: its cells say
 * what is wrong with it.
 */
export function graphFileHasNoEdges(path: string, format: 'metis' | 'snap'): boolean {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return false;
  }
  const comment = format === 'metis' ? '%' : '#';
  for (let start = 0; start < text.length;) {
    const end = text.indexOf('\n', start);
    const line = text.slice(start, end < 0 ? text.length : end).trim();
    start = end < 0 ? text.length : end + 1;
    if (line === '' || line.startsWith(comment)) continue;
    const f = line.split(/\s+/);
    if (!/^\d+$/.test(f[1] ?? '') || !/^\d+$/.test(f[0]!)) return false;
    // METIS: the first such line is the header "n m ..."; SNAP: a self-loop is dropped, read on.
    if (format === 'metis') return Number(f[1]) === 0;
    if (Number(f[0]) !== Number(f[1])) return false;
  }
  return format === 'snap';
}

export function loadVertexLabels(path: string, n: number): Int32Array {
  return parseVertexLabels(readText(path, 'label file'), n, path);
}

// ---------------------------------------------------------------------------------------------
// Named graphs

export interface RealGraph {
  name: string;
  relPath: string;
  format: 'metis' | 'snap';
  /** Ground-truth communities beside the graph (relative to the data path). */
  labelsRelPath?: string;
  /** Extra part counts for this graph (e.g. its number of communities). */
  extraK?: number[];
  description: string;
  source: string;
  license: string;
}

const KAHIP = { source: 'KaHIP/KaHIP examples', license: 'MIT (KaHIP); DIMACS10 public benchmark data' };
const TORCH = { source: 'derived with Debian python3-torch/torchvision (ml_compgraphs/ml_compgraphs.py, see PROVENANCE.md)', license: 'derived data; torchvision model definitions BSD-3-Clause' };

export const REAL_GRAPHS: RealGraph[] = [
  { name: '4elt', relPath: 'partition/metis/4elt.graph', format: 'metis', description: '2-D finite-element mesh, 15,606 vertices, 45,878 edges (Walshaw archive, METIS repo)', source: 'KarypisLab/METIS graphs/4elt.graph', license: 'Apache-2.0 (METIS repository)' },
  { name: 'delaunay_n15', relPath: 'partition/kahip/delaunay_n15.graph', format: 'metis', description: 'DIMACS10 Delaunay triangulation, 32,768 vertices, 98,274 edges (KaHIP examples)', ...KAHIP },
  { name: 'rgg_n_2_15_s0', relPath: 'partition/kahip/rgg_n_2_15_s0.graph', format: 'metis', description: 'DIMACS10 random geometric graph, 32,768 vertices, 160,240 edges (KaHIP examples)', ...KAHIP },
  { name: 'debian-deps', relPath: 'partition/debian/debian-bookworm-deps-lcc.graph', format: 'metis', description: 'Debian bookworm package dependency graph, largest component, 59,139 vertices, 264,613 edges, highly skewed degrees', source: 'derived from apt-cache dumpavail (debian/debian_depgraph.py, see PROVENANCE.md)', license: 'Debian archive metadata (freely redistributable)' },
  ...['vgg16', 'resnet50', 'inception_v3'].map((m) => ({
    name: m, relPath: `partition/ml_compgraphs/${m}.aten_train.graph`, format: 'metis' as const,
    description: `${m} training computation graph (forward + backward aten ops, make_fx), GAP's domain`, ...TORCH,
  })),
  {
    name: 'email-Eu-core', relPath: 'partition/snap/email-Eu-core.txt', format: 'snap', labelsRelPath: 'partition/snap/email-Eu-core-department-labels.txt', extraK: [42],
    description: 'SNAP email network of a European research institution, 1,005 vertices, 16,064 undirected edges, 42 departments as ground truth (NMI)',
    source: 'SNAP email-Eu-core (Leskovec et al.; Yin et al. KDD 2017)', license: 'SNAP datasets, no formal license; cite the authors',
  },
];

export const DATASETS: Dataset[] = REAL_GRAPHS.flatMap((g) => [
  { relPath: g.relPath, description: g.description, source: g.source, license: g.license, obtain: 'staged in ../shared/data/partition (see its PROVENANCE.md); or rebuild it from the source named here' },
  ...(g.labelsRelPath ? [{ relPath: g.labelsRelPath, description: `${g.name} ground-truth communities`, source: g.source, license: g.license, obtain: 'staged beside the graph in ../shared/data/partition' }] : []),
]);

/** A generated graph name: `rgg_2k`, `mesh_500`, `ba_10k`, `sbm_4k_s7` (kind, vertex count, seed). */
export interface GeneratedSpec {
  kind: 'rgg' | 'mesh' | 'ba' | 'sbm' | 'compgraph';
  n: number;
  seed: number;
}

export const GENERATED_KINDS: Record<GeneratedSpec['kind'], string> = {
  rgg: 'random geometric graph',
  mesh: 'triangulated grid mesh',
  ba: 'Barabasi-Albert scale-free graph (m = 4)',
  sbm: 'stochastic block model (8 blocks, mean degree 12, 80% of edges inside blocks)',
  compgraph: 'training computation graph (forward + backward, residual and inception-like blocks)',
};

const GENERATED_NAME = /^(rgg|mesh|ba|sbm|compgraph)_(\d+)(k?)(?:_s(\d+))?$/;
/** The vertex counts a generated graph may have. */
export const GENERATED_MIN_N = 16, GENERATED_MAX_N = 10_000_000;

/** The vertex count a name of the generated form asks for, in range or not (undefined: not that form). */
function generatedCount(name: string): number | undefined {
  const m = GENERATED_NAME.exec(name);
  return m ? Number(m[2]) * (m[3] ? 1000 : 1) : undefined;
}

export function parseGeneratedName(name: string): GeneratedSpec | undefined {
  const m = GENERATED_NAME.exec(name);
  const n = generatedCount(name);
  if (!m || n === undefined || !(n >= GENERATED_MIN_N && n <= GENERATED_MAX_N)) return undefined;
  return { kind: m[1] as GeneratedSpec['kind'], n, seed: m[4] !== undefined ? Number(m[4]) : 42 };
}

/** SBM parameters of `sbm_<n>`: 8 blocks, expected degree 12 of which 80% inside the vertex's block. */
export function sbmParameters(n: number): { blocks: number; pIn: number; pOut: number } {
  const blocks = 8, degree = 12, inside = 0.8;
  const size = n / blocks;
  return { blocks, pIn: Math.min(1, (inside * degree) / (size - 1)), pOut: Math.min(1, ((1 - inside) * degree) / (n - size)) };
}

/** The generated graph (and, for an SBM, its planted blocks as labels). */
export function generateGraph(spec: GeneratedSpec): { graph: CsrGraph; labels?: Int32Array } {
  switch (spec.kind) {
    case 'rgg': return { graph: randomGeometricGraph(spec.n, spec.seed) };
    case 'mesh': return { graph: triangulatedMesh(spec.n, spec.seed) };
    case 'compgraph': return { graph: computationGraph(spec.n, spec.seed) };
    case 'ba': return { graph: barabasiAlbert(spec.n, 4, spec.seed) };
    case 'sbm': {
      const { blocks, pIn, pOut } = sbmParameters(spec.n);
      return stochasticBlockModel(spec.n, blocks, pIn, pOut, spec.seed);
    }
  }
}

/** Loads a real graph (and its labels, if it has them) from resolved paths. */
export function loadRealGraph(real: RealGraph, path: string, labelsPath?: string): { graph: CsrGraph; labels?: Int32Array } {
  const graph = real.format === 'snap' ? loadSnapEdgeList(path) : loadMetisGraph(path);
  return labelsPath ? { graph, labels: loadVertexLabels(labelsPath, graph.n) } : { graph };
}

/** The part counts an instance may ask for: one part cuts nothing. */
export const MIN_PARTS = 2, MAX_PARTS = 1 << 20;

/** Splits an instance id `<graph>_k<k>` into the graph name and k. */
export function parseInstanceId(id: string): { name: string; k: number } | undefined {
  const m = /^(.+)_k([1-9]\d*)$/.exec(id);
  if (!m) return undefined;
  const k = Number(m[2]);
  if (!(k >= MIN_PARTS && k <= MAX_PARTS)) return undefined;
  return { name: m[1]!, k };
}

/**
 * Why a name of the instance form `<graph>_k<k>` that parseInstanceId refuses is no instance (k
 * out of range or written with leading zeros, or a generated graph's vertex count out of range),
 * as the error to throw; undefined when it is not of that form or is an instance.
 */
export function instanceIdDefect(id: string, where: string): SelfoptError | undefined {
  const m = /^(.+)_k(\d+)$/.exec(id);
  if (!m) return undefined;
  const [, name, digits] = m as unknown as [string, string, string];
  if (!parseInstanceId(id)) {
    return new SelfoptError(`part count k = ${digits} in '${id}'`, where,
      `k from ${MIN_PARTS} to ${MAX_PARTS}, written without leading zeros (e.g. ${name}_k8)`);
  }
  const n = generatedCount(name);
  if (n !== undefined && !parseGeneratedName(name)) {
    return new SelfoptError(`generated graph '${name}' has ${n} vertices`, where,
      `from ${GENERATED_MIN_N} to ${GENERATED_MAX_N.toLocaleString('en-US')} vertices (e.g. ${name.split('_')[0]}_2k_k${Number(digits)})`);
  }
  return undefined;
}
