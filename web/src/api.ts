/** The dashboard's view of `selfopt serve`'s read-only API (src/server/dashboard.ts). */
import type { Summary } from '../../src/bench/summary.js';
import type { RunMeta } from '../../src/bench/store.js';
import type { Picture } from '../../src/bench/pictures.js';
import type { describeProblem } from '../../src/core/problem.js';
import type { Curve } from '../../src/server/dashboard.js';

// The server's own types, so the page and the API cannot drift apart.
export type { Curve, Picture, RunMeta };
export type ProblemInfo = ReturnType<typeof describeProblem>;

/** A server started with --token wants it; the page takes it from `#token=...`. */
function headers(): Record<string, string> {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function get<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: headers() });
  const body = (await res.json()) as T & { error?: { message: string } };
  if (!res.ok) throw new Error(body.error?.message ?? `${path}: HTTP ${res.status}`);
  return body;
}

export const api = {
  problems: () => get<ProblemInfo[]>('api/problems'),
  runs: () => get<RunMeta[]>('api/runs'),
  summary: (problem: string, run?: string) =>
    get<{ run: RunMeta; summary: Summary; pictures: Picture[] }>(`api/summary?problem=${encodeURIComponent(problem)}${run ? `&run=${encodeURIComponent(run)}` : ''}`),
  curves: (problem: string) => get<Curve[]>(`api/curves?problem=${encodeURIComponent(problem)}`),
  store: () => get<{ path: string; exists: boolean; isDefault: boolean }>('api/store'),
};
