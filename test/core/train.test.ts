import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { train, checkpointFor, trainProgressText, trainStartText, trainStateFiles } from '../../src/core/train.js';
import { DataPath } from '../../src/core/data.js';
import { SelfoptError } from '../../src/core/errors.js';
import type { InstanceRef, LearnedSolver, Problem, TrainContext } from '../../src/core/problem.js';
import { readCheckpoint } from '../../src/learn/checkpoint.js';
import { tempDir } from '../tmp.js';

// A toy learned solver: "trains" by averaging its instances' numbers, one instance per step,
// keeping a running state in stateDir so that a second run resumes where the first stopped.
const averager: LearnedSolver<number, number> = {
  info: { name: 'averager', kind: 'learned', description: 'mean of the train instances' },
  solve: () => 0,
  train(xs: number[], budget, ctx: TrainContext) {
    const state = join(ctx.stateDir, 'state.json');
    let s = existsSync(state) ? (JSON.parse(readFileSync(state, 'utf8')) as { step: number; sum: number }) : { step: 0, sum: 0 };
    const stop = Math.min(xs.length, s.step + (budget.steps ?? xs.length));
    while (s.step < stop) {
      s = { step: s.step + 1, sum: s.sum + xs[s.step]! };
      writeFileSync(state, JSON.stringify(s));
      ctx.log({ step: s.step, mean: s.sum / s.step });
      ctx.progress(s.step, xs.length);
    }
    writeFileSync(ctx.out, String(s.sum / s.step));
  },
};
const heuristic = { info: { name: 'zero', kind: 'heuristic' as const, description: 'zero' }, solve: () => 0 };
const ref = (id: string, split: 'train' | 'test'): InstanceRef => ({ id, source: 'generated', params: {}, split, description: id });
const toy: Problem<number, number> = {
  name: 'toy', title: 'toy', reference: '', metrics: [], primaryMetric: 'x', baseline: 'zero', datasets: [], options: { checkpoint: 'a checkpoint' }, trainOptions: { lr: 'a learning rate', workers: 'threads' },
  solvers: [heuristic, averager],
  listInstances: () => [ref('2', 'train'), ref('4', 'train'), ref('9', 'train'), ref('100', 'test')],
  resolveInstance: (name) => ref(name, name === '100' ? 'test' : 'train'),
  load: (r) => Number(r.id),
  evaluate: () => ({}),
};

function opts(dir: string, extra: Partial<Parameters<typeof train>[0]> = {}) {
  return {
    problem: toy, solver: 'averager', seed: 1, budget: { steps: 10 }, quick: true,
    instanceCtx: { data: new DataPath({ dataDir: dir }), quick: true },
    out: join(dir, 'ckpt', 'averager.ckpt'), stateDir: join(dir, 'state'), options: {}, command: 'selfopt train toy averager',
    ...extra,
  };
}

test('train: trains on the train split only, writes the checkpoint and a manifest with the command', async () => {
  const dir = tempDir('selfopt-train-');
  const seen: number[] = [];
  const o = await train({ ...opts(dir), onProgress: (d) => seen.push(d) });
  assert.equal(readFileSync(o.out, 'utf8'), '5'); // (2 + 4 + 9) / 3: the test instance 100 was left out
  const m = JSON.parse(readFileSync(o.manifest, 'utf8'));
  assert.equal(m.command, 'selfopt train toy averager');
  assert.deepEqual(m.instances, ['2', '4', '9']);
  assert.equal(m.seed, 1);
  assert.deepEqual(seen, [1, 2, 3]);
  assert.equal(readFileSync(join(dir, 'state', 'curve.jsonl'), 'utf8').trim().split('\n').length, 3);
});

test('train: the learning curve ships beside the checkpoint, and the manifest names it relative to itself, not by the state directory\'s path', async () => {
  const dir = tempDir('selfopt-train-');
  const o = await train(opts(dir));
  const m = JSON.parse(readFileSync(o.manifest, 'utf8'));
  // An absolute state-directory path went into committed records and pointed at a machine that was gone.
  assert.equal(m.curve, 'averager.curve.jsonl');
  const beside = join(dir, 'ckpt', m.curve);
  assert.equal(readFileSync(beside, 'utf8'), readFileSync(join(dir, 'state', 'curve.jsonl'), 'utf8'));
  assert.deepEqual(readFileSync(beside, 'utf8').trim().split('\n').map((l) => JSON.parse(l).mean), [2, 3, 5]);
});

test('train: a second run resumes from the saved state; --fresh starts over', async () => {
  const dir = tempDir('selfopt-train-');
  await train(opts(dir, { budget: { steps: 2 } }));
  assert.equal(readFileSync(join(dir, 'ckpt', 'averager.ckpt'), 'utf8'), '3');
  // Pretend the first session took 1000 s: the manifest's wall time must cover both sessions.
  writeFileSync(join(dir, 'state', 'wall-seconds'), '1000');
  await train(opts(dir, { budget: { steps: 2 } })); // resumes at step 2, does the third
  assert.equal(readFileSync(join(dir, 'ckpt', 'averager.ckpt'), 'utf8'), '5');
  const wall = JSON.parse(readFileSync(join(dir, 'ckpt', 'averager.json'), 'utf8')).wallSeconds;
  assert.ok(wall >= 1000 && wall < 1100, `wall ${wall}`);
  await train(opts(dir, { budget: { steps: 1 }, fresh: true }));
  assert.equal(readFileSync(join(dir, 'ckpt', 'averager.ckpt'), 'utf8'), '2');
});

test('train: a state directory resumes only the run that made it (seed, instances, options); the budget and run-only options may change', async () => {
  const dir = tempDir('selfopt-train-');
  await train(opts(dir, { budget: { steps: 1 }, options: { workers: '2' } }));
  await train(opts(dir, { budget: { steps: 2 } })); // another budget, no workers option: the same run, resumed
  assert.equal(readFileSync(join(dir, 'ckpt', 'averager.ckpt'), 'utf8'), '5');
  const refused = (e: SelfoptError) => e instanceof SelfoptError && !e.message.includes('\n') && e.message.includes(join(dir, 'state')) && /--fresh/.test(e.message);
  await assert.rejects(train(opts(dir, { options: { workers: '3', lr: '0.1' } })), (e: SelfoptError) => refused(e) && /--opt lr=0.1 \(saved: \(default\)\)/.test(e.message));
  await assert.rejects(train(opts(dir, { seed: 2 })), (e: SelfoptError) => refused(e) && /--seed 2 \(saved: 1\)/.test(e.message));
  await assert.rejects(train(opts(dir, { instances: ['2', '4'] })), (e: SelfoptError) => refused(e) && /instances: 2 \(saved: 3\), removed 9 \(at /.test(e.message));
  assert.equal(readFileSync(join(dir, 'ckpt', 'averager.ckpt'), 'utf8'), '5', 'nothing trained by a refused run');
  // --fresh starts over under the new options
  await train(opts(dir, { budget: { steps: 1 }, options: { lr: '0.1' }, fresh: true }));
  assert.equal(readFileSync(join(dir, 'ckpt', 'averager.ckpt'), 'utf8'), '2');
  // a state file that does not parse is one clear error, not a stack trace
  writeFileSync(join(dir, 'state', 'run.json'), '{"seed": 1, "inst');
  await assert.rejects(train(opts(dir, { options: { lr: '0.1' } })), (e: SelfoptError) => e instanceof SelfoptError && /unreadable training state .*run\.json.*--fresh starts the run over/.test(e.message));
});

test('train: a run that failed before training binds nothing: the corrected command starts there, its wall time not counted', async () => {
  const dir = tempDir('selfopt-train-');
  // What a run refused after its state directory was made leaves: its run.json and wall time.
  mkdirSync(join(dir, 'state'), { recursive: true });
  writeFileSync(join(dir, 'state', 'run.json'), JSON.stringify({ seed: 1, instances: ['2', '4', '9'], options: { lr: '0.5' } }));
  writeFileSync(join(dir, 'state', 'wall-seconds'), '1000');
  await train(opts(dir, { budget: { steps: 1 } }));
  assert.equal(readFileSync(join(dir, 'ckpt', 'averager.ckpt'), 'utf8'), '2');
  assert.ok(JSON.parse(readFileSync(join(dir, 'ckpt', 'averager.json'), 'utf8')).wallSeconds < 1000);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'state', 'run.json'), 'utf8')).options, {});
  // Once it trained, the directory is bound to it.
  await assert.rejects(train(opts(dir, { options: { lr: '0.5' } })), /made by another run: --opt lr=0.5 \(saved: \(default\)\)/);
});

test('train: --fresh deletes a state directory, never another directory given as --state', async () => {
  const dir = tempDir('selfopt-train-');
  writeFileSync(join(dir, 'notes.txt'), 'mine');
  await assert.rejects(train(opts(dir, { stateDir: dir, fresh: true })), (e: SelfoptError) => e instanceof SelfoptError && /--fresh would delete .* no training state/.test(e.message));
  assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine');
  await train(opts(dir, { budget: { steps: 1 } }));
  await train(opts(dir, { budget: { steps: 1 }, fresh: true })); // a state directory: deleted, trained anew
  assert.equal(readFileSync(join(dir, 'ckpt', 'averager.ckpt'), 'utf8'), '2');
});

test('train: clear errors for a heuristic, a test instance, no budget, and a missing checkpoint', async () => {
  const dir = tempDir('selfopt-train-');
  await assert.rejects(train(opts(dir, { solver: 'zero' })), (e: SelfoptError) => /not trained/.test(e.message) && /averager/.test(e.message));
  await assert.rejects(train(opts(dir, { instances: ['2', '100'] })), /test-split instance\(s\) 100/);
  await assert.rejects(train(opts(dir, { budget: {} })), /no training budget/);
  await assert.rejects(train(opts(dir, { options: { chekpoint: 'x' } })), (e: SelfoptError) => /unknown option 'chekpoint' \(did you mean checkpoint\?\)/.test(e.message) && /--opt \(toy\)/.test(e.message));
  // the bench's checkpoint key is read by no trainer: it went silently into the manifest
  await assert.rejects(train(opts(dir, { options: { checkpoint: 'x.ckpt' } })), (e: SelfoptError) => e instanceof SelfoptError && e.message === 'option checkpoint is read by a bench, not by training (at --opt checkpoint); expected --out FILE to name the checkpoint written, or --opt init=FILE to start from one where the trainer takes it (decima, ppo)');
  assert.throws(() => checkpointFor('toy', 'averager', { checkpoint: join(dir, 'missing.ckpt') }), /no checkpoint for toy\/averager.*selfopt train toy averager/);
});

test('train: an --out that cannot be written (a directory, a path under a file) is refused before training, nothing trained', async () => {
  const dir = tempDir('selfopt-train-');
  mkdirSync(join(dir, 'adir'));
  writeFileSync(join(dir, 'afile'), 'x');
  const trained: number[] = [];
  await assert.rejects(train(opts(dir, { out: join(dir, 'adir'), onProgress: (d) => trained.push(d) })), (e: SelfoptError) => e instanceof SelfoptError && /adir is a directory \(at --out\)/.test(e.message));
  await assert.rejects(train(opts(dir, { out: join(dir, 'afile', 'g.ckpt'), onProgress: (d) => trained.push(d) })), (e: SelfoptError) => e instanceof SelfoptError && /cannot write the checkpoint .*afile\/g\.ckpt: EEXIST.*afile. \(at --out\)/.test(e.message));
  assert.deepEqual(trained, []);
  assert.ok(!existsSync(join(dir, 'state')), 'no state directory made');
  // The CLI: one line, exit code 2, for every trainer alike (the check is in the shared path).
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const r = spawnSync(process.execPath, [cli, 'train', 'partition', 'gap', '--steps', '1', '--quick', '--out', join(dir, 'adir'), '--state', join(dir, 'state')], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, `selfopt: error: ${join(dir, 'adir')} is a directory (at --out); expected a checkpoint file path in a directory that can be written\n`);
});

test('`selfopt train --steps` takes whole steps only: one clear line, nothing trained', () => {
  const dir = tempDir('selfopt-train-cli-');
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const r = spawnSync(process.execPath, [cli, 'train', 'partition', 'gap', '--steps', '1.5', '--quick', '--out', join(dir, 'g.ckpt'), '--state', join(dir, 'state')], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, 'selfopt: error: --steps 1.5 (at command line); expected a positive integer\n');
  assert.ok(!existsSync(join(dir, 'state')) && !existsSync(join(dir, 'g.ckpt')));
});

test('`selfopt train` into a log (not a terminal): whole progress lines, the last at 100%, no carriage returns', () => {
  const dir = tempDir('selfopt-train-cli-');
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const r = spawnSync(process.execPath, [cli, 'train', 'partition', 'gap', '--steps', '3', '--quick', '--out', join(dir, 'g.ckpt'), '--state', join(dir, 'state')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!r.stderr.includes('\r'), JSON.stringify(r.stderr));
  const lines = r.stderr.trimEnd().split('\n');
  // What it trains on comes first: without the data a train split is its generated stand-ins, and nothing said so.
  assert.match(lines[0]!, new RegExp(`^training partition/gap on \\d+ train instances \\(\\d+ generated\\); state in ${join(dir, 'state')}$`));
  assert.equal(lines.at(-1), 'training partition/gap: 3/3 (100%)');
  assert.ok(lines.length <= 3, 'at most one line a minute between the first and the last');
  assert.match(r.stdout, /^checkpoint .*g\.ckpt/);
});

test('trainStartText says how many instances are real and where they were read, how many generated, and whether the run resumes', () => {
  const real = (id: string): InstanceRef => ({ id, source: 'real', path: `/data/scheduling/tpch/${id}`, params: {}, split: 'train', description: id });
  assert.equal(trainStartText({ instances: [real('a'), ref('g', 'train')], stateDir: '/s', resumed: false }), '2 train instances (1 read from /data/scheduling/tpch, 1 generated): a, g; state in /s');
  assert.equal(trainStartText({ instances: [ref('g', 'train')], stateDir: '/s', resumed: true }), '1 train instance (1 generated): g; resuming from /s');
  const many = ['a', 'b', 'c', 'd', 'e'].map(real);
  assert.equal(trainStartText({ instances: many, stateDir: '/s', resumed: false }), '5 train instances (5 read from /data/scheduling/tpch); state in /s');
});

test('train progress: a fractional --seconds budget shows its fraction, not 0/1 (50%) at its end', () => {
  assert.equal(trainProgressText(0.5, 0.5, true), '0.50/0.50 s (100%)');
  assert.equal(trainProgressText(0.25, 0.5, true), '0.25/0.50 s (50%)');
  assert.equal(trainProgressText(0.29, 1.5, true), '0.29/1.50 s (19%)');
  assert.equal(trainProgressText(0, 0.125, true), '0.000/0.125 s (0%)');
  // Whole budgets read as before: steps, or the seconds of a long run.
  assert.equal(trainProgressText(2, 3), '2/3 (66%)');
  assert.equal(trainProgressText(12.7, 60, true), '12/60 s (21%)');
  assert.equal(trainProgressText(0, 0), '0/0 (100%)');
});

test('`selfopt train --seconds 0.5` into a log: its last progress line is 0.50/0.50 s (100%)', () => {
  const dir = tempDir('selfopt-train-cli-');
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const r = spawnSync(process.execPath, [cli, 'train', 'partition', 'gap', '--seconds', '0.5', '--quick', '--out', join(dir, 'g.ckpt'), '--state', join(dir, 'state')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trimEnd().split('\n').at(-1), 'training partition/gap: 0.50/0.50 s (100%)');
});

test('`selfopt train` stopped by Ctrl-C saves its state and writes no checkpoint; the next run resumes there', async () => {
  const dir = tempDir('selfopt-train-stop-');
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const out = join(dir, 'g.ckpt'), state = join(dir, 'state'), curve = join(state, 'curve.jsonl');
  const args = [cli, 'train', 'partition', 'gap', '--quick', '--out', out, '--state', state];
  const child = spawn(process.execPath, [...args, '--seconds', '120'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  // Interrupt once training has taken some steps (none is saved before the first minute).
  const t0 = Date.now();
  while (!(existsSync(curve) && readFileSync(curve, 'utf8').split('\n').length > 20)) {
    assert.ok(Date.now() - t0 < 60_000, `no training steps in 60 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.match(stderr, /stopped after .* the training state is saved in .*state; the same command resumes there/);
  assert.ok(!existsSync(out) && !existsSync(join(dir, 'g.json')), 'no checkpoint or manifest for a stopped run');
  const saved = JSON.parse(readFileSync(join(state, 'gap-state.json'), 'utf8')) as { step: number };
  const logged = readFileSync(curve, 'utf8').trim().split('\n').length;
  assert.ok(saved.step >= 20 && saved.step === logged, `saved step ${saved.step}, ${logged} steps logged`);
  // Resumed: three steps more, then the checkpoint says how many in all.
  const r = spawnSync(process.execPath, [...args, '--steps', String(saved.step + 3)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr.split('\n')[0]!, /; resuming from .*state$/);
  assert.match(stderr.split('\n')[0]!, /; state in .*state$/);
  assert.equal(readCheckpoint(out).header.hyperparameters.steps, saved.step + 3);
  assert.equal(readFileSync(curve, 'utf8').trim().split('\n').length, saved.step + 3, 'every step logged once');
});

test('trainStateFiles: a save killed between its weights and its JSON leaves the previous save whole; the next save removes the orphan', async () => {
  const { readdirSync } = await import('node:fs');
  const dir = tempDir('selfopt-train-state-');
  const unit = () => trainStateFiles<{ step: number }>(dir, 'toy-state');
  const write = (text: string) => (path: string) => writeFileSync(path, text);
  unit().save({ step: 1 }, { weights: write('w1') });
  // A kill after the weights file and before the JSON (the writer stops the save after writing).
  assert.throws(() => unit().save({ step: 2 }, { weights: (path) => { writeFileSync(path, 'w2'); throw new Error('killed'); } }), /killed/);
  const saved = unit().load()!;
  assert.equal(saved.state.step, 1);
  assert.equal(readFileSync(saved.weights['weights']!, 'utf8'), 'w1');
  // A save that leaves a key out keeps the file the previous save named; files no longer named go.
  const u = unit();
  u.save({ step: 2 }, { weights: write('w2'), best: write('b2') });
  const files = u.save({ step: 3 }, { weights: write('w3') });
  assert.equal(readFileSync(files['best']!, 'utf8'), 'b2');
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.ckpt')).sort(), Object.values(files).map((f) => f.slice(dir.length + 1)).sort());
  // A JSON from before the files were named reads the legacy weights file.
  writeFileSync(join(dir, 'old-state.json'), JSON.stringify({ step: 7 }));
  writeFileSync(join(dir, 'old-state.ckpt'), 'w7');
  const legacy = trainStateFiles<{ step: number }>(dir, 'old-state', { weights: 'old-state.ckpt' }).load()!;
  assert.equal(legacy.state.step, 7);
  assert.equal(readFileSync(legacy.weights['weights']!, 'utf8'), 'w7');
});

test('train: a time budget spent after the trainer\'s last report still ends on a 100% report (a loaded machine showed 0.06/0.50 s as the last line)', async () => {
  const dir = tempDir('selfopt-train-late-');
  // Reports once, early, then runs out its time without another report, as a step that ends past the budget does.
  const late: LearnedSolver<number, number> = {
    ...averager,
    train(_xs, budget, ctx) {
      ctx.progress(0.06, budget.seconds!);
      writeFileSync(ctx.out, '1');
    },
  };
  const problem = { ...toy, solvers: [heuristic, late] };
  const seen: [number, number][] = [];
  await train({ ...opts(dir), problem, budget: { seconds: 0.5 }, onProgress: (d, t) => seen.push([d, t]) });
  assert.deepEqual(seen, [[0.06, 0.5], [0.5, 0.5]]);
  // A budget of steps is left as the trainer reported it; so is a stopped run (nothing more said).
  const steps: [number, number][] = [];
  await train({ ...opts(tempDir('selfopt-train-late-')), problem, budget: { steps: 3 }, onProgress: (d, t) => steps.push([d, t]) });
  assert.equal(steps.length, 1);
});
