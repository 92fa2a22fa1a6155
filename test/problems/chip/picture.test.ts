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
  // Every cell with some density is covered by a run of its own shade, at its own row and column
  // (rows counted from the bottom of the chip, which is the bottom of the picture), and no empty cell is.
  const k = 640 / Math.max(s.width, s.height), cw = (s.width / s.columns) * k, ch = (s.height / s.rows) * k;
  const drawn = new Map<string, number>();
  for (const [, d, shade] of svg.matchAll(/<path d="([^"]*)" fill="rgb\(255,(\d+),\d+\)"/g)) {
    for (const [, x0, y1, x1] of d!.matchAll(/M([\d.]+) ([\d.]+)H([\d.]+)V/g)) {
      const r = Math.round(s.rows - Number(y1) / ch) - 1;
      for (let q = Math.round(Number(x0) / cw); q < Math.round(Number(x1) / cw); q++) {
        assert.ok(!drawn.has(`${r},${q}`), `cell ${r},${q} drawn twice`);
        drawn.set(`${r},${q}`, Number(shade));
      }
    }
  }
  const want = new Map<string, number>();
  for (let r = 0; r < s.rows; r++) {
    for (let q = 0; q < s.columns; q++) {
      const shade = Math.round(255 * (1 - Math.min(1, ev.density[r * s.columns + q]!)));
      if (shade < 255) want.set(`${r},${q}`, shade);
    }
  }
  assert.ok(new Set(want.values()).size > 3, 'a placement with several densities');
  assert.deepEqual(new Map([...drawn].sort()), new Map([...want].sort()));
  // The notch: in the corner N's lower-left corner turns to (E: upper-left, FW: lower-left).
  const m0 = nl.hardMacros[0]!;
  const notchAt = (o: number) => {
    pl.orient[m0] = o;
    const [, x, y] = chipProblem.picture!(inst, pl, 'x')!.match(/<path d="M([\d.]+) ([\d.]+)a[^"]*" fill="#fff"/)!;
    return [Math.sign(Number(x) - pl.x[m0]! * k), Math.sign(s.height * k - pl.y[m0]! * k - Number(y))];
  };
  assert.deepEqual([0, 1, 2, 3, 4, 7].map(notchAt), [[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, 1], [-1, -1]]);
  pl.orient[m0] = 0;
  // Two hard macros on one spot.
  const [a, b] = nl.hardMacros;
  pl.x[b!] = pl.x[a!]!; pl.y[b!] = pl.y[a!]!;
  assert.match(chipProblem.picture!(inst, pl, 'x')!, /ILLEGAL \(overlap \d+ µm², 0 outside\)/);
});
