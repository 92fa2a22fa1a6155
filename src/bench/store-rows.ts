/**
 * The rows of the results store: their shape, the checks a cell passes before it is written (a
 * bad row rejects its whole cell, naming the cell and the metric), and the SQL the queries share.
 * Also the names that code which never opens a store uses (the default path, a cell's key): here,
 * apart from store.ts, importing them does not load DuckDB's native module (~0.35 s at each
 * start of `selfopt worker`, which never opens a store).
 */
import { SelfoptError } from '../core/errors.js';
import type { Better, SolverKind } from '../core/problem.js';

export const DEFAULT_STORE_PATH = '.selfopt/results.duckdb';

/** The identity of a cell, as `doneCells` returns it: unambiguous whatever the names contain. */
export function cellKey(problem: string, instance: string, solver: string, seed: number): string {
  return JSON.stringify([problem, instance, solver, seed]);
}

export interface ResultRow {
  runId: string;
  problem: string;
  instance: string;
  solver: string;
  seed: number;
  metric: string;
  value: number;
  unit: string;
  better: Better;
  solverKind: SolverKind;
  instanceSplit: 'train' | 'test';
  /** Wall time of the whole cell, ms (the same on every metric row of a cell). */
  wallMs: number;
  /** Empty means: the run's code version. */
  codeVersion: string;
  /** Empty means: the run's machine. */
  machine: string;
  configHash: string;
  /** ISO 8601, UTC; filled in by `insertCell` when absent. */
  createdAt?: string;
}

export interface RowFilter {
  runId?: string | string[];
  problem?: string;
}

const SOLVER_KINDS: readonly string[] = ['baseline', 'heuristic', 'peer', 'learned'];
const SPLITS: readonly string[] = ['train', 'test'];
const BETTER: readonly string[] = ['lower', 'higher'];

export function describeCell(r: Pick<ResultRow, 'problem' | 'instance' | 'solver' | 'seed'>): string {
  return `${r.problem}/${r.instance}/${r.solver}/seed ${r.seed}`;
}

export function nonEmpty(v: unknown, field: string, where: string): void {
  if (typeof v !== 'string' || v.length === 0) throw new SelfoptError(`${field} is ${JSON.stringify(v) ?? 'undefined'}`, where, `a non-empty string for ${field}`);
}

export function validateCell(rows: readonly ResultRow[]): void {
  if (rows.length === 0) throw new SelfoptError('a cell with no metric rows', 'insertCell', 'at least one metric row per cell');
  const first = rows[0]!;
  const cellWhere = `cell ${describeCell(first)}`;
  for (const f of ['runId', 'problem', 'instance', 'solver'] as const) nonEmpty(first[f], f, cellWhere);
  if (!Number.isSafeInteger(first.seed)) throw new SelfoptError(`seed is ${first.seed}`, cellWhere, 'an integer seed');
  const seen = new Set<string>();
  for (const r of rows) {
    const where = `${cellWhere}, metric '${r.metric}'`;
    for (const f of ['runId', 'problem', 'instance', 'solver', 'seed'] as const) {
      if (r[f] !== first[f]) throw new SelfoptError(`row has ${f} ${JSON.stringify(r[f])}, the cell's first row ${JSON.stringify(first[f])}`, where, 'every row of a cell to share run, problem, instance, solver and seed');
    }
    nonEmpty(r.metric, 'metric', cellWhere);
    if (seen.has(r.metric)) throw new SelfoptError(`metric '${r.metric}' appears twice`, cellWhere, 'one row per metric in a cell');
    seen.add(r.metric);
    if (typeof r.value !== 'number' || !Number.isFinite(r.value)) throw new SelfoptError(`value is ${String(r.value)}`, where, 'a finite number; nothing of this cell was written');
    if (typeof r.wallMs !== 'number' || !Number.isFinite(r.wallMs) || r.wallMs < 0) throw new SelfoptError(`wallMs is ${String(r.wallMs)}`, where, 'a finite, non-negative wall time in ms');
    if (typeof r.unit !== 'string') throw new SelfoptError(`unit is ${String(r.unit)}`, where, 'a unit string (may be empty)');
    if (!BETTER.includes(r.better)) throw new SelfoptError(`better is ${JSON.stringify(r.better)}`, where, "'lower' or 'higher'");
    if (!SOLVER_KINDS.includes(r.solverKind)) throw new SelfoptError(`solverKind is ${JSON.stringify(r.solverKind)}`, where, SOLVER_KINDS.join(', '));
    if (!SPLITS.includes(r.instanceSplit)) throw new SelfoptError(`instanceSplit is ${JSON.stringify(r.instanceSplit)}`, where, "'train' or 'test'");
    nonEmpty(r.configHash, 'configHash', where);
    if (typeof r.codeVersion !== 'string' || typeof r.machine !== 'string') throw new SelfoptError('codeVersion or machine is not a string', where, 'strings (empty means: the run\'s)');
    if (r.createdAt !== undefined && Number.isNaN(Date.parse(r.createdAt))) throw new SelfoptError(`createdAt is ${JSON.stringify(r.createdAt)}`, where, 'an ISO 8601 time');
  }
}

export function whereClause(filter: RowFilter): { where: string; params: string[] } {
  const parts: string[] = [];
  const params: string[] = [];
  if (filter.runId !== undefined) {
    const ids = Array.isArray(filter.runId) ? filter.runId : [filter.runId];
    if (ids.length === 0) parts.push('FALSE');
    else {
      parts.push(`run_id IN (${ids.map(() => '?').join(', ')})`);
      params.push(...ids);
    }
  }
  if (filter.problem !== undefined) {
    parts.push('problem = ?');
    params.push(filter.problem);
  }
  return { where: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', params };
}

export function inlineParams(sql: string, params: string[]): string {
  let i = 0;
  return sql.replace(/\?/g, () => sqlString(params[i++]!));
}

export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export function parseOptions(s: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(s);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
  } catch {
    return { raw: s };
  }
}
