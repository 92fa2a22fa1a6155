/**
 * The learned-index problem: given a sorted key array, build an index that finds the lower bound
 * of a query key (first position with key >= query) fast. Classical searches and trees meet the
 * learned indexes of the literature (RMI, PGM-index, RadixSpline) on SOSD-style key sets.
 */
import { realpathSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { InstanceContext, InstanceRef, Problem } from '../../core/problem.js';
import { SelfoptError, unknownName } from '../../core/errors.js';
import { fileIdentity, isUserFile } from '../../core/files.js';
import type { KeySet } from './keys.js';
import { hasModel, type SearchIndex } from './search-index.js';
import { DATASETS, DISTRIBUTIONS, generateKeys, generatedId, genSpecDefect, loadSosd, parseGeneratedId, sosdHeaderKeyCount, sosdKeyType, type GenSpec } from './instances.js';
import { btreeK, classicalSolvers, karyFanout, rbsBits } from './heuristics.js';
import { evalConfig, evaluateIndex, METRICS } from './evaluate.js';
import { pgmOptions, pgmSolver } from './pgm.js';
import { rmiCompactSolver, rmiOptions, rmiSolver } from './rmi.js';
import { radixSplineOptions, radixSplineSolver } from './radixspline.js';
import { modelSvg } from './picture.js';
import { BUILDERS } from './build-data.js';

/** Generated sizes: SOSD uses 200M keys; we keep a default run short and in memory. */
export const GENERATED_KEYS = 1_000_000;
export const GENERATED_KEYS_QUICK = 200_000;

function generatedRef(spec: GenSpec): InstanceRef {
  return {
    id: generatedId(spec),
    source: 'generated',
    params: { dist: spec.dist, n: spec.n, type: spec.type, dup: spec.dup, seed: spec.seed },
    // An index is fitted to the very keys it indexes, so there is nothing to hold out.
    split: 'test',
    description: `${spec.n} ${spec.type} keys, SOSD ${spec.dist} recipe${spec.dup > 1 ? `, about ${spec.dup} copies per key` : ''}, seed ${spec.seed}`,
  };
}

function realRef(relPath: string, path: string, description: string): InstanceRef {
  return { id: basename(relPath), source: 'real', path, params: { relPath }, split: 'test', description };
}

function generatedRefs(quick: boolean): InstanceRef[] {
  const n = quick ? GENERATED_KEYS_QUICK : GENERATED_KEYS;
  return DISTRIBUTIONS.map((dist) => generatedRef({ dist, n, type: 'uint64', dup: 1, seed: 42 }));
}

function realRefs(ctx: InstanceContext): InstanceRef[] {
  const refs: InstanceRef[] = [];
  for (const d of DATASETS) {
    const path = ctx.data.find(d.relPath);
    if (path) refs.push(realRef(d.relPath, path, d.description));
  }
  return refs;
}

/**
 * A key file of the user's, recorded under its file name. A name that is a real dataset's or a
 * generated instance's would put its rows among theirs, so such a file is refused, unless it is
 * the dataset's own file as found on the data path (then it is that dataset).
 */
function userFileRef(path: string, type: string, ctx: InstanceContext): InstanceRef {
  const id = basename(path);
  const dataset = DATASETS.find((d) => basename(d.relPath) === id);
  if (dataset) {
    const found = ctx.data.find(dataset.relPath);
    if (found !== undefined && realpathSync(found) === realpathSync(path)) return realRef(dataset.relPath, found, dataset.description);
    throw new SelfoptError(`key file ${path} has the name of dataset ${id} ` + (found !== undefined ? `but is another file than ${found}` : '(not on the data path)'),
      '--instances (problem index)', `a key file whose name is no dataset's (rename it, e.g. my_${id}); if it is that dataset, --data DIR with the file at DIR/${dataset.relPath}`);
  }
  if (parseGeneratedId(id)) {
    throw new SelfoptError(`key file ${path} has the name of generated instance ${id}`, '--instances (problem index)',
      `a key file whose name is no generated instance's (rename it, e.g. my_${id}), or the id ${id} to generate the keys`);
  }
  const { bytes, sha256 } = fileIdentity(path);
  // The loader reads a well-formed empty file (count 0, nothing after it) as the empty set it is,
  // but no lookup can be timed on it: refused here, by its path, not in the first cell by its id.
  // Any other malformed file is the loader's to describe.
  if (bytes === 8 && sosdHeaderKeyCount(path) === 0) {
    throw new SelfoptError(`key file ${path} holds no keys (its header's key count is 0)`, '--instances (problem index)',
      'a SOSD key file with at least one key (lookups need a key to find)');
  }
  return { id, source: 'file', path, params: { type }, contents: `${bytes} bytes, sha256 ${sha256}`, split: 'test', description: `SOSD key file ${path}` };
}

export const indexProblem: Problem<KeySet, SearchIndex> = {
  name: 'index',
  title: 'Learned index structures: lower-bound lookups on sorted keys',
  reference: 'Kraska et al., The Case for Learned Index Structures (SIGMOD 2018); SOSD (Marcus et al., VLDB 2020); PGM-index (Ferragina & Vinciguerra, VLDB 2020); RadixSpline (Kipf et al., aiDM 2020)',
  metrics: METRICS,
  options: {
    lookups: 'lookups per timed batch (default 5000; 1000 in quick mode)',
    rounds: 'timed rounds, each metric the median over them (default 25; 9 in quick mode)',
    rbs_bits: "radix bits of rbs's table (default 18, SOSD's), or auto",
    kary_fanout: 'fanout of the k-ary search tree (default 16)',
    btree_k: "the B+tree's node capacity (default 16)",
    'rmi.timed': 'RMI candidates timed on tuning lookups (default 6; 1 takes the estimate alone)',
    'rmi.root': 'a fixed RMI root model (with rmi.branching): no search',
    'rmi.branching': 'a fixed RMI leaf count: no search',
    'rmi.tableBits': "a fixed RMI's radix table bits (with rmi.root=radix-table)",
    'rmi.maxBytes': "the RMI search's memory budget in bytes (rmi's; rmi-compact's is fixed)",
    'pgm.epsilon': "PGM's error bound",
    'pgm.epsilonRecursive': "PGM's error bound on its upper levels",
    'rs.epsilon': "RadixSpline's error bound",
    'rs.radixBits': "RadixSpline's radix table bits",
  },
  // Each reader checks its own values; reading them all here refuses a bad one before any cell.
  checkOptionValues(options) {
    evalConfig({ quick: false, options });
    rbsBits(options);
    karyFanout(options);
    btreeK(options);
    pgmOptions(options);
    radixSplineOptions(options);
    rmiOptions(options, false);
  },
  // The speedup over binary search timed in the same cell, interleaved, is the number that
  // survives a noisy shared machine; lookup_ns across cells is reported beside it.
  primaryMetric: 'speedup_vs_bs',
  baseline: 'binary-search',
  solvers: [...classicalSolvers, pgmSolver, rmiSolver, rmiCompactSolver, radixSplineSolver],
  datasets: DATASETS.map((d) => (BUILDERS[d.relPath] ? { ...d, build: BUILDERS[d.relPath] } : d)),
  // Timings: two timed cells must never share the cores.
  maxConcurrency: 1,

  // Indexes with a model: the keys and the model's error along them. Classical ones draw nothing.
  picture: (keys, index, caption) => (hasModel(index) ? modelSvg(keys, index, caption) : undefined),

  listInstances(ctx) {
    return [...generatedRefs(ctx.quick), ...realRefs(ctx)];
  },

  resolveInstance(name, ctx) {
    const listed = indexProblem.listInstances(ctx).find((r) => r.id === name);
    if (listed) return listed;
    const spec = parseGeneratedId(name);
    if (spec) {
      // Refused here, by the name given: the ref's id is made from the spec (a _dup0 id would be
      // recorded as the set without duplicates) and a cell would fail on it only when run.
      const defect = genSpecDefect(spec, `generated instance ${name}`, 1);
      if (defect) throw defect;
      return generatedRef(spec);
    }
    const dataset = DATASETS.find((d) => basename(d.relPath) === name);
    if (dataset) {
      const path = ctx.data.find(dataset.relPath);
      if (path) return realRef(dataset.relPath, path, dataset.description);
      throw new SelfoptError(`dataset '${name}' is not on the data path`, ctx.data.dirs.map((d) => d.dir).join(', '),
        `${dataset.relPath} in one of those directories; to obtain it: ${dataset.obtain}`);
    }
    if (isUserFile(name, 'index instance', 'a SOSD key file whose name ends in _uint32, _uint64 or _f64')) {
      const type = sosdKeyType(name);
      if (!type) {
        throw new SelfoptError(`cannot tell the key type of '${basename(name)}' from its name`, name, 'a SOSD key file whose name ends in _uint32, _uint64 or _f64');
      }
      return userFileRef(resolve(name), type, ctx);
    }
    const known = [...indexProblem.listInstances({ ...ctx, quick: false }), ...generatedRefs(true)].map((r) => r.id);
    for (const d of DATASETS) if (!known.includes(basename(d.relPath))) known.push(basename(d.relPath));
    throw unknownName('instance', name, known, 'index problem (a generated id such as lognormal_1M_uint64, a dataset name, or a SOSD file path)');
  },

  load(ref) {
    if (ref.source === 'generated') {
      const p = ref.params;
      return generateKeys({ dist: p.dist as GenSpec['dist'], n: Number(p.n), type: p.type as GenSpec['type'], dup: Number(p.dup ?? 1), seed: Number(p.seed ?? 42) });
    }
    if (!ref.path) throw new SelfoptError(`instance '${ref.id}' has no file path`, 'index problem load', 'a real or file instance with a path');
    return loadSosd(ref.path);
  },

  evaluate(keys, index, ctx) {
    return evaluateIndex(keys, index, ctx);
  },
};
