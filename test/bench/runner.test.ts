import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SelfoptError } from '../../src/core/errors.js';
import { getProblem } from '../../src/problems/all.js';
import { planGrid, runBench, type BenchOptions } from '../../src/bench/runner.js';
import { formatEta, RunEta } from '../../src/bench/eta.js';
import { ResultsStore } from '../../src/bench/store.js';
import { cellLabel, cellUserError, gridHash } from '../../src/bench/cell.js';
import { PROJECT_ROOT, codeVersion } from '../../src/core/version.js';
import { generateKeys, writeSosd } from '../../src/problems/index/instances.js';
import { tempDir } from '../tmp.js';
import { benchOptions } from './fixtures.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function options(over: Partial<BenchOptions>): BenchOptions {
  return benchOptions({ problems: ['index'], instances: ['uniform_dense_20K_uint64'], solvers: ['binary-search', 'eytzinger'], seeds: 2 }, over);
}

test("a cell's user error names the cell once: the cell's own checks already name it", () => {
  // "metric 'avg_jct_s' is Infinity (at cell X, cell X)": checkMetrics' where, then the runner's.
  const cell = planGrid(options({}))[0]!.cells[0]!;
  const at = `cell ${cellLabel(cell)}`;
  assert.equal(cellUserError(`metric 'lookup_ns' is Infinity (at ${at}); expected a finite number`, cell).message,
    `metric 'lookup_ns' is Infinity (at ${at}); expected a finite number (finished cells stay recorded, rerun with --resume)`);
  assert.equal(cellUserError('bad line (at keys.txt:3); expected a number', cell).message,
    `bad line (at keys.txt:3, ${at}); expected a number (finished cells stay recorded, rerun with --resume)`);
});

test('planGrid refuses two instance names that resolve to one instance id, before any cell runs', () => {
  // Both cells were planned under one id: the run stopped at the second with "cell ... is already
  // recorded", after the first had run; two key files of one name in two directories did the same.
  const dir = tempDir('selfopt-dup-');
  const keys = generateKeys({ dist: 'uniform_dense', n: 1000, type: 'uint64', dup: 1, seed: 42 });
  for (const sub of ['a', 'b']) {
    mkdirSync(join(dir, sub));
    writeSosd(join(dir, sub, 'k_uint64'), keys);
  }
  assert.throws(() => planGrid(options({ instances: [join(dir, 'a', 'k_uint64'), join(dir, 'b', 'k_uint64')] })),
    /--instances .*a\/k_uint64 and .*b\/k_uint64 are both instance k_uint64 .*expected names of distinct instances \(rename one of two files that share a file name\)/);
  assert.throws(() => planGrid(options({ instances: ['uniform_dense_2000_uint64', 'uniform_dense_2K_uint64'] })),
    /uniform_dense_2000_uint64 and uniform_dense_2K_uint64 are both instance uniform_dense_2K_uint64/);
  // an alias of a generated or real instance is named twice, not a file to rename
  assert.throws(() => planGrid(options({ instances: ['uniform_dense_2K_uint64', 'uniform_dense_2K_uint64'] })), /are both instance uniform_dense_2K_uint64 .*expected names of distinct instances \(name each instance once\)$/);
});

test('planGrid checks names before any work and expands the grid', () => {
  const plan = planGrid(options({}));
  assert.equal(plan.length, 1);
  assert.equal(plan[0]!.cells.length, 1 * 2 * 2);
  assert.throws(() => planGrid(options({ problems: ['indx'] })), /unknown problem 'indx' \(did you mean index\?\)/);
  assert.throws(() => planGrid(options({ solvers: ['pgn'] })), SelfoptError);
  assert.throws(() => planGrid(options({ instances: ['no_such_instance'] })), /unknown instance 'no_such_instance'/);
  assert.throws(() => planGrid(options({ seeds: 0 })), /--seeds 0/);
  assert.throws(() => planGrid(options({ split: 'held-out' as BenchOptions['split'] })), /--split held-out/);
  // a concurrency that is not a thread count fails up front: NaN once ran no cell and marked the run finished
  assert.throws(() => planGrid(options({ concurrency: NaN })), /--concurrency NaN \(at command line\); expected a non-negative integer/);
  assert.throws(() => planGrid(options({ concurrency: -1 })), /--concurrency -1/);
  assert.throws(() => planGrid(options({ concurrency: 1.5 })), /--concurrency 1.5/);
  assert.equal(planGrid(options({ concurrency: 2 }))[0]!.cells.length, 4);
  assert.throws(() => planGrid(options({ instances: [] })), /--instances names no instance/);
  // a misspelt --opt fails before any cell runs, naming the key it meant
  assert.throws(() => planGrid(options({ options: { 'pgm.epsion': '32' } })), (e: unknown) => e instanceof SelfoptError && /unknown option 'pgm.epsion' \(did you mean pgm.epsilon\?\)/.test(e.message) && /--opt \(index\)/.test(e.message));
  assert.equal(planGrid(options({ options: { 'pgm.epsilon': '32', rbs_bits: 'auto' } }))[0]!.cells[0]!.options['pgm.epsilon'], '32');
  // with several problems, a key any of them reads is taken
  assert.doesNotThrow(() => planGrid(options({ problems: ['index', 'compiler'], instances: undefined, solvers: ['binary-search'], options: { unmask: 'attributor' } })));
  assert.throws(() => planGrid(options({ problems: ['index', 'compiler'], instances: undefined, solvers: ['binary-search'], options: { unmsk: 'attributor' } })), /unknown option 'unmsk' \(did you mean unmask\?\)/);
  // values a problem can check up front are checked before any cell: even an -Oz-only grid refuses unmask=gvn
  assert.throws(() => planGrid(options({ problems: ['compiler'], instances: undefined, solvers: ['Oz'], options: { unmask: 'gvn' } })), /'gvn' is not a masked pass \(at --opt unmask\)/);
  assert.throws(() => planGrid(options({ problems: ['compiler'], instances: undefined, solvers: ['Oz'], options: { budget: '-1' } })), /option budget=-1 is out of range \(at --opt budget\); expected a number >= 0/);
  const partition = (opts: Record<string, string>) => planGrid(options({ problems: ['partition'], instances: undefined, solvers: ['random'], options: opts }));
  assert.throws(() => partition({ ub: 'abc' }), /option ub=abc is not a number \(at --opt ub\); expected a number >= 1/);
  assert.throws(() => partition({ vcycles: '1.5' }), /option vcycles=1.5 is not an integer/);
  assert.throws(() => partition({ 'gap.samples': 'x' }), /option gap.samples=x is not an integer/);
  assert.ok(partition({ 'gap.samples': '2', 'gap.vcycles': '1', 'gap.multilevel': '0', 'gap.bisectionTries': '2' })[0]!.cells.length > 0, "GAP's inference settings");
  // a key only training reads (the checkpoint fixes it) is refused, not run under its own config hash
  const trainOnly = (problem: string, solver: string, key: string) => assert.throws(() => planGrid(options({ problems: [problem], instances: undefined, solvers: [solver], options: { [key]: '16' } })), (e: unknown) =>
    e instanceof SelfoptError && e.message.includes(`option ${key} is read by training only: a bench runs the checkpoint, which fixes it (at --opt (${problem}))`)
      && /expected a key bench reads \(.*checkpoint.*\); to try .*, selfopt train with --opt .*=\.\.\. --out FILE, then bench with --opt checkpoint=FILE/.test(e.message), key);
  trainOnly('partition', 'gap', 'gap.hidden');
  trainOnly('partition', 'random', 'gap.layers');
  trainOnly('scheduling', 'decima', 'decima.embed');
  trainOnly('scheduling', 'fifo', 'init');
  trainOnly('compiler', 'ppo', 'hidden');
  trainOnly('compiler', 'Oz', 'learningRate');
  assert.throws(() => partition({ laplacian: 'random-walk' }), /laplacian=random-walk/);
  assert.ok(partition({ ub: '1.05', vcycles: '2', tol: '1e-5' })[0]!.cells.length > 0);
  // every problem checks its values up front, whichever solvers the grid holds (the readers the solvers call)
  const grid = (problem: string, solver: string, opts: Record<string, string>) => planGrid(options({ problems: [problem], instances: undefined, solvers: [solver], options: opts }));
  // Training settings are refused by bench (below); their values are checked as `selfopt train` checks them.
  const trainValues = (problem: string, opts: Record<string, string>) => getProblem(problem, 'test').checkOptionValues!(opts);
  assert.throws(() => grid('index', 'binary-search', { rbs_bits: '99' }), /option rbs_bits=99 is out of range \(at --opt rbs_bits\); expected an integer in \[1, 28\], or auto/);
  assert.throws(() => grid('index', 'binary-search', { 'pgm.epsilon': '0' }), /option pgm.epsilon=0 is out of range/);
  assert.throws(() => grid('index', 'binary-search', { 'rs.radixBits': '30' }), /option rs.radixBits=30 is out of range/);
  assert.throws(() => grid('index', 'binary-search', { 'rmi.root': 'cubc' }), /unknown RMI root model 'cubc' \(did you mean cubic\?\)/);
  assert.throws(() => grid('index', 'binary-search', { 'rmi.tableBits': '27' }), /option rmi.tableBits=27 is out of range/);
  assert.throws(() => grid('index', 'binary-search', { lookups: 'many' }), /option lookups=many is not an integer/);
  assert.throws(() => grid('index', 'binary-search', { 'rmi.tableBits': '12' }), /rmi.tableBits sets the table of a fixed RMI's radix-table root, and rmi.root is not radix-table/);
  assert.throws(() => grid('index', 'binary-search', { 'rmi.root': 'cubic', 'rmi.tableBits': '12' }), /rmi.root is not radix-table/);
  assert.throws(() => grid('index', 'binary-search', { 'rmi.maxBytes': '79' }), /option rmi.maxBytes=79 is out of range \(at --opt rmi.maxBytes\); expected an integer >= 80 \(the smallest RMI/);
  assert.ok(grid('index', 'binary-search', { 'rmi.root': 'radix-table', 'rmi.tableBits': '12' })[0]!.cells.length > 0);
  assert.throws(() => grid('index', 'binary-search', { 'rmi.root': 'cubic', 'rmi.maxBytes': '4096' }), /rmi.maxBytes sets the RMI search, which a fixed RMI \(rmi.root, rmi.branching\) skips/);
  assert.ok(grid('index', 'binary-search', { rbs_bits: 'auto', 'rmi.root': 'cubic', 'rmi.branching': '64', 'pgm.epsilon': '64' })[0]!.cells.length > 0);
  assert.throws(() => grid('chip', 'greedy', { sa_steps: '0' }), /option sa_steps=0 is out of range/);
  assert.throws(() => grid('chip', 'greedy', { rl_finetune: 'x' }), /option rl_finetune=x is not an integer/);
  assert.throws(() => grid('scheduling', 'fifo', { compat: 'maybe' }), /option compat=maybe is not a boolean \(at --opt compat\)/);
  assert.throws(() => grid('scheduling', 'fifo', { 'decima.sample': '2' }), /option decima.sample=2 is not a boolean/);
  assert.throws(() => trainValues('scheduling', { 'decima.learningRate': 'fast' }), /option decima.learningRate=fast is not a number/);
  assert.throws(() => trainValues('scheduling', { 'decima.gnnHidden': '16,x' }), /option decima.gnnHidden=16,x: item 2 \('x'\) is not an integer/);
  assert.throws(() => trainValues('scheduling', { 'decima.chunkSteps': '0' }), /option decima.chunkSteps=0 is out of range \(at --opt decima.chunkSteps\); expected an integer >= 1/);
  assert.throws(() => trainValues('scheduling', { 'decima.jobExtras': '5' }), /option decima.jobExtras=5 is not one of 0, 4, 9/);
  assert.throws(() => trainValues('scheduling', { 'decima.episodesPerIteration': '1' }), /option decima.episodesPerIteration=1 is out of range \(at --opt decima.episodesPerIteration\); expected an integer in \[2, 1024\] \(the baseline averages/);
  assert.ok(grid('scheduling', 'fifo', { compat: '0', 'decima.sample': 'yes' })[0]!.cells.length > 0);
  assert.doesNotThrow(() => trainValues('scheduling', { 'decima.expertAlpha': 'NaN', 'decima.teacherLimitDeltas': '-2,2' }));
  assert.throws(() => trainValues('compiler', { learningRate: 'x' }), /option learningRate=x is not a number/);
  assert.throws(() => trainValues('compiler', { numEnvs: '0' }), /option numEnvs=0 is out of range/);
  assert.throws(() => trainValues('compiler', { observation: 'autophase-nrm' }), /unknown observation 'autophase-nrm' \(did you mean autophase-norm\?\)/);
  assert.throws(() => trainValues('compiler', { hidden: '64x' }), /option hidden=64x: item 2 \(''\) is not an integer/);
  assert.throws(() => trainValues('compiler', { actionHistory: 'maybe' }), /option actionHistory=maybe is not a boolean/);
  assert.throws(() => grid('compiler', 'Oz', { semantics: 'off' }), /option semantics=off is not a boolean/);
  assert.throws(() => grid('compiler', 'Oz', { allPasses: '2' }), /option allPasses=2 is not a boolean/);
});

test('--opt checkpoint=FILE is checked before any cell: a missing file or another model is one error; a queued run leaves a file not here to the workers', () => {
  const dir = tempDir('selfopt-ckpt-');
  const plan = (solvers: string[], checkpoint: string, over: Partial<BenchOptions> = {}) =>
    planGrid(options({ problems: ['partition'], instances: ['rgg_1k_s1001_k2'], solvers, seeds: 1, options: { checkpoint }, ...over }));
  const missing = join(dir, 'missing.ckpt');
  // Before, random's and multilevel's cells ran and gap's first cell failed: "no checkpoint for partition/gap".
  assert.throws(() => plan(['random', 'multilevel', 'gap', 'gap+fm'], missing), (e: unknown) => e instanceof SelfoptError
    && e.message === `no checkpoint file ${missing} (at --opt checkpoint (solver partition/gap, partition/gap+fm)); expected a GapNet checkpoint (selfopt train partition gap)`);
  // A checkpoint of another model (Decima's) for GAP, and a file that is no checkpoint.
  const decima = join(PROJECT_ROOT, 'checkpoints', 'scheduling', 'decima.ckpt');
  assert.throws(() => plan(['random', 'gap'], decima), (e: unknown) => e instanceof SelfoptError
    && e.message === `checkpoint holds a DecimaNet (at ${decima} (--opt checkpoint, solver partition/gap)); expected a GapNet checkpoint (selfopt train partition gap)`);
  const junk = join(dir, 'junk.ckpt');
  writeFileSync(junk, 'not a checkpoint at all, but long enough for the preamble');
  assert.throws(() => plan(['gap'], junk), /not a selfopt checkpoint/);
  // The right model passes; a grid with no solver that reads it does not look at the file.
  assert.equal(plan(['random', 'gap'], join(PROJECT_ROOT, 'checkpoints', 'partition', 'gap.ckpt'))[0]!.cells.length, 2);
  assert.equal(plan(['random'], missing)[0]!.cells.length, 1);
  // Queued: the workers read the path in their own directories; a file here is still checked.
  assert.equal(plan(['gap'], missing, { queue: 'redis://127.0.0.1:1' })[0]!.cells.length, 1);
  assert.throws(() => plan(['gap'], decima, { queue: 'redis://127.0.0.1:1' }), /checkpoint holds a DecimaNet/);
  // Every problem's checkpoint-loading solvers declare their model, and the shipped checkpoint holds it.
  for (const [problem, solvers] of [['scheduling', ['decima']], ['compiler', ['ppo', 'ppo-guided-search']], ['chip', ['rl']]] as const) {
    assert.throws(() => planGrid(options({ problems: [problem], instances: undefined, solvers: [...solvers], seeds: 1, options: { checkpoint: missing } })), /no checkpoint file/, problem);
    const shipped = join(PROJECT_ROOT, 'checkpoints', problem, `${solvers[0]}.ckpt`);
    assert.ok(planGrid(options({ problems: [problem], instances: undefined, solvers: [...solvers], seeds: 1, options: { checkpoint: shipped } }))[0]!.cells.length > 0, problem);
  }
});

test('every problem declares the --opt keys it reads; the declared keys are the ones its code reads', async () => {
  const { problems: PROBLEMS } = await import('../../src/problems/all.js');
  for (const p of PROBLEMS) {
    assert.ok(Object.keys(p.options).length > 0, p.name);
    for (const [k, what] of Object.entries(p.options)) assert.ok(typeof what === 'string' && what.length > 0, `${p.name} ${k}`);
  }
  // Every key read in a problem's source (intOption / numberOption / boolOption / optionNumber / options['k'] / options.k) is
  // declared, but for what is no --opt key: an import's `options.js`, and the compiler's Env and
  // policy factory options (createCompilerEnv, compilerPolicy, reset's options.program).
  const NOT_OPT = new Set(['js', 'program', 'programs', 'obsDim', 'numActions', 'init']);
  const { readdirSync, readFileSync } = await import('node:fs');
  const srcRoot = fileURLToPath(new URL('../../../src/problems/', import.meta.url));
  for (const p of PROBLEMS) {
    const dir = join(srcRoot, p.name);
    const read = new Set<string>();
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
      const text = readFileSync(join(dir, f), 'utf8');
      for (const m of text.matchAll(/(?:(?:intOption|numberOption|boolOption)\((?:ctx\.)?options|optionNumber\(ctx), '([^']+)'|options\['([^']+)'\]|\boptions\.([a-zA-Z_]+)\b/g)) {
        const key = m.slice(1).find((x) => x !== undefined)!;
        if (m[3] === undefined || !NOT_OPT.has(key)) read.add(key);
      }
    }
    const missing = [...read].filter((k) => !(k in p.options) && !(k in (p.trainOptions ?? {})));
    assert.deepEqual(missing, [], `${p.name} reads undeclared options`);
  }
});

test('the progress bar\'s ETA rounds the whole time, never 1h60m', () => {
  assert.deepEqual([7199, 7197, 3600, 3599, 610, 59, 2, 0].map(formatEta), ['2h00m', '1h59m', '1h00m', '1h00m', '10m10s', '1m00s', '0s', '0s']);
  assert.equal(formatEta(3 * 3600 + 14 * 60 + 31), '3h14m');
  assert.equal(formatEta('INF' as unknown as number), 'INF');
});

test('the ETA sums each problem at its own rate, and names the problems with no finished cell instead of guessing them', () => {
  // A clean clone's main job: index cells ran at a rate that put the whole run at 13 h, the
  // partition cells at one that put it at 12 min. One rate over all cells swung between the two.
  let now = 0;
  const eta = new RunEta([...Array(4).fill('index'), ...Array(10).fill('partition'), ...Array(2).fill('compiler')], () => now);
  assert.equal(eta.text(), '16 cells not yet timed (index, partition, compiler)');
  eta.start('index');
  now = 10_000;
  eta.finish('index');
  // 3 index cells left at 10 s each; the other two problems have no rate yet.
  assert.equal(eta.text(), '30s + 12 cells not yet timed (partition, compiler)');
  now = 40_000;
  for (let i = 0; i < 3; i++) eta.finish('index');
  eta.start('partition');
  now = 41_000;
  eta.finish('partition');
  eta.finish('partition');
  // Partition's own rate (2 cells in 1 s), not the run's (6 cells in 41 s): 8 cells, 4 s.
  assert.equal(eta.text(), '5s + 2 cells not yet timed (compiler)');
  for (let i = 0; i < 8; i++) eta.finish('partition');
  eta.start('compiler');
  now = 341_000;
  eta.finish('compiler');
  assert.equal(eta.text(), '5m00s');
  eta.finish('compiler');
  assert.equal(eta.text(), '0s');
  // A queued run is one group without a name; more than three untimed problems are cut short.
  assert.equal(new RunEta(['', '']).text(), '2 cells not yet timed');
  assert.equal(new RunEta(['a', 'b', 'c', 'd']).text(), '4 cells not yet timed (a, b, c, …)');
});

test('without --instances the grid holds the test split only, unless --split says otherwise', () => {
  const grid = (split?: BenchOptions['split']) => {
    const cells = planGrid(options({ problems: ['scheduling'], instances: undefined, solvers: ['fifo'], seeds: 1, split }))[0]!.cells;
    return new Set(cells.map((c) => c.instance.split));
  };
  assert.deepEqual([...grid()], ['test']);
  assert.deepEqual([...grid('train')], ['train']);
  assert.deepEqual([...grid('all')].sort(), ['test', 'train']);
  // A deterministic solver (compiler's -Oz) gets seed 1 only; the others every seed.
  const compiler = planGrid(options({ problems: ['compiler'], instances: undefined, solvers: ['Oz', 'random-search'], seeds: 3, quick: true }))[0]!.cells;
  const seedsOf = (s: string) => compiler.filter((c) => c.solver === s && c.instance.id === compiler[0]!.instance.id).map((c) => c.seed);
  assert.deepEqual(seedsOf('Oz'), [1]);
  assert.deepEqual(seedsOf('random-search'), [1, 2, 3]);
  // Named instances run whatever their split: training sets can still be benchmarked on purpose.
  const named = planGrid(options({ problems: ['scheduling'], instances: ['synthetic_batch20_50exec_train'], solvers: ['fifo'], seeds: 1 }))[0]!.cells;
  assert.equal(named[0]!.instance.split, 'train');
});

test('a failing cell stops the run, finished cells stay recorded, --resume runs only the rest', async () => {
  const dir = tempDir('selfopt-runner-');
  const good = join(dir, 'good_uint64');
  const later = join(dir, 'zlater_uint64');
  writeSosd(good, generateKeys({ dist: 'lognormal', n: 5000, type: 'uint64', dup: 1, seed: 1 }));
  writeFileSync(later, Buffer.alloc(13)); // truncated: the cells of this instance fail at load
  for (const concurrency of [0, 2]) {
    const opts = options({ instances: [good, later], concurrency });
    const storePath = join(dir, `r${concurrency}.duckdb`);
    const s = await ResultsStore.open(storePath);
    await assert.rejects(runBench(opts, s), /zlater_uint64/);
    const runs = await s.runs();
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.finishedAt, null, 'a failed run is not marked finished');
    const done = await s.doneCells(runs[0]!.runId);
    assert.equal(done.size, 4, 'every cell of the good instance was recorded');
    writeSosd(later, generateKeys({ dist: 'normal', n: 3000, type: 'uint64', dup: 1, seed: 2 }));
    const out = await runBench({ ...opts, resume: true }, s);
    assert.equal(out.runId, runs[0]!.runId);
    assert.deepEqual([out.ran, out.skipped], [4, 4]);
    const rows = await s.rows({ runId: out.runId });
    assert.equal(new Set(rows.map((r) => `${r.instance}/${r.solver}/${r.seed}`)).size, 8);
    assert.ok(rows.every((r) => Number.isFinite(r.value)));
    assert.notEqual((await s.runs())[0]!.finishedAt, null);
    assert.equal(out.resumedFromCode, undefined, 'the same code resumed its own run');
    await s.close();
    writeFileSync(later, Buffer.alloc(13));
  }
});

test('--resume refuses a run whose cells were recorded from a key file that has changed since', async () => {
  // The file's contents were in no hash: the resumed run skipped the changed file's cells as
  // recorded, its tables one instance of two files' keys.
  const dir = tempDir('selfopt-runner-changed-');
  const file = join(dir, 'mine_uint64');
  const other = join(dir, 'other_uint64');
  writeSosd(file, generateKeys({ dist: 'uniform_sparse', n: 3000, type: 'uint64', dup: 1, seed: 1 }));
  writeSosd(other, generateKeys({ dist: 'normal', n: 3000, type: 'uint64', dup: 1, seed: 1 }));
  const s = await ResultsStore.open(join(dir, 'r.duckdb'));
  const stop = new AbortController();
  const opts = options({ instances: [file, other], solvers: ['binary-search'], seeds: 1, concurrency: 0, signal: stop.signal, onCell: () => stop.abort() });
  const first = await runBench(opts, s);
  assert.equal(first.interrupted, true);
  assert.equal(first.ran, 1);
  writeSosd(file, generateKeys({ dist: 'uniform_sparse', n: 3000, type: 'uint64', dup: 1, seed: 2 }));
  await assert.rejects(runBench({ ...opts, resume: true, signal: undefined, onCell: undefined }, s), (e: unknown) => {
    assert.ok(e instanceof SelfoptError, String(e));
    assert.equal(e.message, `--resume: a file of --instances changed since run ${first.runId} recorded cells of it: ${file} (1 cell) (at ${s.path}); expected the files as they were when those cells ran, or a new run of the changed files (the same command without --resume)`);
    return true;
  });
  // the file as it was: the run goes on where it stopped
  writeSosd(file, generateKeys({ dist: 'uniform_sparse', n: 3000, type: 'uint64', dup: 1, seed: 1 }));
  const out = await runBench({ ...opts, resume: true, signal: undefined, onCell: undefined }, s);
  assert.deepEqual([out.runId, out.ran, out.skipped], [first.runId, 1, 1]);
  await s.close();
});

test('--resume that finds no run of the grid says so and starts one; a run keeps its options, not its wiring', async () => {
  // Another --seeds or --opt value is another grid: --resume started a new run without a word.
  const dir = tempDir('selfopt-runner-');
  const s = await ResultsStore.open(join(dir, 'r.duckdb'));
  const first = await runBench({ ...options({}), seeds: 1, command: 'selfopt bench index --seeds 1' }, s);
  assert.equal(first.resumeFoundNone, undefined);
  const writes: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
  let out;
  try {
    out = await runBench({ ...options({}), seeds: 2, resume: true, signal: new AbortController().signal }, s);
  } finally {
    process.stderr.write = write;
  }
  assert.notEqual(out.runId, first.runId);
  assert.equal(out.resumeFoundNone, true);
  assert.ok(writes.some((w) => w.includes(`--resume found no run of this grid in ${s.path}`) && w.includes('the latest run was `selfopt bench index --seeds 1`') && w.includes(`started run ${out.runId}`)), writes.join(''));
  const run = (await s.runs()).find((r) => r.runId === out.runId)!;
  assert.equal(run.options['seeds'], 2);
  assert.ok(!('signal' in run.options) && !('data' in run.options), JSON.stringify(run.options));
  await s.close();
});

test('--resume of a run started at other code says so, and the rows it adds record this code', async () => {
  const dir = tempDir('selfopt-runner-');
  const s = await ResultsStore.open(join(dir, 'r.duckdb'));
  const opts = options({});
  const cells = planGrid(opts).flatMap((p) => p.cells);
  const old = await s.startRun({ command: 'test', gridHash: gridHash(cells), codeVersion: '0123456789ab' });
  const out = await runBench({ ...opts, resume: true }, s);
  assert.equal(out.runId, old);
  assert.equal(out.resumedFromCode, '0123456789ab');
  const rows = await s.rows({ runId: old });
  assert.ok(rows.length > 0 && rows.every((r) => r.codeVersion === codeVersion()), 'each row records the code that made it');
  await s.close();
});

test('an aborted signal stops the run after the cell in hand: finished cells recorded, the run left open, --resume runs the rest', async () => {
  const dir = tempDir('selfopt-stop-');
  for (const concurrency of [0, 2]) {
    const stop = new AbortController();
    const opts = options({ instances: ['uniform_dense_20K_uint64', 'lognormal_20K_uint64'], seeds: 3, concurrency });
    const s = await ResultsStore.open(join(dir, `r${concurrency}.duckdb`));
    const out = await runBench({ ...opts, signal: stop.signal, onCell: (_c, finished) => { if (finished === 2) stop.abort(); } }, s);
    assert.equal(out.interrupted, true);
    assert.equal(out.total, 12);
    // In this thread the run stops right after the second cell; on 2 worker threads the other
    // lane's cell may finish and be recorded in the meantime, or be abandoned.
    assert.ok(concurrency === 0 ? out.ran === 2 : out.ran >= 2 && out.ran <= 3, `${out.ran} cells ran`);
    const runs = await s.runs();
    assert.equal(runs[0]!.finishedAt, null, 'a stopped run is not marked finished');
    assert.equal((await s.doneCells(out.runId)).size, out.ran, 'every cell that ran is recorded');
    const rest = await runBench({ ...opts, resume: true }, s);
    assert.equal(rest.runId, out.runId);
    assert.deepEqual([rest.ran, rest.skipped, rest.interrupted], [12 - out.ran, out.ran, undefined]);
    const rows = await s.rows({ runId: out.runId });
    assert.equal(new Set(rows.map((r) => `${r.instance}/${r.solver}/${r.seed}`)).size, 12);
    assert.notEqual((await s.runs())[0]!.finishedAt, null);
    await s.close();
  }
});

test('Ctrl-C stops `selfopt bench` cleanly: exit 130, a line saying how many cells are recorded, and --resume runs the rest', async () => {
  const dir = tempDir('selfopt-sigint-');
  const args = [CLI, 'bench', 'index', '--quick', '--instances', 'uniform_dense_20K_uint64,lognormal_20K_uint64', '--solvers', 'binary-search,eytzinger,pgm', '--seeds', '3', '--concurrency', '1', '--no-html', '--store', join(dir, 'r.duckdb')];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  // The progress bar's first line means the run has started; stop it there.
  await new Promise<void>((res) => child.stderr.on('data', (d) => { stderr += d; if (stderr.includes('cells |')) res(); }));
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  const m = /run (\S+) stopped: (\d+) of 18 cells recorded \(\2 this time\); the same command with --resume runs the rest/.exec(stderr);
  assert.ok(m, stderr);
  const resumed = spawnSync(process.execPath, [...args, '--resume'], { encoding: 'utf8' });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`run ${m[1]}: ${18 - Number(m[2])} cells run, ${m[2]} already recorded`));
  // Cells in this thread (--concurrency 0): Ctrl-C keeps its default and ends the process at once.
  const inThread = spawn(process.execPath, [...args.slice(0, -2), '--store', join(dir, 'r0.duckdb'), '--concurrency', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const ended = new Promise<NodeJS.Signals | null>((res) => inThread.on('exit', (_code, sig) => res(sig)));
  await new Promise<void>((res) => inThread.stderr.on('data', (d) => { if (String(d).includes('cells |')) res(); }));
  inThread.kill('SIGINT');
  assert.equal(await ended, 'SIGINT');
});

test('the selfopt command end to end: bench --json prints the stable summary; errors are one line', async () => {
  const dir = tempDir('selfopt-cli-');
  const store = join(dir, 'r.duckdb');
  const out = execFileSync(process.execPath, [CLI, 'bench', 'index', '--quick', '--instances', 'lognormal_20K_uint64', '--solvers', 'binary-search,radix-binary-search', '--seeds', '2', '--json', '--store', store, '--html', join(dir, 'r.html')], { encoding: 'utf8' });
  const j = JSON.parse(out);
  assert.equal(j.problem, 'index');
  const row = j.rows.find((r: any) => r.solver === 'radix-binary-search' && r.metric === 'lookup_ns');
  assert.ok(row && row.n === 2 && row.ci95[0] <= row.mean && row.mean <= row.ci95[1]);
  assert.ok(j.comparisons.some((c: any) => c.solver === 'radix-binary-search' && c.baseline === 'binary-search' && c.ratio > 0));
  const bad = spawnSync(process.execPath, [CLI, 'bench', 'index', '--solvers', 'nope', '--store', store], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^selfopt: error: unknown solver 'nope'/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  // a bad command is refused before the store is opened: none is left where none was
  const fresh = join(dir, 'fresh.duckdb');
  const badValue = spawnSync(process.execPath, [CLI, 'bench', 'index', '--opt', 'pgm.epsilon=0', '--store', fresh], { encoding: 'utf8' });
  assert.equal(badValue.status, 2);
  assert.match(badValue.stderr, /^selfopt: error: option pgm.epsilon=0 is out of range/);
  assert.equal(existsSync(fresh), false);
  const exp = spawnSync(process.execPath, [CLI, 'results', 'export', '--csv', '--out', join(dir, 'r.csv'), '--store', store], { encoding: 'utf8' });
  assert.equal(exp.status, 0, exp.stderr);
  assert.match(exp.stderr, /wrote \d+ rows/);
  // a misspelt --run or --problem is an error that leaves an earlier export alone, not an empty file written over it
  const before = readFileSync(join(dir, 'r.csv'), 'utf8');
  for (const [flag, value, message] of [['--run', 'no-such-run', /^selfopt: error: no run 'no-such-run' in the results store/], ['--problem', 'indx', /^selfopt: error: unknown problem 'indx'/]] as const) {
    const typo = spawnSync(process.execPath, [CLI, 'results', 'export', '--csv', flag, value, '--out', join(dir, 'r.csv'), '--store', store], { encoding: 'utf8' });
    assert.equal(typo.status, 2, typo.stderr);
    assert.match(typo.stderr, message);
    assert.equal(typo.stderr.trim().split('\n').length, 1);
    assert.equal(readFileSync(join(dir, 'r.csv'), 'utf8'), before);
  }
  // report and results only read the store: they open it read-only, so they work beside another
  // reader (the dashboard's) and on a store this user may not write (a colleague's, a read-only copy)
  const reader = await ResultsStore.open(store, { readOnly: true });
  try {
    for (const args of [['report', '--no-html'], ['results', 'runs'], ['results', 'export', '--csv', '--out', join(dir, 'r2.csv')]]) {
      const r = spawnSync(process.execPath, [CLI, ...args, '--store', store], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    assert.equal(readFileSync(join(dir, 'r2.csv'), 'utf8'), before);
  } finally {
    await reader.close();
  }
});

test('the built selfopt bin runs as a program (shebang, executable bit), as npx and a linked install start it', () => {
  // npx in a clone runs the package's own bin file; npm sets its mode only when it links it, and a
  // clone re-made at a path npx has cached is not linked again: the build sets it.
  const out = execFileSync(CLI, ['list', '--json'], { encoding: 'utf8' });
  assert.ok(JSON.parse(out).some((p: { name: string }) => p.name === 'index'));
});

test('selfopt list takes problem names: those alone are listed, a misspelt one gets the closest name', () => {
  const some = JSON.parse(execFileSync(process.execPath, [CLI, 'list', '--json', 'scheduling', 'index'], { encoding: 'utf8' }));
  assert.deepEqual(some.map((p: { name: string }) => p.name), ['scheduling', 'index']);
  const bad = spawnSync(process.execPath, [CLI, 'list', 'schedulng'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^selfopt: error: unknown problem 'schedulng' \(did you mean scheduling\?\)/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
});

test('a problem\'s meta metrics reach the JSON summary (scheduling: simulator decisions per second)', () => {
  const dir = tempDir('selfopt-meta-');
  const out = execFileSync(process.execPath, [CLI, 'bench', 'scheduling', '--quick', '--instances', 'synthetic_batch3_5exec', '--solvers', 'fifo,fair', '--seeds', '2', '--json', '--store', join(dir, 'r.duckdb'), '--no-html'], { encoding: 'utf8' });
  const j = JSON.parse(out);
  const decisions = j.rows.filter((r: any) => r.metric === 'decisions_per_sec').map((r: any) => r.mean);
  assert.ok(decisions.length === 2 && decisions.every((d: number) => d > 0));
  // The median over cells lies between the smallest and largest cell, so within the solvers' spread.
  assert.ok(j.meta.simDecisionsPerSec >= Math.min(...decisions) / 2 && j.meta.simDecisionsPerSec <= Math.max(...decisions) * 2);
  assert.ok(j.meta.simTaskEventsPerSec > 0);
});

test('a user error in a worker thread stays a user error (one line, exit 2), not a crash', async () => {
  const dir = tempDir('selfopt-usererr-');
  const store = await ResultsStore.open(join(dir, 'r.duckdb'));
  // (a key file the worker finds truncated when it loads the instance: no check before the cells reads it)
  const keys = join(dir, 'short_uint64');
  const bytes = Buffer.alloc(8 + 30);
  bytes.writeBigUInt64LE(10n, 0); // 10 keys announced, 30 bytes follow
  writeFileSync(keys, bytes);
  try {
    await assert.rejects(
      runBench(options({ instances: [keys], solvers: ['binary-search'], seeds: 1, concurrency: 1 }), store),
      (e: unknown) => e instanceof SelfoptError && /file is truncated/.test(e.message) && /cell index\/short_uint64\/binary-search\/seed 1/.test(e.message),
    );
  } finally {
    await store.close();
  }
});
