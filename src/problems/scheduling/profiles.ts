/**
 * Job profiles: the DAG of a job's stages and, per stage, the measured task durations the
 * simulator draws from. `buildTemplate` validates a raw profile (the JSON form of decima-sim's
 * TPC-H .npy files, schema in shared/data/scheduling/PROVENANCE.md) and applies decima-sim's
 * pre-processing (spark_env/job_generator.py): remove fresh durations from the first wave
 * (multiset removal), fill an empty first wave from the nearest lower executor level, and take
 * the mean of all samples as the stage's rough task duration.
 *
 * A template is flat typed arrays so the simulator's hot loop reads numbers, not objects.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SelfoptError } from '../../core/errors.js';
import type { DataPath } from '../../core/data.js';

/** Executor counts at which durations were measured and that the simulators select among. */
export const EXECUTOR_LEVELS = [5, 10, 20, 40, 50, 60, 80, 100] as const;
export const NUM_LEVELS = EXECUTOR_LEVELS.length;
/** Waves, as indices into a template's sample tables. */
export const FIRST_WAVE = 0, REST_WAVE = 1, FRESH = 2;

export const TPCH_SIZES = ['2g', '5g', '10g', '20g', '50g', '80g', '100g'] as const;
export const TPCH_QUERIES = 22;
/** The longest task duration a profile may hold, ms: the samples are stored as int32 (about 24.9 days). */
export const MAX_DURATION_MS = 2147483647;
export const tpchRelPath = (size: string): string => `scheduling/tpch_json/tpch_${size}.json`;

/** One job's profile, ready for the simulator. Stage indices are 0..numStages-1. */
export interface JobTemplate {
  /** decima-sim's name, e.g. `tpch-2g-1` (query 1 at 2 GB). */
  name: string;
  query: number;
  size: string;
  numStages: number;
  numTasks: Int32Array;
  /** Mean of all duration samples of the stage after pre-processing (decima's `rough_duration`), ms. */
  roughDurationMs: Float64Array;
  /** Parents and children of each stage in CSR form, each list ascending (decima's adjacency scan order). */
  parentPtr: Int32Array;
  parentIdx: Int32Array;
  childPtr: Int32Array;
  childIdx: Int32Array;
  /**
   * All duration samples, whole ms; a list is samples[off, off + len). Int32, not Float64: the
   * simulator reads one at a random place for every task it starts, and the 1.6M samples of the
   * TPC-H profiles take 6.4 MB so, against 12.8 MB as doubles (the read was ~7% of a quick bench,
   * mostly cache misses). buildTemplate refuses a duration that is not a whole number of ms in int32.
   */
  samples: Int32Array;
  /** Index ((stage * NUM_LEVELS + level) * 3 + wave): the list used at EXECUTOR_LEVELS[level]. */
  sampleOff: Int32Array;
  sampleLen: Int32Array;
  /** Sum over stages of numTasks x rough duration, ms. */
  totalWorkMs: number;
  /** Longest path from the stage to a sink, summing stage work (numTasks x rough duration), ms. */
  criticalPathMs: Float64Array;
}

/** A profile as stored in tpch_<size>.json (one element of `jobs`). */
export interface RawJob {
  name?: string;
  size?: string;
  query?: number;
  num_stages: number;
  edges: [number, number][];
  stages: RawStage[];
}

export interface RawStage {
  num_tasks?: number;
  /** Executor levels in the pickled dict's order; the first one defines the task count. */
  executor_keys: number[];
  first_wave: Record<string, number[]>;
  rest_wave: Record<string, number[]>;
  fresh_durations: Record<string, number[]>;
}

/** Where a profile came from, for error messages. */
export interface ProfileSource {
  file: string;
  /** Index in the file's `jobs` array. */
  index: number;
}

function label(raw: Partial<RawJob>, src: ProfileSource): string {
  const q = raw.query ?? '?', s = raw.size ?? '?';
  return `profile ${raw.name ?? `#${src.index}`} (query ${q}, size ${s})`;
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Validates a raw profile and builds its template. Every defect is one SelfoptError naming query, size and stage. */
export function buildTemplate(raw: RawJob, src: ProfileSource): JobTemplate {
  const who = label(raw, src);
  const at = (path: string) => `${src.file}, jobs[${src.index}]${path}`;
  const N = raw.num_stages;
  if (!(Number.isInteger(N) && N >= 1)) throw new SelfoptError(`${who}: num_stages is ${JSON.stringify(N)}`, at('.num_stages'), 'a positive integer');
  if (!Array.isArray(raw.stages)) throw new SelfoptError(`${who}: no stages array`, at('.stages'), `an array of ${N} stages`);
  for (let s = 0; s < N; s++) {
    if (!isObj(raw.stages[s])) throw new SelfoptError(`${who}, stage ${s}: the stage is missing`, at(`.stages[${s}]`), `${N} stages (num_stages), each an object with executor_keys, first_wave, rest_wave and fresh_durations`);
  }
  if (raw.stages.length > N) throw new SelfoptError(`${who}: ${raw.stages.length} stages listed but num_stages is ${N}`, at('.stages'), 'as many stages as num_stages');
  if (!Array.isArray(raw.edges)) throw new SelfoptError(`${who}: no edges array`, at('.edges'), 'an array of [parent, child] stage pairs');

  // --- the DAG
  const nParents = new Int32Array(N), nChildren = new Int32Array(N);
  const adj = new Uint8Array(N * N);
  raw.edges.forEach((e, k) => {
    const ok = Array.isArray(e) && e.length === 2 && Number.isInteger(e[0]) && Number.isInteger(e[1]);
    if (!ok) throw new SelfoptError(`${who}: edge ${k} is ${JSON.stringify(e)}`, at(`.edges[${k}]`), 'a [parent, child] pair of stage indices');
    const [p, c] = e;
    for (const x of [p, c]) {
      if (x < 0 || x >= N) throw new SelfoptError(`${who}: edge ${p} -> ${c} names stage ${x}, which does not exist`, at(`.edges[${k}]`), `stage indices 0..${N - 1} (the job has ${N} stages)`);
    }
    if (adj[p * N + c]) return; // a repeated edge is the same 1 in the adjacency matrix
    adj[p * N + c] = 1;
    nChildren[p]++;
    nParents[c]++;
  });
  const cycle = findCycle(N, adj);
  if (cycle) throw new SelfoptError(`${who}: stages ${cycle.join(' -> ')} form a cycle (stage ${cycle[0]} is on it)`, at('.edges'), 'a DAG: no stage may depend on itself through its parents');
  const parentPtr = new Int32Array(N + 1), childPtr = new Int32Array(N + 1);
  for (let s = 0; s < N; s++) { parentPtr[s + 1] = parentPtr[s]! + nParents[s]!; childPtr[s + 1] = childPtr[s]! + nChildren[s]!; }
  const parentIdx = new Int32Array(parentPtr[N]!), childIdx = new Int32Array(childPtr[N]!);
  const pf = parentPtr.slice(0, N), cf = childPtr.slice(0, N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) if (adj[i * N + j]) { childIdx[cf[i]!++] = j; parentIdx[pf[j]!++] = i; }

  // --- durations
  const numTasks = new Int32Array(N);
  const rough = new Float64Array(N);
  const sampleOff = new Int32Array(N * NUM_LEVELS * 3), sampleLen = new Int32Array(N * NUM_LEVELS * 3);
  const pool: number[] = [];
  for (let s = 0; s < N; s++) {
    const st = raw.stages[s]!;
    const where = at(`.stages[${s}]`);
    const keys = st.executor_keys;
    if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => Number.isInteger(k) && k > 0)) {
      throw new SelfoptError(`${who}, stage ${s}: executor_keys is ${JSON.stringify(keys)}`, `${where}.executor_keys`, 'a non-empty list of positive executor counts');
    }
    const lists = { first_wave: st.first_wave, rest_wave: st.rest_wave, fresh_durations: st.fresh_durations };
    for (const [wave, table] of Object.entries(lists)) {
      if (!isObj(table)) throw new SelfoptError(`${who}, stage ${s}: ${wave} is missing`, `${where}.${wave}`, 'an object from executor level to a list of durations (ms)');
      for (const k of keys) {
        const list = table[String(k)];
        if (!Array.isArray(list)) throw new SelfoptError(`${who}, stage ${s}: ${wave} has no list for executor level ${k}`, `${where}.${wave}["${k}"]`, `a list of durations (ms) for every level in executor_keys (${keys.join(', ')})`);
        const bad = list.findIndex((d) => !(typeof d === 'number' && Number.isInteger(d) && d >= 0 && d <= MAX_DURATION_MS));
        if (bad >= 0) throw new SelfoptError(`${who}, stage ${s}: ${wave}[${k}][${bad}] is ${JSON.stringify(list[bad])}`, `${where}.${wave}["${k}"][${bad}]`, `durations as whole non-negative numbers of milliseconds, at most ${MAX_DURATION_MS} (int32; every duration of decima-sim's TPC-H profiles is a whole ms, at most 39,608)`);
      }
    }
    // The task count is read at the first key of the pickled dict (always 2 in the TPC-H data).
    const k0 = String(keys[0]);
    const n = st.first_wave[k0]!.length + st.rest_wave[k0]!.length;
    if (n === 0) throw new SelfoptError(`${who}, stage ${s}: empty duration lists at executor level ${k0} (first_wave and rest_wave), so the stage has no tasks`, `${where}.first_wave["${k0}"]`, 'at least one duration: the number of tasks is len(first_wave) + len(rest_wave) at the first executor level');
    if (st.num_tasks !== undefined && st.num_tasks !== n) throw new SelfoptError(`${who}, stage ${s}: num_tasks is ${st.num_tasks} but the duration lists at level ${k0} hold ${n} tasks`, `${where}.num_tasks`, `${n}`);
    numTasks[s] = n;

    const first = cleanFirstWave(keys, st.first_wave, st.fresh_durations);
    // rough duration: the mean over every list, counting a filled-in first wave once per level (as decima does).
    let sum = 0, cnt = 0;
    for (const k of keys) for (const l of [first.get(k)!, st.rest_wave[String(k)]!, st.fresh_durations[String(k)]!]) for (const d of l) { sum += d; cnt++; }
    rough[s] = sum / cnt;

    const sorted = [...keys].sort((a, b) => a - b);
    const largest = sorted[sorted.length - 1]!;
    const keyOff = new Map<number, [number, number, number]>();
    for (const k of sorted) {
      const off: [number, number, number] = [0, 0, 0];
      [first.get(k)!, st.rest_wave[String(k)]!, st.fresh_durations[String(k)]!].forEach((l, w) => {
        off[w] = pool.length;
        for (const d of l) pool.push(d); // not push(...l): a list of ~125K samples overflows the call stack
      });
      keyOff.set(k, off);
    }
    for (let li = 0; li < NUM_LEVELS; li++) {
      const L = EXECUTOR_LEVELS[li]!;
      const k = keyOff.has(L) ? L : largest; // a level with no measurement uses the largest one
      const off = keyOff.get(k)!;
      const lens = [first.get(k)!.length, st.rest_wave[String(k)]!.length, st.fresh_durations[String(k)]!.length];
      if (lens[FIRST_WAVE] === 0 && lens[FRESH] === 0) {
        throw new SelfoptError(`${who}, stage ${s}: empty duration lists at executor level ${k}: first_wave (after removing fresh durations and filling from lower levels) and fresh_durations are both empty`,
          `${where}.first_wave["${k}"]`, 'at least one duration (ms) in first_wave or fresh_durations at every executor level the simulator can select (5, 10, 20, 40, 50, 60, 80, 100 or the largest level)');
      }
      for (let w = 0; w < 3; w++) {
        sampleOff[(s * NUM_LEVELS + li) * 3 + w] = off[w]!;
        sampleLen[(s * NUM_LEVELS + li) * 3 + w] = lens[w]!;
      }
    }
  }
  const criticalPathMs = new Float64Array(N);
  let totalWorkMs = 0;
  for (let s = 0; s < N; s++) totalWorkMs += numTasks[s]! * rough[s]!;
  // Reverse topological order by repeated relaxation (N <= a few dozen).
  const order = topoOrder(N, childPtr, childIdx, nParents);
  for (let i = N - 1; i >= 0; i--) {
    const s = order[i]!;
    let best = 0;
    for (let p = childPtr[s]!; p < childPtr[s + 1]!; p++) best = Math.max(best, criticalPathMs[childIdx[p]!]!);
    criticalPathMs[s] = numTasks[s]! * rough[s]! + best;
  }
  return {
    name: raw.name ?? `job-${src.index}`, query: raw.query ?? 0, size: raw.size ?? '', numStages: N, numTasks, roughDurationMs: rough,
    parentPtr, parentIdx, childPtr, childIdx, samples: Int32Array.from(pool), sampleOff, sampleLen, totalWorkMs, criticalPathMs,
  };
}

/**
 * decima's pre-processing of the first wave: drop every duration that also occurs among the
 * fresh durations at the same level (once per occurrence), then give each empty level the
 * list of the nearest lower level (the lowest level stays empty if it is).
 */
function cleanFirstWave(keys: number[], firstWave: Record<string, number[]>, fresh: Record<string, number[]>): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const k of keys) {
    const counts = new Map<number, number>();
    for (const d of fresh[String(k)]!) counts.set(d, (counts.get(d) ?? 0) + 1);
    const kept: number[] = [];
    for (const d of firstWave[String(k)]!) {
      const c = counts.get(d) ?? 0;
      if (c > 0) counts.set(d, c - 1);
      else kept.push(d);
    }
    out.set(k, kept);
  }
  let last: number[] = [];
  for (const k of [...keys].sort((a, b) => a - b)) {
    if (out.get(k)!.length === 0) out.set(k, last);
    last = out.get(k)!;
  }
  return out;
}

/** A cycle as a list of stages (first repeated at the end), or undefined for a DAG. */
function findCycle(N: number, adj: Uint8Array): number[] | undefined {
  const color = new Uint8Array(N); // 0 new, 1 on the stack, 2 done
  const parent = new Int32Array(N).fill(-1);
  for (let r = 0; r < N; r++) {
    if (color[r]) continue;
    const stack: [number, number][] = [[r, 0]];
    color[r] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [v, j] = top;
      if (j === N) { color[v] = 2; stack.pop(); continue; }
      top[1] = j + 1;
      if (!adj[v * N + j]) continue;
      if (color[j] === 1) {
        const cyc: number[] = [];
        for (let u = v; u !== j; u = parent[u]!) cyc.push(u);
        cyc.push(j);
        cyc.reverse();
        cyc.push(j);
        return cyc;
      }
      if (color[j] === 0) { color[j] = 1; parent[j] = v; stack.push([j, 0]); }
    }
  }
  return undefined;
}

function topoOrder(N: number, childPtr: Int32Array, childIdx: Int32Array, nParents: Int32Array): Int32Array {
  const indeg = nParents.slice();
  const order = new Int32Array(N);
  let head = 0, tail = 0;
  for (let s = 0; s < N; s++) if (indeg[s] === 0) order[tail++] = s;
  while (head < tail) {
    const s = order[head++]!;
    for (let p = childPtr[s]!; p < childPtr[s + 1]!; p++) if (--indeg[childIdx[p]!] === 0) order[tail++] = childIdx[p]!;
  }
  return order;
}

/** Parses one tpch_<size>.json file into templates, validating each profile. */
export function loadProfileFile(path: string): JobTemplate[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SelfoptError(`cannot read job profiles: ${(e as Error).message}`, path, 'a readable tpch_<size>.json file (shared/data/scheduling/PROVENANCE.md)');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SelfoptError(`job profile file is not valid JSON: ${(e as Error).message}`, path, 'the JSON written by convert_tpch_to_json.py');
  }
  if (!isObj(doc) || !Array.isArray(doc.jobs)) throw new SelfoptError('job profile file has no jobs array', path, '{"size": ..., "jobs": [...]}');
  return (doc.jobs as unknown[]).map((j, index) => {
    if (!isObj(j)) throw new SelfoptError(`job ${index} is ${JSON.stringify(j)}`, `${path}, jobs[${index}]`, 'a job profile object');
    return buildTemplate(j as unknown as RawJob, { file: path, index });
  });
}

const cache = new Map<string, JobTemplate[]>();

/** The directory of the TPC-H JSON profiles on the data path, or undefined. */
export function findTpchDir(data: DataPath): string | undefined {
  const first = data.find(tpchRelPath(TPCH_SIZES[0]));
  return first ? dirname(first) : undefined;
}

/**
 * The 154 TPC-H templates (22 queries x 7 sizes) of a tpch_json directory, indexed
 * `(query - 1) * 7 + sizeIndex`. Parsed and validated once per process.
 */
export function loadTpch(dir: string): JobTemplate[] {
  let out = cache.get(dir);
  if (!out) {
    const paths = TPCH_SIZES.map((s) => join(dir, basename(tpchRelPath(s))));
    const bySize = paths.map((p) => loadProfileFile(p));
    // Templates are looked up by query number: a query of another type read as missing, and a
    // second profile of the same query was silently never used.
    bySize.forEach((jobs, si) => jobs.forEach((t, index) => {
      const where = `${paths[si]!}, jobs[${index}].query`;
      if (!(Number.isInteger(t.query) && t.query >= 1 && t.query <= TPCH_QUERIES)) throw new SelfoptError(`profile ${t.name}: query is ${JSON.stringify(t.query)}`, where, `a TPC-H query number 1..${TPCH_QUERIES}`);
      const first = jobs.findIndex((u) => u.query === t.query);
      if (first !== index) throw new SelfoptError(`profile ${t.name}: query ${t.query} of size ${TPCH_SIZES[si]} is also jobs[${first}]`, where, `one profile per query in each size file`);
    }));
    out = [];
    for (let q = 1; q <= TPCH_QUERIES; q++) {
      TPCH_SIZES.forEach((size, si) => {
        const t = bySize[si]!.find((j) => j.query === q);
        if (!t) throw new SelfoptError(`TPC-H query ${q} is missing from the ${size} profiles`, paths[si]!, `all ${TPCH_QUERIES} queries in every size file`);
        out!.push(t);
      });
    }
    cache.set(dir, out);
  }
  return out;
}
