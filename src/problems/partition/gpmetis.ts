/**
 * METIS's `gpmetis` (Debian package `metis`, 5.1) as a real peer: the instance is written as a
 * METIS .graph in a fresh temp directory, `gpmetis -seed=<seed> -ufactor=30 <file> <k>` runs as a
 * subprocess, its `<file>.part.<k>` (one part id per line) is read back, and the directory is
 * removed whatever happens. The runner times solve(), so partition_ms includes writing the file,
 * starting the process and reading the answer: the cost of using METIS from outside.
 *
 * When gpmetis is not installed the solver is left out of the problem's solver list (a default
 * run never fails for a missing peer), unless $SELFOPT_GPMETIS names it; solve() then says what
 * is wrong with that path, or, called anyway, how to install it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SelfoptError } from '../../core/errors.js';
import { formatMetisGraph, graphFileHasNoEdges, type PartitionInstance } from './instances.js';
import type { InstanceRef } from '../../core/problem.js';
import { edgeCount } from '../../core/graph.js';
import { imbalanceBound, type PartitionSolver } from './heuristics.js';
import { inTempDir } from '../../core/files.js';
import { findExecutable, peerListed, peerMissing, readToolOutput, runTool } from './peer.js';

/** The gpmetis executable on PATH (or $SELFOPT_GPMETIS), or undefined. */
export function findGpmetis(): string | undefined {
  return findExecutable(['gpmetis'], 'SELFOPT_GPMETIS');
}

/** Whether gpmetis is in the solver list: installed, or $SELFOPT_GPMETIS set (right or wrong). */
export const gpmetisListed = (): boolean => peerListed(['gpmetis'], 'SELFOPT_GPMETIS');

/** Parses a METIS partition file: n lines, one part id in [0, k) each. */
export function parsePartFile(text: string, n: number, k: number, where: string): Int32Array {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length !== n) throw new SelfoptError(`partition file has ${lines.length} lines`, where, `one line per vertex (${n})`);
  const part = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const p = Number(lines[i]);
    if (!Number.isInteger(p) || p < 0 || p >= k) throw new SelfoptError(`line ${i + 1} is '${lines[i]}'`, where, `a part id in [0, ${k})`);
    part[i] = p;
  }
  return part;
}

export async function runGpmetis(inst: PartitionInstance, seed: number, ufactor = 30): Promise<Int32Array> {
  // Said here too for a graph the grid could not see was edgeless (gpmetisApplies reads files only).
  if (edgeCount(inst.graph) === 0) {
    throw new SelfoptError(`graph ${inst.id} has no edges`, 'solver gpmetis', 'a graph with at least one edge (gpmetis 5.1 refuses others: "nedges must be positive")');
  }
  const exe = findGpmetis();
  if (!exe) {
    throw peerMissing('gpmetis', 'SELFOPT_GPMETIS', 'METIS\'s gpmetis', 'metis');
  }
  return inTempDir('selfopt-gpmetis-', async (dir) => {
    const file = join(dir, 'g.graph');
    writeFileSync(file, formatMetisGraph(inst.graph));
    const expected = 'gpmetis to exit 0 and write the partition file';
    await runTool(exe, [`-seed=${seed}`, `-ufactor=${ufactor}`, file, String(inst.k)], 'gpmetis', `gpmetis on ${inst.id}`, expected);
    const text = readToolOutput(join(dir, `g.graph.part.${inst.k}`), `gpmetis (${exe})`, `gpmetis on ${inst.id}`, expected);
    return parsePartFile(text, inst.graph.n, inst.k, `gpmetis output for ${inst.id}`);
  });
}

/** Files already read for appliesTo, by path and contents (the grid asks once per check). */
const edgeless = new Map<string, boolean>();

/**
 * gpmetis 5.1 refuses a graph without edges ("nvtxs and nedges must be positive"): such a graph
 * of the user's is no instance for it, so its cells are left out rather than failing the run
 * (every generated and real graph has edges).
 */
function gpmetisApplies(ref: InstanceRef): boolean {
  if (ref.source !== 'file' || !ref.path) return true;
  const key = `${ref.path}\0${ref.contents ?? ''}`;
  if (!edgeless.has(key)) edgeless.set(key, graphFileHasNoEdges(ref.path, ref.params['format'] === 'snap' ? 'snap' : 'metis'));
  return !edgeless.get(key);
}

export const gpmetisSolver: PartitionSolver = {
  info: {
    name: 'gpmetis',
    kind: 'peer',
    description: 'METIS 5 gpmetis (k-way, -ufactor=30 or (ub - 1) x 1000 with --opt ub, seeded), as a subprocess on a temp .graph file; graphs with edges only (gpmetis refuses the others)',
    reference: 'Karypis & Kumar, METIS 5.1 (Debian package metis)',
  },
  appliesTo: gpmetisApplies,
  // METIS's ufactor is the allowed imbalance in thousandths: ub 1.03 is 30. At least 1: gpmetis 5.1
  // fails with -ufactor=0 ("Could not find pointer ... in mcore").
  solve: (inst, ctx) => runGpmetis(inst, ctx.seed, Math.max(1, Math.round((imbalanceBound(ctx.options) - 1) * 1000))),
};
