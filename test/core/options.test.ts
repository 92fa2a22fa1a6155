import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boolOption, configOption, intOption, numberOption } from '../../src/core/options.js';
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

test('configOption reads every field of a config by the type of its default, and leaves other options alone', () => {
  const defaults = { rate: 0.5, off: NaN, on: false, sizes: [8, 8], deltas: [] as number[], kind: 'a' };
  assert.deepEqual(configOption({}, 'p.', defaults), defaults);
  const cfg = configOption({ 'p.rate': '2', 'p.off': 'NaN', 'p.on': 'yes', 'p.sizes': '16, 32', 'p.deltas': '-1,1', 'p.kind': 'b', rate: '9', 'p.other': '1' }, 'p.', defaults);
  assert.deepEqual(cfg, { rate: 2, off: NaN, on: true, sizes: [16, 32], deltas: [-1, 1], kind: 'b' });
  assert.deepEqual(configOption({ 'p.sizes': '' }, 'p.', defaults).sizes, []);
  assert.deepEqual(configOption({ sizes: '4x5' }, '', defaults, { sep: 'x' }).sizes, [4, 5]);
  assert.equal(defaults.rate, 0.5, 'the defaults are not changed');
  // NaN is taken only where the default is NaN (the configs' "off"); bounds apply to numbers
  assert.throws(() => configOption({ 'p.rate': 'NaN' }, 'p.', defaults), /option p.rate=NaN is not a number/);
  assert.throws(() => configOption({ 'p.rate': '-1' }, 'p.', defaults, { min: 0 }), /option p.rate=-1 is out of range \(at --opt p.rate\); expected a number >= 0/);
  assert.throws(() => configOption({ 'p.on': 'sure' }, 'p.', defaults), /option p.on=sure is not a boolean/);
  assert.throws(() => configOption({ 'p.sizes': '16,,32' }, 'p.', defaults), (e: unknown) => e instanceof SelfoptError
    && e.message === "option p.sizes=16,,32: item 2 ('') is not a number (at --opt p.sizes); expected numbers separated by ','");
});
