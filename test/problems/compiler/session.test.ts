/** Compiler problem tests: OptSession and opt-server: the state cache, dropped states, batched pipelines, failures. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { SelfoptError } from '../../../src/core/errors.js';
import { tempDir } from '../../tmp.js';
import { Rng } from '../../../src/core/rng.js';
import { DataPath } from '../../../src/core/data.js';
import { countInstructions } from '../../../src/problems/compiler/ir.js';
import { OptSession, sha1, withoutLocalNames } from '../../../src/problems/compiler/session.js';
import { loadProgram, multiSourcePrograms, programFromPath } from '../../../src/problems/compiler/instances.js';
import { CompilerEnv } from '../../../src/problems/compiler/env.js';
import { evaluateCompiler } from '../../../src/problems/compiler/evaluate.js';
import { compilerProblem } from '../../../src/problems/compiler/index.js';
import { closeIdleServers, optServerBinary, optServerBuildError, serverStats } from '../../../src/problems/compiler/opt-server.js';
import { skip, dir, tiny, own, STABLE, TINY } from './fixtures.js';
import { requireTool } from '../../../src/problems/compiler/llvm.js';
import { procPids, procStat } from '../../../src/core/procfs.js';

test('state cache: a revisited (state, pass) starts no opt; an unknown pass is a recorded failure', { skip }, () => {
  const inst = tiny();
  const s = new OptSession();
  const root = s.addState(inst.ir);
  const a = s.apply(root.hash, 'mem2reg');
  const calls = s.stats.optCalls;
  const b = s.apply(root.hash, 'mem2reg');
  assert.deepEqual(a, b);
  assert.equal(s.stats.optCalls, calls);
  assert.equal(s.stats.hits, 1);
  // a pass that does nothing returns the same state (content-addressed)
  assert.ok(a.ok);
  const again = s.apply(a.state.hash, 'mem2reg');
  assert.ok(again.ok && again.state.hash === a.state.hash);
  const bad = s.apply(root.hash, 'no-such-pass');
  assert.equal(bad.ok, false);
  assert.match((bad as { error: string }).error, /unknown pass name 'no-such-pass'/);
  assert.equal(s.stats.failures, 1);
});

test('a dropped state comes back from its parent up to its use-list order, which newgvn does not always print the same', { skip }, () => {
  const inst = own('fib');
  const s = new OptSession({ maxBytes: 1 }); // every text but a root's and the last one kept is dropped
  const root = s.addState(inst.ir);
  const gvn = s.apply(root.hash, 'newgvn'), m2r = s.apply(root.hash, 'mem2reg');
  assert.ok(gvn.ok && m2r.ok && gvn.state.hash !== m2r.state.hash);
  for (let k = 0; k < 8; k++) {
    // each rebuild keeps its text and drops the other's, so both are rebuilt every round
    assert.equal(countInstructions(s.irOf(gvn.state.hash)), gvn.state.count);
    assert.equal(sha1(s.irOf(m2r.state.hash)), m2r.state.hash);
  }
  assert.ok(s.stats.optCalls >= 2 + 16);
  s.close();
});

test('a batched pipeline gives the same module (up to local names) as the passes one by one', { skip }, () => {
  const programs = [tiny(), own('qsort')];
  const rng = new Rng(7);
  for (const inst of programs) {
    const s = new OptSession();
    const root = s.addState(inst.ir);
    for (let k = 0; k < 4; k++) {
      // a mix of module, cgscc, function and loop passes, random order
      const seq = Array.from({ length: 6 }, () => STABLE[rng.int(STABLE.length)]!);
      seq[0] = 'mem2reg';
      const each = s.applyEach(root.hash, seq);
      const batch = s.applySequence(root.hash, seq);
      assert.ok(each.ok && batch.ok, `${seq.join(',')}`);
      assert.equal(batch.state.count, each.state.count, `${inst.id}: ${seq.join(',')}`);
      assert.equal(withoutLocalNames(s.irOf(batch.state.hash)), withoutLocalNames(s.irOf(each.state.hash)), `${inst.id}: ${seq.join(',')}`);
    }
  }
});

test('a pass never reuses an analysis an earlier pass of the batch left cached (Dhrystone dry.c, where a plain pipeline gave 178, one call per pass 175)', { skip }, async (t) => {
  const { allPrograms } = await import('../../../src/problems/compiler/index.js');
  const spec = allPrograms({ data: new DataPath(), quick: false }).find((p) => p.id === 'ss/Dhrystone/dry');
  if (!spec) return t.skip('llvm-test-suite is not on the data path');
  const inst = loadProgram(spec);
  const seq = 'mem2reg gvn simplifycfg instcombine indvars early-cse<memssa> simplifycfg instcombine attributor early-cse<memssa> loop-deletion gvn attributor instcombine simplifycfg dse load-store-vectorizer'.split(' ');
  const s = new OptSession();
  const root = s.addState(inst.ir).hash;
  const each = s.applyEach(root, seq), batch = s.applySequence(root, seq);
  assert.ok(each.ok && batch.ok);
  assert.equal(batch.state.count, each.state.count);
  s.close();
  const m = evaluateCompiler(inst, { passes: seq, count: each.state.count }, { seed: 1, rng: new Rng(1), quick: true, solveMs: 0, options: { semantics: '0' } });
  assert.equal(m.instructions, each.state.count);
});

test('a C file that does not compile is a recorded failure with clang\'s message', { skip }, () => {
  const f = join(dir, 'bad.c');
  writeFileSync(f, 'int main(void) { return undeclared_thing; }\n');
  const inst = loadProgram(programFromPath(f));
  assert.match(inst.error ?? '', /undeclared_thing/);
  assert.deepEqual(evaluateCompiler(inst, { passes: [] }, { seed: 1, rng: new Rng(1), quick: true, options: {}, solveMs: 0 }), { build_failed: 1 });
  assert.throws(() => new CompilerEnv({ programs: [inst] }), SelfoptError);
  assert.throws(() => programFromPath(join(dir, 'missing.c')), SelfoptError);
});

test('a multi-file program leaves no bitcode behind in a temp directory, linked or not (llvm-link failed)', { skip }, () => {
  const tmp = tempDir('selfopt-link-tmp-');
  const leftovers = () => [
    ...readdirSync(tmp).map((f) => join(tmp, f)),
    ...(existsSync(join(process.env.SELFOPT_CACHE!, 'compiler', 'tmp')) ? readdirSync(join(process.env.SELFOPT_CACHE!, 'compiler', 'tmp')) : []),
  ];
  const linked = join(dir, 'two files'), clash = join(dir, 'two mains');
  mkdirSync(linked, { recursive: true });
  mkdirSync(clash, { recursive: true });
  writeFileSync(join(linked, 'a.c'), 'int twice(int x);\nint main(void) { return twice(3) - 6; }\n');
  writeFileSync(join(linked, 'b.c'), 'int twice(int x) { return 2 * x; }\n');
  writeFileSync(join(clash, 'a.c'), 'int main(void) { return 0; }\n');
  writeFileSync(join(clash, 'b.c'), 'int main(void) { return 1; }\n');
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    const ok = loadProgram(programFromPath(linked));
    assert.equal(ok.error, undefined);
    assert.match(ok.ir, /define dso_local i32 @twice/);
    assert.deepEqual(leftovers(), []);
    assert.match(loadProgram(programFromPath(clash)).error ?? '', /llvm-link failed.*main/);
    assert.deepEqual(leftovers(), []);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = saved;
  }
});

/** A test-suite tree under `root` with the MultiSource program `name`: its CMakeLists.txt and C files. */
function multiSource(root: string, name: string, cmake: string, files: Record<string, string>): void {
  const d = join(root, 'MultiSource', 'Benchmarks', ...name.split('/'));
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'CMakeLists.txt'), cmake);
  for (const [f, text] of Object.entries(files)) writeFileSync(join(d, f), text);
}

test('a MultiSource program built with -fcommon (Olden bh: one global tentatively defined in several files) links', { skip }, () => {
  const root = join(dir, 'suite-fcommon');
  multiSource(root, 'Olden/common', 'list(APPEND CPPFLAGS -fcommon -DTORONTO)\nlist(APPEND CFLAGS -Wno-implicit-int)\nllvm_multisource(common)\n', {
    'a.c': 'int NumNodes;\nint count(void);\nint main(void) { NumNodes = 3; return count() - 3; }\n',
    'b.c': 'int NumNodes;\nint count(void) { return NumNodes; }\n',
  });
  const [p] = multiSourcePrograms(root);
  assert.deepEqual(p!.flags.slice(1), ['-fcommon', '-DTORONTO']);
  const inst = loadProgram(p!);
  assert.equal(inst.error, undefined);
  assert.match(inst.ir, /@NumNodes = common/);
});

test('MultiSource RUN_OPTIONS and flags are a default build\'s: the branches of if() taken with neither LARGE_ nor SMALL_PROBLEM_SIZE; list(APPEND RUN_OPTIONS) counts', () => {
  const root = join(dir, 'suite-run-options');
  const main = { 'main.c': 'int main(int argc, char **argv) { return argc > 9; }\n' };
  // Olden bh's shape: LARGE first, SMALL nested in the else (bh ran with its LARGE sizes)
  multiSource(root, 'Olden/nested', ['list(APPEND CPPFLAGS -DTORONTO)', 'if(LARGE_PROBLEM_SIZE)', '  set(RUN_OPTIONS 40000 30)', '  list(APPEND CPPFLAGS -DBIG)', 'else()',
    '  if(SMALL_PROBLEM_SIZE)', '    set(RUN_OPTIONS 2000 5)', '  else()', '    set(RUN_OPTIONS 20000 20)', '  endif()', 'endif()', 'llvm_multisource(nested)', ''].join('\n'), main);
  // em3d's: SMALL first (em3d and treeadd ran with their SMALL sizes)
  multiSource(root, 'Olden/smallfirst', 'if(SMALL_PROBLEM_SIZE)\n  set(RUN_OPTIONS 256 250 35)\nelse()\n  set(RUN_OPTIONS 1024 1000 125)\nendif()\n', main);
  // Ptrdist ft's: list(APPEND ...), which was never read (ft was never checked)
  multiSource(root, 'Ptrdist/appended', 'if(LARGE_PROBLEM_SIZE)\n  list(APPEND RUN_OPTIONS 6000 100000)\nelse()\n  list(APPEND RUN_OPTIONS 1500 100000)\nendif()\nlist(APPEND CFLAGS -Wno-implicit-int)\n', main);
  multiSource(root, 'Other/elseif', 'if(NOT "${ARCH}" STREQUAL "Alpha")\n  list(APPEND CPPFLAGS -DNOT_ALPHA)\nendif()\nif(LARGE_PROBLEM_SIZE)\n  set(RUN_OPTIONS 3)\nelseif(NOT SMALL_PROBLEM_SIZE)\n  set(RUN_OPTIONS 2)\nelse()\n  set(RUN_OPTIONS 1)\nendif()\n', main);
  const got = Object.fromEntries(multiSourcePrograms(root).map((p) => [p.id, { flags: p.flags.slice(1), runArgs: p.runArgs }]));
  assert.deepEqual(got, {
    'ms/Olden/nested': { flags: ['-DTORONTO'], runArgs: ['20000', '20'] },
    'ms/Olden/smallfirst': { flags: [], runArgs: ['1024', '1000', '125'] },
    'ms/Ptrdist/appended': { flags: [], runArgs: ['1500', '100000'] },
    'ms/Other/elseif': { flags: ['-DNOT_ALPHA'], runArgs: ['2'] },
  });
});

test('a program from the command line is rebuilt when a header it includes changes, or appears', { skip }, () => {
  const d = join(dir, 'with header');
  mkdirSync(d, { recursive: true });
  const main = join(d, 'main.c'), header = join(d, 'k $1.h');
  writeFileSync(main, '#include "k $1.h"\nint main(void) { int s = 0; for (int i = 0; i < 10; i++) s += K(i); return s & 1; }\n');
  assert.match(loadProgram(programFromPath(main)).error ?? '', /k \$1\.h' file not found/);
  writeFileSync(header, '#define K(i) (i * 3)\n');
  const before = loadProgram(programFromPath(main));
  assert.equal(before.error, undefined);
  writeFileSync(header, 'static int sq(int x) { int r = 0; for (int j = 0; j < x; j++) r += j * j; return r; }\n#define K(i) sq(i)\n');
  const after = loadProgram(programFromPath(main));
  assert.match(after.ir, /define internal i32 @sq/);
  assert.ok(after.countO0 > before.countO0, `${after.countO0} > ${before.countO0}`);
});

test('a directory of one .c file stays a directory program: its id, and its own headers found with -I', { skip }, async () => {
  const d = join(dir, 'one-file-dir');
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'foo.h'), '#define V 7\n');
  writeFileSync(join(d, 'main.c'), '#include <foo.h>\nint main(void) { return V - 7; }\n');
  const ref = compilerProblem.resolveInstance!(d, { data: new DataPath(), quick: false });
  assert.deepEqual([ref.id, ref.path], [`file:${d}`, d]);
  const inst = await compilerProblem.load(ref);
  assert.equal(inst.error, undefined);
  assert.equal(inst.id, ref.id);
});

test('--instances takes a program directory in the working directory by its bare name', () => {
  const d = join(dir, 'bare');
  mkdirSync(join(d, 'myprog'), { recursive: true });
  writeFileSync(join(d, 'myprog', 'main.c'), 'int main(void) { return 0; }\n');
  const cwd = process.cwd();
  process.chdir(d);
  try {
    const ref = compilerProblem.resolveInstance!('myprog', { data: new DataPath(), quick: false });
    assert.deepEqual([ref.id, ref.source, ref.path], [`file:${join(d, 'myprog')}`, 'file', join(d, 'myprog')]);
    assert.throws(() => compilerProblem.resolveInstance!('nothing-here', { data: new DataPath(), quick: false }), /unknown instance 'nothing-here'/);
  } finally {
    process.chdir(cwd);
  }
});

test('a failed -Oz reference count is one clear error and not cached: a later load measures it (a cached -1 made every ratio negative)', { skip }, () => {
  const d = join(dir, 'oz-fails');
  mkdirSync(d, { recursive: true });
  const f = join(d, 'p.c');
  writeFileSync(f, TINY);
  // An opt that fails on default<Oz> only, as a timeout on a busy machine does; in a child,
  // since this process has found the real opt already. It reads the module first: exiting with
  // its stdin unread, the write of the module could fail as EPIPE rather than opt's failure.
  const wrapper = join(d, 'opt');
  writeFileSync(wrapper, `#!/bin/sh\ncase "$*" in *'default<Oz>'*) cat >/dev/null; echo simulated failure >&2; exit 1;; esac\nexec '${requireTool('opt')}' "$@"\n`, { mode: 0o755 });
  const instances = new URL('../../../src/problems/compiler/instances.js', import.meta.url).href;
  const code = `import('${instances}').then((m) => { try { const i = m.loadProgram(m.programFromPath(${JSON.stringify(f)})); console.log('countOz', i.countOz); } catch (e) { console.log(e.message); } })`;
  const r = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, SELFOPT_OPT: wrapper }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^opt -passes=default<Oz> failed: simulated failure \(at file:.*p\.c\)/);
  assert.ok(loadProgram(programFromPath(f)).countOz > 0);
});

test('opt-server gives byte-identical modules to opt, and failures as opt does', { skip }, (t) => {
  const exe = optServerBinary();
  if (!exe) return t.skip(`opt-server cannot be built here: ${optServerBuildError()}`);
  const viaOpt = new OptSession({ backend: 'opt' });
  const viaServer = new OptSession({ backend: 'server' });
  const rng = new Rng(11);
  for (const inst of [tiny(), own('qsort')]) {
    let a = viaOpt.addState(inst.ir), b = viaServer.addState(inst.ir);
    for (let k = 0; k < 8; k++) {
      const pass = k === 0 ? 'mem2reg' : STABLE[rng.int(STABLE.length)]!;
      const ta = viaOpt.apply(a.hash, pass), tb = viaServer.apply(b.hash, pass);
      assert.equal(ta.ok, tb.ok, pass);
      if (!ta.ok || !tb.ok) continue;
      assert.equal(tb.state.hash, ta.state.hash, `${inst.id} after ${pass}`);
      a = ta.state; b = tb.state;
    }
  }
  const bad = viaServer.apply(viaServer.addState(tiny().ir).hash, 'no-such-pass');
  assert.equal(bad.ok, false);
  assert.match((bad as { error: string }).error, /unknown pass name 'no-such-pass'/);
  assert.equal(viaServer.backend, 'server');
  viaServer.close();
});

test('a module opt-server refuses as input (it does not parse, or does not verify) costs one request: every later pass on it fails with the same reason, from the session', { skip }, (t) => {
  if (!optServerBinary()) return t.skip(`opt-server cannot be built here: ${optServerBuildError()}`);
  const s = new OptSession({ backend: 'server' });
  // %a uses %b before its definition: it parses, and the verifier refuses it.
  const broken = 'define i32 @f() {\n  %a = add i32 %b, 1\n  %b = add i32 %a, 1\n  ret i32 %a\n}\n';
  const unparsable = 'define i32 @f() {\n  ret i32 %x\n}\n';
  for (const [ir, reason] of [[broken, 'input module is broken'], [unparsable, "use of undefined value '%x'"]] as const) {
    const state = s.addState(ir);
    const first = s.apply(state.hash, 'instcombine');
    assert.ok(!first.ok && first.error.includes(reason), JSON.stringify(first));
    const calls = s.stats.optCalls;
    for (const pass of ['gvn', 'no-such-pass', 'function(simplifycfg),invalidate<all>,function(sroa)']) {
      const t2 = s.apply(state.hash, pass);
      assert.ok(!t2.ok);
      assert.equal(t2.error, first.error.replace('-passes=instcombine', `-passes=${pass}`));
    }
    assert.equal(s.stats.optCalls, calls, 'no request after the first');
  }
  assert.equal(s.stats.failures, 8);
  // A module it accepts is asked about pass by pass, as before.
  const root = s.addState(tiny().ir);
  const calls = s.stats.optCalls;
  assert.ok(s.apply(root.hash, 'mem2reg').ok && s.apply(root.hash, 'no-such-pass').ok === false && s.apply(root.hash, 'gvn').ok);
  assert.equal(s.stats.optCalls, calls + 3);
  s.close();
});

test('opt-server pool: a closed session hands its process to the next, which computes the same; a process that died idle is replaced, not a failure', { skip }, async (t) => {
  if (!optServerBinary()) return t.skip(`opt-server cannot be built here: ${optServerBuildError()}`);
  closeIdleServers();
  const inst = tiny();
  // The new process's FIFOs are made under TMPDIR; once connected they keep no name there (a
  // worker thread terminated with the process live cannot clean up after it).
  const fifos = tempDir('selfopt-fifos-');
  const tmp = process.env.TMPDIR;
  process.env.TMPDIR = fifos;
  const s1 = new OptSession({ backend: 'server' });
  let r1;
  try {
    r1 = s1.apply(s1.addState(inst.ir).hash, 'mem2reg');
  } finally {
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
  }
  assert.deepEqual(readdirSync(fifos), [], 'the live server left no FIFO names behind');
  s1.close();
  assert.equal(serverStats.idlePids().length, 1);
  const starts = serverStats.starts;
  const s2 = new OptSession({ backend: 'server' });
  const r2 = s2.apply(s2.addState(inst.ir).hash, 'mem2reg');
  assert.equal(serverStats.starts, starts, 'the pooled process served s2');
  assert.ok(r1.ok && r2.ok);
  assert.equal(r2.state.hash, r1.state.hash);
  assert.equal(s2.stats.hits, 0, 'a new session has its own empty cache');
  s2.close();
  // The pooled server dies (its process group: the server and the shell it runs under).
  const [pid] = serverStats.idlePids();
  const group = [pid!, ...procPids().filter((p) => procStat(p)?.ppid === pid)];
  process.kill(-pid!, 'SIGKILL');
  // Dead once each is gone or a zombie. (It waited a fixed 200 ms.)
  for (let i = 0; group.some((p) => (procStat(p)?.state ?? 'Z') !== 'Z'); i++) {
    assert.ok(i < 400, `the pooled server's processes (${group.join(', ')}) died`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const s3 = new OptSession({ backend: 'server' });
  const r3 = s3.apply(s3.addState(inst.ir).hash, 'mem2reg');
  assert.ok(r3.ok, 'a dead pooled process is replaced');
  assert.equal(r3.state.hash, r1.state.hash);
  assert.equal(serverStats.starts, starts + 1);
  s3.close();
  closeIdleServers();
});
