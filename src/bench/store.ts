/**
 * The results store: one DuckDB file (default `.selfopt/results.duckdb`) holding every run and
 * one row per (run, problem, instance, solver, seed, metric).
 *
 * Guarantees:
 * - A cell is written in one statement (one transaction): all its metric rows land together or
 *   none do. DuckDB appends a committed transaction to its write-ahead log before `insertCell`
 *   resolves, so a killed process keeps every cell it was told was written.
 * - Rows are checked at the boundary (finite values, known directions, non-empty names); a bad
 *   row rejects its whole cell with a message naming the cell and the metric.
 * - A file that is not a selfopt store (random bytes, a text file, another program's DuckDB
 *   database) is never written to: an existing file is first inspected read-only, and opening
 *   fails with a SelfoptError saying what to do.
 * - One process writes a store at a time (its writer lock, `<store>.wlock`); a second one waits
 *   up to BUSY_WAIT_MS, then gets a SelfoptError naming the holder. A writer holds DuckDB's own
 *   lock only while it has statements to run, so readers (the dashboard, `selfopt report`) can
 *   read a store a bench is writing (store-lease.ts). One ResultsStore per file per process,
 *   too: DuckDB's lock does not stop two handles inside one process, which would corrupt the file.
 */
import { DOUBLE, type DuckDBConnection, type DuckDBInstance, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { SelfoptError, errorMessage } from '../core/errors.js';
import { fileInTheWay } from '../core/files.js';
import type { Better, SolverKind } from '../core/problem.js';
import { codeVersion, machineInfo } from '../core/version.js';
import { close, inspect, notOurs, RESULT_COLUMNS, SCHEMA, type SchemaState } from './store-file.js';
import { connectWaiting, Lease } from './store-lease.js';
import { dropWriterLock, takeWriterLock } from './store-lock.js';
import { cellKey, DEFAULT_STORE_PATH, describeCell, inlineParams, nonEmpty, parseOptions, sqlString, validateCell, whereClause, type ResultRow, type RowFilter } from './store-rows.js';

export { SCHEMA_VERSION, STORE_FORMAT, StoreBusyError, StoreUnreadableError } from './store-file.js';
export { BUSY_WAIT_MS } from './store-lock.js';
export { cellKey, DEFAULT_STORE_PATH } from './store-rows.js';

export interface RunMeta {
  runId: string;
  /** ISO 8601, UTC. */
  startedAt: string;
  /** null while the run is going on, or when it was killed. */
  finishedAt: string | null;
  command: string;
  gridHash: string;
  codeVersion: string;
  machine: string;
  options: Record<string, unknown>;
  /** Problems with at least one recorded cell in this run, sorted. */
  problems: string[];
  /** Recorded cells (problem, instance, solver, seed) in this run. */
  cells: number;
}

export interface NewRun {
  command: string;
  gridHash: string;
  /** Default: this checkout's `codeVersion()`. */
  codeVersion?: string;
  /** Default: `machineInfo()`. */
  machine?: string;
  /** Stored as JSON; `undefined` members are dropped. */
  options?: Record<string, unknown>;
  startedAt?: Date;
}

export type { ResultRow, RowFilter } from './store-rows.js';

export interface OpenOptions {
  /** Fail instead of creating a new store when the file is missing (for `report`, `results`). */
  mustExist?: boolean;
  /** Open without a write lock; writes then fail. Implies mustExist. */
  readOnly?: boolean;
}

/** A run id: UTC time to the millisecond then 4 random hex digits, so ids sort by start time. */
export function newRunId(at: Date = new Date()): string {
  const t = at.toISOString().replace(/[-:]/g, '').replace('.', ''); // 20240102T030405678Z
  return `${t}-${randomBytes(2).toString('hex')}`;
}


/**
 * How each column of a results row is bound: value and wall_ms as DOUBLE. Left to the driver, an
 * integral number is bound as BIGINT, and one past 2^63 (a makespan of 1e20 s) failed the insert
 * with a raw driver error. The others as the driver infers them.
 */
const ROW_TYPES = RESULT_COLUMNS.map((c) => (c === 'value' || c === 'wall_ms' ? DOUBLE : undefined)) as DuckDBType[];

/** Real paths of the stores open in this process. */
const openHere = new Set<string>();

export class ResultsStore {
  private queue: Promise<unknown> = Promise.resolve();
  /** Statements queued or running: the lease lets the file go only when none are. */
  private pending = 0;
  /** The connection of the statement running now (set by `serial`). */
  private conn!: DuckDBConnection;
  private readonly runCache = new Map<string, { codeVersion: string; machine: string }>();
  /** Set when close() is called: later statements are refused. */
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly path: string,
    readonly readOnly: boolean,
    private readonly lease: Lease,
    private readonly key: string,
    /** The writer lock's file; null for a reader. */
    private readonly writerLock: string | null,
  ) {}

  /** Opens (or creates, with its directory) the store at `path`. */
  static async open(path: string = DEFAULT_STORE_PATH, opts: OpenOptions = {}): Promise<ResultsStore> {
    const abs = resolve(path);
    const readOnly = opts.readOnly === true;
    const exists = existsSync(abs);
    if (!exists && (opts.mustExist || readOnly)) {
      throw new SelfoptError('no results store here yet', abs, 'a results store written by `selfopt bench` (run a benchmark first, or pass --store)');
    }
    if (!exists) {
      // A path under a file (`--store notes.txt/r.duckdb`) was mkdir's stack trace (EEXIST).
      const file = fileInTheWay(abs);
      if (file) throw new SelfoptError(`the store's path is under ${file}, a file`, abs, 'a results store path in a directory (made if missing)');
      try {
        mkdirSync(dirname(abs), { recursive: true });
      } catch (e) {
        // A directory this user cannot write (EACCES).
        throw new SelfoptError(`cannot create the store's directory ${dirname(abs)} (${errorMessage(e).replace(/,.*$/s, '')})`, abs, 'a --store path whose directories are directories this user can write');
      }
    }
    // The real path: two names (symlinks) of one store share one writer lock.
    const real = exists ? realpathSync(abs) : abs;
    if (openHere.has(real)) {
      throw new SelfoptError('the results store is already open in this process', abs, 'one open handle per store file; close the first one');
    }

    // A writer first takes the writer lock: another bench writing this store is refused here,
    // even while it has let DuckDB's lock go between cells (see store-lock.ts, store-lease.ts).
    const lock = readOnly ? null : await takeWriterLock(real);
    try {
      return await ResultsStore.openFile(abs, exists, readOnly, lock, opts);
    } catch (e) {
      if (lock) dropWriterLock(lock);
      throw e;
    }
  }

  private static async openFile(abs: string, exists: boolean, readOnly: boolean, lock: string | null, opts: OpenOptions): Promise<ResultsStore> {
    // An existing file is inspected read-only first, so that a file which is not ours is never written.
    // Readers wait too: a writing bench lets the file go between cells.
    const open = (ro: boolean) => connectWaiting(abs, ro);
    if (exists) {
      const ro = await open(true);
      let state: SchemaState;
      try {
        state = await inspect(ro.conn, abs);
        if (state === 'foreign') throw notOurs(abs);
        if (state === 'empty' && (opts.mustExist || readOnly)) throw new SelfoptError('this DuckDB database holds no results yet', abs, 'a results store written by `selfopt bench`');
      } catch (e) {
        close(ro.instance, ro.conn);
        throw e;
      }
      if (readOnly) return ResultsStore.register(abs, ro, null);
      close(ro.instance, ro.conn);
    }

    const rw = await open(false);
    try {
      // Checked again under the write lock: another process may have created the schema meanwhile.
      const state = await inspect(rw.conn, abs);
      if (state === 'foreign') throw notOurs(abs);
      if (state === 'empty') await rw.conn.run(`BEGIN TRANSACTION; ${SCHEMA} COMMIT;`);
    } catch (e) {
      close(rw.instance, rw.conn);
      throw e;
    }
    return ResultsStore.register(abs, rw, lock);
  }

  private static register(abs: string, h: { instance: DuckDBInstance; conn: DuckDBConnection }, lock: string | null): ResultsStore {
    const key = realpathSync(abs);
    openHere.add(key);
    const store = new ResultsStore(abs, lock === null, new Lease(abs, h, lock !== null), key, lock);
    store.lease.idle();
    return store;
  }

  /** Records a new run and returns its id. */
  startRun(meta: NewRun): Promise<string> {
    return this.serial(async () => {
      this.writable();
      nonEmpty(meta.command, 'command', 'startRun');
      nonEmpty(meta.gridHash, 'gridHash', 'startRun');
      const startedAt = meta.startedAt ?? new Date();
      const runId = newRunId(startedAt);
      const version = meta.codeVersion ?? codeVersion();
      const machine = meta.machine ?? machineInfo();
      const options = JSON.stringify(meta.options ?? {}) ?? '{}';
      await this.conn.run('INSERT INTO runs VALUES (?, CAST(? AS TIMESTAMP), ?, ?, ?, ?, ?, NULL)', [
        runId, startedAt.toISOString(), meta.command, meta.gridHash, version, machine, options,
      ]);
      this.runCache.set(runId, { codeVersion: version, machine });
      return runId;
    });
  }

  /** Marks a run finished (a resumed run that completes is finished then). */
  finishRun(runId: string, at: Date = new Date()): Promise<void> {
    return this.serial(async () => {
      this.writable();
      await this.requireRun(runId, 'finishRun');
      await this.conn.run('UPDATE runs SET finished_at = CAST(? AS TIMESTAMP) WHERE run_id = ?', [at.toISOString(), runId]);
    });
  }

  /** The most recent run, or the most recent one with results for `problem`. */
  async latestRun(problem?: string): Promise<RunMeta | undefined> {
    const where = problem === undefined ? '' : 'WHERE run_id IN (SELECT DISTINCT run_id FROM results WHERE problem = ?)';
    const runs = await this.queryRuns(`${where} ORDER BY started_at DESC, run_id DESC LIMIT 1`, problem === undefined ? [] : [problem]);
    return runs[0];
  }

  /** The most recent run of the same grid, finished or not: the run `--resume` continues. */
  async findResumable(gridHash: string): Promise<RunMeta | undefined> {
    const runs = await this.queryRuns('WHERE grid_hash = ? ORDER BY started_at DESC, run_id DESC LIMIT 1', [gridHash]);
    return runs[0];
  }

  /** Every run, oldest first. */
  runs(): Promise<RunMeta[]> {
    return this.queryRuns('ORDER BY started_at, run_id', []);
  }

  /** The cells of a run already recorded, as `cellKey`s. */
  async doneCells(runId: string): Promise<Set<string>> {
    const rows = await this.query('SELECT DISTINCT problem, instance, solver, seed FROM results WHERE run_id = ?', [runId]);
    return new Set(rows.map((r) => cellKey(String(r.problem), String(r.instance), String(r.solver), Number(r.seed))));
  }

  /** The config hash each recorded cell of a run was recorded with, by `cellKey`. */
  async cellConfigHashes(runId: string): Promise<Map<string, string>> {
    const rows = await this.query('SELECT DISTINCT problem, instance, solver, seed, config_hash FROM results WHERE run_id = ?', [runId]);
    return new Map(rows.map((r) => [cellKey(String(r.problem), String(r.instance), String(r.solver), Number(r.seed)), String(r.config_hash)]));
  }

  /**
   * Writes all metric rows of one cell in one transaction. Every row must belong to the same
   * (run, problem, instance, solver, seed), to a run of this store, and carry a finite value;
   * otherwise nothing of the cell is written and a SelfoptError names the cell and metric.
   */
  insertCell(rows: readonly ResultRow[]): Promise<void> {
    return this.serial(async () => {
      this.writable();
      validateCell(rows);
      const first = rows[0]!;
      const run = await this.requireRun(first.runId, `cell ${describeCell(first)}`);
      const now = new Date().toISOString();
      const params: DuckDBValue[] = [];
      for (const r of rows) {
        params.push(
          r.runId, r.problem, r.instance, r.solver, r.seed, r.metric, r.value, r.unit, r.better, r.solverKind,
          r.instanceSplit, r.wallMs, r.codeVersion || run.codeVersion, r.machine || run.machine, r.configHash, r.createdAt ?? now,
        );
      }
      const types = rows.flatMap(() => ROW_TYPES);
      const tuple = `(${RESULT_COLUMNS.map((c) => (c === 'created_at' ? 'CAST(? AS TIMESTAMP)' : '?')).join(', ')})`;
      const sql = `INSERT INTO results (${RESULT_COLUMNS.join(', ')}) VALUES ${rows.map(() => tuple).join(', ')}`;
      try {
        await this.conn.run(sql, params, types);
      } catch (e) {
        const msg = errorMessage(e);
        if (/constraint|duplicate key/i.test(msg)) {
          throw new SelfoptError(`cell ${describeCell(first)} is already recorded in run ${first.runId}`, this.path, 'each cell written once per run (resume skips recorded cells)');
        }
        throw e;
      }
    });
  }

  /** Result rows, ordered by run, problem, instance, solver, seed, metric. */
  async rows(filter: RowFilter = {}): Promise<ResultRow[]> {
    const { where, params } = whereClause(filter);
    const rows = await this.query(
      `SELECT ${RESULT_COLUMNS.filter((c) => c !== 'created_at').join(', ')}, epoch_ms(created_at) AS created_ms
       FROM results ${where} ORDER BY run_id, problem, instance, solver, seed, metric`,
      params,
    );
    return rows.map((r) => ({
      runId: String(r.run_id),
      problem: String(r.problem),
      instance: String(r.instance),
      solver: String(r.solver),
      seed: Number(r.seed),
      metric: String(r.metric),
      value: Number(r.value),
      unit: String(r.unit),
      better: String(r.better) as Better,
      solverKind: String(r.solver_kind) as SolverKind,
      instanceSplit: String(r.instance_split) as 'train' | 'test',
      wallMs: Number(r.wall_ms),
      codeVersion: String(r.code_version),
      machine: String(r.machine),
      configHash: String(r.config_hash),
      createdAt: new Date(Number(r.created_ms)).toISOString(),
    }));
  }

  /**
   * A digest of the rows `rows(filter)` returns, made inside DuckDB, so that a reader can tell
   * whether they changed without reading them: the count and the sum of each row's hash of every
   * column. A row added, removed or changed gives another digest, unless its hash collides (64
   * bits a row). Reading partition's 5,000 rows into JS and hashing them was most of the time of
   * a re-read of an unchanged summary.
   */
  async rowsDigest(filter: RowFilter = {}): Promise<string> {
    const { where, params } = whereClause(filter);
    const [r] = await this.query(`SELECT count(*) AS n, sum(hash(${RESULT_COLUMNS.join(', ')}))::VARCHAR AS h FROM results ${where}`, params);
    return `${String(r!.n)}:${String(r!.h)}`;
  }

  /**
   * Exports result rows (all columns of `results`) with DuckDB's COPY, to a temp file beside
   * `path` that is then renamed over it, so a reader never sees half a file. Returns the row count.
   */
  exportTo(format: 'parquet' | 'csv', path: string, filter: RowFilter = {}): Promise<number> {
    return this.serial(async () => {
      if (format !== 'parquet' && format !== 'csv') throw new SelfoptError(`unknown export format '${String(format)}'`, 'exportTo', 'parquet or csv');
      const out = resolve(path);
      if (existsSync(out) && statSync(out).isDirectory()) throw new SelfoptError('the output path is a directory', out, 'a file path for the export (e.g. results.csv inside it)');
      const file = fileInTheWay(out);
      if (file) throw new SelfoptError(`the output path is under ${file}, a file`, out, 'a file path for the export, in a directory (made if missing)');
      mkdirSync(dirname(out), { recursive: true });
      const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      const { where, params } = whereClause(filter);
      // COPY takes no bound parameters: the filter is inlined as quoted literals.
      const inlined = inlineParams(where, params);
      const opts = format === 'parquet' ? '(FORMAT parquet)' : '(FORMAT csv, HEADER true)';
      try {
        const res = await this.conn.run(
          `COPY (SELECT * FROM results ${inlined} ORDER BY run_id, problem, instance, solver, seed, metric) TO ${sqlString(tmp)} ${opts}`,
        );
        const n = Number(res.rowsChanged);
        renameSync(tmp, out);
        return n;
      } catch (e) {
        rmSync(tmp, { force: true });
        throw e;
      }
    });
  }

  /**
   * Waits for the statements already asked for, checkpoints and releases the file. A statement
   * asked for once close has begun is refused: run after it, it took DuckDB's lock back and kept
   * it (no idle release on a closed store), shutting readers out. Safe to call twice.
   */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= this.queue.catch(() => undefined).then(() => {
      openHere.delete(this.key);
      this.lease.release();
      if (this.writerLock) dropWriterLock(this.writerLock);
    });
    return this.closing;
  }

  /** Whether this store holds DuckDB's lock on its file now (a writer lets it go when idle). */
  get holdingFile(): boolean {
    return this.lease.holding;
  }

  // --- internals -------------------------------------------------------------------------

  /** One statement at a time on the one connection: callers may fire cells concurrently. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new SelfoptError('the results store is closed', this.path, 'an open store'));
    this.pending++;
    const next = this.queue.then(async () => {
      this.conn = await this.lease.conn();
      return fn();
    }).finally(() => {
      if (--this.pending === 0 && !this.closed) this.lease.idle();
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private writable(): void {
    if (this.readOnly) throw new SelfoptError('the results store was opened read-only', this.path, 'a store opened for writing');
  }

  private async requireRun(runId: string, where: string): Promise<{ codeVersion: string; machine: string }> {
    const cached = this.runCache.get(runId);
    if (cached) return cached;
    const rows = await this.read('SELECT code_version, machine FROM runs WHERE run_id = ?', [runId]);
    if (rows.length === 0) throw new SelfoptError(`unknown run id '${runId}'`, `${this.path}, ${where}`, 'a run started with startRun in this store');
    const run = { codeVersion: String(rows[0]!.code_version), machine: String(rows[0]!.machine) };
    this.runCache.set(runId, run);
    return run;
  }

  /** A read in the queue. */
  private query(sql: string, params: DuckDBValue[]): Promise<Record<string, unknown>[]> {
    return this.serial(() => this.read(sql, params));
  }

  /** A read for code already running in the queue (calling `query` there would wait on itself). */
  private async read(sql: string, params: DuckDBValue[]): Promise<Record<string, unknown>[]> {
    return (await this.conn.runAndReadAll(sql, params)).getRowObjectsJS();
  }

  private queryRuns(tail: string, params: DuckDBValue[]): Promise<RunMeta[]> {
    return this.serial(() => this.readRuns(tail, params));
  }

  private async readRuns(tail: string, params: DuckDBValue[]): Promise<RunMeta[]> {
    const rows = await this.read(
      `SELECT run_id, epoch_ms(started_at) AS started_ms, epoch_ms(finished_at) AS finished_ms, command, grid_hash, code_version, machine, options
       FROM runs ${tail}`,
      params,
    );
    if (rows.length === 0) return [];
    const ids = rows.map((r) => String(r.run_id));
    const counts = await this.read(
      `SELECT run_id, problem, count(*) AS cells FROM (SELECT DISTINCT run_id, problem, instance, solver, seed FROM results WHERE run_id IN (${ids.map(() => '?').join(', ')}))
       GROUP BY run_id, problem ORDER BY problem`,
      ids,
    );
    return rows.map((r) => {
      const mine = counts.filter((c) => c.run_id === r.run_id);
      return {
        runId: String(r.run_id),
        startedAt: new Date(Number(r.started_ms)).toISOString(),
        finishedAt: r.finished_ms === null ? null : new Date(Number(r.finished_ms)).toISOString(),
        command: String(r.command),
        gridHash: String(r.grid_hash),
        codeVersion: String(r.code_version),
        machine: String(r.machine),
        options: parseOptions(String(r.options)),
        problems: mine.map((c) => String(c.problem)),
        cells: mine.reduce((s, c) => s + Number(c.cells), 0),
      };
    });
  }
}
