/**
 * Graph partitioning (METIS; GAP, Nazi et al. 2019): split a graph's vertices into k parts of
 * nearly equal weight (at most 1.03 x average) while cutting as little edge weight as possible.
 * Classical partitioners and the multilevel partitioner of METIS's class meet gpmetis itself (as
 * a peer, when installed) on real meshes and generated graphs.
 */
import { basename, resolve } from 'node:path';
import type { InstanceContext, InstanceRef, Problem } from '../../core/problem.js';
import { SelfoptError, unknownName } from '../../core/errors.js';
import { fileIdentity, isUserFile } from '../../core/files.js';
import {
  DATASETS, GENERATED_KINDS, REAL_GRAPHS, generateGraph, loadMetisGraph, loadRealGraph, loadSnapEdgeList, parseGeneratedName, parseInstanceId, instanceIdDefect,
  type PartitionInstance,
} from './instances.js';
import { evaluatePartition, METRICS } from './evaluate.js';
import { heuristicSolvers, multilevelConfig, spectralConfig } from './heuristics.js';
import { gpmetisListed, gpmetisSolver } from './gpmetis.js';
import { scotchListed, scotchSolver } from './scotch.js';
import { GAP_DEFAULTS, GAP_INFERENCE_FIELDS, gapConfig, gapFmSolver, gapSolver } from './gap.js';
import { partitionSvg } from './picture.js';
import { prefixedOptions } from '../../core/options.js';
import { CHECKPOINT_OPTION } from '../../core/train.js';
import { BUILDERS } from './build-data.js';
import { meshSide } from './generators.js';

const QUICK_GENERATED = ['rgg_2k', 'mesh_2k'];
const FULL_GENERATED = ['rgg_2k', 'mesh_2k', 'ba_2k', 'sbm_2k', 'compgraph_2k'];
const QUICK_REAL = ['4elt'];
/** GAP's train split: generated graphs with seeds >= 1000 (test instances use seed 42), at k = 2. */
const TRAIN_GENERATED = ['rgg_1k_s1001', 'mesh_1k_s1002', 'ba_1k_s1003', 'sbm_1k_s1004', 'compgraph_1k_s1005'];
const TRAIN_SEED_MIN = 1000;
const QUICK_K = [2, 8];
const USER_FILE = 'a METIS graph file (or a SNAP edge list ending in .txt), named <path>_k<k>';
const FULL_K = [2, 8, 32];

function instanceRef(name: string, k: number, ctx: InstanceContext): InstanceRef | undefined {
  const id = `${name}_k${k}`;
  const spec = parseGeneratedName(name);
  if (spec) {
    return {
      id, source: 'generated', split: spec.seed >= TRAIN_SEED_MIN ? 'train' : 'test',
      params: { kind: spec.kind, n: spec.n, seed: spec.seed, k },
      description: `${GENERATED_KINDS[spec.kind]}, ${spec.kind === 'mesh' ? `${meshSide(spec.n)} x ${meshSide(spec.n)} grid, ${meshSide(spec.n) ** 2}` : spec.n} vertices, seed ${spec.seed}, k = ${k}`,
    };
  }
  const real = REAL_GRAPHS.find((g) => g.name === name);
  if (real) {
    const path = ctx.data.find(real.relPath);
    if (!path) return undefined;
    const labelsPath = real.labelsRelPath ? ctx.data.find(real.labelsRelPath) : undefined;
    return {
      id, source: 'real', path, split: 'test',
      params: { relPath: real.relPath, k, ...(labelsPath ? { labelsPath } : {}) },
      description: `${real.description}, k = ${k}`,
    };
  }
  return undefined;
}

/**
 * A graph file of the user's, recorded as `<file name>_k<k>`. A file named as a real graph or a
 * generated one is refused: its rows would be recorded among theirs.
 */
function userGraphRef(path: string, k: number): InstanceRef {
  const name = basename(path);
  const taken = REAL_GRAPHS.some((g) => g.name === name) ? 'real graph' : parseGeneratedName(name) ? 'generated graph' : undefined;
  if (taken) {
    throw new SelfoptError(`graph file ${path} has the name of the ${taken} ${name} (instance ${name}_k${k})`, '--instances (problem partition)',
      `a graph file whose name is no ${taken}'s (rename it, e.g. my_${name})`);
  }
  // Read as METIS, a hypergraph gave an error about a graph it is not ("vertex 1 has a self-loop").
  if (path.toLowerCase().endsWith('.hgr')) {
    throw new SelfoptError(`${path} is an hMETIS hypergraph (.hgr): no solver partitions hypergraphs yet`, '--instances (problem partition)',
      'a METIS .graph file, or a SNAP edge list ending in .txt');
  }
  const format = path.endsWith('.txt') ? 'snap' : 'metis';
  const { bytes, sha256 } = fileIdentity(path);
  return {
    id: `${name}_k${k}`, source: 'file', path, split: 'test', params: { k, format }, contents: `${bytes} bytes, sha256 ${sha256}`,
    description: `${format === 'snap' ? 'SNAP edge list' : 'METIS graph'} ${path}, k = ${k}`,
  };
}

/** GAP's settings that its inference reads (`inference`), or the others, which only training reads. */
function gapFields(inference: boolean): Partial<typeof GAP_DEFAULTS> {
  return Object.fromEntries(Object.entries(GAP_DEFAULTS).filter(([k]) => GAP_INFERENCE_FIELDS.includes(k as keyof typeof GAP_DEFAULTS) === inference));
}

export const partitionProblem: Problem<PartitionInstance, Int32Array> = {
  name: 'partition',
  title: 'Graph partitioning: k balanced parts, minimum edge cut',
  reference: 'Karypis & Kumar, METIS (SIAM J. Sci. Comput. 1998); Nazi et al., GAP: Generalizable Approximate Graph Partitioning Framework (2019)',
  metrics: METRICS,
  options: {
    ub: "imbalance bound: each part at most ub x the average weight (default 1.03); every solver's but gap's alone (gpmetis's ufactor, Scotch's -b)",
    coarsen_to: 'coarsen until at most this many vertices',
    init_tries: 'initial bisections tried on the coarsest graph',
    fm_passes: 'FM refinement passes per level',
    bisection_tries: 'recursive bisections tried per split',
    kway_passes: 'k-way refinement passes per level',
    vcycles: 'V-cycles of the multilevel schemes',
    laplacian: "spectral's Laplacian: normalized or combinatorial",
    lanczos_steps: "spectral's Lanczos steps",
    refine_steps: "spectral's refinement steps",
    tol: "spectral's eigenvector tolerance",
    ...prefixedOptions('gap.', gapFields(true), 'a GAP inference setting (gap.ts GAP_DEFAULTS): its multilevel use'),
    ...CHECKPOINT_OPTION,
  },
  trainOptions: prefixedOptions('gap.', gapFields(false), 'a GAP training setting (gap.ts GAP_DEFAULTS): network, optimiser, training graphs'),
  // Each reader checks its own values; reading them all here refuses a bad one before any cell.
  checkOptionValues(options) {
    multilevelConfig(options);
    spectralConfig(options, 0);
    gapConfig(options);
  },
  primaryMetric: 'edge_cut',
  baseline: 'random',
  // The peers only when installed, so that a default run never fails for a missing one.
  solvers: [...heuristicSolvers, ...(gpmetisListed() ? [gpmetisSolver] : []), ...(scotchListed() ? [scotchSolver] : []), gapSolver, gapFmSolver],
  datasets: DATASETS.map((d) => (BUILDERS[d.relPath] ? { ...d, build: BUILDERS[d.relPath] } : d)),
  // partition_ms is a timing: two timed cells must not share the cores.
  maxConcurrency: 1,

  listInstances(ctx) {
    const names = ctx.quick ? [...QUICK_GENERATED, ...QUICK_REAL] : [...FULL_GENERATED, ...REAL_GRAPHS.map((g) => g.name)];
    const refs: InstanceRef[] = [];
    for (const name of TRAIN_GENERATED) refs.push(instanceRef(name, 2, ctx)!);
    for (const name of names) for (const k of [...(ctx.quick ? QUICK_K : FULL_K), ...(ctx.quick ? [] : REAL_GRAPHS.find((g) => g.name === name)?.extraK ?? [])]) {
      const r = instanceRef(name, k, ctx);
      if (r) refs.push(r);
    }
    return refs;
  },

  resolveInstance(name, ctx) {
    const parsed = parseInstanceId(name);
    const defect = instanceIdDefect(name, 'partition instance');
    if (parsed) {
      const r = instanceRef(parsed.name, parsed.k, ctx);
      if (r) return r;
      const real = REAL_GRAPHS.find((g) => g.name === parsed.name);
      if (real) {
        throw new SelfoptError(`graph '${real.name}' is not on the data path`, ctx.data.dirs.map((d) => d.dir).join(', '),
          `${real.relPath} in one of those directories (see ../shared/data/partition/PROVENANCE.md)`);
      }
      // A graph file of the user's: `<path>_k<k>`, a SNAP edge list when it ends in .txt, else METIS.
      if (isUserFile(parsed.name, 'partition instance', USER_FILE)) return userGraphRef(resolve(parsed.name), parsed.k);
    } else if (!defect && isUserFile(name, 'partition instance', USER_FILE)) {
      throw new SelfoptError(`graph file '${name}' names no part count`, 'partition instance', `'${name}_k<k>', e.g. '${name}_k8'`);
    }
    // A k out of range, or a generated graph's size: say which, rather than "unknown instance".
    if (defect) throw defect;
    const known = [...partitionProblem.listInstances({ ...ctx, quick: false }), ...partitionProblem.listInstances({ ...ctx, quick: true })].map((r) => r.id);
    throw unknownName('instance', name, [...new Set(known)], `partition problem (ids are <graph>_k<k>: graph ${REAL_GRAPHS.map((g) => g.name).join(', ')}, or generated rgg_<n>[k], mesh_<n>[k], ba_<n>[k], sbm_<n>[k], compgraph_<n>[k], optional _s<seed>, or a graph file's path, e.g. ./my.graph_k8)`);
  },

  load(ref) {
    const parsed = parseInstanceId(ref.id);
    if (!parsed) throw new SelfoptError(`instance id '${ref.id}'`, 'partition load', '<graph>_k<k>');
    if (ref.source === 'generated') {
      const spec = parseGeneratedName(parsed.name)!;
      return { id: ref.id, name: parsed.name, k: parsed.k, ...generateGraph(spec) };
    }
    if (ref.source === 'file' && ref.path) {
      const graph = ref.params?.format === 'snap' ? loadSnapEdgeList(ref.path) : loadMetisGraph(ref.path);
      return { id: ref.id, name: parsed.name, k: parsed.k, graph };
    }
    const real = REAL_GRAPHS.find((g) => g.name === parsed.name);
    if (!ref.path || !real) throw new SelfoptError(`instance '${ref.id}' has no file path`, 'partition load', 'a real instance with a path');
    const labelsPath = typeof ref.params?.labelsPath === 'string' ? ref.params.labelsPath : undefined;
    return { id: ref.id, name: parsed.name, k: parsed.k, ...loadRealGraph(real, ref.path, labelsPath) };
  },

  evaluate: (inst, part, ctx) => evaluatePartition(inst, part, ctx),
  picture: (inst, part, caption) => partitionSvg(inst, part, caption),
};
