/**
 * hMETIS `.hgr` hypergraphs (Karypis & Kumar, hMETIS 1.5 manual, section 3.1): the format of the
 * ISPD98 circuit benchmarks and of hypergraph partitioners (hMETIS, PaToH's converters, KaHyPar).
 *
 *   % comment lines start with '%'
 *   m n [fmt]                      m hyperedges, n vertices; fmt 1 = hyperedge weights,
 *                                  10 = vertex weights, 11 = both, 0 or absent = none
 *   [w] v1 v2 ... (m lines)        one hyperedge per line, its weight first when fmt is 1 or 11,
 *                                  then its pins, 1-based vertex ids
 *   w (n lines, fmt 10 or 11)      one vertex weight per line
 *
 * Loaded into pin lists (CSR over hyperedges), with the cut-net metric beside it. Partitioning
 * hypergraphs is for later; this is the loader the issue lists, with the same rules of bad input as
 * the `.graph` reader: one SelfoptError naming `file:line`, nothing partial returned.
 */
import { readFileSync } from 'node:fs';
import { SelfoptError } from '../../core/errors.js';
import { MAX_WEIGHT } from './instances.js';

export interface Hypergraph {
  /** Vertices. */
  n: number;
  /** Hyperedges. */
  m: number;
  /** Pins of hyperedge e: pins[eptr[e] .. eptr[e + 1]), 0-based vertex ids. */
  eptr: Int32Array;
  pins: Int32Array;
  /** Hyperedge weights (1 unless fmt 1 or 11). */
  hewgt: Int32Array;
  /** Vertex weights (1 unless fmt 10 or 11). */
  vwgt: Int32Array;
}

/** Parses hMETIS `.hgr` text; `source` names the file in errors. */
export function parseHmetisHypergraph(text: string, source: string): Hypergraph {
  const lines = text.split('\n');
  const bad = (ln: number, what: string, expected: string) => new SelfoptError(what, `${source}:${ln}`, expected);
  // The next line that is neither blank nor a comment, as its numbers and its 1-based line number.
  let i = 0, lastLine = 1; // lastLine: the last line with content, where a short file ends
  const next = (): { nums: number[]; line: number } | undefined => {
    for (; i < lines.length; i++) {
      const t = lines[i]!.trim();
      if (t === '' || t.startsWith('%')) continue;
      const line = i + 1;
      i++;
      lastLine = line;
      const nums = t.split(/\s+/).map((tok) => {
        if (!/^\d+$/.test(tok)) throw bad(line, `'${tok}' is not a non-negative integer`, 'whitespace-separated non-negative integers');
        return Number(tok);
      });
      return { nums, line };
    }
    return undefined;
  };

  const header = next();
  if (!header) throw bad(1, 'no header line', 'a first line "m n [fmt]" (hyperedges, vertices, format)');
  const h = header.nums;
  if (h.length < 2 || h.length > 3) throw bad(header.line, `header has ${h.length} numbers`, '"m n [fmt]"');
  const [m, n] = h as [number, number];
  const fmt = h[2] ?? 0;
  if (fmt !== 0 && fmt !== 1 && fmt !== 10 && fmt !== 11) throw bad(header.line, `fmt ${fmt} is not a valid format code`, 'fmt 0, 1 (hyperedge weights), 10 (vertex weights) or 11 (both)');
  if (m > 0x7ffffff0 || n > 0x7ffffff0) throw bad(header.line, `header m = ${m}, n = ${n} is too large`, 'm and n below 2^31');
  const hasEw = fmt === 1 || fmt === 11, hasVw = fmt === 10 || fmt === 11;
  // A wrong header is refused before arrays of m and n entries are allocated. Each hyperedge line
  // holds a pin or more (and its weight first with fmt 1 or 11), each vertex weight line a number,
  // each with its line end. Unpinned vertices are allowed, so without vertex weights the file does
  // not bound n; but the bytes after the header pin at most half as many vertices as there are
  // bytes, and a header n beyond them leaves more than half the vertices unpinned: taken for a
  // wrong header, as a SNAP edge list leaving more than half of its ids unused is.
  const rest = Math.max(0, text.length - lines.slice(0, header.line).join('\n').length - 1);
  const least = m * (hasEw ? 4 : 2) + (hasVw ? 2 * n : 0) - 1;
  if (least > rest) {
    throw bad(header.line, `header says m = ${m} hyperedges${hasVw ? ` and n = ${n} vertex weights` : ''} but only ${rest} bytes follow it`,
      `m hyperedge lines of ${hasEw ? 'a weight and ' : ''}one pin or more${hasVw ? ', then n vertex weight lines' : ''}, at least ${least} bytes`);
  }
  if (!hasVw && n > rest + 1) {
    throw bad(header.line, `header says n = ${n} vertices but only ${rest} bytes follow it, which pin at most ${Math.floor((rest + 1) / 2)} of them`,
      'n the hypergraph\'s vertex count: unpinned vertices are allowed, but not more than half of them');
  }

  const eptr = new Int32Array(m + 1), hewgt = new Int32Array(m).fill(1), vwgt = new Int32Array(n).fill(1);
  const pinList: number[] = [];
  const lastSeen = new Int32Array(n).fill(-1); // hyperedge that last listed each vertex, to find repeats
  for (let e = 0; e < m; e++) {
    const r = next();
    if (!r) throw bad(lastLine, `only ${e} hyperedge lines for the ${m} hyperedges the header declares`, `exactly m = ${m} hyperedge lines (header at line ${header.line})`);
    const { nums, line } = r;
    const first = hasEw ? 1 : 0;
    if (hasEw) {
      const w = nums[0]!;
      if (w < 1 || w >= MAX_WEIGHT) throw bad(line, `hyperedge ${e + 1} has weight ${w}`, 'a hyperedge weight in [1, 2^30)');
      hewgt[e] = w;
    }
    if (nums.length - first < 1) throw bad(line, `hyperedge ${e + 1} has no pins`, `at least one vertex id after ${hasEw ? 'the weight' : 'the line start'}`);
    for (let t = first; t < nums.length; t++) {
      const v = nums[t]!;
      if (v < 1 || v > n) throw bad(line, `hyperedge ${e + 1} has pin ${v}, out of range`, `pins in [1, ${n}] (1-based)`);
      if (lastSeen[v - 1] === e) throw bad(line, `hyperedge ${e + 1} lists vertex ${v} twice`, 'each pin once per hyperedge');
      lastSeen[v - 1] = e;
      pinList.push(v - 1);
    }
    eptr[e + 1] = pinList.length;
  }
  if (hasVw) {
    for (let v = 0; v < n; v++) {
      const r = next();
      if (!r) throw bad(lastLine, `only ${v} vertex weight lines for the ${n} vertices the header declares`, `exactly n = ${n} vertex weight lines after the hyperedges (fmt ${fmt})`);
      if (r.nums.length !== 1) throw bad(r.line, `vertex weight line ${v + 1} has ${r.nums.length} numbers`, `one vertex weight per line (fmt ${fmt}); or the header declares fewer hyperedges than the file has`);
      const w = r.nums[0]!;
      if (w >= MAX_WEIGHT) throw bad(r.line, `vertex ${v + 1} has weight ${w}`, 'a vertex weight in [0, 2^30)');
      vwgt[v] = w;
    }
  }
  const extra = next();
  if (extra) {
    throw bad(extra.line, `a line beyond the ${m} hyperedges${hasVw ? ` and ${n} vertex weights` : ''} the header declares`,
      `exactly ${hasVw ? `m + n = ${m + n}` : `m = ${m}`} lines after the header (header at line ${header.line}; fmt ${fmt})`);
  }
  return { n, m, eptr, pins: Int32Array.from(pinList), hewgt, vwgt };
}

/** Reads an hMETIS `.hgr` file (see parseHmetisHypergraph). */
export function loadHmetisHypergraph(path: string): Hypergraph {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SelfoptError(`cannot read hypergraph file: ${(e as Error).message}`, path, 'a readable hMETIS .hgr file');
  }
  return parseHmetisHypergraph(text, path);
}

/** Cut-net metric (hMETIS's objective): the total weight of hyperedges whose pins lie in more than one part. */
export function hyperedgeCut(h: Hypergraph, part: Int32Array): number {
  let cut = 0;
  for (let e = 0; e < h.m; e++) {
    const p0 = part[h.pins[h.eptr[e]!]!];
    for (let j = h.eptr[e]! + 1; j < h.eptr[e + 1]!; j++) {
      if (part[h.pins[j]!] !== p0) { cut += h.hewgt[e]!; break; }
    }
  }
  return cut;
}
