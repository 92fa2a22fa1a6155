/**
 * The results store's file: its schema, and opening it with errors a user can act on. An
 * existing file is inspected before anything writes to it (see ResultsStore.open).
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { SelfoptError, errorMessage } from '../core/errors.js';

/** Written into the store's `selfopt_store` table; a newer selfopt may raise it, never lower it. */
export const STORE_FORMAT = 'selfopt-results';
export const SCHEMA_VERSION = 1;

export const RUN_COLUMNS = ['run_id', 'started_at', 'command', 'grid_hash', 'code_version', 'machine', 'options', 'finished_at'];
export const RESULT_COLUMNS = [
  'run_id', 'problem', 'instance', 'solver', 'seed', 'metric', 'value', 'unit', 'better', 'solver_kind',
  'instance_split', 'wall_ms', 'code_version', 'machine', 'config_hash', 'created_at',
];

export const SCHEMA = `
CREATE TABLE selfopt_store (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
  run_id TEXT PRIMARY KEY,
  started_at TIMESTAMP NOT NULL,
  command TEXT NOT NULL,
  grid_hash TEXT NOT NULL,
  code_version TEXT NOT NULL,
  machine TEXT NOT NULL,
  options TEXT NOT NULL,
  finished_at TIMESTAMP
);
CREATE TABLE results (
  run_id TEXT NOT NULL,
  problem TEXT NOT NULL,
  instance TEXT NOT NULL,
  solver TEXT NOT NULL,
  seed BIGINT NOT NULL,
  metric TEXT NOT NULL,
  value DOUBLE NOT NULL,
  unit TEXT NOT NULL,
  better TEXT NOT NULL,
  solver_kind TEXT NOT NULL,
  instance_split TEXT NOT NULL,
  wall_ms DOUBLE NOT NULL,
  code_version TEXT NOT NULL,
  machine TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  created_at TIMESTAMP NOT NULL,
  PRIMARY KEY (run_id, problem, instance, solver, seed, metric)
);
INSERT INTO selfopt_store VALUES ('format', '${STORE_FORMAT}'), ('schema_version', '${SCHEMA_VERSION}');
`;

export const MOVE_AWAY = 'move the file away (nothing in it was changed) or pass --store with another path';

export type SchemaState = 'ours' | 'empty' | 'foreign';

export async function connect(path: string, readOnly: boolean): Promise<{ instance: DuckDBInstance; conn: DuckDBConnection }> {
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(path, readOnly ? { access_mode: 'READ_ONLY' } : {});
  } catch (e) {
    throw openError(e, path);
  }
  try {
    return { instance, conn: await instance.connect() };
  } catch (e) {
    instance.closeSync();
    throw openError(e, path);
  }
}

/**
 * The file at the store's path cannot be read as a store (not DuckDB, another program's database,
 * another DuckDB version): the dashboard answers 500 `store_unreadable`, not 404 as for a name.
 */
export class StoreUnreadableError extends SelfoptError {}

export function notOurs(path: string): SelfoptError {
  return new StoreUnreadableError('this DuckDB database is not a selfopt results store (it holds other tables)', path, `a selfopt results store; ${MOVE_AWAY}`);
}

export function close(instance: DuckDBInstance, conn: DuckDBConnection): void {
  conn.closeSync();
  instance.closeSync();
}

/**
 * The store is held by another process (DuckDB's lock on the file): not a wrong input but a wait,
 * so a caller can tell it apart (the dashboard answers 503 `store_busy`, not 404).
 */
export class StoreBusyError extends SelfoptError {}

/** Turns DuckDB's open failures into errors a user can act on. */
export function openError(e: unknown, path: string): SelfoptError {
  const msg = errorMessage(e);
  if (/not a valid DuckDB database file/i.test(msg)) {
    return new StoreUnreadableError('the file is not a DuckDB database (corrupt, or another kind of file)', path, `a selfopt results store; ${MOVE_AWAY}`);
  }
  if (/Could not set lock on file/i.test(msg)) {
    const pid = /PID (\d+)/.exec(msg)?.[1];
    const who = pid ? ` (PID ${pid})` : '';
    return new StoreBusyError(`the results store is in use by another process${who}`, path, 'one selfopt process per store at a time: wait for it to finish, or pass --store with another path');
  }
  if (/version|serializ/i.test(msg)) {
    return new StoreUnreadableError(`the file was written by an incompatible DuckDB version (${firstLine(msg)})`, path, `a results store of this DuckDB version (${MOVE_AWAY})`);
  }
  return new StoreUnreadableError(`cannot open the results store: ${firstLine(msg)}`, path, 'a readable and writable selfopt results store (DuckDB file)');
}

/**
 * What the store's stamp and columns are, in one query (the common case: a store of ours). It
 * fails when one of its tables is missing, and inspect then lists the tables. The check was four
 * queries, one of them over information_schema.columns, which lists every column of every
 * catalog, DuckDB's own included: with it, opening a store took twice as long (open, check and
 * close 2.2 times open and close; now 1.2).
 */
const STAMP_AND_COLUMNS = `SELECT 'stamp' AS of, key AS name, value FROM selfopt_store
  UNION ALL SELECT 'runs', name, NULL FROM pragma_table_info('runs')
  UNION ALL SELECT 'results', name, NULL FROM pragma_table_info('results')`;

/**
 * Whether the database at `path` is a selfopt results store ('ours'), holds nothing yet ('empty'),
 * or holds other tables ('foreign'). A store of a newer schema version, one lacking columns, or
 * one that cannot be read is one SelfoptError.
 */
export async function inspect(conn: DuckDBConnection, path: string): Promise<SchemaState> {
  try {
    let found: Record<string, unknown>[];
    try {
      found = (await conn.runAndReadAll(STAMP_AND_COLUMNS)).getRowObjectsJS();
    } catch (e) {
      const tables = (await conn.runAndReadAll(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'",
      )).getRowObjectsJS().map((r) => String(r.table_name));
      if (tables.length === 0) return 'empty';
      if (!tables.includes('selfopt_store') || !tables.includes('runs') || !tables.includes('results')) return 'foreign';
      throw e; // our tables are there, and unreadable
    }
    const marks = new Map(found.filter((r) => r.of === 'stamp').map((r) => [String(r.name), String(r.value)]));
    if (marks.get('format') !== STORE_FORMAT) return 'foreign';
    const version = Number(marks.get('schema_version'));
    if (!(version >= 1)) return 'foreign';
    if (version > SCHEMA_VERSION) {
      throw new SelfoptError(`the results store has schema version ${version}, written by a newer selfopt`, path, `schema version ${SCHEMA_VERSION} or lower (update selfopt, or pass --store with another path)`);
    }
    const has = (t: string, c: string) => found.some((r) => r.of === t && r.name === c);
    const missing = [...RUN_COLUMNS.filter((c) => !has('runs', c)).map((c) => `runs.${c}`), ...RESULT_COLUMNS.filter((c) => !has('results', c)).map((c) => `results.${c}`)];
    if (missing.length > 0) {
      throw new SelfoptError(`the results store lacks columns ${missing.join(', ')}`, path, `a selfopt results store of schema version ${SCHEMA_VERSION}; ${MOVE_AWAY}`);
    }
    return 'ours';
  } catch (e) {
    if (e instanceof SelfoptError) throw e;
    // A valid header over damaged blocks fails here rather than at open.
    throw new SelfoptError(`the results store cannot be read (${firstLine(errorMessage(e))})`, path, `a readable selfopt results store; ${MOVE_AWAY}`);
  }
}

export function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}
