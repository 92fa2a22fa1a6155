/**
 * A minimal reader for METIS graph files, only so that the learning-core microbenchmark can load
 * 4elt. (The partitioning problem will own the full loader.)
 *
 * Format (METIS manual, Sec. 4.1.1): '%' lines are comments; the first other line is
 * "n m [fmt [ncon]]"; then exactly n lines, line i listing vertex i's neighbours (1-based), each
 * undirected edge appearing in both endpoint lists, so there are 2m entries in all. fmt's digits
 * say whether lines also carry a vertex size (100), ncon vertex weights (010) and a weight after
 * each neighbour (001). An empty line is a vertex without neighbours.
 */
import { SelfoptError } from '../core/errors.js';
import { Csr } from './ops/sparse.js';

export interface MetisGraph {
  n: number;
  /** Undirected edges, as declared in the header. */
  m: number;
  /** n x n, both directions of every edge; values are the edge weights when the file has them. */
  adjacency: Csr;
}

export function parseMetisGraph(text: string, source: string): MetisGraph {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop(); // a final newline ends the last line; it is not an empty vertex line
  const bad = (line: number, what: string, expected: string) => new SelfoptError(what, `${source}:${line}`, expected);
  let i = 0;
  while (i < lines.length && (lines[i]!.trimStart().startsWith('%') || lines[i]!.trim() === '')) i++;
  if (i === lines.length) throw bad(1, 'no header line', 'a first line "n m [fmt [ncon]]"');
  const head = lines[i]!.trim().split(/\s+/);
  const nums = head.map(Number);
  if (head.length < 2 || head.length > 4 || !nums.every((v) => Number.isInteger(v) && v >= 0)) {
    throw bad(i + 1, `bad header "${lines[i]!.trim()}"`, '"n m [fmt [ncon]]" with non-negative integers');
  }
  const [n, m] = nums as [number, number];
  const fmt = head[2] ?? '0';
  if (!/^[01]{1,3}$/.test(fmt)) throw bad(i + 1, `bad fmt "${fmt}"`, 'a fmt of up to three 0/1 digits (e.g. 1, 10, 11, 100)');
  const f = fmt.padStart(3, '0');
  const hasSize = f[0] === '1', hasVertexWeights = f[1] === '1', hasEdgeWeights = f[2] === '1';
  const ncon = hasVertexWeights ? nums[3] ?? 1 : 0;
  const skip = (hasSize ? 1 : 0) + ncon;
  const step = hasEdgeWeights ? 2 : 1;

  const rowPtr = new Int32Array(n + 1);
  const cols: number[] = [];
  const weights: number[] = [];
  let v = 0;
  for (i++; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trimStart().startsWith('%')) continue;
    const t = raw.trim();
    if (v === n) {
      if (t === '') continue;
      throw bad(i + 1, `more vertex lines than the ${n} the header declares`, `${n} vertex lines`);
    }
    const tok = t === '' ? [] : t.split(/\s+/);
    if (tok.length < skip || (tok.length - skip) % step !== 0) {
      throw bad(i + 1, `vertex ${v + 1} has ${tok.length} numbers`, `${skip} leading weight(s) then ${hasEdgeWeights ? 'neighbour/weight pairs' : 'neighbours'} (fmt ${fmt})`);
    }
    for (let k = skip; k < tok.length; k += step) {
      const u = Number(tok[k]);
      if (!Number.isInteger(u) || u < 1 || u > n) throw bad(i + 1, `vertex ${v + 1} lists neighbour "${tok[k]}"`, `neighbour ids in 1..${n}`);
      cols.push(u - 1);
      if (hasEdgeWeights) {
        const w = Number(tok[k + 1]);
        if (!Number.isFinite(w)) throw bad(i + 1, `vertex ${v + 1} has edge weight "${tok[k + 1]}"`, 'numeric edge weights');
        weights.push(w);
      }
    }
    v++;
    rowPtr[v] = cols.length;
  }
  if (v < n) throw bad(lines.length, `only ${v} vertex lines`, `${n} vertex lines, as the header declares`);
  if (cols.length !== 2 * m) throw bad(1, `the adjacency lists hold ${cols.length} entries but the header declares ${m} edges`, `2m = ${2 * m} entries (each edge listed at both ends)`);
  const adjacency = new Csr(n, n, rowPtr, Int32Array.from(cols), hasEdgeWeights ? Float32Array.from(weights) : null);
  return { n, m, adjacency };
}
