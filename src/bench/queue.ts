/**
 * Distributed runs: grid cells as BullMQ jobs on Redis. This file: the job format, Redis
 * connection options, and the coordinator; the worker is in queue-worker.ts.
 *
 * The coordinator (`selfopt bench --queue redis://...`) owns the results store. It puts every
 * cell still to do on the queue with job id = (run, cell key), so a cell is enqueued once per
 * run however often the coordinator is restarted (`--resume` re-adds the same ids: BullMQ keeps
 * the existing job). Workers (`selfopt worker --queue redis://...`, on any machine) run a cell
 * with the same `runCell` as a local run, on worker threads so that the event loop stays free
 * to renew the job's lock, and return the metrics as the job's return value. The coordinator
 * writes each returned result to the store as it completes, once per cell key: a result it has
 * already recorded is dropped, so the store holds every cell exactly once.
 *
 * A worker that dies mid-job (SIGKILL, a lost machine) stops renewing its lock; BullMQ's stalled
 * job check, run by every live worker, puts the job back on the queue and another worker runs it.
 * Cells are seeded, so a re-run gives the same metrics.
 */
import { createHash } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { SelfoptError, errorMessage } from '../core/errors.js';
import { codeVersion } from '../core/version.js';
import { cellLabel, cellUserError, userError, type Cell, type CellResult } from './cell.js';
import { cellKey } from './store-rows.js';

/** The queue every coordinator and worker share unless told otherwise (`--queue-name`). */
export const DEFAULT_QUEUE_NAME = 'selfopt-cells';

/** A cell re-run after its worker died is the normal case, not a poison job: this many re-runs are. */
export const MAX_STALLED = 5;

/**
 * A failed job's reason once it stalled more than MAX_STALLED times. BullMQ gives no code for it,
 * only these words: 5.81.5 sets them as the job's deferred failure in its stalled-job check
 * (dist/esm/scripts/moveStalledJobsToWait-9.js, from src/commands/moveStalledJobsToWait-9.lua),
 * and the next worker to take the job fails it with them (dist/esm/classes/worker.js,
 * getUnrecoverableErrorMessage). queue-lost.test.ts makes BullMQ say them. A worker knows such a
 * job by that field (job.deferredFailure), but the failed job no longer has it: the coordinator,
 * which sees only the failure (its reason), has these words alone.
 */
export const STALLED_TOO_OFTEN = 'job stalled more than allowable limit';

export interface CellJob {
  runId: string;
  /** The coordinator's code version: a worker on other code refuses the cell. */
  codeVersion: string;
  cell: Cell;
}

export interface CellJobResult extends CellResult {
  /** The machine and code that ran the cell (recorded on its result rows). */
  machine: string;
  codeVersion: string;
  /** `host:pid` of the worker process, for the log. */
  worker: string;
}

/** The job id of a cell in a run: BullMQ ids may not contain ':' nor look like integers. */
export function cellJobId(runId: string, cell: Pick<Cell, 'problem' | 'instance' | 'solver' | 'seed'>): string {
  const key = cellKey(cell.problem, cell.instance.id, cell.solver, cell.seed);
  return `${runId}.${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
}

/** Parses `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS) into connection options. */
export function redisOptions(url: string, where = '--queue'): RedisOptions & { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SelfoptError(`'${url}' is not a URL`, where, 'redis://host:port (e.g. redis://127.0.0.1:6379)');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new SelfoptError(`scheme '${u.protocol}' in '${shownUrl(url)}'`, where, 'redis:// or rediss://');
  if (!u.hostname) throw new SelfoptError(`no host in '${shownUrl(url)}'`, where, 'redis://host:port');
  const port = u.port ? Number(u.port) : 6379;
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!(Number.isInteger(db) && db >= 0)) throw new SelfoptError(`database '${u.pathname.slice(1)}' in '${shownUrl(url)}'`, where, 'a database number, e.g. redis://host:6379/0');
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    // Workers block on Redis; BullMQ requires unlimited retries per request for them.
    maxRetriesPerRequest: null,
  };
}

/** `url` with its password hidden, for messages and logs: a URL with one ends up in terminals and CI logs. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** Fails with one clear error when Redis cannot be reached, instead of ioredis retrying forever. */
export async function checkRedis(url: string, where = '--queue'): Promise<void> {
  const opts = redisOptions(url, where);
  const r = new Redis({ ...opts, lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0, retryStrategy: () => null } as RedisOptions);
  // ioredis rejects with "Connection is closed." and gives the reason (ECONNREFUSED, ENOTFOUND,
  // NOAUTH, WRONGPASS, a database the server lacks) only as an 'error' event: kept for the message.
  let reason: string | undefined;
  r.on('error', (e) => (reason ??= errorMessage(e)));
  const at = `Redis at ${shownUrl(url)}`;
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    const why = reason ?? errorMessage(e);
    if (/NOAUTH|WRONGPASS/.test(why)) throw new SelfoptError(`${at} refused the login: ${why}`, where, "the server's password in the URL: redis://:PASSWORD@host:port (redis://USER:PASSWORD@... for an ACL user)");
    throw new SelfoptError(`cannot reach ${at}: ${why}`, where, 'a running redis-server at that address');
  } finally {
    r.disconnect();
  }
  // ioredis takes a refused SELECT as no failure and stays on database 0, which another project
  // may be using: the coordinator and its workers would share it silently.
  if (reason !== undefined) throw new SelfoptError(`${at} refused database ${opts.db}: ${reason}`, where, 'a database number the server has (0 to 15 on a default redis-server)');
}

// ---------------------------------------------------------------------------------------------
// coordinator

export interface QueuedRunOptions {
  url: string;
  queueName?: string;
  runId: string;
  cells: readonly Cell[];
  /**
   * Cells of this run already in the store (a `--resume`): a job a previous coordinator left in
   * Redis for one of them (it died between writing the result and removing the job) is removed.
   */
  recorded?: readonly Cell[];
  /** Writes one finished cell to the store; called once per cell, one at a time. */
  record: (cell: Cell, result: CellJobResult) => Promise<void>;
  /** How often to look at every pending job directly, in case an event was missed (ms). */
  sweepMs?: number;
  /** Stops the run when aborted, as a failure does but without an error. */
  signal?: AbortSignal;
}

export interface QueuedRunOutcome {
  /** Jobs that BullMQ found stalled (their worker died or hung) and put back on the queue. */
  stalled: number;
}

/**
 * Enqueues `cells` and waits until each has a recorded result. The first failed cell stops the
 * run: its waiting jobs are removed, recorded cells stay, and the error names the cell. An abort
 * of `signal` stops it the same way and returns.
 */
export async function runQueued(opts: QueuedRunOptions): Promise<QueuedRunOutcome> {
  await checkRedis(opts.url);
  const connection = redisOptions(opts.url);
  const name = opts.queueName ?? DEFAULT_QUEUE_NAME;
  const queue = new Queue<CellJob, CellJobResult>(name, { connection });
  const events = new QueueEvents(name, { connection });
  const pending = new Map<string, Cell>();
  for (const cell of opts.cells) pending.set(cellJobId(opts.runId, cell), cell);
  let stalled = 0;
  let failure: Error | undefined;
  let wake: () => void = () => {};
  // Results are written one at a time, in the order they arrive; a job seen twice (an event and
  // a sweep) is written once because it leaves `pending` before its write starts.
  let writing: Promise<void> = Promise.resolve();
  const finish = (jobId: string, result: CellJobResult) => {
    const cell = pending.get(jobId);
    // After a stop nothing more is recorded: the command has said how many cells are (a result
    // written after that was not counted), and the job stays in Redis for a --resume to collect.
    if (!cell || opts.signal?.aborted) return;
    pending.delete(jobId);
    writing = writing.then(async () => {
      if (failure) return;
      try {
        await opts.record(cell, result);
        await queue.remove(jobId).catch(() => 0); // the result is in the store now; keep Redis small
      } catch (e) {
        failure ??= e instanceof Error ? e : new Error(String(e));
      }
      wake();
    });
  };
  const fail = (jobId: string, reason: string) => {
    const cell = pending.get(jobId);
    if (!cell || failure) return;
    const where = `cell ${cellLabel(cell)}`;
    const { user, message } = userError(new Error(reason));
    if (user) failure = cellUserError(message, cell);
    // BullMQ's word for a cell whose workers kept losing it (killed, or an event loop blocked past
    // --lock-seconds so the lock lapsed): the machines', not a bug; it was a stack trace.
    else if (reason === STALLED_TOO_OFTEN) {
      failure = cellUserError(new SelfoptError(`its workers lost it ${MAX_STALLED + 1} times (${reason})`, 'the workers',
        'workers that stay up and renew its lock: a longer --lock-seconds for workers on loaded machines').message, cell);
    } else failure = new Error(`${where} failed on a worker: ${reason}`);
    wake();
  };
  events.on('completed', ({ jobId, returnvalue }) => {
    if (pending.has(jobId)) finish(jobId, parseResult(returnvalue));
  });
  events.on('failed', ({ jobId, failedReason }) => fail(jobId, failedReason));
  events.on('stalled', ({ jobId }) => {
    if (pending.has(jobId)) stalled++;
  });
  const data = (cell: Cell): CellJob => ({ runId: opts.runId, codeVersion: codeVersion(), cell });
  const jobOpts = { attempts: 1, removeOnComplete: false, removeOnFail: false };
  // Looks at every pending job: catches results whose event was missed, jobs already finished
  // before this coordinator started (a --resume after the coordinator died), and jobs Redis lost
  // (restarted without persistence, flushed), which are put back: nothing else would run them.
  // Redis answered last at `heard`; `requeued` counts the jobs it had lost, put back, since
  // they were last said (sayAfterSweeps).
  let heard = Date.now();
  let requeued = 0;
  const sweep = async () => {
    for (const id of [...pending.keys()]) {
      const job = await queue.getJob(id);
      heard = Date.now();
      if (!job) {
        // Still pending: not a job `finish` removed after recording it.
        const cell = pending.get(id);
        if (cell && !stopped()) {
          await queue.add('cell', data(cell), { ...jobOpts, jobId: id });
          requeued++;
        }
        continue;
      }
      if (job.finishedOn && job.failedReason === undefined && job.returnvalue) finish(id, job.returnvalue);
      else if (job.failedReason !== undefined && (await job.isFailed())) fail(id, job.failedReason);
    }
  };
  // While Redis is away BullMQ retries for ever and the run waits for it: said once per outage,
  // when a connection drops (an 'error') or a sweep's question goes unanswered for
  // REDIS_SILENT_MS (a Redis that hangs, or a network that drops packets, breaks no connection),
  // and once more when a sweep has its answers again.
  let outageSince: number | undefined;
  const lost = (why: string, since = Date.now()) => {
    if (outageSince !== undefined) return;
    outageSince = since;
    process.stderr.write(`\nselfopt: warning: lost Redis at ${shownUrl(opts.url)} (${why}); the run waits for it: recorded cells stay recorded, cells running on workers go on and report once it is back (Ctrl-C stops, --resume continues)\n`);
  };
  const onRedisError = (e: Error) => lost(errorMessage(e));
  // After the sweeps: says that Redis answers again (after an outage), and how many cells' jobs it
  // had lost that the sweeps put back (a Redis restarted without its data, or flushed, lost every job).
  const sayAfterSweeps = () => {
    const url = shownUrl(opts.url);
    const n = requeued;
    requeued = 0;
    const jobs = n === 1 ? 'the job of 1 cell of this run' : `the jobs of ${n} cells of this run`;
    const rerun = n === 1 ? 'it is queued again, and that cell runs from the start' : `they are queued again, and those ${n} cells run from the start`;
    if (outageSince !== undefined) {
      const secs = Math.round((Date.now() - outageSince) / 1000);
      const lostJobs = n > 0 ? `; it had lost ${jobs} (restarted without its data?): ${rerun}` : '';
      process.stderr.write(`\nselfopt: note: Redis at ${url} answers again after ${secs} s; the run goes on${lostJobs}\n`);
      outageSince = undefined;
    } else if (n > 0) process.stderr.write(`\nselfopt: note: Redis at ${url} had lost ${jobs} (restarted without its data, or flushed?): ${rerun}\n`);
  };
  // A Redis that lost jobs lost them all at once, but a sweep finds lost only the jobs it looks at
  // after that instant: one more sweep at once finds the others, so that the count said is all of them.
  const sweepAll = async () => {
    await sweep();
    if (requeued > 0) await sweep();
  };
  queue.on('error', onRedisError);
  events.on('error', onRedisError);
  const onAbort = () => wake();
  const aborted = new Promise<void>((res) => {
    if (opts.signal?.aborted) res();
    else opts.signal?.addEventListener('abort', () => res(), { once: true });
  });
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const stopped = () => failure !== undefined || opts.signal?.aborted === true;
  const setUp = async () => {
    await events.waitUntilReady();
    for (const cell of opts.recorded ?? []) await queue.remove(cellJobId(opts.runId, cell)).catch(() => 0);
    // A cell whose job failed before this coordinator started (it was running when the previous
    // one stopped, or that one was killed) runs again, as a local --resume runs it: kept, the
    // failed job would end every --resume with the old failure, even once its cause (a worker at
    // other code, a file since fixed) is gone. Failures from now on stop the run as usual.
    for (const job of await queue.getJobs(['failed'])) if (job?.id !== undefined && pending.has(job.id)) await job.remove().catch(() => undefined);
    await queue.addBulk([...pending].map(([jobId, cell]) => ({ name: 'cell', data: data(cell), opts: { ...jobOpts, jobId } })));
    await sweepAll();
    sayAfterSweeps();
  };
  try {
    // Every step of the set-up waits for Redis: with Redis gone or silent there (it was, under
    // load, in the first sweep), a Ctrl-C must not wait for it. An error of the set-up still ends the run.
    const ready = setUp();
    ready.catch(() => undefined);
    await Promise.race([ready, aborted]);
    // With no worker on the queue (none started yet, or one on another --queue-name) the run waits,
    // and said nothing. BullMQ counts workers with CLIENT LIST, which a managed Redis may refuse.
    // Not awaited: with Redis gone in that instant the count never answers, and a Ctrl-C must
    // still stop the run within its grace period (the loop below listens for it).
    if (pending.size > 0) {
      void queue.getWorkersCount().then((n) => {
        if (n !== 0 || pending.size === 0 || stopped()) return;
        const url = shownUrl(opts.url);
        process.stderr.write(`\nselfopt: note: no worker is on queue ${name} at ${url} yet; the cells wait for \`selfopt worker --queue ${url}${name === DEFAULT_QUEUE_NAME ? '' : ` --queue-name ${name}`}\`\n`);
      }, () => undefined);
    }
    const sweepMs = opts.sweepMs ?? 5000;
    let lastSweep = Date.now();
    while (pending.size > 0 && !stopped()) {
      await new Promise<void>((res) => {
        wake = res;
        setTimeout(res, Math.max(0, lastSweep + sweepMs - Date.now())).unref();
      });
      if (pending.size > 0 && !stopped() && Date.now() - lastSweep >= sweepMs) {
        // While Redis is away a sweep waits for it; a Ctrl-C does not wait for the sweep.
        heard = Date.now();
        const silence = setInterval(() => {
          if (Date.now() - heard >= REDIS_SILENT_MS) lost(`no answer for ${REDIS_SILENT_MS / 1000} s`, heard);
        }, 1000).unref();
        const swept = sweepAll();
        swept.catch(() => undefined);
        await Promise.race([swept.then(sayAfterSweeps), aborted]).finally(() => clearInterval(silence));
        lastSweep = Date.now();
      }
    }
    if (stopped()) {
      // Waiting jobs of this run are taken off the queue; a running one finishes and stays in
      // Redis as completed, where a `--resume` finds it (removed by id, a job that had just
      // completed went too, its result lost). With Redis away, they stay where they are after a
      // grace period (a --resume collects their results or puts them back).
      await within(writing, STOP_GRACE_MS);
      const takeOffWaiting = async () => {
        for (const job of await queue.getJobs(['wait', 'delayed', 'prioritized', 'paused'])) if (job?.id !== undefined && pending.has(job.id)) await job.remove().catch(() => 0);
      };
      await within(takeOffWaiting(), STOP_GRACE_MS);
      if (failure) throw failure;
    } else await writing;
    return { stalled };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    // BullMQ's close (and disconnect) wait for Redis to answer: with Redis away, drop the connections.
    if ((await within(Promise.all([events.close(), queue.close()]), STOP_GRACE_MS)) === undefined) {
      for (const c of [events, queue]) await c.client.then((r) => r.disconnect(), () => undefined);
    }
  }
}

/**
 * How long a stopping coordinator waits on Redis (writes in hand, removing its waiting jobs,
 * closing), and a stopping worker for its running cells and Redis.
 */
export const STOP_GRACE_MS = 5000;

/** A Redis that has not answered a question for this long is taken for away, and said to be. */
export const REDIS_SILENT_MS = 8000;

/** `p`'s value, or undefined once `ms` have passed. */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((res) => (timer = setTimeout(() => res(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function parseResult(v: unknown): CellJobResult {
  return (typeof v === 'string' ? JSON.parse(v) : v) as CellJobResult;
}
