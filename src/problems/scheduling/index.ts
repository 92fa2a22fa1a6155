/**
 * Cluster job-DAG scheduling (Decima, Mao et al., SIGCOMM 2019): jobs are DAGs of stages that
 * arrive at a cluster of executors; a scheduler decides which stage each free executor works on
 * next and how many executors each job may hold. The simulator (sim.ts) follows decima-sim's
 * semantics; the heuristics are the paper's; the metric is job completion time.
 */
import type { Problem } from '../../core/problem.js';
import { unknownName } from '../../core/errors.js';
import { DATASETS, ID_FORM, idRangeError, instanceRef, loadInstance, type SchedulingInstance } from './instances.js';
import { compatOption, evaluateScheduling, METRICS, type SchedulingPolicy } from './evaluate.js';
import { heuristicSolvers, sweepEpisodes } from './heuristics.js';
import { decimaSample, decimaSolver } from './decima.js';
import { DECIMA_DEFAULTS, decimaConfig } from './decima-train.js';
import { scheduleSvg } from './picture.js';
import { prefixedOptions } from '../../core/options.js';
import { CHECKPOINT_OPTION } from '../../core/train.js';

/**
 * Instances of a default run; the TPC-H ones only when the profiles are on the data path. A full
 * run adds a stream of generated jobs (so a machine without the data sees continuous arrivals
 * too), the batch under decima-sim's executor-level rule, to compare with its published runs, and
 * the multi-resource batch (section 7.3, where Tetris and Graphene* belong).
 */
const QUICK_IDS = ['tpch_batch20_50exec', 'tpch_stream_50exec', 'synthetic_batch20_50exec'];
const DEFAULT_IDS = [...QUICK_IDS, 'synthetic_stream_50exec', 'tpch_batch20_50exec_compat', 'tpch_batch20_50exec_mr'];
/**
 * What `selfopt train scheduling decima` trains on: the training seeds of the paper's batch (TPC-H
 * when the profiles are on the data path, else the synthetic twin). Listed as train-split
 * instances, so a bench shows the heuristics on them too and never counts a learned score there.
 */
const TRAIN_IDS = ['tpch_batch20_50exec_train', 'synthetic_batch20_50exec_train'];

export const schedulingProblem: Problem<SchedulingInstance, SchedulingPolicy> = {
  name: 'scheduling',
  title: 'Cluster job-DAG scheduling: executors to stages of arriving Spark jobs',
  reference: 'Mao et al., Learning Scheduling Algorithms for Data Processing Clusters (Decima, SIGCOMM 2019); decima-sim',
  metrics: METRICS,
  options: {
    compat: "1: decima-sim's executor-level rule on any instance (README, two defects)",
    sweep_episodes: 'train-seed episodes per candidate in the tuned heuristics\' sweeps (default 10; 3 in quick mode)',
    'decima.sample': '1: Decima samples its actions instead of taking the most likely',
    ...CHECKPOINT_OPTION,
  },
  trainOptions: {
    ...prefixedOptions('decima.', DECIMA_DEFAULTS, 'a Decima training setting (decima-train.ts DECIMA_DEFAULTS)'),
    init: 'a checkpoint Decima training starts from',
  },
  // Each reader checks its own values; reading them all here refuses a bad one before any cell.
  checkOptionValues(options) {
    compatOption(options);
    sweepEpisodes({ options, quick: false });
    decimaSample(options);
    decimaConfig(undefined, options);
  },
  primaryMetric: 'avg_jct_s',
  baseline: 'fifo',
  // The issue asks for the simulator's speed in the summary: the median over every cell of the run.
  metaMetrics: { simDecisionsPerSec: 'decisions_per_sec', simTaskEventsPerSec: 'task_events_per_sec' },
  solvers: [...heuristicSolvers, decimaSolver],
  datasets: DATASETS,

  listInstances(ctx) {
    const ids = ctx.quick ? QUICK_IDS : DEFAULT_IDS;
    const refs = [];
    for (const id of ids) {
      try {
        refs.push(instanceRef(id, ctx.data)!);
      } catch {
        // a tpch instance without the data: skipped in a default run (resolveInstance explains it)
      }
    }
    for (const id of TRAIN_IDS) {
      try {
        refs.push(instanceRef(id, ctx.data)!);
        break; // the first one available
      } catch {
        // no TPC-H profiles: the synthetic twin
      }
    }
    return refs;
  },

  resolveInstance(name, ctx) {
    const ref = instanceRef(name, ctx.data);
    if (ref) return ref;
    const outOfRange = idRangeError(name, `scheduling problem (ids are ${ID_FORM})`);
    if (outOfRange) throw outOfRange;
    throw unknownName('instance', name, [...new Set([...DEFAULT_IDS, ...QUICK_IDS])], `scheduling problem (ids are ${ID_FORM})`);
  },

  load: (ref) => loadInstance(ref),

  picture: (inst, policy, caption) => scheduleSvg(inst, policy, caption),

  evaluate: (inst, policy, ctx) => evaluateScheduling(inst, policy, ctx),
};
