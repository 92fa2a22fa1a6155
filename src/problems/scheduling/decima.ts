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
import type { LearnedSolver, SolveContext, TrainBudget, TrainContext } from '../../core/problem.js';
import type { SchedulingPolicy } from './evaluate.js';
import type { SchedulingInstance } from './instances.js';
import { firstFitClass } from './heuristics.js';
import type { DecimaNet } from './decima-net.js';
import { DECIMA_MODEL, decimaPolicy, loadDecima } from './decima-policy.js';
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
  solve(inst: SchedulingInstance, ctx: SolveContext): SchedulingPolicy {
    // Continuous arrivals use the stream checkpoint when one is shipped (trained on streams), else the batch one.
    const streamPath = shippedCheckpointPath('scheduling', 'decima-stream');
    const path = inst.workload.kind === 'stream' && !ctx.options['checkpoint'] && existsSync(streamPath) ? streamPath : checkpointFor('scheduling', 'decima', ctx.options);
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

/** `--opt decima.sample=1`: Decima samples its actions instead of taking the most likely. */
export function decimaSample(options: Readonly<Record<string, string>>): boolean {
  return boolOption(options, 'decima.sample', false);
}
