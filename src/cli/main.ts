#!/usr/bin/env node
/**
 * The `selfopt` command. Every subcommand is a thin layer over src/bench and the problem
 * registry; a user error (SelfoptError) prints one line and exits 2, a bug prints its stack and
 * exits 1.
 */
import { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DataPath } from '../core/data.js';
import { reportError, SelfoptError, unknownName } from '../core/errors.js';
import { flagNumber, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT } from '../core/options.js';
import { problems, getProblem } from '../problems/all.js';
import { describeProblem } from '../core/problem.js';
import { type BenchOptions, MAX_SEEDS, planGrid, runBench } from '../bench/runner.js';
import type { OpenOptions, ResultsStore } from '../bench/store.js';
import { shellCommand } from '../bench/command.js';
import { fileInTheWay } from '../core/files.js';
import { followHint, writeReport, printReport, requireRun } from './report.js';
import { dataOption, dataPath, htmlOption, list, queueNameOption, reportPath, storeOption } from './flags.js';

const program = new Command();
program.name('selfopt').description('Self-optimizing computer systems: learned methods beside the strongest heuristics, on real data, with confidence intervals.').showHelpAfterError()
  // A usage error (an unknown option, a missing argument) is the user's, as a SelfoptError is:
  // exit 2, not commander's 1, which scripts read as a crash. Subcommands inherit this.
  .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2));

/**
 * Opens a results store, loading the store's module (and with it DuckDB's native module, ~0.35 s)
 * only for the commands that use one: `selfopt worker` starts without it.
 */
async function openStore(path: string, opts?: OpenOptions): Promise<ResultsStore> {
  const { ResultsStore } = await import('../bench/store.js');
  return ResultsStore.open(path, opts);
}

/**
 * How a long command stops: the first SIGINT or SIGTERM says `what` it does ("stopping `whom`
 * (SIGINT): what", on stderr), aborts
 * `signal` and sets the exit code (130 or 143, as a shell reports the signal); a second one exits
 * at once, as a kill would. `listen()` puts the handlers on, `release()` takes them off.
 */
function stopOnSignal(what: string, whom = ''): { signal: AbortSignal; listen(): void; release(): void } {
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    const code = sig === 'SIGINT' ? 130 : 143;
    if (stop.signal.aborted) process.exit(code);
    console.error(`\nselfopt: stopping${whom ? ` ${whom}` : ''} (${sig}): ${what}; again to exit at once`);
    process.exitCode = code;
    stop.abort();
  };
  return {
    signal: stop.signal,
    listen() {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    },
    release() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

program
  .command('list')
  .description('problems, their solvers, metrics and instances; no problem = all')
  .argument('[problems...]', `problems to list (${problems.map((p) => p.name).join(', ')})`)
  .addOption(dataOption())
  .option('--quick', 'list the quick-mode instances')
  .option('--json', 'machine-readable output')
  .action((names: string[], o: { data?: string; quick?: boolean; json?: boolean }) => {
    const ctx = { data: dataPath(o.data), quick: o.quick === true };
    const chosen = names.length > 0 ? names.map((n) => getProblem(n, 'list <problems>')) : problems;
    const out = chosen.map((p) => ({
      ...describeProblem(p),
      instances: p.listInstances(ctx).map(({ id, source, split, description, path }) => ({ id, source, split, description, path })),
    }));
    if (o.json) return void console.log(JSON.stringify(out, null, 2));
    for (const p of out) {
      console.log(`${p.name}: ${p.title}\n  ${p.reference}`);
      console.log(`  solvers:   ${p.solvers.map((s) => `${s.name} (${s.kind})`).join(', ')}`);
      console.log(`  metrics:   ${p.metrics.map((m) => `${m.name} [${m.unit}, ${m.better} is better]`).join(', ')}`);
      console.log(`  instances: ${p.instances.map((i) => `${i.id}${i.source === 'real' ? ' (real)' : ''}`).join(', ')}`);
      console.log(`  --opt:     ${Object.keys(p.options).join(', ')} (selfopt list --json says what each sets)`);
      if (Object.keys(p.trainOptions).length > 0) console.log(`  train --opt: ${Object.keys(p.trainOptions).join(', ')} (selfopt train only; bench takes the checkpoint's)`);
    }
  });

program
  .command('bench')
  .description('run problem x instance x solver x seed and print the comparison; no problem = all')
  .argument('[problems...]', `problems to run (${problems.map((p) => p.name).join(', ')})`)
  .option('--instances <ids>', 'comma-separated instance ids or file paths', list)
  .option('--solvers <names>', 'comma-separated solver names', list)
  .option('--seeds <n>', `seeds per cell (seeds 1..n, n <= ${MAX_SEEDS})`, flagNumber('--seeds', { int: true, min: 1, max: MAX_SEEDS }), 5)
  .option('--quick', 'small instances and short workloads, for a first look and CI')
  .option('--split <split>', 'without --instances: run the test split (held-out; default), the train split, or all', 'test')
  .option('--resume', 'continue the last run of the same grid, skipping cells already recorded')
  .option('--json', 'print the summary as JSON (stable for scripts) instead of tables')
  .addOption(htmlOption())
  .option('--no-html', 'do not write the HTML report')
  .option('--concurrency <n>', 'worker threads (0 = run in this thread); default one per core',
    flagNumber('--concurrency', { ...NON_NEGATIVE_INT, expected: 'a non-negative integer (0 = run the cells in this thread)' }))
  .option('--opt <key=value...>', 'problem-specific option (repeatable; `selfopt list` shows each problem\'s keys)')
  .option('--queue <url>', 'run the cells on `selfopt worker`s through this Redis (redis://host:port); results still land in --store')
  .addOption(queueNameOption('BullMQ queue name shared with the workers'))
  .addOption(dataOption())
  .addOption(storeOption())
  .action(async (names: string[], o: BenchCliOptions) => {
    const data = dataPath(o.data);
    const chosen = names.length > 0 ? names : problems.map((p) => p.name);
    const stop = stopOnSignal('finished cells are recorded; cells running now are abandoned');
    const queue = o.queue === undefined ? undefined : await import('../bench/queue.js');
    const opts: BenchOptions = {
      problems: chosen,
      instances: o.instances,
      solvers: o.solvers,
      seeds: o.seeds,
      split: o.split as BenchOptions['split'],
      quick: o.quick === true,
      resume: o.resume === true,
      data,
      options: parseOpts(o.opt ?? []),
      concurrency: o.concurrency,
      progress: o.json !== true,
      // Recorded with the run, shown by the report and the dashboard: a --queue password is not.
      // Each argument quoted as a shell reads it back: joined bare, an argument with a space or a quote (a --data path) broke the command when pasted.
      command: shellCommand(process.argv.slice(2).map((a) => (queue && o.queue ? a.replace(o.queue, queue.shownUrl(o.queue)) : a))),
      queue: o.queue,
      queueName: o.queueName,
      signal: stop.signal,
    };
    // The command is checked (names, option keys and values) before the store is opened, so a bad
    // one leaves no store behind on a fresh machine.
    const plans = planGrid(opts);
    // So is the queue: an unreachable Redis left an empty, unfinished run in the store.
    if (queue && o.queue !== undefined) await queue.checkRedis(o.queue);
    const store = await openStore(resolve(o.store));
    // The first Ctrl-C (or SIGTERM) stops the run cleanly: no new cell, the store closed whole.
    // A second one exits at once, as a kill would (finished cells are committed either way).
    // With --concurrency 0 the cells run in this thread, where a handler waits for the cell to
    // end; there the signals keep their default and stop the process at once.
    if (o.queue !== undefined || o.concurrency !== 0) stop.listen();
    try {
      if (process.stderr.isTTY && !o.json) console.error(followHint(o.store));
      const outcome = await runBench(opts, store, plans);
      if (outcome.interrupted) {
        console.error(`run ${outcome.runId} stopped: ${outcome.skipped + outcome.ran} of ${outcome.total} cells recorded (${outcome.ran} this time); the same command with --resume runs the rest`);
        return;
      }
      process.exitCode = undefined; // a signal after the last cell: the run is complete
      const stalled = outcome.stalled ? `, ${outcome.stalled} re-run after their worker stopped` : '';
      if (!o.json) console.error(`run ${outcome.runId}: ${outcome.ran} cells run, ${outcome.skipped} already recorded${stalled}`);
      const reports = await printReport(store, { runId: outcome.runId, problems: chosen, json: o.json === true });
      if (o.html !== false) {
        const path = await writeReport(reports, reportPath(o.html, o.store), store.path);
        if (!o.json) console.error(`HTML report: ${path}`);
      }
    } finally {
      stop.release();
      await store.close();
    }
  });

program
  .command('report')
  .description('tables (and the HTML report) of a recorded run; default the latest run of each problem')
  .option('--run <id>', 'run id (see `selfopt results runs`)')
  .option('--problem <name>', 'only this problem')
  .option('--json', 'print the summary as JSON')
  .addOption(htmlOption())
  .option('--no-html', 'do not write the HTML report')
  .addOption(storeOption())
  .action(async (o: { run?: string; problem?: string; json?: boolean; html?: string | false; store: string }) => {
    if (o.problem) getProblem(o.problem, '--problem');
    const store = await openStore(resolve(o.store), { readOnly: true });
    try {
      const reports = await printReport(store, { runId: o.run, problems: o.problem ? [o.problem] : problems.map((p) => p.name), json: o.json === true, afterRead: () => store.close() });
      if (o.html !== false) console.error(`HTML report: ${await writeReport(reports, reportPath(o.html, o.store), store.path)}`);
    } finally {
      await store.close();
    }
  });

const results = program.command('results').description('the results store');
results
  .command('export')
  .description('export result rows to Parquet or CSV')
  .option('--parquet', 'Parquet format')
  .option('--csv', 'CSV format')
  .option('--out <file>', 'output file (default .selfopt/results.<format>)')
  .option('--run <id>', 'only this run')
  .option('--problem <name>', 'only this problem')
  .addOption(storeOption())
  .action(async (o: { parquet?: boolean; csv?: boolean; out?: string; run?: string; problem?: string; store: string }) => {
    if (o.parquet === o.csv) throw new SelfoptError(o.parquet ? 'both --parquet and --csv given' : 'no format given', 'selfopt results export', 'exactly one of --parquet or --csv');
    const format = o.parquet ? 'parquet' : 'csv';
    const out = resolve(o.out ?? `.selfopt/results.${format}`);
    if (o.problem) getProblem(o.problem, '--problem');
    const store = await openStore(resolve(o.store), { readOnly: true });
    try {
      // A misspelt filter would write an empty file over the last export; so would a problem
      // the store (or the run) has no results for.
      const runs = await store.runs();
      if (o.run) requireRun(store, runs, o.run);
      const chosen = o.run ? runs.filter((r) => r.runId === o.run) : runs;
      const recorded = [...new Set(chosen.flatMap((r) => r.problems))].sort();
      if (o.problem && !recorded.includes(o.problem)) {
        throw new SelfoptError(`no results of problem ${o.problem} ${o.run ? `in run ${o.run}` : 'in the results store'}`, store.path,
          `a problem with recorded results there (${recorded.join(', ') || 'none yet'}); ${out} was left as it was`);
      }
      const n = await store.exportTo(format, out, { runId: o.run, problem: o.problem });
      console.error(`wrote ${n} rows to ${out}`);
    } finally {
      await store.close();
    }
  });
results
  .command('runs')
  .description('recorded runs, newest last')
  .option('--json', 'machine-readable output')
  .addOption(storeOption())
  .action(async (o: { json?: boolean; store: string }) => {
    const store = await openStore(resolve(o.store), { readOnly: true });
    try {
      const runs = await store.runs();
      if (o.json) return void console.log(JSON.stringify(runs, null, 2));
      for (const r of runs) console.log(`${r.runId}  ${r.finishedAt ? 'finished' : 'unfinished'}  ${r.codeVersion}  ${r.command}`);
    } finally {
      await store.close();
    }
  });

const data = program
  .command('data')
  .description('every dataset: where it was found, its source and license, how to obtain it')
  .addOption(dataOption())
  .option('--json', 'machine-readable output')
  .action((o: { data?: string; json?: boolean }) => {
    const data = new DataPath({ dataDir: o.data });
    const rows = problems.flatMap((p) => p.datasets.map((d) => ({ problem: p.name, ...d, foundAt: data.find(d.relPath) ?? null })));
    if (o.json) return void console.log(JSON.stringify({ searchPath: data.dirs, datasets: rows }, null, 2));
    console.log('data search path:');
    for (const d of data.dirs) console.log(`  ${d.exists ? '+' : '-'} ${d.dir}  (${d.origin})`);
    for (const r of rows) {
      console.log(`\n${r.relPath} (${r.problem}): ${r.foundAt ? `found at ${r.foundAt}` : 'NOT FOUND'}`);
      console.log(`  ${r.description}\n  source:  ${r.source}\n  license: ${r.license}\n  obtain:  ${r.obtain}`);
      if (r.build) console.log(`  build:   selfopt data build ${r.relPath}  (needs ${r.build.needs})`);
    }
  });

data
  .command('build')
  .description('make datasets on this machine from the Debian or npm packages they came from (see `selfopt data`); '
    + 'they are written into --data DIR, else ./data, both on the data search path')
  .argument('<names...>', 'datasets by path (index/flights_ts_3M_uint64) or file name, or all')
  .option('--force', 'build again a dataset already there')
  .action(async (names: string[], o: { force?: boolean }) => {
    // --data is the `data` command's option (commander gives it the flag wherever it stands)
    const outDir = (data.opts() as { data?: string }).data ?? 'data';
    if (existsSync(outDir) && !statSync(outDir).isDirectory())
      throw new SelfoptError(`${outDir} is not a directory`, 'selfopt data build, --data DIR else ./data', 'a directory to write the datasets into (made if missing)');
    const all = problems.flatMap((p) => p.datasets);
    const buildable = all.filter((d) => d.build).map((d) => d.relPath);
    // Every name is checked before anything is built.
    const everything = names.includes('all');
    const chosen = (everything ? buildable : names).map((name) => {
      const d = all.find((x) => x.relPath === name || x.relPath.split('/').pop() === name);
      if (!d?.build) {
        if (d) throw new SelfoptError(`dataset ${d.relPath} has no builder yet`, 'selfopt data build', `one of: ${buildable.join(', ')} (${d.relPath}: ${d.obtain})`);
        // named as the user named it: by path, or by file name
        throw unknownName('dataset', name, name.includes('/') ? buildable : buildable.map((b) => b.split('/').pop()!), 'selfopt data build');
      }
      return d as typeof d & { build: NonNullable<typeof d.build> };
    });
    // Where each goes is checked before anything is built (a build takes minutes): a --data under
    // a file, or a directory at a dataset's path, failed after the build with a stack trace.
    for (const d of chosen) {
      const path = resolve(outDir, d.relPath);
      const file = fileInTheWay(path); // nothing is made before a build succeeds
      if (file) throw new SelfoptError(`cannot write ${d.relPath} under ${file}: it is a file`, 'selfopt data build, --data DIR else ./data', 'a directory the datasets can be written into (made if missing)');
      if (existsSync(path) && statSync(path).isDirectory()) throw new SelfoptError(`${path} is a directory`, `selfopt data build ${d.relPath}`, 'the dataset\'s file there, or nothing (move the directory away)');
    }
    // With `all`, a dataset whose source this machine lacks is reported and the others still built.
    const failed: string[] = [];
    for (const d of chosen) {
      const path = resolve(outDir, d.relPath);
      if (existsSync(path) && !o.force) {
        console.error(`${d.relPath}: already at ${path} (--force builds it again)`);
        continue;
      }
      const t0 = performance.now();
      try {
        await d.build.build(path, (line) => console.error(`${d.relPath}: ${line}`));
      } catch (e) {
        if (!everything || !(e instanceof SelfoptError)) throw e;
        console.error(`${d.relPath}: not built: ${e.message}`);
        failed.push(d.relPath);
        continue;
      }
      console.error(`${d.relPath}: wrote ${path} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    if (failed.length > 0) throw new SelfoptError(`${failed.length} of ${chosen.length} datasets not built: ${failed.join(', ')}`, 'selfopt data build all', 'the sources each names above');
  });

program
  .command('train')
  .description('train a learned solver on the problem\'s train split; re-running the same command resumes')
  .argument('<problem>', 'problem name')
  .argument('<solver>', 'learned solver name')
  .option('--seed <n>', 'training seed', flagNumber('--seed', NON_NEGATIVE_INT), 1)
  .option('--seconds <n>', 'wall-time budget in seconds, checked between iterations (the one running then finishes)', flagNumber('--seconds', POSITIVE))
  // Steps are whole (episodes, updates): 1.5 ran 2 and showed 2/2 (133%).
  .option('--steps <n>', 'budget in the trainer\'s own steps (episodes, updates)', flagNumber('--steps', POSITIVE_INT))
  .option('--instances <ids>', 'train on these train-split instances only', list)
  .option('--quick', 'train on the quick-mode instances (smoke runs and tests)')
  .option('--out <file>', 'checkpoint path (default: the shipped checkpoints/<problem>/<solver>.ckpt)')
  .option('--state <dir>', 'resumable state directory (default .selfopt/train/<problem>-<solver>-seed<n>)')
  .option('--fresh', 'discard saved state and start over')
  .option('--opt <key=value...>', 'problem-specific option (repeatable; `selfopt list` shows each problem\'s keys)')
  .addOption(dataOption())
  .action(async (problemName: string, solverName: string, o: TrainCliOptions) => {
    const problem = getProblem(problemName, 'train <problem>');
    const data = dataPath(o.data);
    const { train, trainProgressText, trainStartText } = await import('../core/train.js');
    // The first Ctrl-C (or SIGTERM) stops training cleanly: the trainer saves its resumable state
    // after the step it is on, and the same command resumes there. A second one exits at once.
    const stop = stopOnSignal('saving the training state after the current step');
    stop.listen();
    const outcome = await train({
      problem,
      solver: solverName,
      seed: o.seed,
      budget: { seconds: o.seconds, steps: o.steps },
      quick: o.quick === true,
      instanceCtx: { data, quick: o.quick === true },
      instances: o.instances,
      out: o.out,
      stateDir: o.state,
      fresh: o.fresh === true,
      options: parseOpts(o.opt ?? []),
      command: shellCommand(['selfopt', ...process.argv.slice(2)]),
      // A seconds-only budget is what every trainer then counts; with --steps the unit is the trainer's own.
      onStart: (start) => console.error(`training ${problemName}/${solverName} on ${trainStartText(start)}`),
      onProgress: (done, total) => progress(`training ${problemName}/${solverName}: ${trainProgressText(done, total, o.steps === undefined)}`, done >= total),
      signal: stop.signal,
    }).finally(() => stop.release());
    if (process.stderr.isTTY) process.stderr.write('\n');
    if (outcome.stopped) {
      console.error(`stopped after ${outcome.wallSeconds.toFixed(1)} s (all sessions): the training state is saved in ${outcome.stopped.stateDir}; the same command resumes there (no checkpoint written to ${outcome.out})`);
      return;
    }
    process.exitCode = undefined; // a signal after the trainer finished: the run is complete
    console.log(`checkpoint ${outcome.out} (${outcome.wallSeconds.toFixed(1)} s on ${outcome.instances.length} train instances); manifest ${outcome.manifest}`);
  });

/**
 * One progress line: redrawn in place on a terminal; in a log (training in the background) a
 * line of its own at most once a minute, and the last one.
 */
let lastProgressLine = 0;
function progress(text: string, last: boolean): void {
  if (process.stderr.isTTY) return void process.stderr.write(`\r${text}   `);
  if (!last && Date.now() - lastProgressLine < 60_000) return;
  lastProgressLine = Date.now();
  process.stderr.write(`${text}\n`);
}

program
  .command('serve')
  .description('serve environments to any language (JSON protocol over WebSocket and HTTP POST on /v1, see src/server/protocol.ts) and the results dashboard on /')
  .option('--port <n>', 'TCP port (0 = any free port)', flagNumber('--port', { int: true, min: 0, max: 65535 }), 8765)
  .option('--host <addr>', 'address to bind; loopback by default, widen only with --token', '127.0.0.1')
  .option('--token <t>', 'require this bearer token (Authorization header or a first hello {token}); default $SELFOPT_TOKEN', process.env.SELFOPT_TOKEN || undefined)
  .option('--idle <seconds>', 'close a session unused this long', flagNumber('--idle', { ...POSITIVE, expected: 'a positive number of seconds' }), 600)
  .option('--train-dir <dir>', 'training runs whose learning curves the dashboard plots', '.selfopt/train')
  .addOption(dataOption())
  .addOption(storeOption())
  .action(async (o: { port: number; host: string; token?: string; idle: number; data?: string; store: string; trainDir: string }) => {
    // An empty token (`--token "$UNSET"`) made a server that wants a token no Authorization header can carry, its banner silent about it.
    if (o.token === '') throw new SelfoptError("--token ''", 'command line', 'a non-empty token, or no --token (loopback only)');
    // A file here failed every curves request as an internal error, and with it every view of the dashboard.
    if (existsSync(o.trainDir) && !statSync(o.trainDir).isDirectory()) throw new SelfoptError(`--train-dir ${o.trainDir} is not a directory`, 'command line', 'the directory `selfopt train` writes its runs into (.selfopt/train)');
    dataPath(o.data);
    const { serve } = await import('../server/server.js');
    const s = await serve({ port: o.port, host: o.host, token: o.token, idleMs: o.idle * 1000, data: o.data, dashboard: { store: resolve(o.store), trainDir: resolve(o.trainDir) } });
    console.log(`selfopt serve: listening on ${s.url} (WebSocket ws://${s.url.slice('http://'.length)}, HTTP POST)${o.token ? ', token required' : ''}`);
    console.log(`dashboard: ${s.url.replace(/\/v1$/, '/')}${o.token ? '#token=<token>' : ''} (results from ${resolve(o.store)})`);
    // Beyond loopback without a token, anyone who reaches the port drives envs and reads the results: allowed, but said.
    if (!o.token && !/^(127\.|::1$|localhost$)/.test(o.host)) {
      console.error(`selfopt serve: warning: listening on ${o.host} without --token: anyone who can reach port ${new URL(s.url).port} can run environments and read the results store; pass --token (or $SELFOPT_TOKEN) to require one`);
    }
  });

program
  .command('bench-server')
  .description('the server under load: concurrent sessions stepping with bad messages mixed in; checks replies against in-process mirrors, error codes and paths, leaks')
  .option('--sessions <n>', 'concurrent sessions, one WebSocket each', flagNumber('--sessions', { int: true, min: 2 }), 64)
  .option('--seconds <s>', 'how long they step', flagNumber('--seconds', POSITIVE), 30)
  .option('--json', 'machine-readable report')
  .action(async (o: { sessions: number; seconds: number; json?: boolean }) => {
    const { Worker } = await import('node:worker_threads');
    const { runLoad } = await import('../server/load.js');
    const thread = new Worker(new URL('../server/load-thread.js', import.meta.url));
    const ask = <T>(m: string, key: string) => new Promise<T>((ok) => {
      const f = (r: Record<string, unknown>) => {
        if (key in r) {
          thread.off('message', f);
          ok(r[key] as T);
        }
      };
      thread.on('message', f);
      if (m) thread.postMessage(m);
    });
    const url = await ask<string>('', 'url');
    let logged: string[] = [];
    const report = await runLoad({ url, sessions: o.sessions, seconds: o.seconds, sessionCount: () => ask<number>('count', 'count'), serverErrors: () => logged });
    logged = await ask<string[]>('logged', 'logged');
    for (const e of logged) {
      report.errorCount++;
      if (report.errors.length < 20) report.errors.push(`server logged: ${e.slice(0, 300)}`);
    }
    await ask('close', 'closed');
    await thread.terminate();
    if (o.json) console.log(JSON.stringify(report, null, 2));
    else {
      console.log(`${report.sessions} sessions for ${report.seconds} s: ${report.steps} steps (${report.stepsPerSec}/s), ${report.episodes} episodes, every step equal to its in-process mirror (${report.mirrored})`);
      console.log(`step round trip: p50 ${report.latencyMs.p50} ms, p99 ${report.latencyMs.p99} ms, max ${report.latencyMs.max} ms`);
      console.log(`bad messages answered with the expected code and path: ${Object.entries(report.badAnswered).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      console.log(`sessions left after disconnect: ${report.leakedSessions}`);
      console.log(report.errorCount === 0 ? 'bar met: no error, no leaked session' : `BAR NOT MET: ${report.errorCount} errors:\n  ${report.errors.join('\n  ')}`);
    }
    if (report.errorCount > 0) process.exitCode = 1;
  });

program
  .command('worker')
  .description('run benchmark cells from a `selfopt bench --queue` coordinator, on this machine, until stopped (SIGINT/SIGTERM)')
  .requiredOption('--queue <url>', 'Redis of the coordinator (redis://host:port)')
  .addOption(queueNameOption('BullMQ queue name'))
  .option('--concurrency <n>', 'cells at once (worker threads); default one per core', flagNumber('--concurrency', POSITIVE_INT))
  .option('--lock-seconds <s>', 'a worker silent this long is taken for dead and its cell re-run elsewhere', flagNumber('--lock-seconds', { min: 1, expected: 'a number of seconds, at least 1 (the lock is renewed every half of it; BullMQ refused 0, and a shorter one lapsed while cells ran)' }), 30)
  .action(async (o: { queue: string; queueName: string; concurrency?: number; lockSeconds: number }) => {
    const { STOP_GRACE_MS } = await import('../bench/queue.js');
    const { startWorker } = await import('../bench/queue-worker.js');
    const w = await startWorker({ url: o.queue, queueName: o.queueName, concurrency: o.concurrency, lockMs: Math.round(o.lockSeconds * 1000), log: (l) => console.log(l) });
    // The first SIGINT or SIGTERM is a warm stop: running cells finish and report, unless Redis
    // is silent (exit 130 or 143, as `bench`); a second one exits at once.
    const stop = stopOnSignal(`no new cell; cells running now finish and report (with Redis silent ${STOP_GRACE_MS / 1000} s, they are left for another worker once their lock expires)`, 'the worker');
    stop.signal.addEventListener('abort', () => void w.close().finally(() => process.exit(process.exitCode)), { once: true });
    stop.listen();
  });

interface TrainCliOptions {
  seed: number;
  seconds?: number;
  steps?: number;
  instances?: string[];
  quick?: boolean;
  out?: string;
  state?: string;
  fresh?: boolean;
  opt?: string[];
  data?: string;
}

interface BenchCliOptions {
  instances?: string[];
  solvers?: string[];
  seeds: number;
  split: string;
  quick?: boolean;
  resume?: boolean;
  json?: boolean;
  html?: string | false;
  concurrency?: number;
  opt?: string[];
  data?: string;
  store: string;
  queue?: string;
  queueName: string;
}

function parseOpts(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new SelfoptError(`--opt '${p}'`, 'command line', 'key=value');
    // Defined, not assigned: out['__proto__'] = v sets the object's prototype (to nothing, for a
    // string), so --opt __proto__=1 vanished and the bench ran without a word; as an own key it is
    // refused as an unknown option, like any other.
    Object.defineProperty(out, p.slice(0, eq), { value: p.slice(eq + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  reportError(e);
}
