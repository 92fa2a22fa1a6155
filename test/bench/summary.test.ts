import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { summarize, type Summary } from '../../src/bench/summary.js';
import type { ResultRow } from '../../src/bench/store.js';
import type { Better, SolverKind } from '../../src/core/problem.js';
import { fakeGrid, row } from './fixtures.js';

const FACTS = { primaryMetric: 'lookup_ns', baseline: 'binary-search' };
const opts = { resamples: 2000 };

/** Rows of one metric: solver -> value per seed (seed = index + 1). */
function grid(
  table: Record<string, { kind: SolverKind; values: number[] }>,
  over: Partial<ResultRow> = {},
): ResultRow[] {
  return Object.entries(table).flatMap(([solver, { kind, values }]) =>
    values.map((value, i) => row({ solver, solverKind: kind, seed: i + 1, metric: 'lookup_ns', value, ...over })),
  );
}

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps * Math.max(1, Math.abs(b)), `${a} != ${b}`);

describe('summarize', () => {
  test('a solver exactly 2x the baseline on every seed: ratio 2, CI [2, 2]', () => {
    const base = [100, 120, 90, 110, 105];
    const s = summarize('index', grid({
      'binary-search': { kind: 'baseline', values: base },
      slow: { kind: 'heuristic', values: base.map((v) => 2 * v) },
    }), FACTS, opts);
    const c = s.comparisons.find((x) => x.solver === 'slow' && x.vs === 'baseline')!;
    assert.equal(c.baseline, 'binary-search');
    assert.equal(c.n, 5);
    close(c.ratio, 2);
    close(c.ci95![0], 2);
    close(c.ci95![1], 2);
    assert.equal(s.comparisons.filter((x) => x.solver === 'binary-search').length, 0, 'no ratio of the baseline to itself');
  });

  test('means over seeds with a bootstrap CI; one value has no CI (null), not [x, x]', () => {
    const s = summarize('index', grid({
      'binary-search': { kind: 'baseline', values: [1, 2, 3, 4, 5] },
      once: { kind: 'heuristic', values: [7] },
    }), FACTS, opts);
    const r = s.rows.find((x) => x.solver === 'binary-search')!;
    assert.equal(r.n, 5);
    assert.equal(r.mean, 3);
    const [lo, hi] = r.ci95!;
    assert.ok(lo >= 1 && lo < 3 && hi > 3 && hi <= 5, `CI ${r.ci95}`);
    const one = s.rows.find((x) => x.solver === 'once')!;
    assert.deepEqual([one.n, one.mean, one.ci95], [1, 7, null]);
    // Its ratio stands on one pair: no interval either; with two pairs there is one.
    const c = s.comparisons.find((x) => x.solver === 'once' && x.vs === 'baseline')!;
    assert.deepEqual([c.n, c.ratio, c.ci95], [1, 7, null]);
    const two = summarize('index', grid({ 'binary-search': { kind: 'baseline', values: [1, 2] }, twice: { kind: 'heuristic', values: [2, 4] } }), FACTS, opts);
    assert.deepEqual(two.comparisons[0]!.ci95, [2, 2]);
    assert.ok(two.rows.every((x) => x.n === 2 && x.ci95 !== null));
    // The JSON (--json, the dashboard API) carries null, not a made-up interval.
    assert.match(JSON.stringify(s), /"solver":"once","kind":"heuristic","metric":"lookup_ns","unit":"ns","better":"lower","n":1,"mean":7,"ci95":null/);
    assert.deepEqual(Object.keys(r).sort(), ['better', 'ci95', 'instance', 'kind', 'mean', 'metric', 'n', 'solver', 'split', 'unit'].sort());
  });

  test('a deterministic solver has seed 1 only and is paired with every seed of the other side, run by run', () => {
    const rows = [
      ...grid({ 'binary-search': { kind: 'baseline', values: [10] } }),
      ...grid({ 'binary-search': { kind: 'baseline', values: [40] } }, { runId: 'run-2' }),
      ...grid({ learned: { kind: 'learned', values: [5, 10, 20] } }),
      ...grid({ learned: { kind: 'learned', values: [20, 80] } }, { runId: 'run-2' }),
    ];
    const det = { ...FACTS, deterministic: ['binary-search'] };
    const c = summarize('index', rows, det, opts).comparisons.find((x) => x.solver === 'learned' && x.vs === 'baseline')!;
    // run-1: 5/10, 10/10, 20/10; run-2: 20/40, 80/40 -> geomean of 0.5, 1, 2, 0.5, 2
    assert.equal(c.n, 5);
    close(c.ratio, Math.exp((Math.log(0.5) * 2 + Math.log(2) * 2) / 5));
    // Without the fact, only seed 1 of each run pairs.
    assert.equal(summarize('index', rows, FACTS, opts).comparisons.find((x) => x.solver === 'learned' && x.vs === 'baseline')!.n, 2);
    // Both deterministic: plain pairs by (run, seed).
    const both = summarize('index', rows, { ...FACTS, deterministic: ['binary-search', 'learned'] }, opts).comparisons.find((x) => x.solver === 'learned')!;
    assert.equal(both.n, 2);
  });

  test('pairs by seed: only seeds present for both solvers count', () => {
    const rows = [
      ...grid({ 'binary-search': { kind: 'baseline', values: [10, 20, 30, 40, 50] } }),
      // seeds 2 and 4 only, each exactly half its baseline
      row({ solver: 'fast', solverKind: 'heuristic', seed: 2, metric: 'lookup_ns', value: 10 }),
      row({ solver: 'fast', solverKind: 'heuristic', seed: 4, metric: 'lookup_ns', value: 20 }),
    ];
    const c = summarize('index', rows, FACTS, opts).comparisons.find((x) => x.solver === 'fast')!;
    assert.equal(c.n, 2);
    close(c.ratio, 0.5);
  });

  test('pairs by (run, seed) across runs', () => {
    const a = grid({ 'binary-search': { kind: 'baseline', values: [10, 10] }, x: { kind: 'heuristic', values: [30, 30] } }, { runId: 'a' });
    const b = grid({ 'binary-search': { kind: 'baseline', values: [100, 100] }, x: { kind: 'heuristic', values: [300, 300] } }, { runId: 'b' });
    const s = summarize('index', [...a, ...b], FACTS, opts);
    const c = s.comparisons.find((x) => x.solver === 'x')!;
    assert.equal(c.n, 4);
    close(c.ratio, 3);
    assert.deepEqual(s.meta.runIds, ['a', 'b']);
  });

  for (const better of ['lower', 'higher'] as Better[]) {
    test(`best heuristic respects better = ${better}; learned solvers are compared with it`, () => {
      const s = summarize('index', grid({
        'binary-search': { kind: 'baseline', values: [100, 100, 100] },
        small: { kind: 'heuristic', values: [40, 40, 40] },
        big: { kind: 'peer', values: [400, 400, 400] },
        learned: { kind: 'learned', values: [80, 80, 80] },
        // A learned solver is never the "best heuristic", however good.
        magic: { kind: 'learned', values: better === 'lower' ? [1, 1, 1] : [1e6, 1e6, 1e6] },
      }, { better }), FACTS, opts);
      const best = better === 'lower' ? 'small' : 'big';
      assert.equal(s.meta.bestHeuristic.uniform, best);
      const vs = s.comparisons.filter((c) => c.vs === 'best-heuristic');
      assert.deepEqual(vs.map((c) => c.solver).sort(), ['learned', 'magic']);
      const c = vs.find((x) => x.solver === 'learned')!;
      assert.equal(c.baseline, best);
      close(c.ratio, 80 / (better === 'lower' ? 40 : 400));
      assert.equal(c.better, better);
    });
  }

  test('the baseline can be the best heuristic', () => {
    const s = summarize('index', grid({
      'binary-search': { kind: 'baseline', values: [10, 10] },
      worse: { kind: 'heuristic', values: [20, 20] },
      rmi: { kind: 'learned', values: [15, 15] },
    }), FACTS, opts);
    assert.equal(s.meta.bestHeuristic.uniform, 'binary-search');
    close(s.comparisons.find((c) => c.vs === 'best-heuristic')!.ratio, 1.5);
  });

  test('geometric mean of ratios across instances; train instances do not count for learned solvers', () => {
    const rows = [
      ...grid({ 'binary-search': { kind: 'baseline', values: [10, 10] }, h: { kind: 'heuristic', values: [20, 20] }, l: { kind: 'learned', values: [5, 5] } }, { instance: 'a' }),
      ...grid({ 'binary-search': { kind: 'baseline', values: [10, 10] }, h: { kind: 'heuristic', values: [80, 80] }, l: { kind: 'learned', values: [20, 20] } }, { instance: 'b' }),
      ...grid({ 'binary-search': { kind: 'baseline', values: [10, 10] }, h: { kind: 'heuristic', values: [10, 10] }, l: { kind: 'learned', values: [1, 1] } }, { instance: 'c', instanceSplit: 'train' }),
    ];
    const s = summarize('index', rows, FACTS, opts);
    const h = s.geomeans.find((g) => g.solver === 'h' && g.vs === 'baseline')!;
    close(h.ratio, Math.cbrt(2 * 8 * 1));
    assert.deepEqual(h.instances, ['a', 'b', 'c']);
    const l = s.geomeans.find((g) => g.solver === 'l' && g.vs === 'baseline')!;
    close(l.ratio, Math.sqrt(0.5 * 2));
    assert.deepEqual(l.instances, ['a', 'b']);
    // best heuristic: baseline on a (10 < 20), baseline on b (10 < 80)
    const lb = s.geomeans.find((g) => g.solver === 'l' && g.vs === 'best-heuristic')!;
    close(lb.ratio, Math.sqrt(0.5 * 2));
    assert.ok(s.comparisons.some((c) => c.instance === 'c' && c.solver === 'l'), 'the train-split comparison is still listed');
  });

  test('non-positive values give a warning instead of a ratio', () => {
    const s = summarize('index', grid({ 'binary-search': { kind: 'baseline', values: [0, 1] }, x: { kind: 'heuristic', values: [1, 1] } }), FACTS, opts);
    assert.equal(s.comparisons.length, 0);
    assert.equal(s.meta.warnings.length, 1);
    assert.doesNotThrow(() => JSON.parse(JSON.stringify(s)));
  });

  test('other problems are ignored; a missing baseline is reported', () => {
    const rows = [...grid({ x: { kind: 'heuristic', values: [1] } }), ...grid({ y: { kind: 'heuristic', values: [1] } }, { problem: 'other' })];
    const s = summarize('index', rows, FACTS, opts);
    assert.deepEqual(s.meta.solvers, [{ name: 'x', kind: 'heuristic' }]);
    assert.match(s.meta.warnings.join(), /baseline solver 'binary-search'/);
    const empty = summarize('nothing', rows, FACTS, opts);
    assert.deepEqual([empty.rows, empty.comparisons, empty.meta.warnings], [[], [], []]);
  });

  test('stable JSON: the same rows give the same summary, in a fixed order', () => {
    const rows = fakeGrid(3);
    const facts = { ...FACTS, metrics: ['lookup_ns', 'speedup', 'build_ms', 'index_bytes', 'max_error'] };
    const a: Summary = summarize('index', rows, facts, opts);
    const b = summarize('index', [...rows].reverse(), facts, opts);
    assert.deepEqual(a, b);
    assert.deepEqual(Object.keys(a), ['problem', 'rows', 'comparisons', 'geomeans', 'meta']);
    assert.deepEqual(a.meta.metrics.map((m) => m.name), facts.metrics);
    assert.deepEqual(a.meta.solvers.map((x) => x.kind), ['baseline', 'heuristic', 'heuristic', 'heuristic', 'peer', 'learned', 'learned', 'learned']);
    assert.deepEqual(a.meta.seeds, [1, 2, 3]);
    assert.deepEqual(a.meta.codeVersions, ['abc123']);
    // 4 instances x (7 non-baseline vs baseline + 3 learned vs best heuristic)
    assert.equal(a.comparisons.length, 4 * (7 + 3));
    assert.ok(a.comparisons.every((c) => c.metric === 'lookup_ns' && c.ci95 !== null && c.ci95[0] <= c.ratio && c.ratio <= c.ci95[1]));
  });

  test('with a memo of estimates, a run that gained one cell bootstraps only that cell\'s groups, and summarises to the same numbers', () => {
    const rows = fakeGrid(5);
    const learned = rows.find((r) => r.solverKind === 'learned')!;
    const isNewCell = (r: ResultRow) => r.instance === learned.instance && r.solver === learned.solver && r.seed === 5;
    const memo = new Map<string, any>(); // SummaryOptions.estimates
    const withMemo = { ...opts, estimates: memo };
    const before = summarize('index', rows.filter((r) => !isNewCell(r)), FACTS, withMemo);
    assert.equal(memo.size, before.rows.length + before.comparisons.length, 'every estimate of the first summary is kept');
    const kept = memo.size;
    const after = summarize('index', rows, FACTS, withMemo);
    // The new cell changes its solver's mean of each metric on its instance, and its two ratios there (vs the baseline, vs the best heuristic).
    const metrics = new Set(rows.map((r) => r.metric)).size;
    assert.equal(memo.size - kept, metrics + 2);
    assert.deepEqual(after, summarize('index', rows, FACTS, opts), 'the same summary as without the memo');
  });
});
