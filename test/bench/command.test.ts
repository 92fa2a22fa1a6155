import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { rowCommand, shellCommand, shellQuote, shellWords } from '../../src/bench/command.js';
import { planGrid } from '../../src/bench/runner.js';
import { DataPath } from '../../src/core/data.js';
import { getProblem } from '../../src/problems/all.js';
import { partitionProblem } from '../../src/problems/partition/index.js';

test('a row command narrows the run to one problem, instance and solver, keeping what shapes the cell', () => {
  assert.equal(
    rowCommand('bench index partition --instances a,b --solvers x,y --seeds 10 --quick --resume --queue redis://h:6379 --queue-name q --html r.html --json --opt rbs_bits=20 lookups=1000 --data /d --store s.duckdb', 'partition', 'rgg_2k_k8', 'gap+fm'),
    'npx selfopt bench partition --instances rgg_2k_k8 --solvers gap+fm --seeds 10 --quick --opt rbs_bits=20 lookups=1000 --data /d',
  );
  // Given the problem's --opt keys, only those stay (bench refuses the others), and the command plans.
  const cmd = rowCommand('bench index partition --seeds 2 --opt rbs_bits=20 vcycles=1 lookups=1000', 'partition', 'rgg_2k_k8', 'gap+fm', Object.keys(partitionProblem.options));
  assert.equal(cmd, 'npx selfopt bench partition --instances rgg_2k_k8 --solvers gap+fm --seeds 2 --opt vcycles=1');
  assert.equal(rowCommand('bench index partition --opt rbs_bits=20', 'partition', 'rgg_2k_k8', 'gap+fm', Object.keys(partitionProblem.options)), 'npx selfopt bench partition --instances rgg_2k_k8 --solvers gap+fm');
  for (const [problem, instance, solver] of [['partition', 'rgg_2k_k8', 'gap+fm'], ['index', 'uniform_dense_20K_uint64', 'pgm']] as const) {
    const keys = Object.keys(getProblem(problem).options);
    const opts = Object.fromEntries(rowCommand('bench index partition --opt rbs_bits=20 vcycles=1', problem, instance, solver, keys).split(' --opt ')[1]?.split(' ').map((kv) => kv.split('=')) ?? []);
    assert.doesNotThrow(() => planGrid({ problems: [problem], instances: [instance], solvers: [solver], seeds: 1, quick: true, resume: false, data: new DataPath({ env: {}, cwd: tmpdir() }), options: opts, concurrency: 0, progress: false, command: 'test' }));
  }
  // The main job (no arguments) and --flag=value forms.
  assert.equal(rowCommand('bench', 'index', 'flights_ts_3M_uint64', 'rmi'), 'npx selfopt bench index --instances flights_ts_3M_uint64 --solvers rmi');
  assert.equal(rowCommand('bench compiler --seeds=3 --no-html', 'compiler', 'ss/Misc/dt', 'Oz'), 'npx selfopt bench compiler --instances ss/Misc/dt --solvers Oz --seeds 3');
  // Not a bench command: as recorded.
  assert.equal(rowCommand('train scheduling decima', 'scheduling', 'x', 'decima'), 'npx selfopt train scheduling decima');
});

test('shellQuote quotes what a shell would read differently', () => {
  assert.equal(shellQuote('rgg_2k_k8'), 'rgg_2k_k8');
  assert.equal(shellQuote('default<Oz>'), "'default<Oz>'");
  assert.equal(shellQuote("it's"), "'it'\\''s'");
});

/** The arguments /bin/sh reads from `line`. */
function shRead(line: string): string[] {
  const r = spawnSync('sh', ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\0').slice(0, -1);
}

test('shellCommand is read back by /bin/sh as the same arguments, and shellWords reads it as sh does', () => {
  const args = ['bench', 'index', '--data', '/data dir/with space', '--opt', "name=it's", 'x="q"', 'a\\b', '$HOME', '`id`', '', 'plain'];
  const line = shellCommand(args);
  assert.deepEqual(shRead(line), args);
  assert.deepEqual(shellWords(line), args);
  for (const typed of [`a "b c" 'd e' f\\ g "h\\"i" "\\$x"`, '  lead  trail  ']) assert.deepEqual(shellWords(typed), shRead(typed), typed);
  assert.equal(shellWords("an 'open quote"), undefined);
});

test('a row command of a run whose arguments held spaces and quotes re-runs with the same arguments (it split them at the spaces)', () => {
  const recorded = shellCommand(['bench', 'partition', '--seeds', '2', '--data', '/data dir/x', '--opt', 'vcycles=1']);
  const cmd = rowCommand(recorded, 'partition', 'rgg_2k_k8', 'gap+fm', Object.keys(partitionProblem.options));
  assert.deepEqual(shRead(cmd.replace(/^npx /, '')), ['selfopt', 'bench', 'partition', '--instances', 'rgg_2k_k8', '--solvers', 'gap+fm', '--seeds', '2', '--data', '/data dir/x', '--opt', 'vcycles=1']);
});
