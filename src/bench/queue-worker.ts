/**
 * The worker of a distributed run (`selfopt worker --queue redis://...`): takes grid cells off the
 * BullMQ queue that a coordinator filled (queue.ts), runs each with the same `runCell` as a local
 * run on worker threads, and returns its metrics as the job's return value. Stops warm: the cells
 * in hand finish and report, unless Redis stays silent.
 */
import { rmSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { Piscina } from 'piscina';
import { ErrorCode, WaitingError, Worker, type Job, type Processor, type RedisClient, type WorkerOptions as BullWorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { SelfoptError, errorMessage } from '../core/errors.js';
import { makeTempDir } from '../core/files.js';
import { memoSeesDeadHolders } from '../core/memo.js';
import { codeVersion, machineInfo } from '../core/version.js';
import { getProblem } from '../problems/all.js';
import { cellLabel, cellPoolOptions, crossable, type CellResult } from './cell.js';
import type { CellPoolData } from './worker.js';
import { DEFAULT_QUEUE_NAME, MAX_STALLED, REDIS_SILENT_MS, STOP_GRACE_MS, checkRedis, redisOptions, shownUrl, within, type CellJob, type CellJobResult } from './queue.js';

export interface WorkerOptions {
  url: string;
  queueName?: string;
  /** Cells run at once (worker threads). Default: one per core. */
  concurrency?: number;
  /**
   * A job's lock lasts this long and is renewed at half of it; a worker silent for longer is
   * taken for dead and its job re-run. The stalled-job check runs at the same interval.
   */
  lockMs?: number;
  /** A Redis that answers no question for this long is said to be away: REDIS_SILENT_MS (8 s) unless a test shortens it. */
  silentMs?: number;
  /** One line per event (start, done, failed), for the operator and the tests. */
  log?: (line: string) => void;
}

export interface CellWorker {
  /**
   * A warm stop: takes no new cell, lets the running cells finish and report their results, and
   * closes ('closed'); a cell fetched but not started (waiting for a timed problem's turn) goes
   * back to the queue. 'closed' means every cell this worker took was reported or handed back (or,
   * the job no longer this worker's, logged as left or as its result dropped, for another worker);
   * an idle worker says so at once, whatever state its Redis connections are in. If Redis stays
   * silent for STOP_GRACE_MS while the worker still holds a cell, nothing could be reported: the
   * connections are dropped ('dropped'; BullMQ's close would wait for ever, even after Redis is
   * back), and the cell is abandoned; another worker re-runs it once its lock expires. Either way,
   * once close() returns nothing of the worker runs on (no timer, no connection, no retry).
   * A second call returns the first one's promise: the stop runs once.
   */
  close(): Promise<'closed' | 'dropped'>;
}

export async function startWorker(opts: WorkerOptions): Promise<CellWorker> {
  await checkRedis(opts.url);
  const connection = redisOptions(opts.url);
  const threads = Math.max(1, opts.concurrency ?? availableParallelism());
  const lockMs = opts.lockMs ?? 30_000;
  const log = opts.log ?? (() => {});
  const me = `${hostname()}:${process.pid}`;
  const version = codeVersion();
  const machine = machineInfo();
  // The threads share a memo (core/memo.ts) for the worker's lifetime, so a sweep is made once per
  // worker, not once per thread. A cell that fails, or a thread that dies with it, does not stop
  // this worker: its threads share a directory only where a waiter can tell that the thread
  // holding a sweep's lock died (Linux), and take the sweep over. Removed at close; a worker
  // killed outright leaves it to the next run's sweep of dead processes' directories.
  const memoDir = memoSeesDeadHolders() ? makeTempDir('selfopt-memo-') : undefined;
  const pool = new Piscina({ ...cellPoolOptions(threads), workerData: { memoDir } satisfies CellPoolData });
  const gate = new ConcurrencyGate((name) => getProblem(name).maxConcurrency);
  const running = new RunningCount();
  let stopping = false;
  // The words of BullMQ's error for each job whose lost lock was said (the 'lockRenewalFailed' handler below).
  const renewalFailed = new Set<string>();
  const renewalWords = (id: string | undefined) => `could not renew lock for job ${id}`;
  // The jobs whose cell has ended here, their result now being reported by BullMQ: the cell's
  // label, or null once BullMQ's refusal of the result was said (resultRefused below).
  const reporting = new Map<string, string | null>();
  // BullMQ's errors already said by resultRefused, which its 'error' event then gives again.
  const said = new WeakSet<object>();
  const processor = async (job: Job<CellJob, CellJobResult>, token?: string): Promise<CellJobResult> => {
    running.enter();
    try {
      return await runJob(job, token);
    } finally {
      running.leave();
      if (job.id !== undefined) reporting.set(job.id, cellLabel(job.data.cell));
    }
  };
  // A cell waiting for the gate has its lock renewed like a running one, and loses it the same
  // way: the event loop or Redis stalled past lockMs (or Redis lost the job, restarted without
  // persistence). BullMQ then refuses the move back, and during a stop swallowed the error: the
  // worker said nothing, the cell stayed active until a live worker's stalled check put it back.
  // A lapsed lock cannot be renewed (renewing needs it): the worker says so and leaves the cell.
  const handBack = async (job: Job<CellJob, CellJobResult>, token: string | undefined, label: string): Promise<void> => {
    try {
      await job.moveToWait(token);
    } catch (e) {
      if (!noLongerHeld(e)) throw e;
      log(`left ${job.id} ${label}: no longer this worker's to put back (${whyNotHeld(e)}); another worker runs it once BullMQ's stalled check or the coordinator puts it back`);
    }
  };
  const runJob = async (job: Job<CellJob, CellJobResult>, token?: string): Promise<CellJobResult> => {
    const { cell } = job.data;
    const label = cellLabel(cell);
    // Where: this worker; the coordinator adds the cell to it (cellUserError).
    if (job.data.codeVersion !== version) throw crossable(new SelfoptError(`runs code ${version}, the run was started with ${job.data.codeVersion}`, `worker ${me}`, 'workers on the same commit as the coordinator'));
    await gate.enter(cell.problem);
    if (stopping) {
      // Fetched before the stop, it waited for the gate and has not started: back to the queue,
      // for another worker, rather than run after the stop.
      gate.leave(cell.problem);
      await handBack(job, token, label);
      throw new WaitingError();
    }
    let r: CellResult;
    try {
      // Taken again: a new lock, whose loss is said again, and a new result, whose refusal is.
      renewalFailed.delete(renewalWords(job.id));
      if (job.id !== undefined) reporting.delete(job.id);
      log(`start ${job.id} ${label}`);
      r = (await pool.run(cell)) as CellResult;
    } catch (e) {
      // BullMQ keeps only the message: mark a user error so the coordinator reports it as one.
      throw crossable(e);
    } finally {
      gate.leave(cell.problem);
    }
    log(`done ${job.id} ${label}`);
    return { ...r, machine, codeVersion: version, worker: me };
  };
  // The jobs (each take of one) whose failure, refused, was said by resultRefused.
  const failRefused = new WeakSet<object>();
  // A cell's end that BullMQ could not record, as the job is no longer this worker's: said once
  // (BullMQ gives one refusal as two errors, its move to completed refused and then the move to
  // failed it tries instead, in words that may differ), with why and what becomes of the cell,
  // whether the worker runs or stops warm. So is BullMQ's failure of a job its workers lost too
  // often, which it makes as it takes the job, unrun: outside a stop it was BullMQ's message with
  // 'the cell runs again' (it does not: it fails), during one nothing at all.
  const resultRefused = (job: Job<CellJob, CellJobResult>, e: unknown) => {
    if (!noLongerHeld(e) || job.id === undefined) return;
    // The reason BullMQ's stalled check gives a job its workers lost more than maxStalledCount
    // times (STALLED_TOO_OFTEN), for the next worker to fail it with; selfopt makes no flows,
    // BullMQ's only other use of it. A field of the job, where no error code says it.
    if (job.deferredFailure !== undefined) {
      said.add(e as object);
      if (failRefused.has(job)) return;
      failRefused.add(job);
      const then = (e as { code?: unknown }).code === ErrorCode.JobNotExist
        ? 'the coordinator queues it again, and the cell runs from the start'
        : "the next worker to take it fails it once BullMQ's stalled check puts it back, and the run stops with that cell's error";
      log(`left ${job.id} ${cellLabel(job.data.cell)}: no longer this worker's to fail (${whyNotHeld(e)}), as BullMQ fails a job its workers lost too often (${job.deferredFailure}); ${then}`);
      return;
    }
    const label = reporting.get(job.id);
    if (label === undefined) return;
    said.add(e as object);
    if (label === null) return;
    reporting.set(job.id, null);
    const again = stopping ? 'on another worker (this one is stopping)' : 'here or on another worker';
    log(`dropped the result of ${job.id} ${label}: not recorded, as the job is no longer this worker's (${whyNotHeld(e)}) and BullMQ refused it; the cell runs again ${again}, or, if its run was stopped, with the same \`selfopt bench\` command and --resume`);
  };
  const worker = new CellBullWorker(opts.queueName ?? DEFAULT_QUEUE_NAME, processor, resultRefused, {
    connection,
    concurrency: threads,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: MAX_STALLED,
    autorun: false,
  });
  worker.on('failed', (job, err) => {
    if (job?.id !== undefined) reporting.delete(job.id);
    log(`failed ${job?.id ?? '?'} ${err.message}`);
  });
  worker.on('completed', (job) => {
    if (job.id !== undefined) reporting.delete(job.id);
  });
  let outage: Outage | undefined;
  // A lock BullMQ could not renew (Redis did not answer in time, or the lock is gone) is reported
  // twice: the 'lockRenewalFailed' event with the job ids, said here with what it means for
  // the cell, then an 'error' per job in words that are not repeated (5.81.5,
  // dist/esm/classes/lock-manager.js: `could not renew lock for job ${id}`; a BullMQ with other
  // words has its line printed as it is, and queue-outage.test fails). Those errors carry no code
  // and no job (5.81.5 has no ErrorCode for them): only their words tell them from others.
  worker.on('lockRenewalFailed', (ids) => {
    // BullMQ goes on trying (and failing) at every renewal: said once per time the job was taken.
    for (const id of ids) {
      if (renewalFailed.has(renewalWords(id))) continue;
      renewalFailed.add(renewalWords(id));
      log(`lost the lock of ${id} (BullMQ could not renew it; --lock-seconds ${lockMs / 1000}): the cell goes on here, but BullMQ's stalled check may give it to another worker, and then this worker's result is dropped`);
    }
  });
  worker.on('error', (err) => {
    if (renewalFailed.has(err.message) || said.has(err)) return;
    // While Redis is away ioredis tries again and again, each try an error: the outage said it once.
    if (outage?.since !== undefined && typeof (err as NodeJS.ErrnoException).code === 'string') return;
    if (noLongerHeld(err)) log(`error ${err.message}: the job is no longer this worker's (${whyNotHeld(err)}); the cell runs again, here or on another worker`);
    else log(`error ${err.message}`);
  });
  // BullMQ's main loop, started here rather than by the constructor for the promise: it settles
  // once the worker, stopping, holds no job (each one it took reported or went back to the queue).
  const mainLoop = worker.run().catch((e: unknown) => log(`error ${errorMessage(e)}`)).then(() => true);
  const blocking = await worker.waitUntilReady();
  // BullMQ's client type has no PING; its clients are ioredis's, made from our options (redisOptions).
  outage = new Outage(blocking, (await worker.client) as unknown as Redis, opts.silentMs ?? REDIS_SILENT_MS, {
    gone: (why) => log(`lost Redis at ${shownUrl(opts.url)} (${why}); waiting for it: running cells go on and report once it is back, and no new cell is taken until then`),
    back: (ms) => log(`Redis at ${shownUrl(opts.url)} is back after ${Math.round(ms / 1000)} s; the worker goes on`),
  });
  log(`worker ${me} ready: ${threads} threads on queue ${opts.queueName ?? DEFAULT_QUEUE_NAME} at ${shownUrl(opts.url)}`);
  let closed: Promise<'closed' | 'dropped'> | undefined;
  const close = async (): Promise<'closed' | 'dropped'> => {
    stopping = true;
    // BullMQ's close takes no new job, waits for the ones in hand to report, then says goodbye
    // to Redis. It ends the blocking connection (the one waiting for new jobs) and waits for
    // that, but ioredis never ends one between reconnect attempts, as both connections are for
    // a second after Redis restarts: an idle worker waited out the grace period, said 'dropped'.
    const closing = worker.close().then(() => true);
    const unstick = () => {
      if (blocking.status === 'reconnecting') endConnection(blocking);
    };
    unstick();
    blocking.on('reconnecting', unstick);
    const quiet = new AbortController();
    const held = await Promise.race([
      mainLoop.then(() => false),
      redisSilent(opts.url, STOP_GRACE_MS, quiet.signal).then(() => true),
      // A main loop still running STOP_GRACE_MS after the last cell waits for a fetch (on a
      // connection in a long reconnect backoff): whether it took a job is unknown, so it counts.
      running.idle().then(() => within(mainLoop, STOP_GRACE_MS)).then((ended) => ended !== true),
    ]);
    quiet.abort();
    blocking.off('reconnecting', unstick);
    outage?.stop();
    const main = await worker.client.catch(() => undefined);
    // Holding nothing, the worker owes Redis only a goodbye (QUIT); on a connection that is not
    // up it would go out after the next reconnect attempt, seconds later, or never: ended instead.
    if (!held && main && main.status !== 'ready') endConnection(main);
    if (held || (await within(closing, STOP_GRACE_MS)) === undefined) worker.drop(main, blocking);
    await pool.destroy();
    // Dropped, BullMQ's close ends once the cells in hand have (pool.destroy ended them), and with
    // it its lock renewals and stalled check: their timers kept a process alive after this close.
    await within(closing, STOP_GRACE_MS);
    if (memoDir !== undefined) rmSync(memoDir, { recursive: true, force: true });
    return held ? 'dropped' : 'closed';
  };
  return { close: () => (closed ??= close()) };
}

/**
 * BullMQ's Worker, telling `refused(job, e)` when BullMQ could not record the end of a job it ran,
 * or its failure of one its workers lost too often: its move to completed or to failed threw. Its
 * 'error' event gives such an error only while the worker runs, not while it closes (5.81.5,
 * dist/esm/classes/worker.js, retryIfFailed: no 'error' once closing), so a result refused during
 * a warm stop was lost without a word; nor does the event say which job, which only the message's
 * words name. handleCompleted and handleFailed make those moves (processJob calls them, stopping
 * or not) and have both the job and the error, whose ErrorCode (noLongerHeld) says why: no word of
 * BullMQ's message is read. A BullMQ that renamed them fails to compile here (`override`); one
 * that stopped calling them, or gave no code, fails queue-outage.test's refused-result tests, one
 * of which words BullMQ's refusals otherwise, and queue-lost.test's lost-too-often one.
 */
class CellBullWorker extends Worker<CellJob, CellJobResult> {
  constructor(name: string, processor: Processor<CellJob, CellJobResult>, private readonly refused: (job: Job<CellJob, CellJobResult>, e: unknown) => void, opts: BullWorkerOptions) {
    super(name, processor, opts);
  }

  protected override handleCompleted(...args: Parameters<Worker<CellJob, CellJobResult>['handleCompleted']>): Promise<Job<CellJob, CellJobResult>> {
    return this.telling(args[1], () => super.handleCompleted(...args));
  }

  protected override handleFailed(...args: Parameters<Worker<CellJob, CellJobResult>['handleFailed']>): Promise<Job<CellJob, CellJobResult>> {
    return this.telling(args[1], () => super.handleFailed(...args));
  }

  /**
   * Ends the connections of a worker whose close Redis's silence holds up (`main`: this worker's
   * client, `blocking`: the one it fetches jobs on), so that BullMQ's close ends too. BullMQ is told,
   * by closing its connection (RedisConnection.close(true) sets `closing` at once, before any command
   * of the ended connections fails): it then skips the moves of the cells still in hand. Not told,
   * it retried each one as its connection ended, at once and for ever, as nothing waits between
   * tries once a worker closes (5.81.5, worker.js retryIfFailed): a loop that starved the event
   * loop. Each connection is ended (endConnection), one between reconnect attempts too:
   * disconnected only, its commands waited for ever, and with them BullMQ's close, its lock
   * renewals going on, a timer that kept the process alive.
   */
  drop(main: RedisClient | undefined, blocking: RedisClient): void {
    for (const c of [main, blocking]) if (c) endConnection(c);
    this.connection.close(true).catch(() => undefined);
    // As BullMQ's close does once it gets there: no renewal goes out on an ended connection meanwhile.
    void this.lockManager.close();
  }

  /** `move()`'s result; an error it throws is told to `refused` with the job, then thrown on to BullMQ. */
  private async telling<R>(job: Job<CellJob, CellJobResult>, move: () => Promise<R>): Promise<R> {
    try {
      return await move();
    } catch (e) {
      this.refused(job, e);
      throw e;
    }
  }
}

/**
 * Whether `e`, thrown by job.moveToWait(token), says that the job is no longer this worker's:
 * its lock is gone (lapsed) or another worker's, or the job itself is gone. BullMQ gives the
 * reason as the error's `code`, its ErrorCode (5.81.5: Scripts.finishedErrors in
 * dist/esm/classes/scripts.js, for moveJobFromActiveToWait's negative answers); its message
 * ("Missing lock for job ...") is for people, and was matched here before.
 */
export function noLongerHeld(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === ErrorCode.JobLockNotExist || code === ErrorCode.JobLockMismatch || code === ErrorCode.JobNotExist;
}

/**
 * Why a job is no longer this worker's, in words, from BullMQ's error code (noLongerHeld). A lock
 * that is gone does not say why: it lapsed, or Redis lost the job and the coordinator put it back.
 */
function whyNotHeld(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === ErrorCode.JobLockMismatch) return 'another worker holds its lock now';
  if (code === ErrorCode.JobNotExist) return 'Redis no longer has the job: restarted without its data?';
  return 'its lock is gone: it lapsed, or Redis lost the job';
}

/**
 * Ends an ioredis connection now, whatever its state. Between reconnect attempts disconnect()
 * alone only cancels the next attempt: with no socket to close it never emits 'end', which
 * BullMQ's close waits for (taskforcesh/bullmq#4656, open). A connect() first makes the
 * disconnect() end it: the connect gives up before it opens a socket, and ioredis ends a
 * connection whose connect gave up.
 */
function endConnection(client: RedisClient): void {
  if (client.status === 'reconnecting') client.connect().catch(() => undefined);
  client.disconnect();
}

/**
 * Says once when a worker loses Redis, `gone(why)`, and once when Redis is back, `back(ms)`.
 * Lost: a connection drops (ioredis then tries again for ever, BullMQ's options), or Redis answers
 * no PING on the main connection for `silentMs` (a Redis that hangs, or a network that drops
 * packets, breaks no connection: BullMQ's commands just wait). Back: a PING answered or a
 * connection made ready, with every connection ready; the time away counts from Redis's last answer.
 */
class Outage {
  since: number | undefined;
  /** When Redis last answered: a PING, or a connection made ready. */
  private heard = Date.now();
  private asking = false;
  private readonly looks: NodeJS.Timeout;
  private readonly clients: (RedisClient | Redis)[];
  private readonly down = (why: string, since = Date.now()) => {
    if (this.since !== undefined) return;
    this.since = since;
    this.said.gone(why);
  };
  private readonly dropped = () => this.down('its connection dropped');
  private readonly up = () => {
    this.heard = Date.now();
    if (this.since === undefined || this.clients.some((c) => c.status !== 'ready')) return;
    const ms = Date.now() - this.since;
    this.since = undefined;
    this.said.back(ms);
  };

  constructor(blocking: RedisClient, private readonly main: Redis, silentMs: number, private readonly said: { gone: (why: string) => void; back: (ms: number) => void }) {
    this.clients = [blocking, main];
    for (const c of this.clients) c.on('reconnecting', this.dropped).on('ready', this.up);
    // One PING at a time, a few looks per silentMs (one a second at 8 s).
    this.looks = setInterval(() => {
      if (!this.asking) {
        this.asking = true;
        this.main.ping().then(this.up, () => undefined).finally(() => (this.asking = false));
      }
      if (Date.now() - this.heard >= silentMs) this.down(`no answer for ${silentMs / 1000} s`, this.heard);
    }, Math.min(1000, silentMs / 4)).unref();
  }

  stop(): void {
    clearInterval(this.looks);
    for (const c of this.clients) c.off('reconnecting', this.dropped).off('ready', this.up);
  }
}

/** How many cells a worker is running; `idle()` resolves when none is. */
class RunningCount {
  private n = 0;
  private waiters: (() => void)[] = [];

  enter(): void {
    this.n++;
  }

  leave(): void {
    if (--this.n > 0) return;
    for (const ok of this.waiters.splice(0)) ok();
  }

  idle(): Promise<void> {
    return this.n === 0 ? Promise.resolve() : new Promise((ok) => this.waiters.push(ok));
  }
}

/**
 * Resolves once Redis at `url` has answered no PING for `ms`; asks once a second until `signal`
 * aborts.
 */
async function redisSilent(url: string, ms: number, signal: AbortSignal): Promise<void> {
  let heard = Date.now();
  while (!signal.aborted && Date.now() - heard < ms) {
    const t0 = Date.now();
    if ((await within(checkRedis(url).then(() => true, () => false), 1000)) === true) heard = Date.now();
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - t0))).unref());
  }
}

/**
 * Problem.maxConcurrency on a worker, as the local runner keeps it: a problem that times code
 * (maxConcurrency set) runs at most that many cells at once and never beside another problem's
 * cell, so two timed cells never share the cores; other problems' cells run side by side.
 */
export class ConcurrencyGate {
  private readonly running = new Map<string, number>();
  private waiters: (() => void)[] = [];

  constructor(private readonly limitOf: (problem: string) => number | undefined) {}

  private admits(problem: string): boolean {
    const limit = this.limitOf(problem);
    const mine = this.running.get(problem) ?? 0;
    const others = [...this.running].filter(([p, n]) => p !== problem && n > 0);
    if (limit !== undefined) return mine < limit && others.length === 0;
    return others.every(([p]) => this.limitOf(p) === undefined);
  }

  async enter(problem: string): Promise<void> {
    while (!this.admits(problem)) await new Promise<void>((ok) => this.waiters.push(ok));
    this.running.set(problem, (this.running.get(problem) ?? 0) + 1);
  }

  leave(problem: string): void {
    this.running.set(problem, (this.running.get(problem) ?? 1) - 1);
    const w = this.waiters;
    this.waiters = [];
    for (const ok of w) ok();
  }
}
