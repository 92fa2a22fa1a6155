/** What a compiler bench tells the user beside its metrics: a program that did not build, a program whose semantics are not checked. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBench } from '../../../src/bench/runner.js';
import { ResultsStore } from '../../../src/bench/store.js';
import { benchOptions } from '../../bench/fixtures.js';
import { skip, dir } from './fixtures.js';

/** Runs `body` with what it writes to stderr captured. */
async function stderrOf(body: () => Promise<unknown>): Promise<string> {
  const write = process.stderr.write;
  let text = '';
  process.stderr.write = ((chunk: string | Uint8Array) => { text += String(chunk); return true; }) as typeof process.stderr.write;
  try {
    await body();
  } finally {
    process.stderr.write = write;
  }
  return text;
}

test('a program that does not build: the bench says clang\'s error line and where the message is, once per run, in this thread and in worker threads', { skip }, async () => {
  const bad = join(dir, 'notes-bad.c');
  writeFileSync(bad, 'int main(void) { return undeclared_thing; }\n');
  const store = await ResultsStore.open(join(dir, 'notes.duckdb'));
  try {
    for (const concurrency of [0, 2]) {
      const opts = benchOptions({ problems: ['compiler'], instances: [bad], solvers: ['Oz', 'random-search'], seeds: 2 }, { concurrency });
      const err = await stderrOf(() => runBench(opts, store));
      const notes = err.split('\n').filter((l) => l.startsWith('selfopt: note:'));
      assert.equal(notes.length, 1, err);
      assert.match(notes[0]!, /^selfopt: note: compiler: file:.*notes-bad\.c did not build: clang failed on .*notes-bad\.c:1:25: error: use of undeclared identifier 'undeclared_thing' \(the message: .*cache\/compiler\/failures\.jsonl\)$/);
    }
  } finally {
    await store.close();
  }
});
