/** From the results store to what a person reads: terminal tables, `--json`, the HTML report. */
import { SelfoptError } from '../core/errors.js';
import { getProblem } from '../problems/all.js';
import { resolve } from 'node:path';
import { DEFAULT_STORE_PATH } from '../bench/store-rows.js';
import type { ResultsStore, RunMeta } from '../bench/store.js';
import { shellQuote } from '../bench/command.js';
import { summarizeProblem, type Summary } from '../bench/summary.js';
import { formatSummaryTable } from '../bench/table.js';
import { writeHtmlReport } from '../bench/html.js';
import { loadPictures } from '../bench/pictures.js';

export interface ProblemReport {
  summary: Summary;
  run: RunMeta;
}

/**
 * Summarizes each problem from one run (`runId`) or, without one, from the latest run that
 * recorded it; prints tables or JSON. JSON is one object for one problem and an array for several.
 */
export async function printReport(store: ResultsStore, opts: { runId?: string; problems: string[]; json: boolean; afterRead?: () => Promise<void> }): Promise<ProblemReport[]> {
  const runs = await store.runs();
  if (opts.runId) requireRun(store, runs, opts.runId);
  const read: { name: string; run: RunMeta; rows: Awaited<ReturnType<ResultsStore['rows']>> }[] = [];
  for (const name of opts.problems) {
    const run = opts.runId ? runs.find((r) => r.runId === opts.runId)! : await store.latestRun(name);
    if (!run || !run.problems.includes(name)) continue;
    read.push({ name, run, rows: await store.rows({ runId: run.runId, problem: name }) });
  }
  // Everything is read: a reader lets the store go before the summaries (seconds of bootstrap on
  // a big run), so a bench writing it does not wait for them.
  await opts.afterRead?.();
  const reports: ProblemReport[] = read.map(({ name, run, rows }) => ({ summary: summarizeProblem(getProblem(name), rows), run }));
  if (reports.length === 0) {
    throw new SelfoptError('no recorded results for ' + opts.problems.join(', '), store.path, 'a run that recorded them: run `selfopt bench` first');
  }
  if (opts.json) {
    const out = reports.map((r) => r.summary);
    console.log(JSON.stringify(out.length === 1 ? out[0] : out, null, 2));
  } else {
    // A stopped (or still running) run's tables hold the cells it reached: say so once per run.
    const told = new Set<string>();
    for (const r of reports) {
      if (!r.run.finishedAt && !told.has(r.run.runId)) {
        told.add(r.run.runId);
        console.log(`run ${r.run.runId} has not finished (${r.run.cells} cells recorded so far): its means are over the seeds it reached; \`selfopt bench --resume\` with its command runs the rest`);
      }
      console.log(formatSummaryTable(r.summary));
    }
  }
  return reports;
}

/** Fails with one line naming the recent runs when `runId` is not among `runs` (a store's `runs()`). */
export function requireRun(store: ResultsStore, runs: readonly RunMeta[], runId: string): void {
  if (runs.some((r) => r.runId === runId)) return;
  throw new SelfoptError(`no run '${runId}' in the results store`, store.path, `one of the recorded runs (selfopt results runs): ${runs.slice(-5).map((r) => r.runId).join(', ')}`);
}

/** Writes the HTML report; `storePath` locates the runs' pictures (bench/pictures.ts). */
export async function writeReport(reports: ProblemReport[], path: string, storePath?: string): Promise<string> {
  const runs = [...new Map(reports.map((r) => [r.run.runId, r.run])).values()];
  return writeHtmlReport(path, {
    problems: reports.map((r) => {
      const p = getProblem(r.summary.problem);
      const pictures = storePath ? loadPictures(storePath, r.run.runId, p.name, p.solvers.map((s) => s.info.name)) : [];
      return { summary: r.summary, title: p.title, reference: p.reference, pictures };
    }),
    runs,
  });
}

/**
 * The line a bench on a terminal starts with: the dashboard reads the store while the bench
 * writes it (bench/store-lease.ts), and a run of hours is easier watched than waited for.
 * `store` as the user gave it; named only when it is not the default.
 */
export function followHint(store: string): string {
  const arg = resolve(store) === resolve(DEFAULT_STORE_PATH) ? '' : ` --store ${shellQuote(store)}`;
  return `selfopt: watch the run in a browser: npx selfopt serve${arg}, then open http://127.0.0.1:8765/`;
}
