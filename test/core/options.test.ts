import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boolOption, configOption, countFrom, flagNumber, intOption, NON_NEGATIVE, numberOption, POSITIVE } from '../../src/core/options.js';
import { SelfoptError } from '../../src/core/errors.js';

test('boolOption takes 1/true/yes and 0/false/no, and refuses anything else with one clear error', () => {
  for (const v of ['1', 'true', 'yes']) assert.equal(boolOption({ b: v }, 'b', false), true);
  for (const v of ['0', 'false', 'no']) assert.equal(boolOption({ b: v }, 'b', true), false);
  assert.equal(boolOption({}, 'b', undefined), undefined);
  assert.throws(() => boolOption({ b: 'on' }, 'b', false), (e: unknown) => e instanceof SelfoptError
    && e.message === 'option b=on is not a boolean (at --opt b); expected 1, true or yes; 0, false or no');
});

test('intOption and numberOption read, range-check and refuse an empty number', () => {
  assert.equal(intOption({ n: '12' }, 'n', 3, 1, 20), 12);
  assert.equal(intOption({}, 'n', 3, 1, 20), 3);
  assert.throws(() => intOption({ n: '1.5' }, 'n', 3), /option n=1.5 is not an integer/);
  assert.throws(() => intOption({ n: '' }, 'n', 3), /option n= is not an integer/);
  assert.throws(() => intOption({ n: '21' }, 'n', 3, 1, 20), /option n=21 is out of range \(at --opt n\); expected an integer in \[1, 20\]/);
  assert.equal(numberOption({ x: '1e-3' }, 'x', 0), 1e-3);
  assert.throws(() => numberOption({ x: ' ' }, 'x', 0), /option x=  is not a number/);
  assert.throws(() => numberOption({ x: 'Infinity' }, 'x', 0), /is not a number/);
});

test('flagNumber reads a CLI flag\'s number, and refuses a bad one naming the flag and quoting the text typed, not NaN', () => {
  const port = flagNumber('--port', { int: true, min: 0, max: 65535 });
  assert.equal(port('8765'), 8765);
  assert.equal(port('0'), 0);
  const refused = (read: (raw: string) => number, raw: string, message: string) =>
    assert.throws(() => read(raw), (e: unknown) => e instanceof SelfoptError && e.message === message);
  refused(port, 'abc', '--port abc (at command line); expected an integer in [0, 65535]');
  refused(port, '65536', '--port 65536 (at command line); expected an integer in [0, 65535]');
  refused(port, '', "--port '' (at command line); expected an integer in [0, 65535]"); // Number('') is 0: any free port
  const seconds = flagNumber('--seconds', POSITIVE);
  assert.equal(seconds('0.5'), 0.5);
  for (const raw of ['0', '-1', 'Infinity', 'NaN']) refused(seconds, raw, `--seconds ${raw} (at command line); expected a positive number`);
  refused(flagNumber('--seeds', { int: true, min: 1, max: 10_000 }), '1e9', '--seeds 1e9 (at command line); expected an integer in [1, 10000]');
});

test('configOption reads every field of a config by the type of its default, holds numbers to their rules, and leaves other options alone', () => {
  const defaults = { rate: 0.5, off: NaN, on: false, sizes: [8, 8], deltas: [] as number[], kind: 'a', extras: 0 };
  const rules = { rate: NON_NEGATIVE, sizes: countFrom(1), deltas: { int: true }, extras: { oneOf: [0, 4, 9] } };
  assert.deepEqual(configOption({}, 'p.', defaults, { rules }), defaults);
  const cfg = configOption({ 'p.rate': '2', 'p.off': 'NaN', 'p.on': 'yes', 'p.sizes': '16, 32', 'p.deltas': '-1,1', 'p.kind': 'b', 'p.extras': '4', rate: '9', 'p.other': '1' }, 'p.', defaults, { rules });
  assert.deepEqual(cfg, { rate: 2, off: NaN, on: true, sizes: [16, 32], deltas: [-1, 1], kind: 'b', extras: 4 });
  assert.deepEqual(configOption({ 'p.sizes': '' }, 'p.', defaults).sizes, []);
  assert.deepEqual(configOption({ sizes: '4x5' }, '', defaults, { sep: 'x' }).sizes, [4, 5]);
  assert.equal(defaults.rate, 0.5, 'the defaults are not changed');
  // NaN is taken only where the default is NaN (the configs' "off"); a field without a rule takes any finite number
  assert.throws(() => configOption({ 'p.rate': 'NaN' }, 'p.', defaults), /option p.rate=NaN is not a number/);
  assert.equal(configOption({ 'p.rate': '-1' }, 'p.', defaults).rate, -1);
  assert.throws(() => configOption({ 'p.rate': '-1' }, 'p.', defaults, { rules }), (e: unknown) => e instanceof SelfoptError
    && e.message === 'option p.rate=-1 is out of range (at --opt p.rate); expected a number >= 0');
  assert.throws(() => configOption({ 'p.on': 'sure' }, 'p.', defaults), /option p.on=sure is not a boolean/);
  assert.throws(() => configOption({ 'p.extras': '5' }, 'p.', defaults, { rules }), (e: unknown) => e instanceof SelfoptError
    && e.message === 'option p.extras=5 is not one of 0, 4, 9 (at --opt p.extras); expected one of 0, 4, 9');
  assert.throws(() => configOption({ 'p.sizes': '16,,32' }, 'p.', defaults), (e: unknown) => e instanceof SelfoptError
    && e.message === "option p.sizes=16,,32: item 2 ('') is not a number (at --opt p.sizes); expected numbers separated by ',', each a number");
  assert.throws(() => configOption({ 'p.sizes': '16,0.5' }, 'p.', defaults, { rules }), (e: unknown) => e instanceof SelfoptError
    && e.message === "option p.sizes=16,0.5: item 2 ('0.5') is not an integer (at --opt p.sizes); expected numbers separated by ',', each an integer >= 1");
  assert.throws(() => configOption({ 'p.deltas': '-1.5' }, 'p.', defaults, { rules }), /item 1 \('-1.5'\) is not an integer/);
});

test('every training config reads its own defaults back, given as options: no rule refuses a default', async () => {
  const { DECIMA_DEFAULTS, DECIMA_STREAM_DEFAULTS, decimaConfig } = await import('../../src/problems/scheduling/decima-train.js');
  const { COMPILER_PPO_DEFAULTS, configFrom } = await import('../../src/problems/compiler/ppo.js');
  const { GAP_DEFAULTS, gapConfig } = await import('../../src/problems/partition/gap.js');
  const asOptions = (cfg: object, prefix: string, sep = ',') => Object.fromEntries(Object.entries(cfg).map(([k, v]) =>
    [prefix + k, typeof v === 'boolean' ? (v ? '1' : '0') : Array.isArray(v) ? v.join(sep) : String(v)]));
  const decima = { ...DECIMA_DEFAULTS, ...DECIMA_STREAM_DEFAULTS };
  assert.deepEqual(decimaConfig(undefined, asOptions(decima, 'decima.')), decima);
  assert.deepEqual(configFrom(asOptions(COMPILER_PPO_DEFAULTS, '', 'x')), COMPILER_PPO_DEFAULTS);
  assert.deepEqual(gapConfig(asOptions(GAP_DEFAULTS, 'gap.')), GAP_DEFAULTS);
});
