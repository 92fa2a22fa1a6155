import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { ProxyCostEvaluator } from '../../../src/problems/chip/cost.js';
import { generateInstance, startPlacement } from '../../../src/problems/chip/instances.js';
import { greedySolver } from '../../../src/problems/chip/heuristics.js';
import { chipProblem } from '../../../src/problems/chip/index.js';

test('the placement picture: the evaluator\'s cost, every macro, cluster and port, each density cell in its shade; an overlap is called illegal', () => {
  const inst = generateInstance('synth_h12_s60_1');
  const pl = greedySolver.solve(inst, { seed: 1, rng: new Rng(1), quick: true, options: {} }) as ReturnType<typeof startPlacement>;
  const ev = new ProxyCostEvaluator(inst.nl, inst.settings);
  const c = ev.evaluate(pl, inst.weights);
  const svg = chipProblem.picture!(inst, pl, 'synth · greedy · seed 1')!;
  assert.match(svg, /^<svg[\s\S]*<\/svg>\s*$/);
  assert.match(svg, new RegExp(`proxy ${c.proxy.toFixed(4)} = WL ${c.wirelengthCost.toFixed(4)} \\+ 0\\.5·density ${c.densityCost.toFixed(4)} \\+ 0\\.5·congestion ${c.congestionCost.toFixed(4)}; legal`));
  const { nl, settings: s } = inst;
  assert.equal(svg.match(/<g fill="#3366cc"[^>]*>(.*?)<\/g>/)![1]!.match(/<rect /g)!.length, nl.hardMacros.length);
  assert.equal(svg.match(/<path d="([^"]*)" fill="none" stroke="#2a9d4b"/)![1]!.match(/M/g)!.length, nl.softMacros.length);
  assert.equal(svg.match(/<path d="([^"]*)" fill="#c60"/)![1]!.match(/M/g)!.length, nl.ports.length);
  // Every cell with some density is covered by a run of its own shade, and no empty cell is.
  const shaded = new Map<string, number>();
  for (const [, d, shade] of svg.matchAll(/<path d="([^"]*)" fill="rgb\(255,(\d+),\d+\)"/g)) {
    for (const [, x0, , x1] of d!.matchAll(/M([\d.]+) ([\d.]+)H([\d.]+)V/g)) shaded.set(shade!, (shaded.get(shade!) ?? 0) + Math.round((Number(x1) - Number(x0)) / (640 / Math.max(s.width, s.height) * s.width / s.columns)));
  }
  const want = new Map<string, number>();
  for (let i = 0; i < s.rows * s.columns; i++) {
    const shade = Math.round(255 * (1 - Math.min(1, ev.density[i]!)));
    if (shade < 255) want.set(String(shade), (want.get(String(shade)) ?? 0) + 1);
  }
  assert.ok(want.size > 3, 'a placement with several densities');
  assert.deepEqual(new Map([...shaded].sort()), new Map([...want].sort()));
  // Two hard macros on one spot.
  const [a, b] = nl.hardMacros;
  pl.x[b!] = pl.x[a!]!; pl.y[b!] = pl.y[a!]!;
  assert.match(chipProblem.picture!(inst, pl, 'x')!, /ILLEGAL \(overlap \d+ µm², 0 outside\)/);
});
