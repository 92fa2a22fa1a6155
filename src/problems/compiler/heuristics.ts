/**
 * Classical answers to phase ordering, named as CompilerGym's leaderboard names them. Each returns
 * a PassSequence; evaluate.ts scores it.
 *
 * - `O0`, `O3`, `Oz`: no passes, LLVM 14's `default<O3>`, `default<Oz>` pipelines.
 * - `random-search` (CompilerGym random_search.py): random episodes (uniform passes) of up to
 *   `patience` steps from -O0; the best module seen at any step of any episode wins. Budget: `budget`
 *   pass applications (cache hits included) or `seconds`, whichever ends first, shared out evenly
 *   over `concurrency` lanes of episodes: the answer is a function of the seed (and `seconds`).
 * - `greedy` (CompilerGym's e-greedy with e = 0): at each step every pass is tried on the current
 *   module and the one that removes the most instructions is taken (ties: the first in action
 *   order); stop when no pass removes any.
 * - `beam-search`: greedy with `beamWidth` modules kept per step (distinct by content, never seen
 *   before); stops when a step finds no module smaller than the best so far.
 * - `genetic-algorithm`: a population of fixed-length pass sequences; fitness = instructions
 *   after the sequence (one batched opt call per new sequence, session.ts); tournament selection,
 *   one-point crossover, per-gene mutation, elitism; stops at the budget of new sequences (each
 *   `length` passes long, so 2,000 sequences are 60,000 pass applications in 2,000 opt calls) or
 *   at `seconds`, whichever ends first.
 *
 * Every search uses its own OptSession (its timings and cache hits are its own) and keeps two
 * `opt` processes busy (`--opt concurrency=N`). The pipelines, greedy and beam search are
 * deterministic (SolverInfo.deterministic): the runner runs them on seed 1 only. A worker also
 * memoizes greedy and beam search per (program, options), for seeds asked for by name, reporting
 * the measured search time of the run that computed it.
 *
 * Options (`--opt key=value`): budget, seconds, patience, beamWidth, maxSteps, population,
 * length, concurrency, allPasses, unmask. --quick restricts the searches to QUICK_PASSES so that a
 * first look stays short (`allPasses=1` lifts that); a full run uses every usable action.
 * `unmask=attributor` adds the masked pass (passes.ts MASKED) to either set.
 */
import { performance } from 'node:perf_hooks';
import type { SolveContext, Solver } from '../../core/problem.js';
import type { Rng } from '../../core/rng.js';
import { parseUnmask, usablePasses } from './passes.js';
import { boolOption, intOption, numberOption } from '../../core/options.js';
import { OptSession, type State, type Transition } from './session.js';
import type { CompilerInstance } from './instances.js';
import type { PassSequence } from './evaluate.js';

export type CompilerSolver = Solver<CompilerInstance, PassSequence>;

/** A small set of passes that do most of the work on small programs (quick mode only). */
export const QUICK_PASSES = [
  'mem2reg', 'sroa', 'instcombine', 'simplifycfg', 'early-cse<memssa>', 'gvn', 'newgvn', 'dce', 'adce', 'dse', 'sccp',
  'ipsccp', 'globaldce', 'globalopt', 'deadargelim', 'reassociate', 'loop-rotate', 'licm', 'gvn-hoist', 'jump-threading',
  'correlated-propagation', 'function-attrs', 'inline', 'mergefunc', 'instsimplify', 'loop-deletion', 'indvars', 'tailcallelim',
];

/**
 * Every key optionNumber reads (the searches' and guided search's numbers), with its least value
 * and whether it counts things: the problem checks their values before any cell (index.ts
 * checkOptionValues), so optionNumber takes no other key. Below these minima a search cannot run:
 * a beam of 0 modules, a population with no child beside the elite, a sequence with no
 * crossover point, an episode of 0 passes (the last three went on, doing nothing, until
 * `seconds` ran out).
 */
export const SEARCH_NUMBERS: Readonly<Record<string, { min: number; max?: number; int?: boolean }>> = {
  budget: { min: 0 }, seconds: { min: 0 }, patience: { min: 1 }, beamWidth: { min: 1, int: true }, maxSteps: { min: 0 },
  population: { min: 2, int: true }, length: { min: 2, int: true }, concurrency: { min: 0 },
  // topP and sampleTopP are shares of the policy's probability: above 1 they meant 1, silently.
  topK: { min: 0 }, topP: { min: 0, max: 1 }, widen: { min: 0 }, polish: { min: 0 }, samples: { min: 0 }, sampleTopP: { min: 0, max: 1 },
};

/** The search number `key` from --opt (checked against SEARCH_NUMBERS), or `fallback` when absent. */
export function searchNumber(options: Readonly<Record<string, string>>, key: string, fallback: number): number {
  const rule = SEARCH_NUMBERS[key];
  if (!rule) throw new Error(`searchNumber('${key}'): add it to SEARCH_NUMBERS, so that its value is checked before any cell`);
  return rule.int ? intOption(options, key, fallback, rule.min, rule.max) : numberOption(options, key, fallback, rule.min, rule.max);
}

/** A search number option, with its own default in quick mode. */
export function optionNumber(ctx: SolveContext, key: string, dflt: number, quickDflt = dflt): number {
  return searchNumber(ctx.options, key, ctx.quick ? quickDflt : dflt);
}

/** The passes a search tries: every usable action, or QUICK_PASSES in quick mode; plus the masked passes `--opt unmask` asks for. */
export function candidatePasses(ctx: SolveContext): string[] {
  const unmask = parseUnmask(ctx.options.unmask);
  return ctx.quick && !allPassesOption(ctx.options) ? [...QUICK_PASSES, ...unmask] : usablePasses(unmask);
}

/** `--opt allPasses=1`: quick mode searches every usable pass, not QUICK_PASSES. */
export function allPassesOption(options: Readonly<Record<string, string>>): boolean {
  return boolOption(options, 'allPasses', false);
}

/** Runs `fn` over `items` with at most `limit` in flight, results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => { for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!, i); };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return out;
}

/** Tries every candidate pass on `from`; the successful children in candidate order. */
export async function expand(session: OptSession, from: string, passes: readonly string[], concurrency: number): Promise<{ pass: string; state: State }[]> {
  const ts: Transition[] = await mapLimit(passes, concurrency, (p) => session.applyAsync(from, p));
  const out: { pass: string; state: State }[] = [];
  ts.forEach((t, i) => { if (t.ok) out.push({ pass: passes[i]!, state: t.state }); });
  return out;
}

function finish(session: OptSession, passes: string[], t0: number, count: number): PassSequence {
  session.close();
  return { passes, count, searchMs: performance.now() - t0, stats: { ...session.stats } };
}

// ---------------------------------------------------------------------------------------------
// Greedy and beam search
// ---------------------------------------------------------------------------------------------

export async function greedySearch(inst: CompilerInstance, passes: readonly string[], opts: { maxSteps: number; concurrency: number }): Promise<PassSequence> {
  const t0 = performance.now();
  const session = new OptSession();
  let cur = session.addState(inst.ir);
  const seq: string[] = [];
  for (let step = 0; step < opts.maxSteps; step++) {
    const children = await expand(session, cur.hash, passes, opts.concurrency);
    let best: { pass: string; state: State } | undefined;
    for (const c of children) if (c.state.count < (best?.state.count ?? cur.count)) best = c;
    if (!best) break;
    seq.push(best.pass);
    cur = best.state;
  }
  return finish(session, seq, t0, cur.count);
}

export async function beamSearch(inst: CompilerInstance, passes: readonly string[], opts: { width: number; maxSteps: number; concurrency: number }): Promise<PassSequence> {
  const t0 = performance.now();
  const session = new OptSession();
  const root = session.addState(inst.ir);
  let beam: { state: State; seq: string[] }[] = [{ state: root, seq: [] }];
  let best = beam[0]!;
  const seen = new Set<string>([root.hash]);
  for (let step = 0; step < opts.maxSteps; step++) {
    const cands: { state: State; seq: string[] }[] = [];
    for (const b of beam) {
      for (const c of await expand(session, b.state.hash, passes, opts.concurrency)) {
        if (seen.has(c.state.hash)) continue;
        seen.add(c.state.hash);
        cands.push({ state: c.state, seq: [...b.seq, c.pass] });
      }
    }
    if (cands.length === 0) break;
    // stable sort: ties keep beam order, then action order
    cands.sort((a, b) => a.state.count - b.state.count);
    beam = cands.slice(0, opts.width);
    if (beam[0]!.state.count >= best.state.count) break;
    best = beam[0]!;
  }
  return finish(session, best.seq, t0, best.state.count);
}

// ---------------------------------------------------------------------------------------------
// Random search and the genetic algorithm
// ---------------------------------------------------------------------------------------------

export async function randomSearch(inst: CompilerInstance, passes: readonly string[], rng: Rng, opts: { budget: number; seconds: number; patience: number; concurrency: number }): Promise<PassSequence> {
  const t0 = performance.now();
  const session = new OptSession();
  const root = session.addState(inst.ir);
  const deadline = t0 + opts.seconds * 1000;
  // `concurrency` independent episodes advance together, each its own stream of the rng, its own
  // share of the budget and its own best: a shared counter and best made the answer depend on which
  // lane's opt call came back first, so one seed gave other answers from run to run. The shares
  // differ by at most one application, the first lanes taking the remainder.
  const n = Math.max(1, Math.floor(opts.concurrency));
  const total = Math.ceil(opts.budget);
  const lanes = Array.from({ length: n }, (_, i) => ({ rng: rng.split(`lane${i}`), budget: Math.floor(total / n) + (i < total % n ? 1 : 0) }));
  const better = (a: { count: number; seq: string[] }, b: { count: number; seq: string[] }) => a.count < b.count || (a.count === b.count && a.seq.length < b.seq.length);
  const episode = async (lane: { rng: Rng; budget: number }) => {
    let best = { count: root.count, seq: [] as string[] };
    let used = 0;
    while (used < lane.budget && performance.now() < deadline) {
      let cur = root;
      const seq: string[] = [];
      for (let s = 0; s < opts.patience && used < lane.budget && performance.now() < deadline; s++) {
        const p = passes[lane.rng.int(passes.length)]!;
        used++;
        const t = await session.applyAsync(cur.hash, p);
        if (!t.ok) continue;
        cur = t.state;
        seq.push(p);
        const here = { count: cur.count, seq };
        if (better(here, best)) best = { count: cur.count, seq: [...seq] };
      }
    }
    return best;
  };
  // Lane order breaks ties between the lanes' bests, not arrival order.
  let best = { count: root.count, seq: [] as string[] };
  for (const b of await Promise.all(lanes.map(episode))) if (better(b, best)) best = b;
  return finish(session, best.seq, t0, best.count);
}

export async function geneticAlgorithm(inst: CompilerInstance, passes: readonly string[], rng: Rng, opts: { budget: number; seconds: number; population: number; length: number; concurrency: number; mutation: number }): Promise<PassSequence> {
  const t0 = performance.now();
  const session = new OptSession();
  const root = session.addState(inst.ir);
  const deadline = t0 + opts.seconds * 1000;
  let evaluated = 0;
  const fitness = async (genes: string[]): Promise<number> => {
    // The deadline is checked per sequence, not per generation: one slow generation (a program
    // where some sequences take seconds) must not carry the search far past `seconds`. A child
    // left unevaluated is never selected, and the elite carries the best so far.
    if (performance.now() >= deadline) return Number.POSITIVE_INFINITY;
    evaluated++;
    const t = await session.applySequenceAsync(root.hash, genes);
    return t.ok ? t.state.count : Number.POSITIVE_INFINITY;
  };
  const randomGenes = () => Array.from({ length: opts.length }, () => passes[rng.int(passes.length)]!);
  let pop = Array.from({ length: opts.population }, randomGenes);
  let fit = await mapLimit(pop, opts.concurrency, fitness);
  let best = { count: root.count, seq: [] as string[] };
  const note = () => pop.forEach((g, i) => { if (fit[i]! < best.count) best = { count: fit[i]!, seq: [...g] }; });
  note();
  const tournament = () => {
    const a = rng.int(pop.length), b = rng.int(pop.length);
    return fit[a]! <= fit[b]! ? pop[a]! : pop[b]!;
  };
  while (evaluated < opts.budget && performance.now() < deadline) {
    const elite = fit.indexOf(Math.min(...fit));
    const next: string[][] = [pop[elite]!];
    while (next.length < opts.population) {
      const a = tournament(), b = tournament();
      const cut = 1 + rng.int(opts.length - 1);
      const child = [...a.slice(0, cut), ...b.slice(cut)];
      for (let i = 0; i < child.length; i++) if (rng.next() < opts.mutation) child[i] = passes[rng.int(passes.length)]!;
      next.push(child);
    }
    const nextFit = [fit[elite]!, ...(await mapLimit(next.slice(1), opts.concurrency, fitness))];
    pop = next;
    fit = nextFit;
    note();
  }
  // The answer is the best sequence; evaluate replays it pass by pass, which gives the same
  // module as the batched call (tested), so the fitness it was chosen by is the count reported.
  return finish(session, best.seq, t0, best.count);
}

// ---------------------------------------------------------------------------------------------
// Solvers
// ---------------------------------------------------------------------------------------------

const memo = new Map<string, PassSequence>();
/** Deterministic searches: one run per (solver, program, options) per worker; later seeds reuse it. */
async function memoized(name: string, inst: CompilerInstance, ctx: SolveContext, run: () => Promise<PassSequence>): Promise<PassSequence> {
  const key = `${name}\0${inst.id}\0${inst.ir.length}\0${ctx.quick}\0${JSON.stringify(ctx.options)}`;
  let s = memo.get(key);
  if (!s) { s = await run(); memo.set(key, s); }
  return s;
}

const pipelineSolver = (name: string, kind: 'baseline' | 'heuristic', pipeline: string | undefined, description: string): CompilerSolver => ({
  info: { name, kind, description, reference: 'LLVM 14 new pass manager (PassBuilder default pipelines)', deterministic: true },
  solve: () => (pipeline ? { passes: [], pipeline } : { passes: [] }),
});

export const heuristicSolvers: CompilerSolver[] = [
  pipelineSolver('Oz', 'baseline', 'default<Oz>', 'opt -passes=default<Oz>: LLVM\'s size pipeline, the reference of every ratio'),
  pipelineSolver('O0', 'heuristic', undefined, 'no optimisation: the module as clang -O0 (optnone off) built it'),
  pipelineSolver('O3', 'heuristic', 'default<O3>', 'opt -passes=default<O3>: LLVM\'s speed pipeline'),
  {
    info: { name: 'random-search', kind: 'heuristic', description: 'random pass sequences of up to `patience` steps, best module seen kept; budget in pass applications', reference: 'CompilerGym random_search.py (Cummins et al. 2022)' },
    solve: (inst, ctx) => randomSearch(inst, candidatePasses(ctx), ctx.rng, {
      budget: optionNumber(ctx, 'budget', 2000, 60), seconds: optionNumber(ctx, 'seconds', 600, 20),
      patience: optionNumber(ctx, 'patience', 25, 10), concurrency: optionNumber(ctx, 'concurrency', 2),
    }),
  },
  {
    info: { name: 'greedy', kind: 'heuristic', description: 'at each step the single pass that removes the most instructions; stop when none removes any', reference: 'CompilerGym e_greedy.py with epsilon = 0 (Cummins et al. 2022)', deterministic: true },
    solve: (inst, ctx) => memoized('greedy', inst, ctx, () => greedySearch(inst, candidatePasses(ctx), { maxSteps: optionNumber(ctx, 'maxSteps', 100, 20), concurrency: optionNumber(ctx, 'concurrency', 2) })),
  },
  {
    info: { name: 'beam-search', kind: 'heuristic', description: 'greedy with the best `beamWidth` distinct modules kept per step', reference: 'beam search over pass sequences', deterministic: true },
    solve: (inst, ctx) => memoized('beam-search', inst, ctx, () => beamSearch(inst, candidatePasses(ctx), { width: optionNumber(ctx, 'beamWidth', 3, 2), maxSteps: optionNumber(ctx, 'maxSteps', 100, 20), concurrency: optionNumber(ctx, 'concurrency', 2) })),
  },
  {
    info: { name: 'genetic-algorithm', kind: 'heuristic', description: 'fixed-length pass sequences evolved by tournament selection, one-point crossover and mutation', reference: 'genetic algorithms for phase ordering (Cooper et al. 1999; Kulkarni et al. 2004)' },
    solve: (inst, ctx) => geneticAlgorithm(inst, candidatePasses(ctx), ctx.rng, {
      budget: optionNumber(ctx, 'budget', 2000, 60), seconds: optionNumber(ctx, 'seconds', 600, 20),
      population: optionNumber(ctx, 'population', 40, 12), length: optionNumber(ctx, 'length', 30, 12),
      concurrency: optionNumber(ctx, 'concurrency', 2), mutation: 0.05,
    }),
  },
];
