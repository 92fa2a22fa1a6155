import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rowCommand, shellQuote } from '../../src/bench/command.js';

test('a row command narrows the run to one problem, instance and solver, keeping what shapes the cell', () => {
  assert.equal(
    rowCommand('bench index partition --instances a,b --solvers x,y --seeds 10 --quick --resume --queue redis://h:6379 --queue-name q --html r.html --json --opt rbs_bits=20 lookups=1000 --data /d --store s.duckdb', 'partition', 'rgg_2k_k8', 'gap+fm'),
    'npx selfopt bench partition --instances rgg_2k_k8 --solvers gap+fm --seeds 10 --quick --opt rbs_bits=20 lookups=1000 --data /d',
  );
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
