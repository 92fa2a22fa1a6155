import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { ProxyCostEvaluator, legality } from '../../../src/problems/chip/cost.js';
import { IncrementalCost } from '../../../src/problems/chip/incremental.js';
import { generateInstance, startPlacement } from '../../../src/problems/chip/instances.js';
import { ForceDirected } from '../../../src/problems/chip/force-directed.js';
import { MacroLayout } from '../../../src/problems/chip/sites.js';
import { annealMacros, greedySolver, placementOrder, SA_DEFAULTS } from '../../../src/problems/chip/heuristics.js';

const ctx = (seed: number) => ({ seed, rng: new Rng(seed), quick: true, options: {} });

test('greedy: every macro legal (on cell centres while they are free), in order of area', () => {
  for (const name of ['synth_h12_s60_1', 'synth_h20_s30_2']) {
    const inst = generateInstance(name);
    const pl = greedySolver.solve(inst, ctx(1)) as ReturnType<typeof startPlacement>;
    assert.deepEqual(legality(inst.nl, pl, inst.settings), { legal: true, overlapArea: 0, outside: [], blocked: [] }, name);
    const { nl } = inst;
    const order = placementOrder(inst);
    for (let j = 1; j < order.length; j++) assert.ok(nl.w[order[j - 1]!]! * nl.h[order[j - 1]!]! >= nl.w[order[j]!]! * nl.h[order[j]!]!);
    const gw = inst.settings.width / inst.settings.columns;
    if (name === 'synth_h12_s60_1') for (const m of nl.hardMacros) assert.ok(Math.abs(((pl.x[m]! / gw) % 1) - 0.5) < 1e-9, 'macro centre on a cell centre');
  }
});

test('force-directed clusters: lower wirelength than scattered clusters, hard macros and ports untouched', () => {
  const inst = generateInstance('synth_h8_s60_4');
  const pl = greedySolver.solve(inst, ctx(2)) as ReturnType<typeof startPlacement>;
  const rng = new Rng(9);
  for (const c of inst.nl.softMacros) { pl.x[c] = rng.uniform(0, inst.settings.width); pl.y[c] = rng.uniform(0, inst.settings.height); }
  const ev = new ProxyCostEvaluator(inst.nl, inst.settings);
  const before = ev.evaluate(pl);
  const fixed = [...inst.nl.hardMacros, ...inst.nl.ports].map((i) => [pl.x[i], pl.y[i]]);
  new ForceDirected(inst.nl, inst.settings).place(pl, rng);
  const after = ev.evaluate(pl);
  assert.ok(after.wirelength < 0.8 * before.wirelength, `FD wirelength ${after.wirelength} vs scattered ${before.wirelength}`);
  assert.deepEqual([...inst.nl.hardMacros, ...inst.nl.ports].map((i) => [pl.x[i], pl.y[i]]), fixed);
  for (const c of inst.nl.softMacros) assert.ok(pl.x[c]! >= 0 && pl.x[c]! <= inst.settings.width && pl.y[c]! >= 0 && pl.y[c]! <= inst.settings.height);
});

test('simulated annealing: from a random legal placement, lowers the proxy cost and stays legal', () => {
  const inst = generateInstance('synth_h6_s40_5');
  const { nl } = inst;
  const rng = new Rng(3);
  const pl = startPlacement(nl, inst.settings);
  const layout = new MacroLayout(nl, inst.settings);
  for (let k = 0; k < layout.macros.length; k++) {
    for (let t = 0; t < 1000; t++) {
      const g = rng.int(layout.cells);
      if (layout.fits(k, layout.cellX(g), layout.cellY(g))) { layout.x[k] = layout.cellX(g); layout.y[k] = layout.cellY(g); layout.placed[k] = 1; break; }
    }
    assert.equal(layout.placed[k], 1, 'random start placed every macro');
    pl.x[layout.macros[k]!] = layout.x[k]!; pl.y[layout.macros[k]!] = layout.y[k]!;
  }
  const fd = new ForceDirected(nl, inst.settings);
  fd.place(pl, rng);
  const inc = new IncrementalCost(nl, inst.settings, pl);
  const start = inc.proxy();
  const { best, accepted } = annealMacros(inst, inc, layout, fd, rng, { ...SA_DEFAULTS, steps: 25 });
  const end = new ProxyCostEvaluator(nl, inst.settings).evaluate(best).proxy;
  assert.ok(accepted > 0);
  assert.ok(end < 0.95 * start, `SA ${end} vs random start ${start}`);
  assert.equal(legality(nl, best, inst.settings).legal, true);
});
