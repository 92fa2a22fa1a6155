/**
 * A graph-observation env and a graph policy, built by rollout workers from this module: they
 * show that a policy over GraphObs (as Decima's DAG embedding will be) plugs into the trainers
 * through the same PolicyNet contract as the MLP.
 *
 * PickMaxNode: each step shows a graph of `nodes` nodes (a ring) with one random feature per
 * node; picking the node with the largest feature pays 1. Nodes with a negative feature are
 * masked unless that would mask them all. Episodes last 4 steps.
 */
import type { Rng } from '../../src/core/rng.js';
import { Env, type ResetResult, type StepResult } from '../../src/core/env.js';
import { GraphSpace, MaskedDiscrete, type GraphObs } from '../../src/core/spaces.js';
import { Module, MLP, Linear, collect } from '../../src/learn/layers.js';
import { type Tensor, zeros } from '../../src/learn/tensor.js';
import { reshape } from '../../src/learn/ops/shape.js';
import { segmentMean } from '../../src/learn/ops/sparse.js';
import { relu } from '../../src/learn/ops/elementwise.js';
import type { PolicyNet, PolicyOutput } from '../../src/learn/policy.js';

export class PickMaxNode extends Env<GraphObs, number> {
  readonly observationSpace = new GraphSpace(1);
  readonly actionSpace: MaskedDiscrete;
  readonly nodes: number;
  private feats = new Float32Array(0);
  private t = 0;

  constructor(options: { nodes?: number } = {}) {
    super();
    this.nodes = options.nodes ?? 5;
    this.actionSpace = new MaskedDiscrete(this.nodes);
  }

  private observe(): ResetResult<GraphObs> {
    const n = this.nodes;
    this.feats = Float32Array.from({ length: n }, () => this.rng.uniform(-1, 1));
    const mask = Uint8Array.from(this.feats, (f) => (f >= 0 ? 1 : 0));
    if (mask.every((m) => m === 0)) mask.fill(1);
    this.actionSpace.setMask(mask);
    const rowPtr = Int32Array.from({ length: n + 1 }, (_, i) => 2 * i);
    const colIdx = Int32Array.from({ length: 2 * n }, (_, k) => (Math.floor(k / 2) + (k % 2 === 0 ? n - 1 : 1)) % n);
    return { obs: { numNodes: n, nodeFeatures: Float32Array.from(this.feats), rowPtr, colIdx }, info: { actionMask: mask } };
  }

  protected doReset(): ResetResult<GraphObs> {
    this.t = 0;
    return this.observe();
  }

  protected doStep(a: number): StepResult<GraphObs> {
    const best = this.feats.indexOf(Math.max(...this.feats));
    const reward = a === best ? 1 : 0;
    this.t++;
    const { obs, info } = this.observe();
    return { obs, reward, terminated: this.t >= 4, truncated: false, info };
  }
}

/** Scores every node with a shared MLP (logits = one score per node); the value reads the mean node embedding. */
export class NodeScorePolicy extends Module implements PolicyNet<GraphObs> {
  readonly numActions: number;
  readonly embed: MLP;
  readonly score: Linear;
  readonly value: Linear;

  constructor(options: Record<string, unknown>, rng: Rng) {
    super();
    this.numActions = options.nodes as number;
    this.embed = new MLP([1, 16], { rng, outputActivation: 'relu' });
    this.score = new Linear(16, 1, { rng });
    this.value = new Linear(16, 1, { rng });
  }

  forward(obs: readonly GraphObs[]): PolicyOutput {
    const n = this.numActions, b = obs.length;
    const x = zeros([b * n, 1]);
    const graphOf = new Int32Array(b * n);
    obs.forEach((g, i) => {
      x.data.set(g.nodeFeatures, i * n);
      graphOf.fill(i, i * n, (i + 1) * n);
    });
    const h = this.embed.forward(x);
    return { logits: reshape(this.score.forward(h), [b, n]), value: this.value.forward(relu(segmentMean(h, graphOf, b))) };
  }

  namedParameters(): [string, Tensor][] {
    return collect([['embed', this.embed], ['score', this.score], ['value', this.value]]);
  }

  architecture() {
    return { type: 'NodeScorePolicy', nodes: this.numActions };
  }
}
