/** The dashboard's view of `selfopt serve`'s read-only API (src/server/dashboard.ts). */
import type { Summary } from '../../src/bench/summary.js';
import type { RunMeta } from '../../src/bench/store.js';
import type { PictureInfo } from '../../src/bench/pictures.js';
import type { describeProblem } from '../../src/core/problem.js';
import type { Curve, CurvePoint, LeftOut } from '../../src/server/dashboard.js';

// The server's own types, so the page and the API cannot drift apart.
export type { Curve, CurvePoint, LeftOut, PictureInfo, RunMeta };
/** /api/curves: the curves, and the shipped records whose curve is not shown, with why. */
export interface Curves {
  curves: Curve[];
  leftOut: LeftOut[];
}
export type ProblemInfo = ReturnType<typeof describeProblem>;

/** A server started with --token wants it; the page takes it from `#token=...`. */
function headers(): Record<string, string> {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** The answer to a GET, or its error's message (the API's {error: {message}}) thrown. */
async function fetchOk(path: string): Promise<Response> {
  const res = await fetch(path, { headers: headers() });
  if (res.ok) return res;
  const body = (await res.json().catch(() => ({}))) as { error?: { message: string } };
  throw new Error(body.error?.message ?? `${path}: HTTP ${res.status}`);
}

const get = async <T>(path: string): Promise<T> => (await fetchOk(path)).json() as Promise<T>;

export const api = {
  problems: () => get<ProblemInfo[]>('api/problems'),
  runs: () => get<RunMeta[]>('api/runs'),
  summary: (problem: string, run?: string) =>
    get<{ run: RunMeta; summary: Summary; pictures: PictureInfo[] }>(`api/summary?problem=${encodeURIComponent(problem)}${run ? `&run=${encodeURIComponent(run)}` : ''}`),
  picture: (run: string, problem: string, p: { instance: string; solver: string }) =>
    fetchOk(`api/picture?${new URLSearchParams({ run, problem, instance: p.instance, solver: p.solver }).toString()}`).then((res) => res.text()),
  curves: (problem: string) => get<Curves>(`api/curves?problem=${encodeURIComponent(problem)}`),
  store: () => get<{ path: string; exists: boolean; isDefault: boolean }>('api/store'),
};
