/** The dashboard's view of `selfopt serve`'s read-only API (src/server/dashboard.ts). */
import type { Summary } from '../../src/bench/summary.js';

export interface RunMeta {
  runId: string;
  startedAt: string;
  finishedAt: string | null;
  command: string;
  gridHash: string;
  codeVersion: string;
  machine: string;
  problems: string[];
  cells: number;
}

export interface ProblemInfo {
  name: string;
  title: string;
  reference: string;
  primaryMetric: string;
  baseline: string;
  metrics: { name: string; unit: string; better: 'lower' | 'higher' }[];
  solvers: { name: string; kind: string }[];
}

export interface Curve {
  name: string;
  problem: string | null;
  points: Record<string, number>[];
  total: number;
}

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
    get<{ run: RunMeta; summary: Summary | null }>(`api/summary?problem=${encodeURIComponent(problem)}${run ? `&run=${encodeURIComponent(run)}` : ''}`),
  curves: (problem: string) => get<Curve[]>(`api/curves?problem=${encodeURIComponent(problem)}`),
};
