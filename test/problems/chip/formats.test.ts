import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataPath } from '../../../src/core/data.js';
import { SelfoptError } from '../../../src/core/errors.js';
import { HARD_MACRO, HARD_PIN, PORT, SOFT_MACRO, SOFT_PIN, netCount, parseNetlist, readNetlist } from '../../../src/problems/chip/netlist.js';
import { parsePlc, readPlc, writePlc } from '../../../src/problems/chip/plc.js';
import { SMALL_NETLIST, SMALL_PLC } from './fixtures.js';

test('netlist: kinds, pins, nets in CSR with the driver first, weights, metadata', () => {
  const nl = parseNetlist(SMALL_NETLIST, 'small');
  assert.deepEqual(nl.names, ['P', 'M', 'M/A', 'M/B', 'Grp_0', 'Grp_0/p']);
  assert.deepEqual([...nl.kind], [PORT, HARD_MACRO, HARD_PIN, HARD_PIN, SOFT_MACRO, SOFT_PIN]);
  assert.equal(nl.metadata.soft_macro_area_bloating_ratio, 2);
  assert.deepEqual([...nl.pinMacro], [-1, -1, 1, 1, -1, 4]);
  assert.deepEqual([nl.pinDx[2], nl.pinDy[2], nl.pinDx[3], nl.pinDy[3]], [5, 2, -5, -2]);
  assert.equal(netCount(nl), 2);
  assert.deepEqual([...nl.netStart], [0, 3, 5]);
  assert.deepEqual([...nl.netPins], [0, 2, 5, 3, 5]);
  assert.deepEqual([...nl.netWeight], [1, 3]);
  assert.equal(nl.totalNetWeight, 4);
  assert.deepEqual([...nl.placeable], [0, 1, 4]);
  assert.equal(nl.w[1], 20);
  assert.equal(nl.h[1], 10);
});

test("netlist: a comment after a field ends at the line's end; a '#' inside quotes is part of the name", () => {
  const commented = SMALL_NETLIST.replace('name: "M/A"', 'name: "M/A" # the first pin').replace(/(key: "width"\s*value \{\s*f: 20)/, '$1 # microns');
  assert.notEqual(commented, SMALL_NETLIST);
  assert.deepEqual(parseNetlist(commented, 'c').names, parseNetlist(SMALL_NETLIST, 's').names);
  assert.equal(parseNetlist(commented, 'c').w[1], 20);
  const hashed = SMALL_NETLIST.replaceAll('"M/A"', '"M/A#1"');
  assert.equal(parseNetlist(hashed, 'h').names[2], 'M/A#1');
});

test('netlist: a net naming an unknown node is refused with the node and the line', () => {
  const bad = SMALL_NETLIST.replace('input: "M/A"', 'input: "M/Z"');
  const line = bad.split('\n').findIndex((l) => l.includes('M/Z')) + 1;
  assert.throws(() => parseNetlist(bad, 'bad.pb.txt'), (e: unknown) => e instanceof SelfoptError && e.message.includes("'M/Z'") && e.message.includes(`bad.pb.txt:${line}`));
  assert.throws(() => parseNetlist(SMALL_NETLIST.replace('placeholder: "M"', 'placeholder: "Q"'), 'b'), (e: unknown) => e instanceof SelfoptError && /unknown macro 'Q'/.test(e.message));
  assert.throws(() => parseNetlist(SMALL_NETLIST + 'node {\n  name: "x"\n', 'c'), (e: unknown) => e instanceof SelfoptError && /ends inside a node/.test(e.message));
});

test('plc: header, rows, orientation; write then read gives the same placement', () => {
  const nl = parseNetlist(SMALL_NETLIST, 'small');
  const plc = parsePlc(SMALL_PLC, nl, 'small.plc');
  const h = plc.header;
  assert.deepEqual([h.columns, h.rows, h.width, h.height], [4, 2, 100, 100]);
  assert.deepEqual([h.hroutesPerMicron, h.vroutesPerMicron, h.hroutingAlloc, h.vroutingAlloc, h.smoothRange, h.overlapThreshold], [10, 20, 5, 6, 1, 0.004]);
  assert.deepEqual([h.wirelength, h.wirelengthCost, h.congestionCost, h.densityCost], [123, 0.1234, 0.5, 0.25]);
  assert.equal(plc.placement.orient[1], 2); // S
  assert.equal(plc.placement.fixed[0], 1);
  const again = parsePlc(writePlc(nl, plc), nl, 'written.plc');
  assert.deepEqual(again.header, plc.header);
  assert.deepEqual(again.placement, plc.placement);
});

test('plc: node-count mismatch and bad rows are refused with the line', () => {
  const nl = parseNetlist(SMALL_NETLIST, 'small');
  const missing = SMALL_PLC.replace('4 80 20 N 0\n', '');
  assert.throws(() => parsePlc(missing, nl, 'm.plc'), (e: unknown) => e instanceof SelfoptError && /2 node rows .* 3 placeable/.test(e.message) && /first missing: 4 'Grp_0'/.test(e.message));
  assert.throws(() => parsePlc(SMALL_PLC + '9 1 1 N 0\n', nl, 'x.plc'), (e: unknown) => e instanceof SelfoptError && e.message.includes('x.plc:16') && /index 9/.test(e.message));
  assert.throws(() => parsePlc(SMALL_PLC + '2 1 1 N 0\n', nl, 'p.plc'), (e: unknown) => e instanceof SelfoptError && /pin 'M\/A'/.test(e.message));
  assert.throws(() => parsePlc(SMALL_PLC + '1 1 1 N 0\n', nl, 'd.plc'), (e: unknown) => e instanceof SelfoptError && /second row/.test(e.message));
  assert.throws(() => parsePlc(SMALL_PLC.replace('50 S 0', '50 Q 0'), nl, 'o.plc'), (e: unknown) => e instanceof SelfoptError && /orientation 'Q'/.test(e.message) && e.message.includes('o.plc:14'));
});

test('plc: a macro outside the canvas is refused with its name and line when asked', () => {
  const nl = parseNetlist(SMALL_NETLIST, 'small');
  const out = SMALL_PLC.replace('1 50 50 S 0', '1 95 50 S 0');
  assert.doesNotThrow(() => parsePlc(out, nl, 'o.plc'));
  assert.throws(() => parsePlc(out, nl, 'o.plc', { requireInside: true }), (e: unknown) => e instanceof SelfoptError && /macro 'M'/.test(e.message) && e.message.includes('o.plc:14'));
  assert.doesNotThrow(() => parsePlc(SMALL_PLC, nl, 'ok.plc', { requireInside: true }));
});

const data = new DataPath();
const ariane = data.find('chip/mp_ariane133_ng45/netlist.pb.txt.gz');

test('Ariane133 clustered netlist and its placements load with the counts PROVENANCE.md gives', { skip: ariane ? false : 'chip data not found' }, () => {
  const nl = readNetlist(ariane!);
  assert.equal(nl.hardMacros.length, 133);
  assert.equal(nl.softMacros.length, 782);
  assert.equal(nl.ports.length, 495);
  assert.equal(netCount(nl), 12422);
  assert.equal(nl.totalNetWeight, 22584);
  let hp = 0, sp = 0;
  for (const k of nl.kind) { if (k === HARD_PIN) hp++; else if (k === SOFT_PIN) sp++; }
  assert.equal(hp, 7847);
  assert.equal(sp, 10630);
  for (const f of ['initial', 'legalized']) {
    const plc = readPlc(data.find(`chip/mp_ariane133_ng45/${f}.plc`)!, nl);
    assert.deepEqual([plc.header.columns, plc.header.rows], [24, 21]);
  }
});

test('netlist: a negative width or height is refused with the node and the line', () => {
  // M's width is the first `f: 20`; a negative size would count as negative density
  const bad = SMALL_NETLIST.replace('f: 20\n', 'f: -20\n');
  const line = bad.split('\n').findIndex((l) => l.includes('name: "M"')); // the 1-based line of M's `node {`
  assert.throws(() => parseNetlist(bad, 'neg.pb.txt'), (e: unknown) => e instanceof SelfoptError && /node 'M'/.test(e.message) && /width -20/.test(e.message) && e.message.includes(`neg.pb.txt:${line}`));
  assert.throws(() => parseNetlist(SMALL_NETLIST.replace('f: 10\n', 'f: -1\n'), 'neg.pb.txt'), (e: unknown) => e instanceof SelfoptError && /height -1/.test(e.message));
});

test('plc: a grid of a fractional or zero number of columns or rows is refused with the line', () => {
  const nl = parseNetlist(SMALL_NETLIST, 'small');
  // the grid line is line 2 of SMALL_PLC; 2.5 columns made every cost NaN
  for (const grid of ['Columns : 2.5  Rows : 2', 'Columns : 4  Rows : 0'])
    assert.throws(() => parsePlc(SMALL_PLC.replace('Columns : 4  Rows : 2', grid), nl, 'g.plc'), (e: unknown) => e instanceof SelfoptError && /grid/.test(e.message) && e.message.includes('g.plc:2'));
});

test("plc: a grid past Circuit Training's 128 x 128 is refused with the line, not allocated", () => {
  // 100000 x 100000 crashed the placers with 'RangeError: Invalid typed array length' and a stack trace
  const nl = parseNetlist(SMALL_NETLIST, 'small');
  for (const grid of ['Columns : 100000  Rows : 100000', 'Columns : 129  Rows : 1', 'Columns : 4  Rows : 129']) {
    assert.throws(() => parsePlc(SMALL_PLC.replace('Columns : 4  Rows : 2', grid), nl, 'g.plc'), (e: unknown) => {
      assert.ok(e instanceof SelfoptError, String(e));
      assert.match(e.message, /^grid of \d+ columns and \d+ rows \(at g\.plc:2\); expected at most 128 columns and 128 rows \(Circuit Training's max_grid_size\)$/);
      return true;
    });
  }
  const edge = parsePlc(SMALL_PLC.replace('Columns : 4  Rows : 2', 'Columns : 128  Rows : 128'), nl, 'g.plc');
  assert.deepEqual([edge.header.columns, edge.header.rows], [128, 128]);
});

test('netlist: a block written on one line (valid protobuf text, but not as Circuit Training writes it) is refused with its line, not dropped', () => {
  // M's width as `attr { key: "width" value { f: 20 } }` on one line was read as an unknown field: width 0
  const compact = SMALL_NETLIST.replace('  attr {\n    key: "width"\n    value {\n      f: 20\n    }\n  }\n', '  attr { key: "width" value { f: 20 } }\n');
  const line = compact.split('\n').findIndex((l) => l.includes('attr { key')) + 1;
  assert.throws(() => parseNetlist(compact, 'c.pb.txt'), (e: unknown) => e instanceof SelfoptError && e.message.includes(`c.pb.txt:${line}`) && /one field or block opening per line/.test(e.message));
  // braces inside a quoted name are not blocks
  assert.equal(parseNetlist(SMALL_NETLIST.replaceAll('"Grp_0', '"Grp_{0}'), 'q').names[4], 'Grp_{0}');
});

test('netlist: malformed nodes are refused with their line, not read as a blank name, a width of 0 or a field dropped', () => {
  // Each edit of SMALL_NETLIST was read without a word: an unnamed node, a second name replacing the
  // first, a misspelt field dropped, a width written as a string read as 0, an attr value without its
  // key dropped, a negative net weight rewarding long wires.
  const cases: [string, (s: string) => string, RegExp][] = [
    ['unnamed node', (s) => s.replace('  name: "P"\n', ''), /^node without a name \(at small:11\)/],
    ['second name', (s) => s.replace('  name: "M"\n', '  name: "M"\n  name: "M9"\n'), /^second name 'M9' for node 'M' \(at small:36\)/],
    ['misspelt field', (s) => s.replace('  input: "M/A"\n', '  inptu: "M/A"\n'), /^unknown node field 'inptu' \(at small:13\).*expected one of name, input, op, device/],
    ['width as a string', (s) => s.replace('      f: 20\n', '      placeholder: "20"\n'), /^attribute width of node 'M' is '20', not a number \(at small:45\)/],
    ['value before its key', (s) => s.replace('    key: "width"\n', ''), /^an attr's value before its key \(at small:43\)/],
    ['negative weight', (s) => s.replace('  input: "Grp_0/p"\n  attr {', '  input: "Grp_0/p"\n  attr {\n    key: "weight"\n    value {\n      f: -2\n    }\n  }\n  attr {'), /^net of .P. has weight -2 \(at small:18\).*expected a net weight of 0 or more/],
  ];
  for (const [what, edit, re] of cases) {
    const text = edit(SMALL_NETLIST);
    assert.notEqual(text, SMALL_NETLIST, what);
    assert.throws(() => parseNetlist(text, 'small'), (e: unknown) => e instanceof SelfoptError && re.test(e.message), what);
  }
});

test('plc: a settings line that does not read, or a fixed flag other than 0 or 1, is refused with its line, not left at its default', () => {
  // A routes line that did not read left 0 routes per micron: congestion cost 0 without a word.
  const nl = parseNetlist(SMALL_NETLIST, 'small');
  const cases: [string, string, RegExp][] = [
    ['# Routes per micron, hor : 10  ver : 20', '# Routes per micron, hor : abc  ver : 20', /^cannot read '# Routes per micron, hor : abc {2}ver : 20' \(at small\.plc:8\); expected the line as Circuit Training writes it, e\.g\. '# Routes per micron, hor : 57\.031/],
    ['# Routes per micron, hor : 10  ver : 20', '# Routes per micron, hor : 1.0.0  ver : 20', /^cannot read .* \(at small\.plc:8\); expected numbers of 0 or more/],
    ['# Routes used by macros, hor : 5  ver : 6', '# Routes used by macros, hor : 5', /\(at small\.plc:9\); expected .*'# Routes used by macros, hor : 39\.583 {2}ver : 30\.303'/],
    ['# Smoothing factor : 1', '# Smoothing factor : one', /\(at small\.plc:10\); expected .*'# Smoothing factor : 2'/],
    ['# Width : 100.000  Height : 100.000', '# Width : -100  Height : 100', /\(at small\.plc:3\); expected numbers of 0 or more/],
    ['1 50 50 S 0', '1 50 50 S 2', /^fixed flag '2' for node 1 'M' \(at small\.plc:14\); expected 0 or 1/],
  ];
  for (const [from, to, re] of cases) {
    assert.throws(() => parsePlc(SMALL_PLC.replace(from, to), nl, 'small.plc'), (e: unknown) => e instanceof SelfoptError && re.test(e.message), to);
  }
});
