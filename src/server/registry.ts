/**
 * The environments the server can make: one row per env, with its options as a zod schema (sent
 * to clients as JSON Schema by `list`, and checked on `make` so a bad option names its path).
 * Adding an env is adding a row.
 */
import { z } from 'zod';
import type { Env } from '../core/env.js';
import { Chain, ContextualBandit } from '../learn/envs.js';
import { makeEnv, schedulingInstanceById } from '../problems/scheduling/evaluate.js';
import type { SchedulingInstance } from '../problems/scheduling/instances.js';
import { DataPath } from '../core/data.js';
import { SelfoptError, unknownName } from '../core/errors.js';
import { allPrograms } from '../problems/compiler/index.js';
import { loadProgram } from '../problems/compiler/instances.js';
import { CompilerEnv } from '../problems/compiler/env.js';
import { OptSession } from '../problems/compiler/session.js';
import { makeChipEnv, MAX_CELLS, type ChipEnvOptions } from './chip-env.js';
import { ProtocolError } from './protocol.js';

export interface EnvEntry {
  description: string;
  options: z.ZodType<Record<string, unknown>>;
  /**
   * What reset({options}) may carry from a client. Only what the env validates itself: the
   * scheduling env's fixed-episode option (a raw job list, for tests) stays in-process; the
   * compiler env's `program` picks one of the session's programs.
   */
  resetOptions: z.ZodType<Record<string, unknown>>;
  /** `ctx.data` is the server's data directory (clients cannot choose server paths). */
  make(options: Record<string, unknown>, ctx: { data?: string }): Env<unknown, unknown>;
}

const int = (min: number) => z.number().int().min(min);
/**
 * Sizes a client chooses are bounded: a Chain's length or a bandit's contexts is the length of
 * the one-hot observation and the arms the length of the mask, each allocated and sent as a JSON
 * array every step, and the scheduling env's mask has maxStages * classes * executors + 1 entries.
 * Unbounded, a typo like length 1e12 was made, then failed every reset as an `internal` error
 * (maxStages 1e12 failed make so), and length 3e9 held the server for seconds and 1 GB.
 */
const MAX_SIZE = 1 << 20;
const size = (min: number) => int(min).max(MAX_SIZE);
const none = z.strictObject({});

export const ENVS: Record<string, EnvEntry> = {
  chain: {
    description: 'Chain: walk right to the goal; left is masked at position 0; optional slip (src/learn/envs.ts)',
    options: z.strictObject({ length: size(2).optional(), horizon: int(1).optional(), stepCost: z.number().min(0).max(1).optional(), slip: z.number().min(0).max(1).optional() }),
    resetOptions: none,
    make: (o) => new Chain(o) as Env<unknown, unknown>,
  },
  bandit: {
    description: 'ContextualBandit: an input-driven task with a masked arm per step (src/learn/envs.ts)',
    options: z.strictObject({ contexts: size(1).optional(), arms: size(2).optional(), horizon: int(1).optional() }),
    resetOptions: none,
    make: (o) => new ContextualBandit(o) as Env<unknown, unknown>,
  },
  scheduling: {
    description: 'Decima-style DAG job scheduling on a cluster simulator (src/problems/scheduling); instance ids like synthetic_batch5_10exec or tpch_batch20_50exec_train',
    options: z.strictObject({ instance: z.string().min(1).max(128), compat: z.boolean().optional(), maxStages: size(1).optional() /* times the executors, held to MAX_SIZE actions by make */, maxTimeMs: z.number().positive().optional() }),
    resetOptions: none,
    // The instance id sets the mask's size too (executors, jobs of a batch): held to the same bound.
    make: (o, ctx) => {
      const { instance: id, ...cfg } = o as { instance: string; compat?: boolean; maxStages?: number; maxTimeMs?: number };
      // An id that names no instance points at $.options.instance, as the chip env's does; what
      // the instance and maxStages give together (the action space's size) stays at $.options.
      let instance: SchedulingInstance;
      try {
        instance = schedulingInstanceById(id, ctx.data);
      } catch (e) {
        if (e instanceof SelfoptError) throw new ProtocolError('bad_options', `$.options.instance: ${e.message}`, '$.options.instance');
        throw e;
      }
      return makeEnv(instance, { ...cfg, maxActions: MAX_SIZE }) as unknown as Env<unknown, unknown>;
    },
  },
  compiler: {
    description: 'CompilerGym llvm-ic-v0 on LLVM 14: pass ordering for code size (src/problems/compiler); programs by id (own/fib, or ss/... and ms/... of the llvm-test-suite on the server\'s data path), compiled on make',
    options: z.strictObject({
      programs: z.array(z.string().min(1).max(128)).min(1).max(16),
      maxSteps: int(1).optional(),
      observation: z.enum(['instcount-norm', 'autophase-norm', 'both']).optional(),
      actionHistory: z.boolean().optional(),
      // Masked passes to allow after all (e.g. ['attributor']); CompilerEnv checks the names.
      unmask: z.array(z.string().min(1).max(64)).max(8).optional(),
    }),
    resetOptions: z.strictObject({ program: z.string().min(1).max(128).optional() }),
    make: (o, ctx) => {
      const { programs: ids, ...cfg } = o as { programs: string[]; maxSteps?: number; observation?: 'instcount-norm' | 'autophase-norm' | 'both'; actionHistory?: boolean; unmask?: string[] };
      // Ids only, not compilerProblem.resolveInstance: that also takes a path, and clients may not name server paths.
      const known = allPrograms({ data: new DataPath({ dataDir: ctx.data }), quick: false });
      const programs = ids.map((id) => known.find((p) => p.id === id) ?? (() => { throw unknownName('program', id, known.map((p) => p.id), 'compiler env options.programs'); })());
      // make compiles the programs (cached by content) and every step runs a pass, synchronously
      // like every op here: a first make of many programs holds the server for seconds. Each
      // session keeps its own module texts, at most 32 MB (a search's session keeps 256 MB).
      return new CompilerEnv({ programs: programs.map(loadProgram), ...cfg, session: new OptSession({ maxBytes: 32 << 20 }) }) as unknown as Env<unknown, unknown>;
    },
  },
  chip: {
    description: "Circuit Training's macro placement (src/problems/chip/rl-env.ts, the RL placer's env): hard macros placed one by one (largest first) on grid cells, masked to the cells where the macro fits; clusters by force-directed placement; reward -proxy cost x rewardScale at the end. Instance ids: generated synth_h<hard>_s<soft>[_p<ports>]_<seed> (e.g. synth_h8_s40_1), or ariane133, ct_macro_tiles_10x10, ct_toy_macro_stdcell on the server's data path; reset's info.netlist is the netlist graph",
    options: z.strictObject({
      instance: z.string().min(1).max(128),
      // the action space (and mask) size; at least the grid's cells (checked on make), default the grid's own count
      maxCells: int(1).max(MAX_CELLS).optional(),
      // force-directed rounds for the clusters at the end of an episode (the trainer's rl_fd_rounds range)
      fdRounds: int(1).max(200).optional(),
      rewardScale: z.number().positive().max(1e6).optional(),
    }),
    resetOptions: none,
    make: (o, ctx) => makeChipEnv(o as unknown as ChipEnvOptions, ctx.data) as unknown as Env<unknown, unknown>,
  },
};
