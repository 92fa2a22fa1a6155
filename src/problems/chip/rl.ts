/**
 * RL macro placer in the manner of Circuit Training (Mirhoseini et al. 2021): a policy places the
 * hard macros one by one on grid cells (rl-env.ts), trained with PPO (src/learn/ppo.ts) on small
 * generated netlists and fine-tuned on the netlist it places (CT's "fine-tuned" setting), reward =
 * −proxy cost at the end, clusters by the same force-directed step as every other placer.
 *
 * Policy (PlacementPolicy): a 2-layer GCN over the netlist graph (hard macros, clusters and ports;
 * an edge from each net's driver to each sink, both directions; node features: width and height
 * over the canvas, kind, degree) gives node embeddings; the embedding of the macro to place and the
 * mean embedding condition a shared per-cell MLP over the cell features (rl-env.ts), whose output is
 * the cell's logit (illegal cells masked by the trainer); a value MLP reads the two embeddings and
 * the episode's globals. Departures from CT, stated here: CT's policy decodes the grid with
 * deconvolutions from a graph embedding and has no hand-made cell features; this one scores cells
 * with an MLP over features that include each cell's wirelength if the macro went there, which
 * makes learning possible on 2 shared cores in minutes rather than GPU-days.
 *
 * Hyperparameters: RL_DEFAULTS below (every one with its meaning). Training resumes: the weights
 * go to ctx.stateDir after every chunk of PPO updates and a re-run continues from them (Adam's
 * moments restart per chunk, stated in the log).
 */
import { join } from 'node:path';
import type { Rng } from '../../core/rng.js';
import { SelfoptError } from '../../core/errors.js';
import { intOption } from '../../core/options.js';
import type { CheckpointModel, LearnedSolver, SolveContext, TrainBudget, TrainContext } from '../../core/problem.js';
import { checkpointFor, stopRequested, trainStateFiles } from '../../core/train.js';
import { Module, MLP, collect } from '../../learn/layers.js';
import { GCNConv, gcnAdjacency } from '../../learn/gnn.js';
import { Csr } from '../../learn/ops/sparse.js';
import { gather } from '../../learn/ops/sparse.js';
import { add, relu } from '../../learn/ops/elementwise.js';
import { matmul, linear } from '../../learn/ops/matmul.js';
import { mean } from '../../learn/ops/reduce.js';
import { concat, reshape } from '../../learn/ops/shape.js';
import { Tensor, tensor, zeros } from '../../learn/tensor.js';
import { stepInput, stepIndices, inference, inInference } from '../../learn/scratch.js';
import { initWeight } from '../../learn/layers.js';
import { logSoftmax } from '../../learn/ops/softmax.js';
import { saveCheckpoint, loadCheckpoint, checkpointHeaderOf } from '../../learn/checkpoint.js';
import type { PolicyNet, PolicyOutput } from '../../learn/policy.js';
import { trainPpo, type PpoConfig } from '../../learn/ppo.js';
import { HARD_MACRO, PORT, SOFT_MACRO } from './netlist.js';
import type { ChipInstance } from './instances.js';
import { CELL_FEATURES, GLOBAL_FEATURES, loadSpec, PlacementEnv, type InstanceSpec, type PlacementObs } from './rl-env.js';
import type { ChipSolution } from './evaluate.js';

export interface RlConfig {
  /** Action space size (cells); at least the largest grid (Ariane133: 504). */
  maxCells: number;
  /** GCN widths. */
  gnnHidden: number;
  /** Per-cell MLP hidden width. */
  cellHidden: number;
  /** PPO: env copies, steps per copy per update, minibatches, epochs, learning rate, entropy. */
  numEnvs: number;
  numSteps: number;
  numMinibatches: number;
  updateEpochs: number;
  learningRate: number;
  entCoef: number;
  gamma: number;
  gaeLambda: number;
  /** FD rounds for the clusters at the end of a training episode (solve uses the full FD). */
  fdRounds: number;
  /** Reward = −proxy × this. */
  rewardScale: number;
  /** PPO updates per resumable chunk. */
  updatesPerChunk: number;
}

export const RL_DEFAULTS: RlConfig = {
  maxCells: 1024, gnnHidden: 16, cellHidden: 32,
  numEnvs: 4, numSteps: 64, numMinibatches: 4, updateEpochs: 4, learningRate: 1e-3, entCoef: 0.01, gamma: 1, gaeLambda: 0.95,
  fdRounds: 10, rewardScale: 10, updatesPerChunk: 5,
};

const NODE_FEATURES = 6;

interface GraphData {
  ahat: Csr;
  feat: Tensor;
}

const graphs = new Map<string, GraphData>();

/** Names a netlist: the key of its graph and of its node embeddings. */
function netlistKey(spec: InstanceSpec): string {
  return `${spec.id}\0${spec.netlist ?? ''}`;
}

/** The netlist graph of an instance, built once per thread. */
function graphOf(spec: InstanceSpec): GraphData {
  const key = netlistKey(spec);
  let g = graphs.get(key);
  if (g) return g;
  const inst = loadSpec(spec);
  const { nl, settings: s } = inst;
  const n = nl.names.length;
  const owner = (v: number): number => (nl.pinMacro[v]! >= 0 ? nl.pinMacro[v]! : v);
  const pairs = new Set<number>();
  const deg = new Float64Array(n);
  for (let e = 0; e + 1 < nl.netStart.length; e++) {
    const d = owner(nl.netPins[nl.netStart[e]!]!);
    for (let p = nl.netStart[e]! + 1; p < nl.netStart[e + 1]!; p++) {
      const t = owner(nl.netPins[p]!);
      if (t === d) continue;
      pairs.add(d * n + t); pairs.add(t * n + d);
    }
  }
  const rows: number[][] = Array.from({ length: n }, () => []);
  for (const k of pairs) { const a = Math.floor(k / n), b = k - a * n; rows[a]!.push(b); deg[a]!++; }
  const rowPtr = new Int32Array(n + 1);
  const cols: number[] = [];
  for (let i = 0; i < n; i++) { rows[i]!.sort((a, b) => a - b); cols.push(...rows[i]!); rowPtr[i + 1] = cols.length; }
  const ahat = gcnAdjacency(new Csr(n, n, rowPtr, Int32Array.from(cols)));
  let maxDeg = 1;
  for (let i = 0; i < n; i++) maxDeg = Math.max(maxDeg, deg[i]!);
  const f = new Float32Array(n * NODE_FEATURES);
  for (let i = 0; i < n; i++) {
    const k = nl.kind[i]!;
    f[i * NODE_FEATURES] = nl.w[i]! / s.width;
    f[i * NODE_FEATURES + 1] = nl.h[i]! / s.height;
    f[i * NODE_FEATURES + 2] = k === HARD_MACRO ? 1 : 0;
    f[i * NODE_FEATURES + 3] = k === SOFT_MACRO ? 1 : 0;
    f[i * NODE_FEATURES + 4] = k === PORT ? 1 : 0;
    f[i * NODE_FEATURES + 5] = deg[i]! / maxDeg;
  }
  g = { ahat, feat: tensor(f, [n, NODE_FEATURES]) };
  graphs.set(key, g);
  return g;
}

/** A netlist's node embeddings [n, h] and their mean [1, h]. */
interface Embedding {
  h: Tensor;
  mean: Tensor;
}

/** Netlists whose embeddings acting keeps (more than any training set: a policy acting on many netlists in turn keeps the latest). */
const EMBEDDINGS_KEPT = 16;

export interface PlacementPolicyOptions {
  maxCells: number;
  gnnHidden?: number;
  cellHidden?: number;
  /** A checkpoint to start from (fine-tuning, resumed chunks). */
  init?: string;
}

export class PlacementPolicy extends Module implements PolicyNet<PlacementObs> {
  readonly numActions: number;
  readonly gnnHidden: number;
  readonly cellHidden: number;
  readonly conv1: GCNConv;
  readonly conv2: GCNConv;
  /** First cell layer split in two: cell features W_c and the [current, mean] embedding W_e. */
  readonly cellW: Tensor;
  readonly cellB: Tensor;
  readonly embW: Tensor;
  readonly cellOut: MLP;
  readonly value: MLP;
  /**
   * Node embeddings kept between acting steps (inference()) by netlist: within a placement only
   * the macro to place changes, and the GCN over the whole netlist gave the same embeddings at
   * every macro. They hold while the GCN's weights hold the bits they were computed from
   * (`gcnSeen`, compared at every acting step): an optimizer step, a checkpoint load,
   * setFlatWeights or any other write into the weights empties them. A forward pass that records
   * a graph (training) never reads or fills them.
   */
  private readonly embeddings = new Map<string, Embedding>();
  /** The GCN parameters' bits (views of their data) and the bits the kept embeddings were computed from. */
  private readonly gcnBits: Uint32Array[];
  private readonly gcnSeen: Uint32Array;

  constructor(options: PlacementPolicyOptions | Record<string, unknown>, rng: Rng) {
    super();
    const o = options as PlacementPolicyOptions;
    this.numActions = o.maxCells;
    this.gnnHidden = o.gnnHidden ?? RL_DEFAULTS.gnnHidden;
    this.cellHidden = o.cellHidden ?? RL_DEFAULTS.cellHidden;
    const h = this.gnnHidden, c = this.cellHidden;
    this.conv1 = new GCNConv(NODE_FEATURES, h, { rng });
    this.conv2 = new GCNConv(h, h, { rng });
    this.cellW = initWeight([CELL_FEATURES, c], rng, 'glorot');
    this.cellB = zeros([c], { requiresGrad: true });
    this.embW = initWeight([2 * h, c], rng, 'glorot');
    this.cellOut = new MLP([c, c, 1], { rng, activation: 'relu' });
    this.value = new MLP([2 * h + GLOBAL_FEATURES, c, 1], { rng, activation: 'relu' });
    if (o.init) loadCheckpoint(o.init, this);
    this.gcnBits = [...this.conv1.parameters(), ...this.conv2.parameters()].map((p) => new Uint32Array(p.data.buffer, p.data.byteOffset, p.data.byteLength >> 2));
    this.gcnSeen = new Uint32Array(this.gcnBits.reduce((n, b) => n + b.length, 0));
  }

  forward(obs: readonly PlacementObs[]): PolicyOutput {
    // node embeddings once per distinct netlist in the batch (when acting, once per netlist and weights)
    const acting = inInference();
    if (acting && !this.gcnUnchanged()) this.embeddings.clear();
    const emb = acting ? this.embeddings : new Map<string, Embedding>();
    const rows: Tensor[] = [], values: Tensor[] = [];
    for (const o of obs) {
      const key = netlistKey(o.spec);
      let e = emb.get(key);
      if (!e) {
        const g = graphOf(o.spec);
        const h = relu(this.conv2.forward(g.ahat, relu(this.conv1.forward(g.ahat, g.feat))));
        e = { h, mean: mean(h, 0, { keepDims: true }) };
        // The step's outputs are views of the scratch that the next step reuses: the kept embeddings are copies.
        if (acting) e = this.keep(key, { h: new Tensor(e.h.data.slice(), e.h.shape), mean: new Tensor(e.mean.data.slice(), e.mean.shape) });
        else emb.set(key, e);
      }
      const current = stepIndices(1); // from the scratch when acting
      current[0] = o.current;
      const ctxEmb = concat([gather(e.h, current), e.mean], 1); // [1, 2h]
      // Inputs from the scratch when acting (inference): no storage per step.
      const cells = stepInput([o.cells, CELL_FEATURES], o.cellFeat);
      const hidden = relu(add(linear(cells, this.cellW, this.cellB), matmul(ctxEmb, this.embW)));
      let logits = reshape(this.cellOut.forward(hidden), [1, o.cells]);
      if (o.cells < this.numActions) logits = concat([logits, stepInput([1, this.numActions - o.cells])], 1);
      rows.push(logits);
      values.push(this.value.forward(concat([ctxEmb, stepInput([1, GLOBAL_FEATURES], o.global)], 1)));
    }
    return { logits: concat(rows, 0), value: concat(values, 0) };
  }

  /** Whether the GCN's weights hold the bits of the last acting step; if not, records the new ones. */
  private gcnUnchanged(): boolean {
    const seen = this.gcnSeen;
    let same = true, k = 0;
    for (const bits of this.gcnBits) {
      for (let i = 0; i < bits.length; i++, k++) {
        if (bits[i] !== seen[k]) { same = false; seen[k] = bits[i]!; }
      }
    }
    return same;
  }

  private keep(key: string, e: Embedding): Embedding {
    if (this.embeddings.size >= EMBEDDINGS_KEPT) this.embeddings.delete(this.embeddings.keys().next().value!);
    this.embeddings.set(key, e);
    return e;
  }

  namedParameters(): [string, Tensor][] {
    return collect([['conv1', this.conv1], ['conv2', this.conv2], ['cellW', this.cellW], ['cellB', this.cellB], ['embW', this.embW], ['cellOut', this.cellOut], ['value', this.value]]);
  }

  architecture(): Record<string, unknown> {
    return { type: 'ChipPlacementPolicy', maxCells: this.numActions, gnnHidden: this.gnnHidden, cellHidden: this.cellHidden, nodeFeatures: NODE_FEATURES, cellFeatures: CELL_FEATURES };
  }
}

const here = (f: string): string => new URL(`./${f}`, import.meta.url).href;

/** A spec the env and policy can rebuild the instance from in any thread. */
export function specOf(inst: ChipInstance): InstanceSpec {
  if (inst.sourcePaths) return { id: inst.id, netlist: inst.sourcePaths.netlist, plc: inst.sourcePaths.plc };
  return { id: inst.id };
}

/**
 * PPO over the given instances for `updates` updates from `init` (a checkpoint, or fresh weights);
 * returns the trained policy (the update rows go to `onRow`).
 */
async function ppoChunk(specs: InstanceSpec[], cfg: RlConfig, seed: number, updates: number, init: string | undefined, onRow: (r: { update: number; meanReturn: number | null; episodes: number; pgLoss: number; vLoss: number; entropy: number; sps: number }) => void): Promise<PlacementPolicy> {
  const ppo: Partial<PpoConfig> & Pick<PpoConfig, 'env' | 'policy'> = {
    seed,
    env: { module: here('rl-env.js'), export: 'PlacementEnv', options: { instances: specs, maxCells: cfg.maxCells, fdRounds: cfg.fdRounds, rewardScale: cfg.rewardScale } },
    policy: { module: here('rl.js'), export: 'PlacementPolicy', options: { maxCells: cfg.maxCells, gnnHidden: cfg.gnnHidden, cellHidden: cfg.cellHidden, ...(init ? { init } : {}) } },
    totalTimesteps: updates * cfg.numEnvs * cfg.numSteps,
    numEnvs: cfg.numEnvs, numSteps: cfg.numSteps, numMinibatches: cfg.numMinibatches, updateEpochs: cfg.updateEpochs,
    learningRate: cfg.learningRate, annealLr: false, entCoef: cfg.entCoef, gamma: cfg.gamma, gaeLambda: cfg.gaeLambda, workers: 0,
  };
  const { policy } = await trainPpo<PlacementObs>(ppo, { onUpdate: onRow });
  return policy as PlacementPolicy;
}

interface TrainState { updates: number; episodes: number; seconds: number }

/** Trains on `specs` until the budget is spent, resuming from ctx.stateDir; writes ctx.out. */
export async function trainRl(specs: InstanceSpec[], budget: TrainBudget, ctx: TrainContext, cfg: RlConfig = RL_DEFAULTS): Promise<void> {
  // The update count and the weights trained to it, saved as one unit after every chunk.
  const saved = trainStateFiles<TrainState>(ctx.stateDir, 'rl-state', { weights: 'rl-state.ckpt' });
  const resumed = saved.load();
  let weights = resumed?.weights['weights'];
  let st: TrainState = resumed && weights ? resumed.state : { updates: 0, episodes: 0, seconds: 0 };
  const maxUpdates = budget.steps ?? Infinity, maxSeconds = budget.seconds ?? Infinity;
  if (maxUpdates === Infinity && maxSeconds === Infinity) throw new SelfoptError('no training budget', 'chip rl train', '--seconds or --steps (PPO updates)');
  const t0 = performance.now();
  const base = st.seconds;
  while (st.updates < maxUpdates && base + (performance.now() - t0) / 1000 < maxSeconds) {
    // Stopped (Ctrl-C) between chunks: the chunks saved so far are the state; `out` is not written.
    if (await stopRequested(ctx)) return;
    const n = Math.min(cfg.updatesPerChunk, maxUpdates - st.updates);
    const policy = await ppoChunk(specs, cfg, ctx.seed + st.updates, n, weights, (r) => {
      st.episodes += r.episodes;
      ctx.log({ update: st.updates + r.update, episodes: st.episodes, meanReturn: r.meanReturn ?? NaN, pgLoss: r.pgLoss, vLoss: r.vLoss, entropy: r.entropy, sps: r.sps });
    });
    st.updates += n;
    st.seconds = base + (performance.now() - t0) / 1000;
    weights = saved.save(st, { weights: (path) => saveCheckpoint(path, policy, { hyperparameters: { ...cfg }, seed: ctx.seed + st.updates - n }) })['weights'];
    // In updates when the budget names them, else in seconds (updates alone would show n/n, 100%, at every chunk).
    if (maxUpdates !== Infinity) ctx.progress(Math.min(st.updates, maxUpdates), maxUpdates);
    else ctx.progress(Math.min(st.seconds, maxSeconds), maxSeconds);
  }
  const policy = new PlacementPolicy({ maxCells: cfg.maxCells, gnnHidden: cfg.gnnHidden, cellHidden: cfg.cellHidden, init: weights }, ctx.rng);
  saveCheckpoint(ctx.out, policy, { hyperparameters: { ...cfg, updates: st.updates, episodes: st.episodes, trainSeconds: st.seconds, instances: specs.map((s) => s.id) }, command: ctx.command, seed: ctx.seed });
}

/**
 * The policy's most likely legal cell (the lowest on ties), in one inference step: the forward
 * pass's outputs are views of a scratch the next macro's step reuses, so the cell is chosen inside.
 */
function greedyCell(policy: PlacementPolicy, obs: PlacementObs, mask: Uint8Array): number {
  return inference(() => {
    const logits = logSoftmax(policy.forward([obs]).logits, mask).data;
    let best = -1;
    for (let a = 0; a < obs.cells; a++) if (mask[a] && (best < 0 || logits[a]! > logits[best]!)) best = a;
    return best;
  });
}

/** Places every macro by the policy's most likely legal cell, then the clusters by FD. */
export function placeWithPolicy(inst: ChipInstance, policy: PlacementPolicy, cfg: RlConfig, rng: Rng): ChipSolution {
  const spec = specOf(inst);
  const env = new PlacementEnv({ instances: [spec], maxCells: cfg.maxCells, fdRounds: 30, rewardScale: 1 });
  let { obs, info } = env.reset({ seed: rng.int(1 << 30) });
  for (;;) {
    const r = env.step(greedyCell(policy, obs, info.actionMask!));
    if (r.terminated || r.truncated) break;
    obs = r.obs; info = r.info;
  }
  const pl = env.lastPlacement!;
  return { ...pl, solver: 'rl' };
}

export function rlConfigFrom(options: Readonly<Record<string, string>>, base: RlConfig = RL_DEFAULTS): RlConfig {
  return { ...base, fdRounds: intOption(options, 'rl_fd_rounds', base.fdRounds, 1, 200) };
}

/** `--opt rl_finetune=N`: PPO updates on the netlist itself before placing (default 0). */
export function rlFinetune(options: Readonly<Record<string, string>>): number {
  return intOption(options, 'rl_finetune', 0, 0, 1 << 20);
}

const RL_CHECKPOINT: CheckpointModel = { type: 'ChipPlacementPolicy', expected: 'a ChipPlacementPolicy checkpoint (selfopt train chip rl)' };

export const rlSolver: LearnedSolver<ChipInstance, ChipSolution> = {
  info: {
    name: 'rl', kind: 'learned',
    description: 'PPO policy placing macros one by one on grid cells (GCN netlist embedding + per-cell scores, legality mask), pretrained on small generated netlists (fine-tuned on the netlist with --opt rl_finetune=N updates); clusters by FD',
    reference: 'Mirhoseini et al., A graph placement methodology for fast chip design, Nature 2021 (Circuit Training)',
    checkpoint: RL_CHECKPOINT,
  },
  async solve(inst: ChipInstance, ctx: SolveContext) {
    const path = checkpointFor('chip', 'rl', ctx.options);
    const cfg = rlConfigFrom(ctx.options);
    const arch = checkpointHeaderOf(path, RL_CHECKPOINT.type, RL_CHECKPOINT.expected).architecture as { maxCells?: number; gnnHidden?: number; cellHidden?: number };
    const shape = { ...cfg, maxCells: arch.maxCells ?? cfg.maxCells, gnnHidden: arch.gnnHidden ?? cfg.gnnHidden, cellHidden: arch.cellHidden ?? cfg.cellHidden };
    // The policy scores a fixed number of cells; said here, with the checkpoint, rather than as the env's 'maxCells >= N', an option no one can set.
    const { columns, rows } = inst.settings;
    if (columns * rows > shape.maxCells)
      throw new SelfoptError(`instance ${inst.id} has a ${columns} x ${rows} grid (${columns * rows} cells), more than the ${shape.maxCells} the rl checkpoint ${path} places on`, 'solver rl', `a grid of at most ${shape.maxCells} cells for this checkpoint`);
    // CT fine-tunes on the target; on 2 shared cores one PPO update on Ariane133 costs ~30 s, so it is opt-in
    const finetune = rlFinetune(ctx.options);
    let weights = path;
    if (finetune > 0) {
      // CT's fine-tuning: PPO on the netlist being placed, from the pretrained weights
      const tmp = join(process.env['TMPDIR'] ?? '/tmp', `selfopt-chip-rl-${process.pid}-${inst.id}-${ctx.seed}.ckpt`);
      saveCheckpoint(tmp, await ppoChunk([specOf(inst)], shape, ctx.seed, finetune, path, () => {}), { hyperparameters: { ...shape }, seed: ctx.seed });
      weights = tmp;
    }
    const policy = new PlacementPolicy({ maxCells: shape.maxCells, gnnHidden: shape.gnnHidden, cellHidden: shape.cellHidden, init: weights }, ctx.rng);
    return placeWithPolicy(inst, policy, shape, ctx.rng);
  },
  async train(instances: ChipInstance[], budget: TrainBudget, ctx: TrainContext) {
    await trainRl(instances.map(specOf), budget, ctx, rlConfigFrom(ctx.options));
  },
};
