/**
 * CompilerEnv: CompilerGym's llvm-ic-v0 task on real LLVM 14, behind the Env contract
 * (src/core/env.ts).
 *
 * State: the current module (an OptSession state). reset() starts from the program's unoptimised
 * module; with several programs, reset picks one with the env's Rng (or the one named by
 * `options.program`).
 * Action: MaskedDiscrete(ACTIONS.length), an index into passes.ts ACTIONS (CompilerGym's list
 * minus the five passes LLVM 14's new PM does not have). The mask (info.actionMask, the same at
 * every step) leaves out passes.ts MASKED, the passes whose output changes from run to run,
 * but those named in `unmask` (CompilerGym kept `attributor`); stepping a masked one is refused
 * with the reason, and the episode is unchanged. step(a) runs
 * `opt -passes=<pass>` on the module (cached by content: a (state, pass) seen before costs
 * nothing).
 * Reward (CompilerGym's IrInstructionCountOz): (count before - count after) / (count at -O0 -
 * count after -Oz); the episode's return is (O0 - final) / (O0 - Oz), above 1 when the final
 * module is smaller than -Oz's.
 * Observation: a Float32Array, by `observation`:
 *   'instcount-norm' (default): InstCount (ir.ts INSTCOUNT_FEATURES) with every entry but the
 *     first divided by TotalInsts, and TotalInsts / count at -O0 (CompilerGym's InstCountNorm);
 *   'autophase-norm': the Autophase-like vector divided by TotalInsts (CompilerGym's AutophaseNorm);
 *   'both': the two concatenated;
 *   then, with `actionHistory`, the histogram of the passes that changed the module so far,
 *   divided by maxSteps (CompilerGym's good PPO agents see Autophase plus a histogram of the
 *   actions taken; here only the effective ones count, so that a search that skips no-ops and
 *   an episode see the same history for the same module);
 *   then one last entry: steps taken / maxSteps.
 * Episodes end by truncation after `maxSteps` passes (CompilerGym's llvm-ic-v0 has no terminal
 * state either). A pass that fails (crash, verifier error, timeout) leaves the module as it was,
 * gives reward 0 and says so in info.passFailed; the episode goes on.
 * info: instructionCount, actionMask, pass, and passFailed when the pass failed.
 */
import { Env, type ResetResult, type StepResult } from '../../core/env.js';
import { Box, MaskedDiscrete } from '../../core/spaces.js';
import { SelfoptError } from '../../core/errors.js';
import { actionMask, ACTIONS, checkUnmask, MASKED } from './passes.js';
import { analyzeIr, AUTOPHASE_FEATURES, INSTCOUNT_FEATURES, instCountVector } from './ir.js';
import { OptSession, type State } from './session.js';
import type { CompilerInstance } from './instances.js';

export type ObservationKind = 'instcount-norm' | 'autophase-norm' | 'both';

export interface CompilerEnvConfig {
  /** Programs to draw episodes from (ones that failed to build are refused). */
  programs: CompilerInstance[];
  observation?: ObservationKind;
  /** Passes per episode (CompilerGym's leaderboard: 45 for PPO, 10-ish for greedy results). */
  maxSteps?: number;
  /** A session to share (its cache and stats); default a new one. */
  session?: OptSession;
  /** Append the histogram of actions taken (see the file comment). Default false. */
  actionHistory?: boolean;
  /** Masked passes to allow after all (passes.ts MASKED, e.g. ['attributor']): episodes may then not replay. Default none. */
  unmask?: readonly string[];
}

export function observationSize(kind: ObservationKind, actionHistory = false): number {
  return featureSize(kind) + (actionHistory ? ACTIONS.length : 0) + 1;
}

/** Length of the module features alone (no history, no step fraction). */
export function featureSize(kind: ObservationKind): number {
  const ic = INSTCOUNT_FEATURES.length, ap = AUTOPHASE_FEATURES.length;
  return kind === 'instcount-norm' ? ic : kind === 'autophase-norm' ? ap : ic + ap;
}

/** The module features of an observation (see the file comment), written into `out` from 0. */
export function moduleFeatures(ir: string, countO0: number, kind: ObservationKind, out: Float32Array): Float32Array {
  const a = analyzeIr(ir);
  const total = Math.max(1, a.instructions);
  let k = 0;
  if (kind !== 'autophase-norm') {
    const v = instCountVector(a);
    out[k++] = a.instructions / Math.max(1, countO0);
    for (let i = 1; i < v.length; i++) out[k++] = v[i]! / total;
  }
  if (kind !== 'instcount-norm') {
    for (let i = 0; i < a.autophase.length; i++) out[k++] = a.autophase[i]! / total;
  }
  return out;
}

/**
 * Completes an observation whose first featureSize(kind) entries are the module features: the
 * histogram of `history` (action indices, each counted 1 / maxSteps) when given, then the step
 * fraction.
 */
export function finishObservation(kind: ObservationKind, history: readonly number[] | null, stepFrac: number, maxSteps: number, out: Float32Array): Float32Array {
  let k = featureSize(kind);
  if (history) {
    out.fill(0, k, k + ACTIONS.length);
    for (const a of history) out[k + a] = out[k + a]! + 1 / maxSteps;
    k += ACTIONS.length;
  }
  out[k] = stepFrac;
  return out;
}

/** The observation vector of a module's IR (see the file comment), written into `out`. */
export function observe(ir: string, countO0: number, kind: ObservationKind, stepFrac: number, out: Float32Array, history: readonly number[] | null = null, maxSteps = 1): Float32Array {
  moduleFeatures(ir, countO0, kind, out);
  return finishObservation(kind, history, stepFrac, maxSteps, out);
}

export class CompilerEnv extends Env<Float32Array, number> {
  readonly observationSpace: Box;
  readonly actionSpace = new MaskedDiscrete(ACTIONS.length);
  readonly session: OptSession;
  readonly maxSteps: number;
  readonly kind: ObservationKind;
  readonly actionHistory: boolean;
  private readonly programs: CompilerInstance[];
  private program!: CompilerInstance;
  private taken: number[] = [];
  private roots = new Map<string, State>();
  private state!: State;
  private steps = 0;

  constructor(cfg: CompilerEnvConfig) {
    super();
    if (cfg.programs.length === 0) throw new SelfoptError('no programs', 'CompilerEnv', 'at least one program that builds');
    for (const p of cfg.programs) if (p.error) throw new SelfoptError(`program ${p.id} did not build: ${p.error}`, 'CompilerEnv', 'programs that compile');
    this.programs = cfg.programs;
    this.kind = cfg.observation ?? 'instcount-norm';
    this.maxSteps = cfg.maxSteps ?? 45;
    this.session = cfg.session ?? new OptSession();
    this.actionHistory = cfg.actionHistory ?? false;
    this.observationSpace = new Box(-Infinity, Infinity, [observationSize(this.kind, this.actionHistory)]);
    this.actionSpace.setMask(actionMask(checkUnmask(cfg.unmask ?? [], 'CompilerEnv unmask')));
  }

  get current(): State {
    return this.state;
  }

  get currentProgram(): CompilerInstance {
    return this.program;
  }

  protected doReset(options: Record<string, unknown> | undefined): ResetResult<Float32Array> {
    const name = options?.program;
    if (name !== undefined) {
      const p = this.programs.find((q) => q.id === name);
      if (!p) throw new SelfoptError(`unknown program '${String(name)}'`, 'CompilerEnv.reset options.program', `one of ${this.programs.map((q) => q.id).join(', ')}`);
      this.program = p;
    } else {
      this.program = this.programs.length === 1 ? this.programs[0]! : this.programs[this.rng.int(this.programs.length)]!;
    }
    let root = this.roots.get(this.program.id);
    if (!root) {
      root = this.session.addState(this.program.ir);
      this.roots.set(this.program.id, root);
    }
    this.state = root;
    this.steps = 0;
    this.taken = [];
    return { obs: this.obs(), info: { instructionCount: root.count, program: this.program.id, actionMask: this.actionSpace.mask } };
  }

  protected override whyRefused(action: number): string | undefined {
    const pass = Number.isInteger(action) ? ACTIONS[action]?.pass : undefined;
    if (pass !== undefined && this.actionSpace.mask[action] === 0) return `action ${action} (${pass}) is masked out: ${MASKED[pass]}`;
    return super.whyRefused(action);
  }

  override step(action: number): StepResult<Float32Array> {
    const pass = Number.isInteger(action) ? ACTIONS[action]?.pass : undefined;
    if (pass !== undefined && this.actionSpace.mask[action] === 0) throw new SelfoptError(this.whyInvalid(action)!, 'CompilerEnv.step', 'an action that info.actionMask allows');
    return super.step(action);
  }

  protected doStep(action: number): StepResult<Float32Array> {
    const pass = ACTIONS[action]!.pass;
    const before = this.state.count;
    const t = this.session.apply(this.state.hash, pass);
    this.steps++;
    const info: Record<string, unknown> = { pass, actionMask: this.actionSpace.mask };
    if (t.ok && t.state.hash !== this.state.hash) this.taken.push(action);
    if (t.ok) this.state = t.state;
    else info.passFailed = t.error;
    info.instructionCount = this.state.count;
    const scale = Math.max(1, this.program.countO0 - this.program.countOz);
    return { obs: this.obs(), reward: (before - this.state.count) / scale, terminated: false, truncated: this.steps >= this.maxSteps, info };
  }

  override close(): void {
    this.session.close();
  }

  private obs(): Float32Array {
    const out = new Float32Array(this.observationSpace.size);
    return observe(this.session.irOf(this.state.hash), this.program.countO0, this.kind, this.steps / this.maxSteps, out, this.actionHistory ? this.taken : null, this.maxSteps);
  }
}
