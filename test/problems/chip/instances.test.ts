import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SelfoptError } from '../../../src/core/errors.js';
import { REAL_NETLISTS, generateInstance, loadReal, parseSyntheticName } from '../../../src/problems/chip/instances.js';
import { SMALL_NETLIST, SMALL_PLC } from './fixtures.js';
import { Rng } from '../../../src/core/rng.js';
import { referenceInitial } from '../../../src/problems/chip/heuristics.js';
import { evaluatePlacement } from '../../../src/problems/chip/evaluate.js';
import { tempDir } from '../../tmp.js';

/** Loads SMALL_NETLIST and SMALL_PLC, each changed by `edit`, as a real instance from files. */
function loadSmall(edit: { netlist?: (s: string) => string; plc?: (s: string) => string } = {}) {
  const dir = tempDir('chip-load-');
  const netlist = join(dir, 'netlist.pb.txt'), plc = join(dir, 'initial.plc');
  writeFileSync(netlist, (edit.netlist ?? ((s) => s))(SMALL_NETLIST));
  writeFileSync(plc, (edit.plc ?? ((s) => s))(SMALL_PLC));
  return loadReal(REAL_NETLISTS[1]!, { netlist, plc, references: {} });
}

test('chip load: the small netlist loads as a real instance', () => {
  const inst = loadSmall();
  assert.equal(inst.nl.hardMacros.length, 1);
  assert.deepEqual([inst.settings.width, inst.settings.height], [100, 100]);
});

test('chip load: a hard macro wider or taller than the canvas is refused, naming the macro and the canvas', () => {
  // M is 20 x 10 on a 100 x 100 canvas; 120 wide cannot be placed legally anywhere
  const wide = (s: string) => s.replace('f: 20\n', 'f: 120\n');
  assert.throws(() => loadSmall({ netlist: wide }), (e: unknown) => e instanceof SelfoptError && /macro 'M'/.test(e.message) && /120 x 10/.test(e.message) && /100 x 100 canvas/.test(e.message) && e.message.includes('netlist.pb.txt'));
  const tall = (s: string) => s.replace('# Width : 100.000  Height : 100.000', '# Width : 100.000  Height : 8');
  assert.throws(() => loadSmall({ plc: tall }), (e: unknown) => e instanceof SelfoptError && /macro 'M'/.test(e.message) && /100 x 8 canvas/.test(e.message));
});

test('chip load: a netlist without hard macros is refused (nothing to place), not a crash inside a placer', () => {
  // M becomes a standard-cell cluster: the netlist keeps its port, pins and nets
  const noMacros = (s: string) => s.replace(/"M(?=["/])/g, '"Grp_M').replace('placeholder: "MACRO"\n', 'placeholder: "macro"\n');
  assert.throws(() => loadSmall({ netlist: noMacros }), (e: unknown) => e instanceof SelfoptError && /no hard macro/.test(e.message) && e.message.includes('netlist.pb.txt'));
});

test('chip load: a netlist without nets is refused (its wirelength cost would be 0 / 0), not a NaN cost', () => {
  const noNets = (s: string) => s.replace(/ {2}input: .*\n/g, '');
  assert.throws(() => loadSmall({ netlist: noNets }), (e: unknown) => e instanceof SelfoptError && /no net/.test(e.message) && e.message.includes('netlist.pb.txt'));
});

test('chip load: hard macros covering more area than the canvas are refused (no legal placement), not placed overlapping with legal 0', () => {
  // M becomes 80 x 80, and a second macro M2 like it: on the 100 x 100 canvas each fits, the two cannot
  const crowded = (s: string) => {
    const m = s.slice(s.indexOf('node {\n  name: "M"'), s.indexOf('node {\n  name: "M/A"')).replace('f: 20\n', 'f: 80\n').replace('f: 10\n', 'f: 80\n');
    return s.replace(/node \{\n {2}name: "M"[^]*?(?=node \{\n {2}name: "M\/A")/, m + m.replace('name: "M"', 'name: "M2"'));
  };
  // (the .plc without rows: a header-only file keeps the netlist's coordinates)
  assert.throws(() => loadSmall({ netlist: crowded, plc: (s) => s.replace(/^\d.*\n/gm, '') }), (e: unknown) => e instanceof SelfoptError && /the 2 hard macros cover 12800 µm², more than the 100 x 100 canvas \(10000 µm²\)/.test(e.message) && e.message.includes('netlist.pb.txt'));
});

test('chip load: a .plc with a fixed macro is refused with its line (every placer would move it), fixed ports are fine', () => {
  // SMALL_PLC's row for M is '1 50 50 S 0'; the port P is already fixed ('0 0 50 - 1')
  assert.throws(() => loadSmall({ plc: (s) => s.replace('1 50 50 S 0', '1 50 50 S 1') }),
    (e: unknown) => e instanceof SelfoptError && /macro 'M' \(index 1\) is fixed/.test(e.message) && /initial\.plc:14\)/.test(e.message));
});

test("chip load: ports are where the .plc puts them (as Circuit Training restores a placement), so its reference placement is not refused as moving them", async () => {
  // The netlist has P at (0, 50); the .plc at (0, 60). reference-initial was refused at evaluation
  // ('port P moved') and the placers scored wires to a port where the .plc does not have it.
  const inst = loadSmall({ plc: (s) => s.replace('0 0 50 - 1', '0 0 60 - 1') });
  assert.deepEqual([inst.nl.x[0], inst.nl.y[0]], [0, 60]);
  inst.references = { initial: inst.sourcePaths!.plc };
  const sol = await referenceInitial.solve(inst, { seed: 1, rng: new Rng(1), quick: false, options: {} });
  const m = evaluatePlacement(inst, sol, { seed: 1, solveMs: 0, options: {} });
  assert.equal(m['legal'], 1);
});

test('chip instances: a generated netlist of one node (synth_h1_s0_p0_1) is an unknown instance, not a RangeError stack from the generator', () => {
  assert.equal(parseSyntheticName('synth_h1_s0_p0_1'), undefined);
  assert.throws(() => generateInstance('synth_h1_s0_p0_1'), (e: unknown) => e instanceof SelfoptError && /2 nodes or more/.test(e.message));
  // two nodes have a net
  assert.equal(generateInstance('synth_h2_s0_p0_1').nl.hardMacros.length, 2);
});
