import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventQueue } from '../../src/core/heap.js';
import { Rng } from '../../src/core/rng.js';

test('EventQueue pops by time, ties in push order, across growth', () => {
  const rng = new Rng(3);
  const q = new EventQueue(2);
  const pushed: [number, number][] = [];
  const popped: [number, number][] = [];
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 40; i++) {
      const t = rng.int(20); // many equal times
      q.push(t, pushed.length);
      pushed.push([t, pushed.length]);
    }
    for (let i = 0; i < 25; i++) {
      const t = q.peekTime();
      popped.push([t, q.pop()]);
    }
  }
  while (q.size > 0) {
    const t = q.peekTime();
    popped.push([t, q.pop()]);
  }
  assert.equal(popped.length, pushed.length);
  assert.equal(q.peekTime(), Infinity);
  assert.throws(() => q.pop(), RangeError);
  // Within each pop batch the order must be (time, push order); check the global invariant that a
  // payload never comes out before an earlier-pushed payload with the same or a smaller time that
  // was already in the queue, by replaying against a sorted reference.
  const ref: [number, number][] = [];
  let k = 0, out = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 40; i++) ref.push(pushed[k++]!);
    ref.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (let i = 0; i < 25; i++) assert.deepEqual(popped[out++], ref.shift());
  }
  ref.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  while (ref.length > 0) assert.deepEqual(popped[out++], ref.shift());
});

test('EventQueue clear restarts the tie-breaking order', () => {
  const q = new EventQueue();
  q.push(5, 1);
  q.clear();
  q.push(5, 2);
  q.push(5, 3);
  assert.equal(q.pop(), 2);
  assert.equal(q.pop(), 3);
});

test('EventQueue copyFrom: the copy pops what the original pops (ties included) and is independent of it', () => {
  const q = new EventQueue(2), c = new EventQueue(1);
  for (let i = 0; i < 40; i++) q.push(i % 7, i);
  c.copyFrom(q);
  q.push(0, 99);
  c.push(0, 99); // the tie-break counter was copied: it goes after the six entries at t = 0 in both
  q.push(1, 55); // only in the original
  const fromCopy: number[] = [], fromOriginal: number[] = [];
  while (c.size > 0) fromCopy.push(c.pop());
  while (q.size > 0) fromOriginal.push(q.pop());
  assert.equal(fromCopy.length, 41);
  assert.deepEqual(fromOriginal.filter((x) => x !== 55), fromCopy);
  assert.deepEqual(fromCopy.slice(0, 7), [0, 7, 14, 21, 28, 35, 99]);
});

test('EventQueue retime: new times, heap order restored, ties still in push order', () => {
  const q = new EventQueue(4);
  for (let i = 0; i < 30; i++) q.push(100 + i, i);
  q.retime((p, t) => (p % 3 === 0 ? 5 : t - 100 * (p % 2))); // multiples of 3 tie at t = 5
  const out: number[] = [];
  while (q.size > 0) out.push(q.pop());
  const ref = Array.from({ length: 30 }, (_, i) => [i % 3 === 0 ? 5 : 100 + i - 100 * (i % 2), i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[1]);
  assert.deepEqual(out, ref);
});
