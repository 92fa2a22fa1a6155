/**
 * Chip macro placement under Circuit Training's proxy cost (Mirhoseini et al. 2021; the ISPD 2023
 * assessment by Cheng et al.): greedy, simulated annealing and an RL placer, all from scratch, beside
 * the staged reference placements of Ariane133, on real and generated netlists.
 */
import type { InstanceContext, InstanceRef, Problem, Solver } from '../../core/problem.js';
import { SelfoptError, unknownName } from '../../core/errors.js';
import { resolve } from 'node:path';
import { fileIdentity, isUserFile } from '../../core/files.js';
import { DATASETS, REAL_NETLISTS, generateInstance, loadNetlistFiles, loadReal, parseSyntheticName, stagedReferences, userNetlistFiles, type ChipInstance } from './instances.js';
import { evaluatePlacement, METRICS, type ChipSolution } from './evaluate.js';
import { placementSvg } from './picture.js';
import { greedyCandidates, heuristicSolvers, saSteps } from './heuristics.js';
import { rlConfigFrom, rlFinetune, rlSolver } from './rl.js';
import { CHECKPOINT_OPTION } from '../../core/train.js';

const QUICK_TEST = ['synth_h8_s40_1', 'synth_h16_s80_2'];
const FULL_TEST = [...QUICK_TEST, 'synth_h24_s120_3', 'synth_h40_s200_4'];
const QUICK_TRAIN = ['synth_h6_s24_101', 'synth_h8_s32_102'];
const FULL_TRAIN = [...QUICK_TRAIN, 'synth_h10_s40_103', 'synth_h12_s48_104', 'synth_h16_s64_105', 'synth_h8_s40_106'];

function generatedRef(id: string, split: 'train' | 'test'): InstanceRef | undefined {
  const spec = parseSyntheticName(id);
  if (!spec) return undefined;
  return { id, source: 'generated', split, params: { ...spec }, description: `synthetic netlist: ${spec.hard} hard macros, ${spec.soft} clusters, ${spec.ports} ports, seed ${spec.seed}` };
}

function realRef(name: string, ctx: InstanceContext): InstanceRef | undefined {
  const r = REAL_NETLISTS.find((q) => q.name === name);
  if (!r) return undefined;
  const path = ctx.data.find(r.netlist);
  const plc = ctx.data.find(r.plc);
  if (!path || !plc) return undefined;
  const refs: Record<string, string> = {};
  for (const [k, rel] of Object.entries(r.references)) { const p = ctx.data.find(rel); if (p) refs[k] = p; }
  return { id: r.name, source: 'real', path, split: 'test', params: { netlist: r.netlist, plc, references: JSON.stringify(refs) }, description: r.description };
}

/** A user's netlist and .plc (instances.ts userNetlistFiles), its contents hashed so that --resume notices a changed file. */
function userRef(path: string): InstanceRef {
  const f = userNetlistFiles(path);
  if (REAL_NETLISTS.some((r) => r.name === f.id) || parseSyntheticName(f.id))
    throw new SelfoptError(`the files ${f.plc} and ${f.netlist} make the instance id ${f.id}, a listed instance's`, 'chip instance', 'a directory whose name with the .plc name is no listed or generated instance (rename the directory)');
  const a = fileIdentity(f.netlist), b = fileIdentity(f.plc);
  return {
    id: f.id, source: 'file', path: f.netlist, split: 'test', params: { plc: f.plc, references: JSON.stringify(f.references) },
    contents: `netlist ${a.bytes} bytes, sha256 ${a.sha256}; plc ${b.bytes} bytes, sha256 ${b.sha256}`,
    description: `netlist ${f.netlist} with ${f.plc}`,
  };
}

export const chipProblem: Problem<ChipInstance, ChipSolution> = {
  name: 'chip',
  title: 'Chip macro placement: Circuit Training proxy cost (wirelength + 0.5 density + 0.5 congestion)',
  reference: 'Mirhoseini et al., Nature 2021 (Circuit Training); Cheng et al., Assessment of RL for Macro Placement, ISPD 2023',
  metrics: METRICS,
  options: {
    greedy_candidates: 'greedy: grid cells scored per macro (0: all)',
    sa_steps: "simulated annealing's steps",
    rl_finetune: 'rl: PPO updates on the netlist itself before placing',
    rl_fd_rounds: "rl: force-directed rounds for the standard-cell clusters",
    svg: 'a directory to write every placement to as SVG',
    ...CHECKPOINT_OPTION,
  },
  // Each reader checks its own values; reading them all here refuses a bad one before any cell.
  checkOptionValues(options) {
    greedyCandidates(options, 0);
    saSteps(options, false);
    rlConfigFrom(options);
    rlFinetune(options);
  },
  primaryMetric: 'proxy_cost',
  // greedy is from scratch on every instance; the staged placements exist for real netlists only
  baseline: 'greedy',
  solvers: [...heuristicSolvers, rlSolver] as Solver<ChipInstance, ChipSolution>[],
  datasets: DATASETS,
  metaMetrics: { fullEvalMs: 'eval_ms', incrementalMoveMs: 'move_ms', incrementalVsFull: 'move_vs_eval' },
  // place_ms is a timing: two timed cells must not share the cores
  maxConcurrency: 1,

  listInstances(ctx) {
    const refs: InstanceRef[] = [];
    if (!ctx.quick) for (const r of REAL_NETLISTS) { const ref = realRef(r.name, ctx); if (ref) refs.push(ref); }
    for (const id of ctx.quick ? QUICK_TEST : FULL_TEST) refs.push(generatedRef(id, 'test')!);
    for (const id of ctx.quick ? QUICK_TRAIN : FULL_TRAIN) refs.push(generatedRef(id, 'train')!);
    return refs;
  },

  resolveInstance(name, ctx) {
    const real = realRef(name, ctx);
    if (real) return real;
    if (REAL_NETLISTS.some((r) => r.name === name)) {
      throw new SelfoptError(`netlist '${name}' is not on the data path`, ctx.data.dirs.map((d) => d.dir).join(', '), 'chip/... as in ../shared/data/chip/PROVENANCE.md');
    }
    const train = [...QUICK_TRAIN, ...FULL_TRAIN].includes(name) || /_1\d\d$/.test(name);
    const gen = generatedRef(name, train ? 'train' : 'test');
    if (gen) return gen;
    if (isUserFile(name, 'chip instance', "a Circuit Training .plc with netlist.pb.txt beside it, or a netlist.pb.txt with initial.plc beside it")) return userRef(resolve(name));
    throw unknownName('instance', name, [...REAL_NETLISTS.map((r) => r.name), ...FULL_TEST, ...FULL_TRAIN], 'chip problem (or synth_h<hard 1..400>_s<soft 0..4000>[_p<ports>]_<seed> of 2 nodes or more; seeds 100-199 are the train split; or the path of a .plc beside its netlist.pb.txt)');
  },

  load(ref) {
    if (ref.source === 'generated') return generateInstance(ref.id);
    if (ref.source === 'file' && ref.path) return loadNetlistFiles(ref.id, { netlist: ref.path, plc: String(ref.params['plc']), references: stagedReferences(ref) });
    const r = REAL_NETLISTS.find((q) => q.name === ref.id);
    if (!r || !ref.path) throw new SelfoptError(`instance '${ref.id}'`, 'chip load', 'a listed real netlist with a path');
    return loadReal(r, { netlist: ref.path, plc: String(ref.params['plc']), references: stagedReferences(ref) });
  },

  evaluate: (inst, sol, ctx) => evaluatePlacement(inst, sol, ctx),
  picture: (inst, sol, caption) => placementSvg(inst, sol, caption),
};
