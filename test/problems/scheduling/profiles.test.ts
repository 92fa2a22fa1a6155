import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SelfoptError } from '../../../src/core/errors.js';
import { DataPath } from '../../../src/core/data.js';
import { EXECUTOR_LEVELS, FIRST_WAVE, FRESH, NUM_LEVELS, REST_WAVE, TPCH_QUERIES, TPCH_SIZES, findTpchDir, loadProfileFile, loadTpch, type RawJob } from '../../../src/problems/scheduling/profiles.js';
import { fixedStage, rawJob, template } from './fixtures.js';
import { tempDir } from '../../tmp.js';

function throwsSelfopt(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SelfoptError, `expected a SelfoptError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

const dir = tempDir('selfopt-sched-');

let files = 0;
function fileWith(job: RawJob): string {
  const path = join(dir, `tpch_${files++}.json`);
  writeFileSync(path, JSON.stringify({ size: '2g', jobs: [job] }));
  return path;
}

const three = () => [fixedStage(4, { first: 100, rest: 50 }), fixedStage(2, { first: 100, rest: 50 }), fixedStage(1, { first: 100, rest: 50 })];

test('a cycle is rejected, naming query, size and a stage on the cycle', () => {
  const job = { ...rawJob(three(), [[0, 1], [1, 2], [2, 1]]), name: 'tpch-2g-7', size: '2g', query: 7 };
  throwsSelfopt(() => loadProfileFile(fileWith(job)), /query 7/, /size 2g/, /stages 1 -> 2 -> 1 form a cycle/, /jobs\[0\]\.edges/);
  throwsSelfopt(() => template(rawJob(three(), [[2, 2]])), /stages 2 -> 2 form a cycle/);
});

test('a missing stage and an edge to a stage that does not exist are rejected', () => {
  const short = { ...rawJob(three(), [[0, 1]]), num_stages: 4, name: 'tpch-5g-3', size: '5g', query: 3 };
  throwsSelfopt(() => loadProfileFile(fileWith(short)), /query 3/, /size 5g/, /stage 3: the stage is missing/, /jobs\[0\]\.stages\[3\]/);
  const dangling = { ...rawJob(three(), [[0, 1], [1, 5]]), name: 'tpch-10g-9', size: '10g', query: 9 };
  throwsSelfopt(() => loadProfileFile(fileWith(dangling)), /query 9/, /size 10g/, /edge 1 -> 5 names stage 5, which does not exist/, /0\.\.2/);
});

test('empty duration lists are rejected, naming query, size, stage and level', () => {
  const none = three();
  none[1] = { executor_keys: [2, 5], first_wave: { 2: [], 5: [] }, rest_wave: { 2: [], 5: [] }, fresh_durations: { 2: [], 5: [] } };
  throwsSelfopt(() => loadProfileFile(fileWith({ ...rawJob(none, []), name: 'tpch-20g-4', size: '20g', query: 4 })), /query 4/, /size 20g/, /stage 1: empty duration lists at executor level 2/, /no tasks/);
  // Tasks exist (level 2) but no duration can be drawn at level 5: first wave and fresh both empty there.
  const holes = three();
  holes[2] = { executor_keys: [2, 5], first_wave: { 2: [], 5: [] }, rest_wave: { 2: [7], 5: [7] }, fresh_durations: { 2: [], 5: [] } };
  throwsSelfopt(() => template({ ...rawJob(holes, []), query: 11, size: '50g' }), /query 11/, /size 50g/, /stage 2: empty duration lists at executor level 5/);
  const missingKey = three();
  delete (missingKey[0]!.rest_wave as Record<string, number[]>)['5'];
  throwsSelfopt(() => template(rawJob(missingKey, [])), /stage 0: rest_wave has no list for executor level 5/);
  const negative = three();
  negative[0]!.first_wave['5'] = [-3];
  throwsSelfopt(() => template(rawJob(negative, [])), /stage 0: first_wave\[5\]\[0\] is -3/);
});

test('durations are whole ms within int32 (the samples are stored as Int32Array): a fraction or 2^31 is rejected, naming where', () => {
  const fraction = three();
  fraction[1]!.rest_wave['2'] = [50, 50.5];
  throwsSelfopt(() => loadProfileFile(fileWith({ ...rawJob(fraction, []), name: 'tpch-80g-2', size: '80g', query: 2 })), /query 2/, /size 80g/, /stage 1: rest_wave\[2\]\[1\] is 50\.5/, /whole non-negative numbers of milliseconds/);
  const huge = three();
  huge[2]!.fresh_durations['5'] = [2 ** 31];
  throwsSelfopt(() => template(rawJob(huge, [])), /stage 2: fresh_durations\[5\]\[0\] is 2147483648/, /at most 2147483647/);
  const largest = three();
  largest[0]!.rest_wave['5'] = [2 ** 31 - 1];
  const t = template(rawJob(largest, []));
  assert.ok(t.samples instanceof Int32Array);
  assert.ok(t.samples.includes(2 ** 31 - 1), 'the largest int32 duration is kept exactly');
});

test("decima's pre-processing: fresh durations leave the first wave once each, empty levels take the lower level's list", () => {
  const st = {
    executor_keys: [2, 5, 10, 20],
    first_wave: { 2: [9, 9, 4], 5: [9], 10: [], 20: [8, 6] },
    rest_wave: { 2: [1, 1], 5: [], 10: [2], 20: [] },
    fresh_durations: { 2: [9], 5: [9], 10: [], 20: [6] },
  };
  const t = template(rawJob([st], []));
  assert.equal(t.numTasks[0], 5); // 3 first-wave + 2 rest-wave samples at level 2
  const list = (level: number, wave: number) => {
    const li = EXECUTOR_LEVELS.indexOf(level as (typeof EXECUTOR_LEVELS)[number]);
    const k = li * 3 + wave;
    return [...t.samples.subarray(t.sampleOff[k]!, t.sampleOff[k]! + t.sampleLen[k]!)];
  };
  // level 2 first wave: [9, 9, 4] minus one 9 -> [9, 4]; level 5: [9] minus 9 -> [] -> filled [9, 4];
  // level 10: [] -> [9, 4]; level 20: [8, 6] minus 6 -> [8]; levels 40..100 are not measured -> the largest (20).
  assert.deepEqual(list(5, FIRST_WAVE), [9, 4]);
  assert.deepEqual(list(10, FIRST_WAVE), [9, 4]);
  assert.deepEqual(list(10, REST_WAVE), [2]);
  assert.deepEqual(list(20, FIRST_WAVE), [8]);
  assert.deepEqual(list(100, FIRST_WAVE), [8]);
  assert.deepEqual(list(100, FRESH), [6]);
  // rough duration: the mean of every list, a filled first wave counted at each level that holds it.
  const all = [9, 4, 9, 4, 9, 4, 8, 1, 1, 2, 9, 9, 6];
  assert.ok(Math.abs(t.roughDurationMs[0]! - all.reduce((a, b) => a + b) / all.length) < 1e-12);
  assert.equal(t.sampleOff.length, NUM_LEVELS * 3);
});

test('critical path and total work follow the DAG', () => {
  // 0 -> 2, 1 -> 2, 2 -> 3; work = tasks x rough
  const stages = [fixedStage(4, { first: 100, rest: 100 }), fixedStage(2, { first: 10, rest: 10 }), fixedStage(3, { first: 20, rest: 20 }), fixedStage(1, { first: 5, rest: 5 })];
  const t = template(rawJob(stages, [[0, 2], [1, 2], [2, 3]]));
  const w = [400, 20, 60, 5];
  assert.deepEqual([...t.criticalPathMs], [400 + 60 + 5, 20 + 60 + 5, 65, 5]);
  assert.equal(t.totalWorkMs, w.reduce((a, b) => a + b));
  assert.deepEqual([...t.childIdx], [2, 2, 3]);
  assert.deepEqual([...t.parentIdx.subarray(t.parentPtr[2]!, t.parentPtr[3]!)], [0, 1]);
});

test('the real TPC-H profiles load: 154 templates, 1,414 stages, 177,890 tasks', (t) => {
  const dir = findTpchDir(new DataPath());
  if (!dir) return t.skip('TPC-H profiles not on the data path');
  const tpls = loadTpch(dir);
  assert.equal(tpls.length, 154);
  let stages = 0, tasks = 0;
  for (const x of tpls) { stages += x.numStages; for (const n of x.numTasks) tasks += n; }
  assert.equal(stages, 1414);
  assert.equal(tasks, 177890);
  assert.equal(tpls[0]!.name, 'tpch-2g-1');
  assert.equal(tpls[7 * 4 + 6]!.name, 'tpch-100g-5');
});

test('a stage with hundreds of thousands of samples loads (no call-stack overflow)', () => {
  const big = three();
  big[0] = fixedStage(300_000, { first: 100, rest: 50 });
  const t = template(rawJob(big, [[0, 1], [1, 2]]));
  assert.equal(t.numTasks[0], 300_000);
  assert.ok(t.samples.length > 300_000, 'every sample of every level is kept');
});

test('a profile whose query is not a number 1..22, or a query listed twice, is named; not read as a missing query or ignored', () => {
  const tpchDir = (edit: (jobs: RawJob[]) => void): string => {
    const d = join(dir, `tpch-${files++}`);
    mkdirSync(d);
    for (const size of TPCH_SIZES) {
      const jobs = Array.from({ length: TPCH_QUERIES }, (_, i) => ({ ...rawJob(three(), [[0, 1]]), name: `tpch-${size}-${i + 1}`, size, query: i + 1 }));
      if (size === '5g') edit(jobs);
      writeFileSync(join(d, `tpch_${size}.json`), JSON.stringify({ size, jobs }));
    }
    return d;
  };
  assert.equal(loadTpch(tpchDir(() => {})).length, 154);
  throwsSelfopt(() => loadTpch(tpchDir((jobs) => { (jobs[6] as { query: unknown }).query = '7'; })), /profile tpch-5g-7: query is "7"/, /tpch_5g\.json, jobs\[6\]\.query/, /a TPC-H query number 1\.\.22/);
  throwsSelfopt(() => loadTpch(tpchDir((jobs) => { jobs.push({ ...jobs[2]!, name: 'tpch-5g-3-again' }); })), /profile tpch-5g-3-again: query 3 of size 5g is also jobs\[2\]/, /jobs\[22\]\.query/);
});
