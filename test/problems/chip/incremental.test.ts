import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataPath } from '../../../src/core/data.js';
import { Rng } from '../../../src/core/rng.js';
import { readNetlist, type Netlist } from '../../../src/problems/chip/netlist.js';
import { readPlc, type Placement } from '../../../src/problems/chip/plc.js';
import { ProxyCostEvaluator, type CostSettings } from '../../../src/problems/chip/cost.js';
import { IncrementalCost } from '../../../src/problems/chip/incremental.js';
import { generateInstance, startPlacement } from '../../../src/problems/chip/instances.js';

/** Random moves, swaps, flips and cluster moves; after each batch the running cost equals a full evaluation. */
function checkAgainstFull(nl: Netlist, s: CostSettings, pl: Placement, moves: number, seed: number): void {
  const inc = new IncrementalCost(nl, s, pl);
  const full = new ProxyCostEvaluator(nl, s);
  const rng = new Rng(seed);
  const hm = nl.hardMacros, sm = nl.softMacros;
  for (let k = 1; k <= moves; k++) {
    const t = rng.next();
    const i = hm[rng.int(hm.length)]!;
    if (t < 0.3) inc.move(i, rng.uniform(0, s.width), rng.uniform(0, s.height), inc.pl.orient[i]!);
    else if (t < 0.5) inc.move(i, inc.pl.x[i]!, inc.pl.y[i]!, rng.int(8));
    else if (t < 0.7) { const j = hm[rng.int(hm.length)]!; if (j !== i) inc.swap(i, j); }
    else if (sm.length > 0) { const c = sm[rng.int(sm.length)]!; inc.move(c, rng.uniform(0, s.width), rng.uniform(0, s.height), 0); }
    if (k % 25 === 0) {
      const a = inc.cost(), b = full.evaluate(inc.pl);
      for (const key of ['wirelengthCost', 'densityCost', 'congestionCost', 'proxy'] as const)
        assert.ok(Math.abs(a[key] - b[key]) <= 1e-9, `after ${k} moves ${key}: incremental ${a[key]} vs full ${b[key]}`);
      assert.ok(Math.abs(a.wirelength - b.wirelength) <= 1e-9 * b.wirelength);
    }
  }
}

test('incremental cost equals full re-evaluation (1e-9) after random moves, swaps and flips on a synthetic netlist', () => {
  const inst = generateInstance('synth_h10_s40_3');
  checkAgainstFull(inst.nl, inst.settings, startPlacement(inst.nl, inst.settings), 400, 1);
});

test('incremental cost: a macro made absent then present again gives back the same cost', () => {
  const inst = generateInstance('synth_h6_s20_2');
  const pl = startPlacement(inst.nl, inst.settings);
  const rng = new Rng(5);
  for (const i of inst.nl.hardMacros) { pl.x[i] = rng.uniform(50, 550); pl.y[i] = rng.uniform(50, 550); }
  const inc = new IncrementalCost(inst.nl, inst.settings, pl);
  const before = inc.cost();
  const m = inst.nl.hardMacros[2]!;
  inc.setPresent(m, false);
  const without = inc.cost();
  assert.ok(without.densityCost <= before.densityCost + 1e-12);
  inc.setPresent(m, true);
  assert.ok(Math.abs(inc.cost().proxy - before.proxy) < 1e-12);
  // and absent from the start equals absent after the fact
  const inc2 = new IncrementalCost(inst.nl, inst.settings, pl);
  inc2.present[m] = 0;
  for (let v = 0; v < inst.nl.names.length; v++) if (inst.nl.pinMacro[v] === m) inc2.present[v] = 0;
  inc2.rebuild();
  assert.ok(Math.abs(inc2.cost().proxy - without.proxy) < 1e-12);
});

const data = new DataPath();
const netPath = data.find('chip/mp_ariane133_ng45/netlist.pb.txt.gz');
test('incremental cost equals full re-evaluation (1e-9) on Ariane133 from legalized.plc', { skip: netPath ? false : 'chip data not found' }, () => {
  const nl = readNetlist(netPath!);
  const plc = readPlc(data.find('chip/mp_ariane133_ng45/legalized.plc')!, nl);
  checkAgainstFull(nl, plc.header, plc.placement, 200, 2);
});
