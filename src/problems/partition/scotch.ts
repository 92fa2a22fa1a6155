/**
 * Scotch (Pellegrini, LaBRI; Debian package `scotch`, 7.0) as a real peer: the instance is written
 * in Scotch's own source graph format (below) in a fresh temp directory, `scotch_gpart <k> g.grf
 * g.map -b0.03 -Cd` runs as a subprocess, and its mapping file is read back. The runner times
 * solve(), so partition_ms includes writing the file, starting the process and reading the answer.
 *
 * Scotch's graph file (.grf, Scotch user's manual section "Source graph files"; checked against
 * Debian's `gcv -ic` converting a METIS file): line 1 the version `0`; line 2 `n 2m` (vertices
 * and arcs, each undirected edge counted in both directions); line 3 `baseval flags`, flags three
 * digits (vertex labels, edge weights, vertex loads); then one line per vertex: [load] degree and,
 * per neighbour, [edge weight] then the neighbour number (the weight comes before the vertex, unlike
 * METIS). The mapping file: a count line, then `vertex part` per vertex.
 *
 * Scotch's command-line tools take no seed; `-Cd` asks for its deterministic behaviour, so every
 * seed gives the same partition (the bench's seeds then only repeat the timing). `-b0.03` is the
 * imbalance tolerance matching METIS's ufactor 30. Executables: `scotch_gpart` (Debian's name), or
 * plain `gpart` (upstream's), or $SELFOPT_SCOTCH. Listed only when installed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SelfoptError } from '../../core/errors.js';
import type { CsrGraph } from '../../core/graph.js';
import type { PartitionInstance } from './instances.js';
import { imbalanceBound, type PartitionSolver } from './heuristics.js';
import { inTempDir } from '../../core/files.js';
import { findExecutable, peerListed, peerMissing, readToolOutput, runTool } from './peer.js';

/** Scotch's gpart on PATH (`scotch_gpart` or `gpart`), or $SELFOPT_SCOTCH, or undefined. */
export function findScotch(): string | undefined {
  return findExecutable(['scotch_gpart', 'gpart'], 'SELFOPT_SCOTCH');
}

/** Whether scotch is in the solver list: installed, or $SELFOPT_SCOTCH set (right or wrong). */
export const scotchListed = (): boolean => peerListed(['scotch_gpart', 'gpart'], 'SELFOPT_SCOTCH');

/** Scotch source graph text, base 0; weights written only when some weight is not 1. */
export function formatScotchGraph(g: CsrGraph): string {
  let vw = false, ew = false;
  for (let v = 0; v < g.n; v++) if (g.vwgt[v] !== 1) { vw = true; break; }
  for (let e = 0; e < g.adjwgt.length; e++) if (g.adjwgt[e] !== 1) { ew = true; break; }
  const out: string[] = ['0', `${g.n}\t${g.adjncy.length}`, `0\t0${ew ? 1 : 0}${vw ? 1 : 0}`];
  const parts: number[] = [];
  for (let v = 0; v < g.n; v++) {
    parts.length = 0;
    if (vw) parts.push(g.vwgt[v]!);
    parts.push(g.xadj[v + 1]! - g.xadj[v]!);
    for (let e = g.xadj[v]!; e < g.xadj[v + 1]!; e++) {
      if (ew) parts.push(g.adjwgt[e]!);
      parts.push(g.adjncy[e]!);
    }
    out.push(parts.join('\t'));
  }
  return out.join('\n') + '\n';
}

/** Parses a Scotch mapping file (`count` then `vertex part` lines, base 0) into part ids. */
export function parseScotchMapping(text: string, n: number, k: number, where: string): Int32Array {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const count = Number(lines[0]);
  if (lines.length === 0 || count !== n || lines.length !== n + 1) {
    throw new SelfoptError(`mapping has count '${lines[0] ?? ''}' and ${Math.max(0, lines.length - 1)} entries`, where, `a count line ${n} then one 'vertex part' line per vertex`);
  }
  const part = new Int32Array(n).fill(-1);
  for (let i = 1; i <= n; i++) {
    const f = lines[i]!.split(/\s+/);
    const v = Number(f[0]), p = Number(f[1]);
    if (f.length !== 2 || !Number.isInteger(v) || v < 0 || v >= n || part[v] !== -1 || !Number.isInteger(p) || p < 0 || p >= k) {
      throw new SelfoptError(`line ${i + 1} is '${lines[i]}'`, where, `'vertex part' with a new vertex in [0, ${n}) and a part in [0, ${k})`);
    }
    part[v] = p;
  }
  return part;
}

export async function runScotch(inst: PartitionInstance, imbalance = 0.03): Promise<Int32Array> {
  const exe = findScotch();
  if (!exe) {
    throw peerMissing('scotch', 'SELFOPT_SCOTCH', 'Scotch\'s scotch_gpart (or gpart)', 'scotch');
  }
  return inTempDir('selfopt-scotch-', async (dir) => {
    const file = join(dir, 'g.grf'), map = join(dir, 'g.map');
    writeFileSync(file, formatScotchGraph(inst.graph));
    const expected = 'scotch_gpart to exit 0 and write the mapping file';
    await runTool(exe, [String(inst.k), file, map, `-b${imbalance}`, '-Cd'], 'scotch_gpart', `scotch on ${inst.id}`, expected);
    return parseScotchMapping(readToolOutput(map, `scotch_gpart (${exe})`, `scotch on ${inst.id}`, expected), inst.graph.n, inst.k, `scotch mapping for ${inst.id}`);
  });
}

export const scotchSolver: PartitionSolver = {
  info: {
    name: 'scotch',
    kind: 'peer',
    description: 'Scotch 7 scotch_gpart (default quality strategy, -b0.03 or ub - 1 with --opt ub, deterministic), as a subprocess on a temp .grf file',
    reference: 'Pellegrini, Scotch and libScotch user\'s guide (Debian package scotch)',
  },
  // Scotch's -b is the allowed imbalance as a fraction (rounded so that ub 1.03 is 0.03, not 0.030000000000000027).
  solve: (inst, ctx) => runScotch(inst, Number((imbalanceBound(ctx.options) - 1).toFixed(6))),
};
