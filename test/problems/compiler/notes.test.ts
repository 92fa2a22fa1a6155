/** What a compiler bench tells the user beside its metrics: a program that did not build, a program whose semantics are not checked. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Rng } from '../../../src/core/rng.js';
import { loadProgram, programFromPath } from '../../../src/problems/compiler/instances.js';
import { evaluateCompiler } from '../../../src/problems/compiler/evaluate.js';
import { compilerProblem } from '../../../src/problems/compiler/index.js';
import { checkSemantics, DEFAULT_LIMITS } from '../../../src/problems/compiler/semantics.js';
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
      assert.doesNotMatch(err, /(^|\n)\nselfopt: note:/, 'no blank line before a note when no progress bar redraws');
      assert.match(notes[0]!, /^selfopt: note: compiler: file:.*notes-bad\.c did not build: clang failed on .*notes-bad\.c:1:25: error: use of undeclared identifier 'undeclared_thing' \(the message: .*cache\/compiler\/failures\.jsonl\)$/);
    }
  } finally {
    await store.close();
  }
});

test('a program whose -O0 run exits non-zero: its semantics are not checked, and a note says why', { skip }, () => {
  const f = join(dir, 'notes-exit3.c');
  // Each run leaves a mark: after an exit status the program is not checked, so -O0 runs once (it ran twice).
  const marks = join(dir, 'notes-exit3.runs');
  writeFileSync(marks, '');
  writeFileSync(f, `#include <stdio.h>\nint main(void) { FILE *f = fopen(${JSON.stringify(marks)}, "a"); fputc('x', f); fclose(f); volatile int x = 3; return x; }\n`);
  const inst = loadProgram(programFromPath(f));
  const notes: string[] = [];
  const m = evaluateCompiler(inst, { passes: ['mem2reg'] }, { seed: 1, rng: new Rng(1), quick: true, options: {}, solveMs: 0, note: (t) => notes.push(t) });
  assert.equal(m.semantics_ok, undefined);
  assert.deepEqual(notes, [`${inst.id}: semantics not checked (no semantics_ok): -O0's run exits with status 3`]);
  assert.equal(readFileSync(marks, 'utf8'), 'x');
});

test('a program -Oz leaves without instructions has no ratio (it was 0, shown 0x, and a geomean with it NaN): a note and the picture say n/a', { skip }, () => {
  const f = join(dir, 'notes-data-only.c');
  writeFileSync(f, 'int table[4] = {1, 2, 3, 4};\nconst char *name = "data";\n');
  const inst = loadProgram(programFromPath(f));
  assert.equal(inst.countOz, 0);
  const notes: string[] = [];
  const m = evaluateCompiler(inst, { passes: ['globalopt'] }, { seed: 1, rng: new Rng(1), quick: true, options: { semantics: '0' }, solveMs: 0, note: (t) => notes.push(t) });
  assert.equal(m.instructions, 0);
  assert.equal('ratio_vs_oz' in m, false, `ratio_vs_oz = ${m.ratio_vs_oz}`);
  assert.deepEqual(notes, [`${inst.id}: -Oz leaves no instruction, so it has no ratio_vs_oz (n/a)`]);
  assert.match(compilerProblem.picture!(inst, { passes: ['globalopt'] }, 'data-only')!, /-Oz 0, ratio n\/a \(-Oz leaves no instruction\)/);
});

// Without prlimit the limit is wall time, and the verdict reads 'the run went over 1000 ms'.
test('a program whose -O0 run never ends: the verdict is kept on disk by content, and a new process reads it rather than spend the CPU limit again', { skip: skip || (existsSync('/usr/bin/prlimit') ? false : 'no prlimit') }, () => {
  const f = join(dir, 'notes-loop.c');
  writeFileSync(f, 'int main(void) { volatile int x = 0; for (;;) x++; }\n');
  const inst = loadProgram(programFromPath(f));
  const limits = { ...DEFAULT_LIMITS, cpuMs: 1000 };
  assert.deepEqual(checkSemantics(inst, inst.ir, {}, limits), { checked: false, note: '-O0: the run used its 1 s of CPU time' });
  const kept = readdirSync(join(dir, 'cache', 'compiler', 'bc')).filter((n) => n.endsWith('.unchecked.json'))
    .map((n) => join(dir, 'cache', 'compiler', 'bc', n)).filter((p) => readFileSync(p, 'utf8').includes('CPU time'));
  assert.equal(kept.length, 1);
  // What a new process says is what the disk holds (marked here, so that a rerun would show).
  writeFileSync(kept[0]!, JSON.stringify({ unchecked: 'kept verdict' }));
  const url = (p: string) => new URL(p, import.meta.url).href;
  const script = `import { loadProgram, programFromPath } from '${url('../../../src/problems/compiler/instances.js')}';
import { checkSemantics, DEFAULT_LIMITS } from '${url('../../../src/problems/compiler/semantics.js')}';
const inst = loadProgram(programFromPath(${JSON.stringify(f)}));
console.log(JSON.stringify(checkSemantics(inst, inst.ir, {}, { ...DEFAULT_LIMITS, cpuMs: 1000 })));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { checked: false, note: 'kept verdict' });
});
