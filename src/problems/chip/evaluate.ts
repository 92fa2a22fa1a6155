/**
 * The chip placement metrics, from the one evaluator (cost.ts). A solution is a Placement of every
 * node (pins follow their macros). Ports must stay where the instance has them (they are pads, not
 * placed). eval_ms and move_ms time the evaluator on each placement (Problem.metaMetrics puts
 * their medians in the report's meta: the issue's < 50 ms and < 1 ms bars). With `--opt svg=DIR` every evaluated placement is also drawn to
 * DIR/<instance>_<solver>_seed<seed>.svg (picture.ts).
 */
import { join } from 'node:path';
import { SelfoptError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/files.js';
import type { EvalContext, Metric, MetricValues } from '../../core/problem.js';
import { ProxyCostEvaluator, legality } from './cost.js';
import { IncrementalCost } from './incremental.js';
import { Rng } from '../../core/rng.js';
import type { ChipInstance } from './instances.js';
import type { Placement } from './plc.js';
import { placementSvg } from './picture.js';

/** A placement, with the name of the placer that made it (for pictures and messages). */
export interface ChipSolution extends Placement {
  solver?: string;
}

export const METRICS: Metric[] = [
  { name: 'proxy_cost', unit: 'cost', better: 'lower', description: 'wirelength + 0.5·density + 0.5·congestion (Circuit Training proxy cost; weights of the ISPD 2023 assessment)' },
  { name: 'wirelength_cost', unit: 'cost', better: 'lower', description: 'Σ w·HPWL / (Σ w · (canvas width + height))' },
  { name: 'density_cost', unit: 'cost', better: 'lower', description: '0.5 × mean density of the densest 10% of grid cells' },
  { name: 'congestion_cost', unit: 'cost', better: 'lower', description: 'mean of the worst 5% of the V and H routing congestion maps' },
  { name: 'hpwl', unit: 'µm', better: 'lower', description: 'Σ net weight × half-perimeter wirelength' },
  { name: 'overlap_area', unit: 'µm²', better: 'lower', description: 'total pairwise overlap area of hard macros (0 when legal)' },
  { name: 'legal', unit: 'bool', better: 'higher', description: '1 when every hard macro is inside the canvas and none overlap' },
  { name: 'place_ms', unit: 'ms', better: 'lower', description: 'wall time of the placer (solve only)' },
  { name: 'eval_ms', unit: 'ms', better: 'lower', description: 'one full proxy-cost evaluation of this placement (median of 5, interleaved with move timing; the evaluator, not the placer)' },
  { name: 'move_ms', unit: 'ms', better: 'lower', description: 'one incremental macro move, flip or swap with its proxy cost (median of 5 rounds of 40; the evaluator, not the placer)' },
  { name: 'move_vs_eval', unit: 'ratio', better: 'lower', description: 'move_ms / eval_ms, measured interleaved in the same run' },
];

/**
 * Times the evaluator itself on this placement, interleaved after a warm-up: 5 rounds of one full
 * evaluation and 40 random incremental macro actions (moves, flips, swaps, each undone; the cost
 * computed after each). evalMs = median full evaluation, moveMs = median of the rounds' mean action
 * time, ratio = moveMs / evalMs (the speed-up SA gets, robust to a loaded machine). The
 * incremental answer is checked against a full evaluation after the timed actions.
 */
export function evaluatorSpeed(inst: ChipInstance, pl: Placement, seed: number): { evalMs: number; moveMs: number } {
  const ev = new ProxyCostEvaluator(inst.nl, inst.settings);
  const hm = inst.nl.hardMacros;
  const inc = hm.length > 0 ? new IncrementalCost(inst.nl, inst.settings, pl, inst.weights) : undefined;
  const rng = new Rng(seed);
  const { width: W, height: H } = inst.settings;
  let sink = 0;
  const actions = (count: number): void => {
    if (!inc) return;
    for (let k = 0; k < count; k++) {
      const i = hm[rng.int(hm.length)]!;
      const x = inc.pl.x[i]!, y = inc.pl.y[i]!, o = inc.pl.orient[i]!;
      const kind = k % 3;
      if (kind === 0) { inc.move(i, rng.uniform(0, W), rng.uniform(0, H), o); sink += inc.proxy(); inc.move(i, x, y, o); }
      else if (kind === 1) { inc.move(i, x, y, (o + 1) % 4); sink += inc.proxy(); inc.move(i, x, y, o); }
      else { const j = hm[rng.int(hm.length)]!; if (j !== i) { inc.swap(i, j); sink += inc.proxy(); inc.swap(i, j); } }
    }
  };
  ev.evaluate(pl, inst.weights);
  actions(20);
  const evals: number[] = [], moves: number[] = [];
  const per = 40;
  for (let r = 0; r < 5; r++) {
    let t0 = performance.now();
    sink += ev.evaluate(pl, inst.weights).proxy;
    evals.push(performance.now() - t0);
    t0 = performance.now();
    actions(per);
    moves.push((performance.now() - t0) / per);
  }
  evals.sort((a, b) => a - b);
  moves.sort((a, b) => a - b);
  if (inc) {
    const a = inc.proxy(), b = ev.evaluate(pl, inst.weights).proxy;
    if (!(Math.abs(a - b) <= 1e-9) || !Number.isFinite(sink))
      throw new SelfoptError(`incremental cost ${a} after ${20 + 5 * per} undone actions vs full ${b}`, `chip evaluator check on ${inst.id}`, 'equal to 1e-9');
  }
  return { evalMs: evals[2]!, moveMs: inc ? moves[2]! : 0 };
}

export function validatePlacement(inst: ChipInstance, sol: unknown, where: string): asserts sol is ChipSolution {
  const n = inst.nl.names.length;
  const p = sol as Partial<Placement> | null;
  if (!p || !(p.x instanceof Float64Array) || !(p.y instanceof Float64Array) || !(p.orient instanceof Uint8Array))
    throw new SelfoptError('solution is not a placement', where, 'a Placement {x, y: Float64Array, orient: Uint8Array, fixed}');
  if (p.x.length !== n || p.y.length !== n || p.orient.length !== n)
    throw new SelfoptError(`placement has ${p.x.length} positions`, where, `one per netlist node (${n})`);
  for (const i of inst.nl.hardMacros) {
    if (!Number.isFinite(p.x[i]!) || !Number.isFinite(p.y[i]!)) throw new SelfoptError(`macro '${inst.nl.names[i]}' at (${p.x[i]}, ${p.y[i]})`, where, 'finite coordinates');
    if (p.orient[i]! > 7) throw new SelfoptError(`macro '${inst.nl.names[i]}' orientation code ${p.orient[i]}`, where, 'a code 0..7');
  }
  for (const i of inst.nl.ports) {
    if (Math.abs(p.x[i]! - inst.nl.x[i]!) > 1e-6 || Math.abs(p.y[i]! - inst.nl.y[i]!) > 1e-6)
      throw new SelfoptError(`port '${inst.nl.names[i]}' moved to (${p.x[i]}, ${p.y[i]})`, where, `ports fixed where the instance puts them (${inst.nl.x[i]}, ${inst.nl.y[i]})`);
  }
}

export function evaluatePlacement(inst: ChipInstance, sol: unknown, ctx: Pick<EvalContext, 'solveMs' | 'seed' | 'options' | 'note'>): MetricValues {
  validatePlacement(inst, sol, `chip solution for ${inst.id}`);
  const c = new ProxyCostEvaluator(inst.nl, inst.settings).evaluate(sol, inst.weights);
  const leg = legality(inst.nl, sol, inst.settings);
  // A placer that found no room for every macro (a crowded canvas) would otherwise show only as a
  // 0 in the legal table, below a proxy cost ranked beside legal placements' costs.
  if (!leg.legal) {
    ctx.note?.(`${inst.id}: ${sol.solver ?? 'the'} placement is not legal (hard macros overlap, leave the canvas or cover a blockage: legal 0, see overlap_area); its proxy cost is that of an illegal placement`);
  }
  const speed = evaluatorSpeed(inst, sol, ctx.seed);
  const dir = ctx.options['svg'];
  if (dir) {
    const who = sol.solver ?? 'placement';
    writeFileAtomic(join(dir, `${inst.id}_${who}_seed${ctx.seed}.svg`), placementSvg(inst, sol, `${inst.id} — ${who} (seed ${ctx.seed})`));
  }
  return {
    proxy_cost: c.proxy, wirelength_cost: c.wirelengthCost, density_cost: c.densityCost, congestion_cost: c.congestionCost,
    hpwl: c.wirelength, overlap_area: leg.overlapArea, legal: leg.legal ? 1 : 0, place_ms: ctx.solveMs,
    eval_ms: speed.evalMs, move_ms: speed.moveMs, move_vs_eval: speed.evalMs > 0 ? speed.moveMs / speed.evalMs : 0,
  };
}
