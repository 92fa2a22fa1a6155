import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LaneQueue } from '../../src/bench/lanes.js';

/** Cells named `<group><seed>` (A1, A2, B1 ...), grouped by their letter. */
function lanes(groups: Record<string, number>): LaneQueue<string> {
  const cells = Object.entries(groups).flatMap(([g, n]) => Array.from({ length: n }, (_, i) => `${g}${i + 1}`));
  return new LaneQueue(cells, (c) => c[0]!);
}

/** Each step asks lane `lane` for its next cell; the answers, in order. */
function take(q: LaneQueue<string>, steps: number[]): (string | undefined)[] {
  return steps.map((lane) => q.next(lane));
}

test('two lanes start two solvers at once, not seeds 1 and 2 of one; a lane that finishes its solver takes the next unstarted one', () => {
  const q = lanes({ A: 5, B: 5, C: 5, D: 5 });
  // Lane 0 sweeps A with seed 1 while lane 1 sweeps B and runs the rest of B, then starts C.
  assert.deepEqual(take(q, [0, 1, 1, 1, 1, 1, 1]), ['A1', 'B1', 'B2', 'B3', 'B4', 'B5', 'C1']);
  assert.deepEqual(take(q, [0, 0, 0, 0, 0]), ['A2', 'A3', 'A4', 'A5', 'D1']);
  assert.deepEqual(take(q, [1, 1, 1, 1]), ['C2', 'C3', 'C4', 'C5']);
  // Every group started: an idle lane joins the one with the most cells left (D), beside lane 0.
  assert.deepEqual(take(q, [1, 0, 1, 0, 1, 0]), ['D2', 'D3', 'D4', 'D5', undefined, undefined]);
});

test('a grid of one solver runs on every lane; an idle lane joins the started group with the most cells left', () => {
  assert.deepEqual(take(lanes({ A: 3 }), [0, 1, 0, 1, 0]), ['A1', 'A2', 'A3', undefined, undefined]);
  const q = lanes({ A: 5, B: 2, C: 3 });
  assert.deepEqual(take(q, [0, 1, 2, 1]), ['A1', 'B1', 'C1', 'B2']);
  // Left: A 4, C 2 -> A; then A 3, C 2 -> A again for lane 2 once its C is done; ties go to the first group.
  assert.deepEqual(take(q, [1, 2, 2, 2, 1, 0, 2, 1, 0]), ['A2', 'C2', 'C3', 'A3', 'A4', 'A5', undefined, undefined, undefined]);
});

test('a group keeps its cells in their order wherever they are in the list; groups start in the order first met', () => {
  const q = new LaneQueue(['x/s1', 'y/s1', 'x/s2', 'y/s2'], (c) => c.split('/')[0]!);
  assert.deepEqual([q.next(0), q.next(0), q.next(1), q.next(1), q.next(0)], ['x/s1', 'x/s2', 'y/s1', 'y/s2', undefined]);
});
