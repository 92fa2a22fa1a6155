/**
 * Graphs for the partitioning problem: the METIS/Chaco `.graph` format (loader and writer), the
 * real graphs found on the data path, and seeded generators (random geometric graphs and a
 * Delaunay-like planar mesh) so the problem runs on a fresh machine.
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
import { Rng } from '../../core/rng.js';
import type { Dataset } from '../../core/problem.js';

/** Weights must fit METIS's idx_t sums; we keep each below 2^30 so sums of a few stay exact int32. */
export const MAX_WEIGHT = 1 << 30;

export interface PartitionInstance {
  id: string;
  /** The graph's name (instance id without the _k suffix). */
  name: string;
  graph: CsrGraph;
  /** Number of parts. */
  k: number;
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
// Generators

/**
 * Random geometric graph: n points uniform in the unit square, an edge between points closer than
 * r. The default radius is DIMACS10's rgg_n_2_X recipe, 0.55 sqrt(ln n / n), so the graph looks
 * like rgg_n_2_15_s0 at a smaller size (mean degree about 0.95 ln n, nearly connected).
 */
export function randomGeometricGraph(n: number, seed: number, radius = 0.55 * Math.sqrt(Math.log(n) / n)): CsrGraph {
  const rng = new Rng(seed);
  const x = new Float64Array(n), y = new Float64Array(n);
  for (let i = 0; i < n; i++) { x[i] = rng.next(); y[i] = rng.next(); }
  // Cells of side >= r: neighbours are in the 3x3 block of cells around a point.
  const cells = Math.max(1, Math.floor(1 / radius));
  const cellOf = (a: number) => Math.min(cells - 1, Math.floor(a * cells));
  const head = new Int32Array(cells * cells).fill(-1), next = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = cellOf(y[i]!) * cells + cellOf(x[i]!);
    next[i] = head[c]!;
    head[c] = i;
  }
  const us: number[] = [], vs: number[] = [];
  const r2 = radius * radius;
  for (let i = 0; i < n; i++) {
    const cx = cellOf(x[i]!), cy = cellOf(y[i]!);
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const ax = cx + dx, ay = cy + dy;
        if (ax < 0 || ay < 0 || ax >= cells || ay >= cells) continue;
        for (let j = head[ay * cells + ax]!; j >= 0; j = next[j]!) {
          if (j <= i) continue;
          const ddx = x[i]! - x[j]!, ddy = y[i]! - y[j]!;
          if (ddx * ddx + ddy * ddy < r2) { us.push(i); vs.push(j); }
        }
      }
    }
  }
  return graphFromEdges(n, us, vs);
}

/**
 * A Delaunay-like planar mesh: a side x side grid (side = round(sqrt(n))) triangulated with one
 * diagonal per cell, the diagonal's direction drawn at random. Every interior vertex has degree
 * near 6 as in a 2-D Delaunay triangulation (DIMACS10 delaunay_n*), and the graph is planar.
 */
export function triangulatedMesh(n: number, seed: number): CsrGraph {
  const rng = new Rng(seed);
  const side = Math.max(2, Math.round(Math.sqrt(n)));
  const id = (r: number, c: number) => r * side + c;
  const us: number[] = [], vs: number[] = [];
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      if (c + 1 < side) { us.push(id(r, c)); vs.push(id(r, c + 1)); }
      if (r + 1 < side) { us.push(id(r, c)); vs.push(id(r + 1, c)); }
      if (r + 1 < side && c + 1 < side) {
        if (rng.next() < 0.5) { us.push(id(r, c)); vs.push(id(r + 1, c + 1)); }
        else { us.push(id(r, c + 1)); vs.push(id(r + 1, c)); }
      }
    }
  }
  return graphFromEdges(side * side, us, vs);
}

// ---------------------------------------------------------------------------------------------
// Named graphs

export interface RealGraph {
  name: string;
  relPath: string;
  description: string;
}

export const REAL_GRAPHS: RealGraph[] = [
  { name: '4elt', relPath: 'partition/metis/4elt.graph', description: '2-D finite-element mesh, 15,606 vertices, 45,878 edges (Walshaw archive, METIS repo)' },
  { name: 'delaunay_n15', relPath: 'partition/kahip/delaunay_n15.graph', description: 'DIMACS10 Delaunay triangulation, 32,768 vertices, 98,274 edges (KaHIP examples)' },
  { name: 'rgg_n_2_15_s0', relPath: 'partition/kahip/rgg_n_2_15_s0.graph', description: 'DIMACS10 random geometric graph, 32,768 vertices, 160,240 edges (KaHIP examples)' },
];

export const DATASETS: Dataset[] = REAL_GRAPHS.map((g) => ({
  relPath: g.relPath,
  description: g.description,
  source: g.relPath.includes('/metis/') ? 'KarypisLab/METIS graphs/4elt.graph' : `KaHIP/KaHIP examples/${g.name}.graph`,
  license: g.relPath.includes('/metis/') ? 'Apache-2.0 (METIS repository)' : 'MIT (KaHIP); DIMACS10 public benchmark data',
  obtain: 'staged in ../shared/data/partition (see its PROVENANCE.md); or copy the file from the repository named in source',
}));

/** A generated graph name: `rgg_2k`, `mesh_500`, `rgg_20k` (kind and vertex count). */
export interface GeneratedSpec {
  kind: 'rgg' | 'mesh';
  n: number;
  seed: number;
}

export function parseGeneratedName(name: string): GeneratedSpec | undefined {
  const m = /^(rgg|mesh)_(\d+)(k?)(?:_s(\d+))?$/.exec(name);
  if (!m) return undefined;
  const n = Number(m[2]) * (m[3] ? 1000 : 1);
  if (!(n >= 4 && n <= 10_000_000)) return undefined;
  return { kind: m[1] as GeneratedSpec['kind'], n, seed: m[4] !== undefined ? Number(m[4]) : 42 };
}

export function generateGraph(spec: GeneratedSpec): CsrGraph {
  return spec.kind === 'rgg' ? randomGeometricGraph(spec.n, spec.seed) : triangulatedMesh(spec.n, spec.seed);
}

/** Splits an instance id `<graph>_k<k>` into the graph name and k. */
export function parseInstanceId(id: string): { name: string; k: number } | undefined {
  const m = /^(.+)_k(\d+)$/.exec(id);
  if (!m) return undefined;
  const k = Number(m[2]);
  if (!(k >= 2 && k <= 1 << 20)) return undefined;
  return { name: m[1]!, k };
}
