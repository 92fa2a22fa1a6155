/**
 * Decima (Mao et al., SIGCOMM 2019): a learned scheduler that embeds every job DAG by message
 * passing, summarizes jobs and the cluster, and picks a stage and a parallelism limit with a
 * two-headed masked policy (decima-net.ts), trained by REINFORCE with the input-dependent
 * baseline (decima-train.ts). This file is the registered solver: it loads the shipped
 * checkpoint and acts with it (decima-policy.ts).
 */
import { existsSync } from 'node:fs';
import { SelfoptError } from '../../core/errors.js';
import { boolOption } from '../../core/options.js';
import { checkpointFor, shippedCheckpointPath } from '../../core/train.js';
import type { InstanceRef, LearnedSolver, SolveContext, TrainBudget, TrainContext } from '../../core/problem.js';
import type { SchedulingPolicy } from './evaluate.js';
import type { SchedulingInstance } from './instances.js';
import { firstFitClass } from './heuristics.js';
import type { DecimaNet } from './decima-net.js';
import { DECIMA_MODEL, decimaExecutors, decimaPolicy, loadDecima } from './decima-policy.js';
import { trainDecima } from './decima-train.js';

// One net per checkpoint, loaded once per process (a bench asks for it in every cell).
const nets = new Map<string, DecimaNet>();

export const decimaSolver: LearnedSolver<SchedulingInstance, SchedulingPolicy> = {
  info: {
    name: 'decima', kind: 'learned',
    description: 'Decima: DAG message passing, job and global summaries, two-headed (stage, parallelism limit) policy, REINFORCE with the input-dependent baseline',
    reference: 'Mao et al., Learning Scheduling Algorithms for Data Processing Clusters, SIGCOMM 2019',
    checkpoint: DECIMA_MODEL,
  },
  /**
   * A net acts for the cluster size it was trained for: an instance with another executor count is
   * left out of the grid, with why (solve would refuse it in every cell). A checkpoint that cannot
   * be read is left to solve, whose error says what is missing.
   */
  appliesTo(ref: InstanceRef, options: Readonly<Record<string, string>>): boolean | string {
    const E = Number(ref.params['numExecutors']);
    let path: string, trained: number;
    try {
      path = decimaCheckpoint({ stream: ref.params['workload'] === 'stream', synthetic: ref.params['pool'] === 'synthetic', classes: ref.params['executorClasses'] !== undefined }, options);
      trained = decimaExecutors(path);
    } catch {
      return true;
    }
    return trained === E || `its checkpoint ${path} was trained for ${trained} executors and the instance has ${E} (a net acts for one cluster size; --opt checkpoint=FILE for one trained on ${E})`;
  },
  solve(inst: SchedulingInstance, ctx: SolveContext): SchedulingPolicy {
    const path = decimaCheckpoint({ stream: inst.workload.kind === 'stream', synthetic: inst.pool === 'synthetic', classes: inst.executorClasses !== undefined }, ctx.options);
    let net = nets.get(path);
    if (!net) nets.set(path, (net = loadDecima(path)));
    if (net.opts.numExecutors !== inst.numExecutors) {
      throw new SelfoptError(`the checkpoint was trained for ${net.opts.numExecutors} executors, the instance has ${inst.numExecutors}`, `instance ${inst.id}`, `an instance with ${net.opts.numExecutors} executors, or a checkpoint trained for ${inst.numExecutors}`);
    }
    const sample = decimaSample(ctx.options);
    // On a multi-resource instance this net (no executor-class head) takes the first-fit class.
    return firstFitClass(decimaPolicy(net, { sample }));
  },
  async train(instances: SchedulingInstance[], budget: TrainBudget, ctx: TrainContext): Promise<void> {
    await trainDecima(instances, budget, ctx);
  },
};

/**
 * The checkpoint Decima acts with, when no `--opt checkpoint=FILE` names one: continuous arrivals
 * use the stream checkpoint (trained on TPC-H streams; it carries over to generated streams, README),
 * a batch of generated jobs the synthetic one (trained on the generated profiles: the TPC-H one
 * does not carry over to them, README), a TPC-H batch on executor classes (_mr) the multi-resource
 * one (trained there, first fit), each when shipped; everything else, and a missing one, the
 * batch checkpoint trained on TPC-H.
 */
function decimaCheckpoint(of: { stream: boolean; synthetic: boolean; classes: boolean }, options: Readonly<Record<string, string>>): string {
  const own = of.stream ? 'decima-stream' : of.synthetic ? 'decima-synthetic' : of.classes ? 'decima-mr' : undefined;
  const ownPath = own && !options['checkpoint'] ? shippedCheckpointPath('scheduling', own) : undefined;
  return ownPath && existsSync(ownPath) ? ownPath : checkpointFor('scheduling', 'decima', options);
}

/** `--opt decima.sample=1`: Decima samples its actions instead of taking the most likely. */
export function decimaSample(options: Readonly<Record<string, string>>): boolean {
  return boolOption(options, 'decima.sample', false);
}
