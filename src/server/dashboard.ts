/**
 * The dashboard side of `selfopt serve`: the built web app (dist/web, made by `vite build web`
 * during `npm ci`) and a read-only JSON API over the results store and the training logs.
 *
 *   GET /                          the dashboard
 *   GET /api/problems              every problem: title, metrics, solvers, baseline
 *   GET /api/runs                  every recorded run (id, command, times, problems, cells); none
 *                                  while there is no store yet
 *   GET /api/summary?problem=P[&run=ID]
 *                                  {run, summary, pictures}: the summary `selfopt report --json`
 *                                  prints (means with 95% CIs, learned-vs-best-heuristic ratios)
 *                                  of run ID, or of the latest run that recorded P, and the list
 *                                  of the run's drawings of P's solutions (seed 1, as the HTML
 *                                  report): {instance, solver, bytes} each, not the drawings
 *   GET /api/picture?run=ID&problem=P&instance=I&solver=S
 *                                  one drawing, image/svg+xml
 *   GET /api/curves[?problem=P]    {curves, leftOut}: every `<train dir>/<name>/curve.jsonl`,
 *                                  then the shipped checkpoints' (`checkpoints/<problem>/`); and
 *                                  each checkpoint record whose curve is not shown, with why
 *                                  ({record, reason})
 *   GET /api/store                 {path, exists, isDefault}: the store this server reads (its
 *                                  absolute path), whether the file exists yet, and whether it is
 *                                  the default (.selfopt/results.duckdb in the server's directory),
 *                                  so the page can say which store holds no runs
 *
 * The store is opened read-only for each request and closed after it, so a `selfopt bench`
 * can write to it between requests (DuckDB lets one process hold the file while it writes); a
 * bench lets the file go between cells (bench/store-lease.ts), so a request waits at most a
 * moment. A handle kept between requests would save the open (on a full partition run's store,
 * loaded machine: ~43 ms to open, ~39 ms to check the schema, ~9 ms to close, of the ~150 ms of a
 * /api/runs), but DuckDB lets no process write a file any reader holds open: it would shut the
 * bench out, and a page asks for the store at most twice a 10 s (runs, then a changed run's
 * summary). Requests are served one at a time (one open handle per file per process); a picture,
 * a file beside the store, is served at once. A HEAD request is answered as GET, without the body.
 *
 * An error is {error: {code, message}}: 400 `bad_request` (a required parameter missing or
 * malformed), 404 `not_found` (no such problem, run, picture, API or store), 503 `store_busy` (a process that is not
 * selfopt has held the store for BUSY_WAIT_MS: try again later), 500 `store_unreadable` (the store's file is not a store of this
 * DuckDB version) or `internal` (a bug).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, normalize, resolve, sep } from 'node:path';
import { SelfoptError, errorMessage } from '../core/errors.js';
import { PROJECT_ROOT } from '../core/version.js';
import { trainRunName } from '../core/train.js';
import { getProblem, problems } from '../problems/all.js';
import { describeProblem } from '../core/problem.js';
import { DEFAULT_STORE_PATH, ResultsStore, StoreBusyError, StoreUnreadableError } from '../bench/store.js';
import { summarizeProblem, type EstimateMemo } from '../bench/summary.js';
import { listPictures, readPicture } from '../bench/pictures.js';

/** A request the API cannot answer as asked (a required parameter missing): 400, not 404. */
class BadRequest extends SelfoptError {}

export interface DashboardOptions {
  /** The results store (DuckDB file). */
  store: string;
  /** Directory holding one folder per training run, each with a curve.jsonl. */
  trainDir: string;
  /** The shipped checkpoints (`<problem>/<solver>.json` beside a curve); default <project>/checkpoints. */
  checkpointsDir?: string;
  /** The built web app; default <project>/dist/web. */
  webDir?: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
  '.png': 'image/png',
};

/** Summaries kept for re-use: the page asks for the same run again and again while it is open. */
const SUMMARY_MEMO = 16;
/** Bootstrap estimates kept across summaries (a run's groups: about 1,300 for partition's test split); past this the memo starts again. */
const ESTIMATE_MEMO = 50_000;

/** An API answer with headers of its own. */
class Reply {
  constructor(readonly body: unknown, readonly headers: Record<string, string>) {}
}

/**
 * A drawing's headers. It is the problem's own SVG: opened as a page of its own, it may run no
 * script and load nothing (the dashboard inlines it, and its own page's policy holds there).
 */
const PICTURE_HEADERS = {
  'content-type': 'image/svg+xml; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
};

/** What a run id may be (newRunId's UTC time and hex digits): it names a folder of pictures. */
const RUN_ID = /^[0-9A-Za-z][0-9A-Za-z._-]*$/;

/** At most this many points of one curve are sent; longer curves are thinned evenly. */
const MAX_CURVE_POINTS = 2000;

export interface CurvePoint {
  [key: string]: number;
}

export interface Curve {
  /** The training run's folder name, e.g. `scheduling-decima-seed1`; a shipped checkpoint's run is named alike. */
  name: string;
  /** The run that made a shipped checkpoint: `checkpoints/<problem>/<file>` (its .json names the curve). */
  shipped?: string;
  problem: string | null;
  points: CurvePoint[];
  /** Points in the file (before thinning). */
  total: number;
}

export function defaultWebDir(): string {
  return join(PROJECT_ROOT, 'dist', 'web');
}

export class Dashboard {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly webDir: string;
  /** Summaries by their run, problem and the store's digest of its rows, least recently used first. */
  private readonly summaries = new Map<string, unknown>();
  /**
   * Bootstrap estimates by their values: while a bench writes the run on screen, each new cell
   * changed the rows, and the whole run was bootstrapped again (2.5 s for partition's 5,000 rows,
   * the server deaf meanwhile) every 10 s; now only the groups the new cell changed are.
   */
  private readonly estimates: EstimateMemo = new Map();

  constructor(private readonly opts: DashboardOptions) {
    this.webDir = resolve(opts.webDir ?? defaultWebDir());
  }

  /** Handles GET and HEAD requests outside the protocol; `authed` says whether the token (if any) was given. */
  handle(req: IncomingMessage, res: ServerResponse, authed: boolean): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/api/')) {
      if (!authed) return json(res, 401, { error: { code: 'unauthorized', message: 'this server wants a bearer token (Authorization: Bearer <token>)' } });
      // A picture is a file beside the store, not a read of it: it need not wait behind a summary.
      if (url.pathname === '/api/picture') {
        let svg: string;
        try {
          svg = this.picture(url);
        } catch (e) {
          return failed(res, e);
        }
        res.writeHead(200, { ...PICTURE_HEADERS, 'content-length': Buffer.byteLength(svg) });
        return void res.end(svg);
      }
      const job = this.chain.then(() => this.api(url)).then(
        (body) => (body instanceof Reply ? json(res, 200, body.body, body.headers) : json(res, 200, body)),
        (e: unknown) => failed(res, e),
      );
      this.chain = job;
      return;
    }
    this.file(url.pathname, res, req.method === 'HEAD');
  }

  private async api(url: URL): Promise<unknown> {
    const q = (k: string) => url.searchParams.get(k) ?? undefined;
    switch (url.pathname) {
      case '/api/problems':
        return problems.map(describeProblem);
      case '/api/runs':
        // No store yet (no bench has run): no runs, not an error, so the page still lists the
        // problems and their learning curves; it was a 404 that left the page empty.
        if (!existsSync(this.opts.store)) return [];
        return this.withStore((s) => s.runs());
      case '/api/summary': {
        const name = q('problem');
        if (!name) throw new BadRequest('no problem given', '/api/summary', '?problem=NAME');
        const problem = getProblem(name, '?problem');
        // The same rows summarise to the same numbers (the bootstrap is seeded), so a summary is
        // re-used while its rows are unchanged: an open page re-reads an unfinished run every 10 s,
        // and each view of a finished one used to pay seconds of bootstrap again. The store says
        // whether they are (a digest of the rows, made in DuckDB): reading them all and hashing
        // them here cost 0.45-0.7 s a re-read of partition's run while a bench wrote other cells.
        const { run, key, kept, rows } = await this.withStore(async (store) => {
          const runId = q('run');
          const run = runId ? (await store.runs()).find((r) => r.runId === runId) : await store.latestRun(name);
          if (!run) throw new SelfoptError(runId ? `no run '${runId}'` : `no recorded run of ${name}`, store.path, 'a run recorded by `selfopt bench`');
          // A run named in ?run= that recorded other problems was answered 200 with summary null, as if it were a run of this one.
          if (!run.problems.includes(name)) throw new SelfoptError(`run '${run.runId}' recorded no results of ${name} (it recorded: ${run.problems.join(', ') || 'nothing'})`, store.path, `a run of ${name} (/api/runs lists each run's problems)`);
          const filter = { runId: run.runId, problem: name };
          const key = JSON.stringify([run.runId, name, await store.rowsDigest(filter)]);
          const kept = this.summaries.get(key);
          // The rows are read only for a summary not kept.
          return { run, key, kept, rows: kept === undefined ? await store.rows(filter) : [] };
        });
        // Names only: partition's test split drew 253 pictures, 4-7 MB sent again on every re-read.
        const pictures = listPictures(this.opts.store, run.runId, name, problem.solvers.map((s) => s.info.name));
        let summary = kept;
        if (summary === undefined) {
          if (this.estimates.size > ESTIMATE_MEMO) this.estimates.clear();
          // Summarised with the store closed: the bootstrap takes seconds on a big run, and a bench
          // writing the store waits for the file while a reader holds it.
          summary = summarizeProblem(problem, rows, { estimates: this.estimates });
          if (this.summaries.size >= SUMMARY_MEMO) this.summaries.delete(this.summaries.keys().next().value!);
        } else {
          this.summaries.delete(key); // re-inserted below: the map's order is least recently used first
        }
        this.summaries.set(key, summary);
        return new Reply({ run, summary, pictures }, { 'x-selfopt-summary': kept ? 'reused' : 'computed' });
      }
      case '/api/curves': {
        // An unknown problem is named, as /api/summary names it; it was an empty list, like a problem with no training logs.
        const name = q('problem');
        if (name !== undefined) getProblem(name, '?problem');
        const shipped = shippedCurves(this.opts.checkpointsDir ?? join(PROJECT_ROOT, 'checkpoints'), name);
        return { curves: [...readCurves(this.opts.trainDir, name), ...shipped.curves], leftOut: shipped.leftOut };
      }
      case '/api/store': {
        // The page said "no recorded runs" without saying where it had looked.
        const path = resolve(this.opts.store);
        return { path, exists: existsSync(path), isDefault: path === resolve(DEFAULT_STORE_PATH) };
      }
      default:
        throw new SelfoptError(`no API ${url.pathname}`, 'selfopt serve', '/api/problems, /api/runs, /api/summary, /api/picture, /api/curves, /api/store');
    }
  }

  /** The drawing /api/picture?run=&problem=&instance=&solver= names. */
  private picture(url: URL): string {
    const where = '/api/picture';
    const given = (k: string) => {
      const v = url.searchParams.get(k);
      if (!v) throw new BadRequest(`no ${k} given`, where, '?run=ID&problem=NAME&instance=ID&solver=NAME (/api/summary lists each run\'s pictures)');
      return v;
    };
    const [run, name, instance, solver] = [given('run'), given('problem'), given('instance'), given('solver')];
    if (!RUN_ID.test(run)) throw new BadRequest(`run '${run}' is not a run id`, where, 'a run id as /api/runs gives it (e.g. 20250101T000000000Z-abcd)');
    getProblem(name, '?problem');
    const svg = readPicture(this.opts.store, run, name, instance, solver);
    if (svg === undefined) throw new SelfoptError(`run '${run}' drew no picture of ${name} instance '${instance}' by solver '${solver}'`, where, 'an instance and solver of the run\'s pictures (/api/summary?problem=NAME&run=ID lists them)');
    return svg;
  }

  private async withStore<T>(f: (s: ResultsStore) => Promise<T>): Promise<T> {
    if (!existsSync(this.opts.store)) throw new SelfoptError('no results store here yet', this.opts.store, 'a store written by `selfopt bench` (or pass --store)');
    const store = await ResultsStore.open(this.opts.store, { readOnly: true });
    try {
      return await f(store);
    } finally {
      await store.close();
    }
  }

  private file(pathname: string, res: ServerResponse, head: boolean): void {
    if (!existsSync(join(this.webDir, 'index.html'))) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end(`the dashboard is not built: run \`npm run build:web\` (looked in ${this.webDir})\n`);
    }
    let rel: string;
    try {
      rel = normalize(decodeURIComponent(pathname)).replace(/^([/\\])+/, '');
    } catch {
      rel = '';
    }
    let path = resolve(this.webDir, rel || 'index.html');
    // Only files inside the web directory; anything else (or a directory) gets the app itself.
    if (!(path === this.webDir || path.startsWith(this.webDir + sep)) || !existsSync(path) || !statSync(path).isFile()) path = join(this.webDir, 'index.html');
    res.writeHead(200, {
      'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
      // Vite names assets by content hash; the page itself must be re-read.
      'cache-control': path.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
      'content-length': statSync(path).size,
    });
    if (head) return void res.end();
    createReadStream(path).pipe(res);
  }
}

/** An API error as {error: {code, message}}, its status by its kind. */
function failed(res: ServerResponse, e: unknown): void {
  const [status, code] = e instanceof StoreBusyError ? [503, 'store_busy'] : e instanceof StoreUnreadableError ? [500, 'store_unreadable']
    : e instanceof BadRequest ? [400, 'bad_request'] : e instanceof SelfoptError ? [404, 'not_found'] : [500, 'internal'];
  json(res, status, { error: { code, message: errorMessage(e) } });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** Every training run's curve under `trainDir` (folders named `<problem>-<solver>-seed<n>`). */
export function readCurves(trainDir: string, problem?: string): Curve[] {
  if (!existsSync(trainDir)) return [];
  const names = problems.map((p) => p.name);
  const out: Curve[] = [];
  for (const name of readdirSync(trainDir).sort()) {
    const file = join(trainDir, name, 'curve.jsonl');
    if (!existsSync(file)) continue;
    const owner = names.find((p) => name.startsWith(`${p}-`)) ?? null;
    if (problem !== undefined && owner !== problem) continue;
    out.push({ name, problem: owner, ...curvePoints(file) });
  }
  return out;
}

/** A shipped checkpoint's record whose curve is not shown, and why: the page says so. */
export interface LeftOut {
  /** `checkpoints/<problem>/<file>.json` */
  record: string;
  /** What is wrong with it, to follow the record's name: "names curve X, which is not shipped ...". */
  reason: string;
}

/**
 * The curves of the shipped checkpoints: each `<problem>/<x>.json` beside a checkpoint records
 * its training run (problem, solver, seed) and names its curve, shipped beside it. A clean clone
 * has no `.selfopt/train`, so the page said "no training logs" for models it was benchmarking. A
 * record whose curve cannot be shown (not JSON, or naming a curve left in a machine's state
 * directory) is in `leftOut` with the reason: it was left out in silence, and the page looked as
 * if that model had never been trained.
 */
export function shippedCurves(dir: string, problem?: string): { curves: Curve[]; leftOut: LeftOut[] } {
  const curves: Curve[] = [];
  const leftOut: LeftOut[] = [];
  if (!existsSync(dir)) return { curves, leftOut };
  for (const p of readdirSync(dir).sort()) {
    if (problem !== undefined && p !== problem) continue;
    const folder = join(dir, p);
    if (!statSync(folder).isDirectory()) continue;
    for (const f of readdirSync(folder).filter((x) => x.endsWith('.json')).sort()) {
      const record = `checkpoints/${p}/${f}`;
      const made = readRecord(join(folder, f));
      if (typeof made === 'string') {
        leftOut.push({ record, reason: made });
        continue;
      }
      const { curve, solver } = made;
      if (typeof curve !== 'string' || typeof solver !== 'string' || made.problem !== p) {
        const reason = typeof curve !== 'string' ? 'names no curve (its "curve" field)'
          : typeof solver !== 'string' ? 'names no solver (its "solver" field)'
          : `is a record of problem ${JSON.stringify(made.problem)}, not of ${p} (its folder)`;
        leftOut.push({ record, reason });
        continue;
      }
      const file = join(folder, basename(curve));
      if (!existsSync(file)) {
        leftOut.push({ record, reason: `names curve ${curve}, which is not shipped (no checkpoints/${p}/${basename(curve)} beside the record)` });
        continue;
      }
      // Named by the checkpoint, not the solver: one solver ships several (Decima's batch and
      // generated-batch checkpoints, both seed 22, were two curves of one name).
      curves.push({ name: trainRunName(p, basename(f, '.json'), typeof made.seed === 'number' ? made.seed : 0), problem: p, shipped: record, ...curvePoints(file) });
    }
  }
  return { curves, leftOut };
}

/** A checkpoint's record (a JSON object), or why it is not one. */
function readRecord(file: string): { problem?: unknown; solver?: unknown; seed?: unknown; curve?: unknown } | string {
  let made: unknown;
  try {
    made = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return `is not JSON (${errorMessage(e).split('\n')[0]})`;
  }
  return made !== null && typeof made === 'object' && !Array.isArray(made) ? made : 'is not a JSON object';
}

/** A curve.jsonl's points, thinned to MAX_CURVE_POINTS. */
function curvePoints(file: string): { points: CurvePoint[]; total: number } {
  const points: CurvePoint[] = [];
  // A trainer killed mid-write leaves a partial last line: skip lines that do not parse.
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const p = JSON.parse(line) as unknown;
      if (p && typeof p === 'object' && !Array.isArray(p)) {
        const numeric = Object.fromEntries(Object.entries(p).filter(([, v]) => typeof v === 'number' && Number.isFinite(v))) as CurvePoint;
        points.push(numeric);
      }
    } catch {
      // not a point
    }
  }
  const step = Math.max(1, Math.ceil(points.length / MAX_CURVE_POINTS));
  return { points: step === 1 ? points : points.filter((_, i) => i % step === 0 || i === points.length - 1), total: points.length };
}
