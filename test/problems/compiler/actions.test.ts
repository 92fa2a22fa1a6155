/** Compiler problem tests: the action space, the instruction count, the program split, runSync. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { SelfoptError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { DataPath } from '../../../src/core/data.js';
import { requireTool, runSync } from '../../../src/problems/compiler/llvm.js';
import { analyzeIr, countInstructions, INSTCOUNT_FEATURES, instCountVector } from '../../../src/problems/compiler/ir.js';
import { ACTION_MASK, actionMask, ACTIONS, actionByName, COMPILERGYM_FLAGS, LEFT_OUT, MASKED, parseUnmask, readActionMap, USABLE_PASSES, usablePasses } from '../../../src/problems/compiler/passes.js';
import { OptSession } from '../../../src/problems/compiler/session.js';
import { subsetOf } from '../../../src/problems/compiler/instances.js';
import { llvmDisCount } from '../../../src/problems/compiler/evaluate.js';
import { candidatePasses, QUICK_PASSES } from '../../../src/problems/compiler/heuristics.js';
import { skip, dir, tiny } from './fixtures.js';

test('instruction counter: continuation lines, labels, comments and declarations are not instructions', () => {
  const ir = [
    'declare i32 @g(i32)',
    'define i32 @f(i32 %0) {',
    '  switch i32 %0, label %3 [',
    '    i32 0, label %2',
    '  ]',
    '',
    '2:                                                ; preds = %1',
    '  %r = tail call i32 @g(i32 1)',
    '  ret i32 %r',
    '',
    '3:                                                ; preds = %1',
    '  ; a comment',
    '  ret i32 0',
    '}',
  ].join('\n');
  assert.equal(countInstructions(ir), 4);
  const a = analyzeIr(ir);
  assert.equal(a.instructions, 4);
  assert.equal(a.blocks, 3);
  assert.equal(a.functions, 1);
  const v = instCountVector(a);
  assert.equal(v[INSTCOUNT_FEATURES.indexOf('retCount')], 2);
  assert.equal(v[INSTCOUNT_FEATURES.indexOf('callCount')], 1);
  assert.equal(v[INSTCOUNT_FEATURES.indexOf('switchCount')], 1);
});

test('action space: 119 LLVM 14 passes, the 5 left out listed, equal to the .tsv map when present', () => {
  assert.equal(COMPILERGYM_FLAGS.length, 124);
  assert.equal(ACTIONS.length, 119);
  assert.deepEqual(Object.keys(LEFT_OUT).sort(), COMPILERGYM_FLAGS.filter(([, p]) => p === null).map(([f]) => f).sort());
  assert.equal(actionByName('-gvn').pass, 'gvn');
  assert.equal(actionByName('early-cse<memssa>').flag, '-early-cse-memssa');
  assert.throws(() => actionByName('bogus-pass'), (e: unknown) => e instanceof SelfoptError && /unknown pass 'bogus-pass'/.test(e.message));
  assert.throws(() => actionByName('-constprop'), (e: unknown) => e instanceof SelfoptError && /removed/.test(e.message));
  const tsv = new DataPath().find('compiler/compilergym/llvm14_newpm_action_map.tsv');
  if (tsv) assert.deepEqual(readActionMap(tsv), COMPILERGYM_FLAGS.map(([f, p]) => [f, p]));
});

test('masked actions keep their index; the mask, the usable passes and the full searches\' candidates leave out exactly MASKED', () => {
  assert.deepEqual(Object.keys(MASKED), ['attributor']);
  const attributor = actionByName('attributor').index;
  assert.equal(ACTIONS[attributor]!.flag, '-attributor');
  assert.equal(ACTION_MASK.length, ACTIONS.length);
  assert.deepEqual(ACTIONS.filter((a) => ACTION_MASK[a.index] === 0).map((a) => a.pass), ['attributor']);
  assert.equal(USABLE_PASSES.length, ACTIONS.length - 1);
  assert.ok(!USABLE_PASSES.includes('attributor'));
  const full = candidatePasses({ seed: 1, rng: new Rng(1), quick: false, options: {} });
  assert.deepEqual(full, [...USABLE_PASSES]);
  assert.ok(!candidatePasses({ seed: 1, rng: new Rng(1), quick: true, options: { allPasses: '1' } }).includes('attributor'));
  // allPasses is a boolean like every other: 'true' takes every usable pass in quick mode too (it once took only '1')
  for (const v of ['1', 'true', 'yes']) assert.deepEqual(candidatePasses({ seed: 1, rng: new Rng(1), quick: true, options: { allPasses: v } }), [...USABLE_PASSES]);
  assert.ok(candidatePasses({ seed: 1, rng: new Rng(1), quick: true, options: { allPasses: 'false' } }).length < USABLE_PASSES.length);
});

test('--opt unmask lifts exactly the masked passes it names; a pass that is not masked, or unknown, is one clear error', () => {
  assert.deepEqual(parseUnmask(undefined), []);
  assert.deepEqual(parseUnmask('attributor, attributor'), ['attributor']);
  assert.deepEqual([...actionMask(['attributor'])], Array(ACTIONS.length).fill(1));
  assert.deepEqual(usablePasses(['attributor']), ACTIONS.map((a) => a.pass));
  for (const bad of ['gvn', 'no-such-pass', 'attributor,gvn']) {
    assert.throws(() => parseUnmask(bad), (e: unknown) => e instanceof SelfoptError && /is not a masked pass/.test(e.message) && /--opt unmask/.test(e.message) && /masked passes: attributor/.test(e.message), bad);
  }
  const ctx = (quick: boolean, options: Record<string, string>) => ({ seed: 1, rng: new Rng(1), quick, options });
  assert.deepEqual(candidatePasses(ctx(false, { unmask: 'attributor' })), ACTIONS.map((a) => a.pass));
  const quick = candidatePasses(ctx(true, { unmask: 'attributor' }));
  assert.deepEqual(quick, [...QUICK_PASSES, 'attributor']);
  assert.throws(() => candidatePasses(ctx(false, { unmask: 'gvn' })), /is not a masked pass/);
});

test('split by program is fixed and roughly 60/20/20', () => {
  assert.equal(subsetOf('ss/Shootout/ary3'), subsetOf('ss/Shootout/ary3'));
  const counts = { train: 0, validation: 0, test: 0 };
  for (let i = 0; i < 2000; i++) counts[subsetOf(`p${i}`)]++;
  assert.ok(counts.train > 1000 && counts.train < 1400 && counts.test > 300 && counts.test < 500, JSON.stringify(counts));
});

test('every count equals counting llvm-dis output, and the LLVM-C API where its headers are installed', { skip }, () => {
  const inst = tiny();
  assert.equal(inst.error, undefined);
  assert.ok(inst.countO0 > inst.countOz && inst.countOz > 0, `${inst.countO0} ${inst.countOz}`);
  const s = new OptSession();
  const root = s.addState(inst.ir);
  const modules = [inst.ir];
  for (const seq of [['mem2reg'], ['sroa', 'instcombine', 'simplifycfg'], ['loop-rotate', 'licm', 'inline', 'gvn']]) {
    const t = s.applyEach(root.hash, seq);
    assert.ok(t.ok);
    modules.push(s.irOf(t.state.hash));
  }
  // llvm-dis of the module's bitcode, counted by the same rule
  for (const ir of modules) assert.equal(llvmDisCount(ir, 'test'), countInstructions(ir));
  // an independent count: iterate every instruction of every block with the LLVM-C API
  const headers = '/usr/lib/llvm-14/include/llvm-c/Core.h';
  if (!existsSync(headers)) return;
  const src = join(dir, 'ic.c'), exe = join(dir, 'ic');
  writeFileSync(src, `#include <llvm-c/Core.h>
#include <llvm-c/IRReader.h>
#include <stdio.h>
int main(int c, char **v) { LLVMContextRef ctx = LLVMContextCreate(); LLVMMemoryBufferRef b; char *m = 0; LLVMModuleRef mod;
  if (LLVMCreateMemoryBufferWithContentsOfFile(v[1], &b, &m) || LLVMParseIRInContext(ctx, b, &mod, &m)) { fprintf(stderr, "%s\\n", m); return 1; }
  long n = 0; for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb))
      for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i)) n++;
  printf("%ld\\n", n); return 0; }
`);
  const b = runSync(requireTool('clang'), ['-w', src, '-o', exe, '-I/usr/lib/llvm-14/include', '-L/usr/lib/llvm-14/lib', '-lLLVM-14', '-Wl,-rpath,/usr/lib/llvm-14/lib'], undefined, 120_000);
  if (!b.ok) return;
  modules.forEach((ir, i) => {
    const f = join(dir, `m${i}.ll`);
    writeFileSync(f, ir);
    const r = runSync(exe, [f], undefined, 60_000);
    assert.ok(r.ok, r.message);
    assert.equal(Number(r.stdout.toString()), countInstructions(ir), `module ${i}`);
  });
});

test('a $SELFOPT_<TOOL> that names no executable is that error, not \'not installed\'', () => {
  // In a child: findTool remembers what it found, and this process has looked for every tool.
  const llvm = new URL('../../../src/problems/compiler/llvm.js', import.meta.url).href;
  const code = `import('${llvm}').then((m) => { try { m.requireTool('llvm-as'); } catch (e) { console.log(e.message); } })`;
  const r = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, SELFOPT_LLVM_AS: '/nonexistent/llvm-as' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\$SELFOPT_LLVM_AS = \/nonexistent\/llvm-as is not an executable file \(at compiler problem\); expected the path of LLVM 14's llvm-as/);
});

test('runSync tells an exit status, a crash, a timeout and a missing program apart', () => {
  const exit = runSync('sh', ['-c', 'echo out; echo err >&2; exit 3'], undefined, 10_000);
  assert.deepEqual([exit.ok, exit.status, exit.signal, exit.timedOut, exit.error], [false, 3, null, false, null]);
  assert.equal(exit.stdout.toString(), 'out\n');
  assert.equal(exit.stderr, 'err\n');
  const crash = runSync('sh', ['-c', 'echo dying >&2; kill -SEGV $$'], undefined, 10_000);
  assert.deepEqual([crash.ok, crash.status, crash.signal, crash.timedOut], [false, null, 'SIGSEGV', false]);
  assert.equal(crash.stderr, 'dying\n', 'the own stderr stays unprefixed');
  assert.match(crash.message, /killed by SIGSEGV: dying/);
  // A program that ignores SIGTERM is still stopped at its limit.
  const slow = runSync('sh', ['-c', 'trap "" TERM; sleep 30'], undefined, 300);
  assert.deepEqual([slow.ok, slow.timedOut, slow.signal], [false, true, 'SIGKILL']);
  assert.ok(slow.ms < 20_000, `stopped after ${slow.ms} ms`);
  assert.match(slow.message, /stopped after 300 ms \(timeout\)/);
  const missing = runSync('/nonexistent/selfopt-tool', [], undefined, 1_000);
  assert.equal(missing.ok, false);
  assert.equal(missing.timedOut, false);
  assert.match(missing.error ?? '', /ENOENT/);
});
