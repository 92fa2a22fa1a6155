import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataPath } from '../../../src/core/data.js';
import { Rng } from '../../../src/core/rng.js';
import { SelfoptError } from '../../../src/core/errors.js';
import { getProblem } from '../../../src/problems/all.js';
import { startPlacement, type ChipInstance } from '../../../src/problems/chip/instances.js';
import { planGrid, type BenchOptions } from '../../../src/bench/runner.js';
import { SMALL_NETLIST, SMALL_PLC } from './fixtures.js';
import { legality } from '../../../src/problems/chip/cost.js';
import { writePlc } from '../../../src/problems/chip/plc.js';
import { tempDir } from '../../tmp.js';

const chip = getProblem('chip');
const data = new DataPath();

test('chip problem: quick instances are generated (test and train splits), every metric declared', async () => {
  const refs = chip.listInstances({ data, quick: true });
  assert.ok(refs.some((r) => r.split === 'train') && refs.some((r) => r.split === 'test'));
  assert.ok(refs.every((r) => r.source === 'generated'));
  const inst = (await chip.load(refs[0]!)) as ChipInstance;
  const greedy = chip.solvers.find((s) => s.info.name === 'greedy')!;
  const sol = await greedy.solve(inst, { seed: 1, rng: new Rng(1), quick: true, options: {} });
  const dir = mkdtempSync(join(tmpdir(), 'chip-svg-'));
  try {
    const m = await chip.evaluate(inst, sol, { seed: 1, rng: new Rng(2), quick: true, options: { svg: dir }, solveMs: 5 });
    assert.deepEqual(Object.keys(m).sort(), chip.metrics.map((x) => x.name).sort());
    assert.equal(m['legal'], 1);
    assert.equal(m['overlap_area'], 0);
    assert.ok(Math.abs(m['proxy_cost']! - (m['wirelength_cost']! + 0.5 * m['density_cost']! + 0.5 * m['congestion_cost']!)) < 1e-12);
    const svg = readFileSync(join(dir, `${inst.id}_greedy_seed1.svg`), 'utf8');
    assert.ok(svg.startsWith('<svg') && svg.includes(m['proxy_cost']!.toFixed(4)) && (svg.match(/<g fill="#3366cc"[^>]*>(.*?)<\/g>/)?.[1]?.match(/<rect /g) ?? []).length === inst.nl.hardMacros.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // a moved port or a wrong-sized placement is refused
  const p = inst.nl.ports[0]!;
  const moved = { ...sol, x: Float64Array.from(sol.x) };
  moved.x[p] = moved.x[p]! + 1;
  await assert.rejects(async () => chip.evaluate(inst, moved, { seed: 1, rng: new Rng(2), quick: true, options: {}, solveMs: 0 }), (e: unknown) => e instanceof SelfoptError && /port/.test(e.message));
  await assert.rejects(async () => chip.evaluate(inst, { ...sol, x: new Float64Array(3) }, { seed: 1, rng: new Rng(2), quick: true, options: {}, solveMs: 0 }), (e: unknown) => e instanceof SelfoptError && /positions/.test(e.message));
});

const ariane = data.find('chip/mp_ariane133_ng45/netlist.pb.txt.gz');
test('chip problem: Ariane133 listed in full runs; reference-legalized scores its header cost', { skip: ariane ? false : 'chip data not found' }, async () => {
  const ref = chip.resolveInstance('ariane133', { data, quick: false });
  const inst = (await chip.load(ref)) as ChipInstance;
  const solver = chip.solvers.find((s) => s.info.name === 'reference-legalized')!;
  const sol = await solver.solve(inst, { seed: 1, rng: new Rng(1), quick: false, options: {} });
  const m = await chip.evaluate(inst, sol, { seed: 1, rng: new Rng(2), quick: false, options: {}, solveMs: 0 });
  assert.ok(Math.abs(m['proxy_cost']! - (0.0736 + 0.5 * 0.4988 + 0.5 * 0.7259)) < 2e-3);
  assert.equal(m['legal'], 1);
});

const tiles = data.find('chip/ct_testdata/macro_tiles_10x10/initial.plc');
test("chip problem: reference-initial on a Circuit Training test netlist is its initial.plc (legal macro tiles), not the start placement", { skip: tiles ? false : 'chip data not found' }, async () => {
  const inst = (await chip.load(chip.resolveInstance('ct_macro_tiles_10x10', { data, quick: false }))) as ChipInstance;
  const solver = chip.solvers.find((s) => s.info.name === 'reference-initial')!;
  const sol = await solver.solve(inst, { seed: 1, rng: new Rng(1), quick: false, options: {} });
  const m = await chip.evaluate(inst, sol, { seed: 1, rng: new Rng(2), quick: false, options: {}, solveMs: 0 });
  // the file's macro tiles, not every macro stacked at the canvas centre (overlapping: legal 0)
  assert.equal(m['legal'], 1);
  const placed = new Set(Array.from(inst.nl.hardMacros, (i) => `${sol.x[i]},${sol.y[i]}`));
  assert.equal(placed.size, inst.nl.hardMacros.length);
});

test('chip grid: the staged reference placements run only where a netlist has them, on seed 1; named for none, they are an error', () => {
  // They ran on every generated netlist as every macro stacked at the canvas centre (illegal):
  // rows titled reference-legalized that were neither a reference nor legal.
  const grid = (o: Partial<BenchOptions>) => planGrid({ problems: ['chip'], seeds: 3, quick: true, resume: false, data, options: {}, progress: false, command: 'test', ...o })[0]!.cells;
  const quick = grid({});
  assert.ok(quick.length > 0 && quick.every((c) => !c.solver.startsWith('reference-')), quick.map((c) => c.solver).join(','));
  assert.equal(quick.filter((c) => c.solver === 'greedy').length, 3 * new Set(quick.map((c) => c.instance.id)).size);
  assert.throws(() => grid({ solvers: ['greedy', 'reference-legalized'], instances: ['synth_h8_s40_1'] }),
    /solver reference-legalized has nothing to run on instance synth_h8_s40_1 \(at --solvers \(problem chip\)\); expected an instance it applies to \(the staged legalized\.plc/);
  if (!tiles || !ariane) return;
  const real = grid({ instances: ['ariane133', 'ct_macro_tiles_10x10', 'synth_h8_s40_1'], solvers: ['reference-initial', 'reference-legalized'] });
  assert.deepEqual(real.map((c) => `${c.instance.id} ${c.solver} ${c.seed}`),
    ['ariane133 reference-initial 1', 'ariane133 reference-legalized 1', 'ct_macro_tiles_10x10 reference-initial 1']);
});

test("chip instances: a user's Circuit Training files (a .plc beside netlist.pb.txt, or the netlist beside initial.plc) are an instance every solver runs on", async () => {
  // `--instances DIR/initial.plc` was 'unknown instance' with a list of ids, though bench says it takes file paths.
  const dir = join(tempDir('chip-user-'), 'my_block');
  mkdirSync(dir);
  writeFileSync(join(dir, 'netlist.pb.txt'), SMALL_NETLIST);
  writeFileSync(join(dir, 'initial.plc'), SMALL_PLC);
  const ref = chip.resolveInstance(join(dir, 'initial.plc'), { data, quick: false });
  assert.equal(ref.id, 'my_block_initial');
  assert.equal(ref.source, 'file');
  assert.equal(chip.resolveInstance(join(dir, 'netlist.pb.txt'), { data, quick: false }).id, 'my_block_initial');
  const inst = (await chip.load(ref)) as ChipInstance;
  assert.deepEqual([inst.settings.columns, inst.settings.rows, inst.settings.width], [4, 2, 100]);
  for (const name of ['reference-initial', 'greedy', 'simulated-annealing', 'rl']) {
    const solver = chip.solvers.find((s) => s.info.name === name)!;
    assert.ok(!solver.appliesTo || solver.appliesTo(ref, {}) === true, name);
    const sol = await solver.solve(inst, { seed: 1, rng: new Rng(1), quick: true, options: {} });
    const m = await chip.evaluate(inst, sol, { seed: 1, rng: new Rng(2), quick: true, options: {}, solveMs: 0 });
    assert.equal(m['legal'], 1, name);
  }
  // a netlist without a .plc beside it, or a .plc without a netlist, is one line saying what is missing
  const lone = join(tempDir('chip-user-'), 'netlist.pb.txt');
  writeFileSync(lone, SMALL_NETLIST);
  assert.throws(() => chip.resolveInstance(lone, { data, quick: false }), (e: unknown) => e instanceof SelfoptError && /no initial\.plc beside/.test(e.message));
  const plc = join(tempDir('chip-user-'), 'x.plc');
  writeFileSync(plc, SMALL_PLC);
  assert.throws(() => chip.resolveInstance(plc, { data, quick: false }), (e: unknown) => e instanceof SelfoptError && /no netlist beside/.test(e.message) && /netlist\.pb\.txt/.test(e.message));
});

test('chip evaluate: an illegal placement gives a note saying so (a crowded canvas was only a silent legal 0); a legal one gives none', async () => {
  const inst = (await chip.load(chip.resolveInstance('synth_h8_s40_1', { data, quick: true }))) as ChipInstance;
  const notes: string[] = [];
  const ctx = { seed: 1, rng: new Rng(2), quick: true, options: {}, solveMs: 0, note: (t: string) => void notes.push(t) };
  const greedy = await chip.solvers.find((s) => s.info.name === 'greedy')!.solve(inst, { seed: 1, rng: new Rng(1), quick: true, options: {} });
  assert.equal((await chip.evaluate(inst, greedy, ctx))['legal'], 1);
  assert.deepEqual(notes, []);
  // every macro at the canvas centre: overlapping
  const stacked = { ...startPlacement(inst.nl, inst.settings), solver: 'greedy' };
  assert.equal((await chip.evaluate(inst, stacked, ctx))['legal'], 0);
  assert.equal(notes.length, 1);
  assert.match(notes[0]!, /^synth_h8_s40_1: greedy placement is not legal \(hard macros overlap, leave the canvas or cover a blockage/);
});

test("chip: a .plc's blockages (# Blockage : xl yl xh yh rate) keep hard macros off them in every placer and in legal; they were ignored", async () => {
  // The bottom half of the 100 x 100 canvas is blocked: M (20 x 10) fits only in the top half,
  // and the file's own placement (M centred at 50, 50) covers the blockage.
  const dir = join(tempDir('chip-blockage-'), 'blocked');
  mkdirSync(dir);
  writeFileSync(join(dir, 'netlist.pb.txt'), SMALL_NETLIST);
  writeFileSync(join(dir, 'initial.plc'), SMALL_PLC.replace('# node_index', '# Blockage : 0 0 100 50 1.0\n# node_index'));
  const ref = chip.resolveInstance(join(dir, 'initial.plc'), { data, quick: false });
  const inst = (await chip.load(ref)) as ChipInstance;
  assert.deepEqual(inst.settings.blockages, [{ xl: 0, yl: 0, xh: 100, yh: 50, rate: 1 }]);
  assert.match(writePlc(inst.nl, { header: inst.settings, placement: startPlacement(inst.nl, inst.settings), rowLine: new Int32Array(0) }), /^# Blockage : 0 0 100 50 1$/m);
  const m = inst.nl.index.get('M')!;
  for (const name of ['reference-initial', 'greedy', 'simulated-annealing', 'rl']) {
    const sol = await chip.solvers.find((s) => s.info.name === name)!.solve(inst, { seed: 1, rng: new Rng(1), quick: true, options: {} });
    const legal = (await chip.evaluate(inst, sol, { seed: 1, rng: new Rng(2), quick: true, options: {}, solveMs: 0 }))['legal'];
    if (name === 'reference-initial') {
      assert.equal(legal, 0);
      assert.deepEqual(legality(inst.nl, sol, inst.settings).blocked, [m]);
    } else {
      assert.equal(legal, 1, name);
      assert.ok(sol.y[m]! - 5 >= 50, `${name} put M at y ${sol.y[m]}`);
    }
  }
});
