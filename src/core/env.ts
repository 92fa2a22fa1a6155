/**
 * The environment contract, stated once. It follows Gymnasium's `Env` (v0.26+ semantics), so a
 * reader who knows Gymnasium knows this; every sequential-decision problem in selfopt obeys it,
 * and the language-neutral protocol serves exactly these calls.
 *
 * reset({seed, options}) -> {obs, info}
 *   Starts a new episode. With `seed`, the env's own Rng is re-created from it, so the same seed
 *   gives the same episode (and, with the same actions, the same trajectory). Without `seed`, the
 *   env keeps drawing from its current Rng, so consecutive episodes differ. `options` are
 *   problem-specific (an instance, a workload) and never change the meaning of the seed. A reset
 *   that throws may have changed part of the state: step() then throws until a reset succeeds.
 *
 * step(action) -> {obs, reward, terminated, truncated, info}
 *   Applies one action. `terminated`: the episode reached a terminal state of the problem (all
 *   jobs done); the return is complete. `truncated`: stopped from outside the problem (a time or
 *   step limit); the state is not terminal and value bootstrapping may still be right. (As in
 *   Gymnasium 0.26, where `done` was split into these two.) After either is true, the caller
 *   must call reset() before step() again; the env throws otherwise, and whyInvalid says so.
 *   An invalid action (outside the space, or masked out) throws a SelfoptError naming the action
 *   and the valid set; it never silently clips.
 *
 * Variable action sets: the action space is a MaskedDiscrete and `info.actionMask` (a
 * Uint8Array, 1 = allowed) is given by reset() and by every step() that does not end the episode.
 *
 * Randomness: every draw (arrivals, durations, noise) goes through `this.rng`, seeded by reset.
 * close() releases outside resources (processes, files); it is safe to call twice.
 */
import { Rng } from './rng.js';
import { MaskedDiscrete, type Space } from './spaces.js';
import { SelfoptError } from './errors.js';

export interface Info {
  actionMask?: Uint8Array;
  [key: string]: unknown;
}

export interface ResetResult<Obs> {
  obs: Obs;
  info: Info;
}

export interface StepResult<Obs> {
  obs: Obs;
  reward: number;
  terminated: boolean;
  truncated: boolean;
  info: Info;
}

export interface ResetArgs {
  seed?: number;
  options?: Record<string, unknown>;
}

export abstract class Env<Obs, Act> {
  abstract readonly observationSpace: Space<Obs>;
  abstract readonly actionSpace: Space<Act>;
  /** The env's own generator; re-created by reset({seed}). */
  protected rng: Rng = new Rng(0);
  /** True before the first reset() and after an episode ended; problems that restore a saved state clear it. */
  protected needsReset = true;
  /** How the last episode ended (while needsReset), so whyInvalid can say it is over; reset() clears it. */
  protected endedBy: 'terminated' | 'truncated' | undefined;

  /** Implement the problem's reset here; `this.rng` is already (re)seeded. */
  protected abstract doReset(options: Record<string, unknown> | undefined): ResetResult<Obs>;
  /** Implement the problem's step here; the action has been checked against the action space. */
  protected abstract doStep(action: Act): StepResult<Obs>;

  reset(args: ResetArgs = {}): ResetResult<Obs> {
    if (args.seed !== undefined) this.rng = new Rng(args.seed);
    // Cleared only when doReset returns: one that threw may have reset half the state, and a step
    // would then play neither the old episode nor the new one.
    this.needsReset = true;
    this.endedBy = undefined;
    const r = this.doReset(args.options);
    this.needsReset = false;
    return r;
  }

  /**
   * Why `action` is refused now (the episode is over, outside the space, or masked out), or
   * undefined if the space allows it; changes nothing. After an episode ended step() refuses every
   * action until reset(), whatever the last mask allowed, and this says so for every env: an env
   * with reasons of its own overrides whyRefused, which is asked only during an episode.
   */
  whyInvalid(action: Act): string | undefined {
    if (this.needsReset && this.endedBy !== undefined) return `action ${shownAction(action)} after the episode ended (it ${this.endedBy === 'terminated' ? 'terminated' : 'was truncated'}): reset() first`;
    return this.whyRefused(action);
  }

  /**
   * Why the episode in progress refuses `action` (outside the space, or masked out), or undefined.
   * An env whose mask has reasons (a saturated stage, a nondeterministic pass) says them here, so
   * the server can tell a client why, not only that.
   */
  protected whyRefused(action: Act): string | undefined {
    const space = this.actionSpace;
    if (space.contains(action)) return undefined;
    if (space instanceof MaskedDiscrete && Number.isInteger(action) && (action as number) >= 0 && (action as number) < space.n) return `action ${action} is masked out by info.actionMask`;
    return `action ${shownAction(action)} is not in ${JSON.stringify(space.toJSON())}`;
  }

  step(action: Act): StepResult<Obs> {
    if (this.needsReset) throw new SelfoptError('step() called before reset() or after the episode ended', this.constructor.name, 'reset() first');
    // The reason a client of the server is told, in the same words.
    const why = this.whyInvalid(action);
    if (why !== undefined) throw new SelfoptError(`invalid ${why}`, `${this.constructor.name}.step`, `an element of ${JSON.stringify(this.actionSpace.toJSON())} that the current action mask allows`);
    const r = this.doStep(action);
    if (r.terminated || r.truncated) {
      this.needsReset = true;
      this.endedBy = r.terminated ? 'terminated' : 'truncated';
    }
    return r;
  }

  close(): void {}
}

/** An action as JSON; a typed array (a Box action) as the list it is: JSON.stringify gives {"0":..,"1":..}. */
function shownAction(action: unknown): string {
  return JSON.stringify(ArrayBuffer.isView(action) ? Array.from(action as unknown as ArrayLike<number>) : action);
}

/** A policy maps an observation (and its info, for the action mask) to an action. */
export interface Policy<Obs, Act> {
  act(obs: Obs, info: Info, rng: Rng): Act;
}

/** Runs one episode to its end and returns the undiscounted return and the number of steps. */
export function rollout<Obs, Act>(env: Env<Obs, Act>, policy: Policy<Obs, Act>, seed: number, options?: Record<string, unknown>, maxSteps = Infinity): { ret: number; steps: number; truncated: boolean } {
  const policyRng = new Rng(seed).split('policy');
  let { obs, info } = env.reset({ seed, options });
  let ret = 0;
  for (let steps = 0; steps < maxSteps; steps++) {
    const r = env.step(policy.act(obs, info, policyRng));
    ret += r.reward;
    if (r.terminated || r.truncated) return { ret, steps: steps + 1, truncated: r.truncated };
    obs = r.obs;
    info = r.info;
  }
  return { ret, steps: maxSteps, truncated: true };
}
