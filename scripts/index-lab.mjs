// The shared preamble of the index scripts (rmi-explore.mjs, rmi-breakdown.mjs, rmi-ab.mjs, rmi-lastmile.mjs; not
// part of the test suite): where the compiled index problem lives, the command-line arguments,
// the real key sets on the data path, seeded lookup positions, their exact answers, the interleaved timing rounds, quantiles.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** dist/src/problems/index of a compiled tree (this repository's by default). */
export function indexDist(root = path.join(here, '..', 'dist')) {
  // resolved: import() reads a relative path without ./ as a package name
  return path.resolve(root, 'src', 'problems', 'index');
}

/** The compiled index modules the scripts use, from one compiled tree. */
export async function importIndex(root) {
  const dir = indexDist(root);
  const load = (f) => import(path.join(dir, f));
  const [keys, instances, rmi, heuristics, evaluate, models, window] = await Promise.all(
    ['keys.js', 'instances.js', 'rmi.js', 'heuristics.js', 'evaluate.js', 'rmi-models.js', 'window-search.js'].map(load));
  return { ...keys, ...instances, ...rmi, ...heuristics, ...evaluate, ...models, ...window };
}

export const args = process.argv.slice(2);
/** The value after --name, or `d`. */
export const arg = (name, d) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : d; };
/** Whether --name is given. */
export const flag = (name) => args.includes(`--${name}`);

/** The data path (--data, else $SELFOPT_DATA, else ../shared/data beside the repository). */
export const dataDir = arg('data', process.env.SELFOPT_DATA ?? path.join(here, '..', '..', 'shared', 'data'));

/** Short names of the real key sets. */
export const SETS = {
  s2: 'gshhg_s2cellids_6.9M_uint64', flights: 'flights_ts_3M_uint64', lon: 'gshhg_lon_4.3M_f64', ipv4: 'ipv4_range_starts_386K_uint32',
};

/** A real key set by short name (SETS) or file name under <data>/index, loaded with `loadSosd`. */
export function loadSet(loadSosd, name) {
  return loadSosd(path.join(dataDir, 'index', SETS[name] ?? name));
}

/** `m` positions in [0, n), from a xorshift stream seeded by `seed` (the lookups' rows). */
export function positions(n, m, seed) {
  const idx = new Int32Array(m);
  let s = seed >>> 0 || 1;
  for (let t = 0; t < m; t++) { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; idx[t] = Math.floor((s / 4294967296) * n); }
  return idx;
}

/** The exact lower bound of every query (keys.ts lowerBoundExact). */
export function answers(lowerBoundExact, keys, q) {
  const e = new Int32Array(q.n);
  for (let i = 0; i < q.n; i++) e[i] = lowerBoundExact(keys, q, i, 0, keys.n);
  return e;
}

/** The f-quantile of a list of numbers (the lower of the two middle ones for the median of an even count). */
export const quantile = (a, f) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(f * (s.length - 1))]; };
/** The median as rmi-explore.mjs has always taken it (the upper of the two middle ones for an even count). */
export const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };

/**
 * The scripts' timing protocol, as evaluate.ts times: `warm` + `rounds` rounds; in each, every
 * method (`{ name, index, loop, times, checked }`, loop from freshLowerBoundLoop) runs one batch of
 * `batch` queries of `q`, in an order rotated per round, each right after a primer pass of its
 * own over `primer`; a batch's answers are checked against `exp` after its timer (methods with
 * `checked === false`, truncated copies of a lookup, are not); ns a lookup of every round after
 * the warm-up are pushed to `times`. Batches cycle through `slices` slices of q. Returns the
 * loops' sum, for the caller's sink.
 */
export function interleave(methods, { keys, q, primer, exp, rounds, warm, batch, slices }) {
  const out = new Int32Array(q.n), pout = new Int32Array(primer.n);
  let sink = 0, k = 0;
  for (let r = 0; r < rounds + warm; r++) {
    for (let t = 0; t < methods.length; t++) {
      const m = methods[(t + r) % methods.length];
      const from = (k++ % slices) * batch;
      sink += m.loop(m.index, keys, primer, 0, primer.n, pout);
      const t0 = process.hrtime.bigint();
      sink += m.loop(m.index, keys, q, from, from + batch, out);
      const t1 = process.hrtime.bigint();
      if (m.checked !== false) {
        for (let i = from; i < from + batch; i++) {
          if (out[i] !== exp[i]) { console.error(`WRONG ANSWER: ${m.name} query ${i}: ${out[i]}, expected ${exp[i]}`); process.exit(1); }
        }
      }
      if (r >= warm) m.times.push(Number(t1 - t0) / batch);
    }
  }
  return sink;
}
