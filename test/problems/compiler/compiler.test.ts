import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { SelfoptError } from '../../../src/core/errors.js';
import { tempDir } from '../../tmp.js';
import { Rng } from '../../../src/core/rng.js';
import { DataPath } from '../../../src/core/data.js';
import { findTool, llvmAvailable, requireTool, runSync } from '../../../src/problems/compiler/llvm.js';
import { analyzeIr, countInstructions, INSTCOUNT_FEATURES, instCountVector } from '../../../src/problems/compiler/ir.js';
import { ACTION_MASK, actionMask, ACTIONS, actionByName, COMPILERGYM_FLAGS, LEFT_OUT, MASKED, parseUnmask, readActionMap, USABLE_PASSES, usablePasses } from '../../../src/problems/compiler/passes.js';
import { OptSession, sha1, withoutLocalNames } from '../../../src/problems/compiler/session.js';
import { loadProgram, ownPrograms, programFromPath, subsetOf, type CompilerInstance } from '../../../src/problems/compiler/instances.js';
import { CompilerEnv } from '../../../src/problems/compiler/env.js';
import { evaluateCompiler, llvmDisCount, RECOUNTS, reconcileCount } from '../../../src/problems/compiler/evaluate.js';
import { candidatePasses, geneticAlgorithm, greedySearch, QUICK_PASSES } from '../../../src/problems/compiler/heuristics.js';
import { compareOutputs, scanActions } from '../../../src/problems/compiler/determinism.js';
import { countTrace } from '../../../src/problems/compiler/picture.js';
import { compilerProblem } from '../../../src/problems/compiler/index.js';
import { closeIdleServers, optServerBinary, optServerBuildError, serverStats } from '../../../src/problems/compiler/opt-server.js';

const skip = llvmAvailable() && findTool('llvm-as') ? false : 'LLVM 14 clang/opt/llvm-dis/llvm-link are not installed';
const dir = tempDir('selfopt-compiler-test-');
process.env.SELFOPT_CACHE = join(dir, 'cache');

/** A tiny C program with a loop, a switch and a helper function: enough for every pass kind. */
const TINY = `#include <stdio.h>
static int f(int x) { int s = 0; for (int i = 0; i < x; i++) { switch (i % 3) { case 0: s += i; break; case 1: s -= 1; break; default: s *= 2; } } return s; }
int main(void) { int t = 0; for (int k = 0; k < 5; k++) t += f(k * 3); printf("%d\\n", t); return 0; }
`;

let tinyCache: CompilerInstance | undefined;
function tiny(): CompilerInstance {
  if (!tinyCache) {
    const f = join(dir, 'tiny.c');
    writeFileSync(f, TINY);
    tinyCache = loadProgram(programFromPath(f));
  }
  return tinyCache;
}
/** Usable passes that give byte-identical modules run after run (determinism.ts): newgvn and gvn-hoist may print another use-list order. */
const STABLE = USABLE_PASSES.filter((p) => p !== 'newgvn' && p !== 'gvn-hoist');
function own(name: string): CompilerInstance {
  return loadProgram(ownPrograms().find((p) => p.id === `own/${name}`)!);
}

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

test('a search count real opt reproduces within RECOUNTS runs is LLVM\'s nondeterminism (reported, the first count kept); one it never gives is an error', () => {
  const runs = (xs: number[]) => { let i = 0; return () => { const x = xs[i++]; if (x === undefined) throw new Error('recounted too often'); return x; }; };
  assert.equal(reconcileCount(undefined, [10], runs([]), 'w'), false);
  assert.equal(reconcileCount(10, [10], runs([]), 'w'), false);
  const seen = [11];
  assert.equal(reconcileCount(10, seen, runs([11, 11, 10]), 'w'), true);
  assert.deepEqual(seen, [11, 11, 11, 10]);
  // a later search that saw a count already measured costs no run
  assert.equal(reconcileCount(10, seen, runs([]), 'w'), true);
  assert.throws(() => reconcileCount(9, [11], runs(Array(RECOUNTS).fill(11)), 'compiler evaluate, p'),
    (e: unknown) => e instanceof SelfoptError && new RegExp(`search saw 9 instructions.*has 11(, 11){${RECOUNTS - 1}} in ${RECOUNTS} runs`).test(e.message) && /compiler evaluate, p/.test(e.message));
});

test('determinism verdicts: identical, use-list order only, same count, different count', () => {
  // use-list order at the end of a function body and at module level, as opt -preserve-ll-uselistorder prints it
  const m = (body: string, uses = '') => `define i32 @f(i32 %x) {\n  %a = add i32 %x, 1\n${body}  ret i32 %a\n${uses ? `\n  ; uselistorder directives\n  uselistorder i32 %a, { ${uses} }\n` : ''}}\n${uses ? `\n; uselistorder directives\nuselistorder i32 %x, { ${uses} }\n` : ''}`;
  assert.equal(compareOutputs([m(''), m('')]), 'same');
  assert.equal(compareOutputs([m('', '1, 0'), m('', '0, 1'), m('')]), 'uselist');
  assert.equal(compareOutputs([m('  %b = mul i32 %a, 2\n'), m('  %b = mul i32 %a, 3\n')]), 'module');
  assert.equal(compareOutputs([m(''), m('  %b = mul i32 %a, 2\n')]), 'count');
});

test('cloning target: 0.7 on greedy\'s choice (ties shared), 0.3 by instructions removed, sums to 1', async () => {
  const { cloneTarget } = await import('../../../src/problems/compiler/imitation.js');
  const childCounts = ACTIONS.map(() => 100);
  childCounts[3] = 90; childCounts[7] = 90; childCounts[9] = 95; childCounts[11] = 120;
  const t = cloneTarget({ program: 'p', taken: [], features: [], count: 100, childCounts, returnToGo: 0 });
  const total = t.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - 1) < 1e-6, String(total));
  assert.ok(Math.abs(t[3]! - (0.35 + 0.3 * 10 / 25)) < 1e-6 && Math.abs(t[7]! - t[3]!) < 1e-9);
  assert.ok(Math.abs(t[9]! - 0.3 * 5 / 25) < 1e-6);
  assert.equal(t[11], 0);
  assert.equal(t[0], 0);
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

test('env: same seed, same trajectory; reward sums to the normalised decrease', { skip }, () => {
  const programs = [tiny(), own('sieve')];
  const run = (seed: number) => {
    const env = new CompilerEnv({ programs, maxSteps: 4 });
    const out: number[] = [];
    let { info } = env.reset({ seed });
    const start = info.instructionCount as number;
    const prog = env.currentProgram;
    let ret = 0;
    const rng = new Rng(seed);
    for (;;) {
      const a = rng.int(3) === 0 ? actionByName('mem2reg').index : env.actionSpace.sample(rng);
      const r = env.step(a);
      ret += r.reward;
      out.push(a, r.info.instructionCount as number);
      if (r.truncated) {
        const end = r.info.instructionCount as number;
        assert.ok(Math.abs(ret - (start - end) / (prog.countO0 - prog.countOz)) < 1e-9);
        break;
      }
    }
    return [prog.id, ...out];
  };
  assert.deepEqual(run(3), run(3));
});

test('env: a masked action is refused with the reason and changes nothing; info carries the mask', { skip }, () => {
  const env = new CompilerEnv({ programs: [own('sieve')], maxSteps: 4 });
  const { info } = env.reset({ seed: 1 });
  const attributor = actionByName('attributor').index;
  assert.equal((info.actionMask as Uint8Array)[attributor], 0);
  assert.equal((info.actionMask as Uint8Array)[actionByName('gvn').index], 1);
  const before = env.current.hash;
  assert.throws(() => env.step(attributor), (e: unknown) => e instanceof SelfoptError && /attributor\) is masked out: nondeterministic/.test(e.message));
  assert.equal(env.current.hash, before);
  // the step count did not move either: four more steps still fit in the episode
  for (let k = 0; k < 3; k++) assert.equal(env.step(actionByName('mem2reg').index).truncated, false);
  const last = env.step(actionByName('mem2reg').index);
  assert.equal(last.truncated, true);
  assert.equal((last.info.actionMask as Uint8Array)[attributor], 0);
  env.close();
});

test('env: unmask lets the named masked action be taken; an unknown name is refused at construction', { skip }, () => {
  const env = new CompilerEnv({ programs: [own('sieve')], maxSteps: 4, unmask: ['attributor'] });
  const { info } = env.reset({ seed: 1 });
  const attributor = actionByName('attributor').index;
  assert.equal((info.actionMask as Uint8Array)[attributor], 1);
  const r = env.step(attributor);
  assert.equal(r.info.pass, 'attributor');
  assert.equal(r.info.passFailed, undefined);
  env.close();
  assert.throws(() => new CompilerEnv({ programs: [own('sieve')], unmask: ['gvn'] }), (e: unknown) => e instanceof SelfoptError && /'gvn' is not a masked pass/.test(e.message) && /CompilerEnv unmask/.test(e.message));
});

test('determinism scan: every pass on the -O0 module and after a prefix, each verdict counted; deterministic passes are \'same\'', { skip }, () => {
  const rows = scanActions([own('sieve')], { reps: 3, prefixes: 2, rng: new Rng(3), passes: ['mem2reg', 'instcombine', 'simplifycfg'] });
  assert.deepEqual(rows.map((r) => r.pass), ['mem2reg', 'instcombine', 'simplifycfg']);
  // the -O0 module and the distinct modules after the two prefixes, the same for every pass
  assert.ok(rows.every((r) => r.modules === rows[0]!.modules && r.modules >= 2 && r.modules <= 3), JSON.stringify(rows));
  for (const r of rows) assert.deepEqual([r.worst, r.uselist, r.module, r.count], ['same', 0, 0, 0], r.pass);
});

test('greedy: every step removes instructions, and evaluate replays it with real opt', { skip }, async () => {
  const inst = tiny();
  const passes = ['mem2reg', 'instcombine', 'simplifycfg', 'gvn', 'dce', 'sroa'];
  const g = await greedySearch(inst, passes, { maxSteps: 10, concurrency: 2 });
  assert.ok(g.passes.length >= 2);
  const s = new OptSession();
  let prev = s.addState(inst.ir);
  for (const p of g.passes) {
    const t = s.apply(prev.hash, p);
    assert.ok(t.ok && t.state.count < prev.count);
    prev = t.state;
  }
  const m = evaluateCompiler(inst, g, { seed: 1, rng: new Rng(1), quick: true, options: {}, solveMs: 0 });
  assert.equal(m.instructions, prev.count);
  assert.equal(m.ratio_vs_oz, inst.countOz / prev.count);
  assert.equal(m.semantics_ok, 1);
  assert.ok(m.opt_calls! > 0 && m.cache_hit_rate! >= 0);
});

test('the picture replays an answer pass by pass: its last count is the one the evaluator checked with opt; a pipeline draws nothing', { skip }, () => {
  const inst = tiny();
  const passes = ['mem2reg', 'mem2reg', 'instcombine', 'simplifycfg', 'dce'];
  const trace = countTrace(inst, passes);
  assert.equal(trace.length, passes.length);
  assert.ok(trace[0]! < inst.countO0, 'mem2reg removes the allocas\' loads and stores');
  assert.equal(trace[1], trace[0], 'a second mem2reg finds nothing left');
  const m = evaluateCompiler(inst, { passes }, { seed: 1, rng: new Rng(1), quick: true, options: { semantics: '0' }, solveMs: 0 });
  assert.equal(trace[trace.length - 1], m.instructions);
  const svg = compilerProblem.picture!(inst, { passes }, 'tiny · test · seed 1')!;
  assert.match(svg, /^<svg[\s\S]*<\/svg>\s*$/);
  assert.match(svg, new RegExp(`5 passes · ${m.instructions} instructions after the last · -Oz ${inst.countOz}, ratio ${(inst.countOz / m.instructions!).toFixed(3)} \\(above 1 beats it\\) · -O0 ${inst.countO0}`));
  // -O0's column, then one column per pass: a vertical move before each.
  assert.equal(svg.match(/<path d="M[^"]*" fill="none" stroke="#ea580c"/)![0].match(/V/g)!.length, passes.length);
  // Every pass is named; the one that removed nothing in grey.
  for (const p of passes) assert.match(svg, new RegExp(`>${p}</text>`));
  assert.equal(svg.match(/fill="#94a3b8">mem2reg</g)?.length, 1);
  // The count the search saw must be where the replay ends.
  assert.throws(() => compilerProblem.picture!(inst, { passes, count: m.instructions! + 1 }, 'x'), (e: unknown) => e instanceof SelfoptError && /ends at \d+ instructions, the search saw/.test(e.message));
  // Past 60 passes only those that changed the count are named: here the first few of 64.
  const long = Array.from({ length: 64 }, (_, i) => passes[i % passes.length]!);
  const longTrace = countTrace(inst, long);
  const changed = longTrace.filter((c, i) => c !== (i === 0 ? inst.countO0 : longTrace[i - 1])).length;
  assert.ok(changed > 0 && changed < 10);
  const longSvg = compilerProblem.picture!(inst, { passes: long }, 'x')!;
  assert.equal(longSvg.match(/rotate\(-60\)/g)!.length, 1 + changed, '-O0 and the passes that changed the count');
  assert.equal(compilerProblem.picture!(inst, { passes: [], pipeline: 'default<Oz>' }, 'x'), undefined);
  assert.equal(compilerProblem.picture!(inst, { passes: [] }, 'x'), undefined);
  assert.throws(() => countTrace(inst, ['mem2reg', 'no-such-pass']), (e: unknown) => e instanceof SelfoptError && /pass 2 \(no-such-pass\) failed on replay/.test(e.message));
});

test('genetic algorithm: its count is the replayed count; past its deadline it evaluates nothing more', { skip }, async () => {
  const inst = tiny();
  const passes = ['mem2reg', 'instcombine', 'simplifycfg', 'gvn', 'dce', 'sroa', 'loop-rotate', 'licm'];
  const opts = { budget: 40, seconds: 600, population: 8, length: 6, concurrency: 2, mutation: 0.1 };
  const g = await geneticAlgorithm(inst, passes, new Rng(3), opts);
  const s = new OptSession();
  const replay = s.applyEach(s.addState(inst.ir).hash, g.passes);
  assert.ok(replay.ok && g.passes.length === 6);
  assert.equal(evaluateCompiler(inst, g, { seed: 1, rng: new Rng(1), quick: true, options: {}, solveMs: 0 }).instructions, replay.state.count);
  // seconds = 0: the deadline has passed before the first sequence, so not even the first
  // generation runs (it was checked only between generations, and one slow generation could
  // overrun `seconds` by its whole length).
  const none = await geneticAlgorithm(inst, passes, new Rng(3), { ...opts, seconds: 0 });
  assert.deepEqual(none.passes, []);
  assert.equal(none.stats?.optCalls ?? 0, 0);
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
  const [pid] = serverStats.idlePids();
  process.kill(pid!, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  const s3 = new OptSession({ backend: 'server' });
  const r3 = s3.apply(s3.addState(inst.ir).hash, 'mem2reg');
  assert.ok(r3.ok, 'a dead pooled process is replaced');
  assert.equal(r3.state.hash, r1.state.hash);
  assert.equal(serverStats.starts, starts + 1);
  s3.close();
  closeIdleServers();
});

test('DAgger demos: the policy\'s own moves, every state labelled with all passes as greedy labels it', { skip }, async () => {
  const { policyDemos } = await import('../../../src/problems/compiler/imitation.js');
  const inst = own('sieve');
  const s = new OptSession();
  // a "policy" that prefers late actions: it strays far from greedy's path
  // (and prefers the masked attributor above all: it must still never run it)
  const prefer = () => Float32Array.from(ACTIONS, (x, a) => (x.pass === 'attributor' ? 1e6 : a));
  const demos = policyDemos(inst, s, 'both', 4, prefer);
  assert.ok(demos.length > 0);
  let prev: number[] = [];
  for (const d of demos) {
    const check = new OptSession();
    const at = check.applyEach(check.addState(inst.ir).hash, d.taken.map((a) => ACTIONS[a]!.pass));
    assert.ok(at.ok);
    assert.equal(at.state.count, d.count);
    for (const a of [0, 7, ACTIONS.length - 1]) {
      const c = check.apply(at.state.hash, ACTIONS[a]!.pass);
      assert.equal(d.childCounts[a], c.ok ? c.state.count : d.count);
    }
    // a masked pass is never run: labelled as changing nothing, never taken
    assert.equal(d.childCounts[actionByName('attributor').index], d.count);
    assert.ok(!d.taken.includes(actionByName('attributor').index));
    check.close();
    // each move is the highest-preferred pass that changes the module: a prefix of the next demo's
    assert.deepEqual(d.taken.slice(0, prev.length), prev);
    assert.ok(d.returnToGo >= 0);
    prev = d.taken;
  }
  s.close();
});

test('ppo: a tiny training run writes a checkpoint that ppo and ppo-guided-search solve from', { skip }, async () => {
  const { ppoSolver, ppoGuidedSolver } = await import('../../../src/problems/compiler/ppo.js');
  const progs = [tiny(), own('sieve')];
  const stateDir = join(dir, 'ppo-state'), out = join(dir, 'ppo.ckpt');
  const points: Record<string, number>[] = [];
  const options = { chunkSteps: '64', numEnvs: '2', numSteps: '32', workers: '0', episodeLength: '6', hidden: '16x16', demoSteps: '3', bcEpochs: '20' };
  await ppoSolver.train(progs, { steps: 64 }, { seed: 1, rng: new Rng(1), quick: true, options, stateDir, out, command: 'test', log: (p) => points.push(p), progress: () => {} });
  assert.ok(existsSync(out));
  assert.ok(points.some((p) => typeof p.validationGeomeanVsOz === 'number'));
  // behaviour cloning ran on greedy's demonstrations before PPO, and its loss fell
  const bc = points.filter((p) => typeof p.bcPolicyLoss === 'number').slice(0, 20);
  assert.ok(bc.at(-1)!.bcPolicyLoss! < bc[0]!.bcPolicyLoss!, `${bc[0]!.bcPolicyLoss} -> ${bc.at(-1)!.bcPolicyLoss}`);
  // one DAgger round cloned again (20 more epochs), and the checkpoint names the passes greedy chose
  assert.equal(points.filter((p) => typeof p.bcPolicyLoss === 'number').length, 40);
  const { readCheckpoint } = await import('../../../src/learn/checkpoint.js');
  const best = (readCheckpoint(out).header.hyperparameters as { bestPasses: string[] }).bestPasses;
  assert.ok(best.length > 0 && best.every((p) => ACTIONS.some((a) => a.pass === p)), String(best));
  const ctx = { seed: 1, rng: new Rng(1), quick: true, options: { checkpoint: out } };
  const inst = own('fib');
  const alone = await ppoSolver.solve(inst, ctx);
  assert.ok(alone.passes.length <= 6);
  const guided = await ppoGuidedSolver.solve(inst, { ...ctx, rng: new Rng(2) });
  // guided search starts from the policy's own answer, so it is never worse
  assert.ok(guided.count! <= alone.count!, `${guided.count} > ${alone.count}`);
  const m = evaluateCompiler(inst, guided, { ...ctx, solveMs: 0, options: { semantics: '0' } });
  assert.equal(m.instructions, guided.count);
});

test('a policy that prefers a masked pass above all never takes it, alone or in guided search', { skip }, async () => {
  const { COMPILER_PPO_DEFAULTS, compilerPolicy, guidedSearch, policyAlone } = await import('../../../src/problems/compiler/ppo.js');
  const { observationSize } = await import('../../../src/problems/compiler/env.js');
  const cfg = { ...COMPILER_PPO_DEFAULTS, hidden: [8], episodeLength: 6 };
  const net = compilerPolicy({ obsDim: observationSize(cfg.observation, cfg.actionHistory), numActions: ACTIONS.length, hidden: cfg.hidden }, new Rng(1));
  const out = net.actor.layers.at(-1)!;
  out.bias!.data[actionByName('attributor').index] = 1e3;
  const inst = own('sieve');
  const alone = policyAlone({ net, cfg, mask: ACTION_MASK }, inst);
  assert.ok(alone.seq.length > 0);
  const guided = guidedSearch({ net, cfg, mask: ACTION_MASK }, inst, new Rng(2), { samples: 3, topK: 4, maxSteps: 6 });
  for (const seq of [alone.seq, guided.seq]) assert.ok(!seq.includes('attributor'), seq.join(' '));
  // The searches follow the mask they are given: unmasked, the preferred pass is taken first
  // (it changes sieve's -O0 module); a narrow mask keeps every pass inside it.
  const unmasked = policyAlone({ net, cfg, mask: actionMask(['attributor']) }, inst);
  assert.equal(unmasked.seq[0], 'attributor', unmasked.seq.join(' '));
  const allowed = ['mem2reg', 'instcombine', 'simplifycfg'];
  const narrow = Uint8Array.from(ACTIONS, (a) => (allowed.includes(a.pass) ? 1 : 0));
  for (const seq of [policyAlone({ net, cfg, mask: narrow }, inst).seq, guidedSearch({ net, cfg, mask: narrow }, inst, new Rng(2), { samples: 3, topK: 4, maxSteps: 6 }).seq]) {
    assert.ok(seq.length > 0 && seq.every((p) => allowed.includes(p)), seq.join(' '));
  }
});

test('semantics: the optimised program must print what -O0 prints; a changed module is caught', { skip }, async () => {
  const { checkSemantics } = await import('../../../src/problems/compiler/semantics.js');
  const inst = tiny();
  const s = new OptSession();
  const t = s.applyEach(s.addState(inst.ir).hash, ['mem2reg', 'instcombine', 'simplifycfg']);
  assert.ok(t.ok);
  assert.deepEqual(checkSemantics(inst, s.irOf(t.state.hash)), { checked: true, same: true });
  // main's loop bound 5 -> 4: a wrong "optimisation"
  const broken = inst.ir.replace(/icmp slt i32 (%\d+), 5/, 'icmp slt i32 $1, 4');
  assert.notEqual(broken, inst.ir);
  const r = checkSemantics(inst, broken, { solver: 'made-up', passes: ['bound-5-to-4'] });
  assert.equal(r.checked, true);
  assert.equal(r.same, false);
  assert.equal(r.reason, 'outputs differ');
  const line = semanticsLog().find((l) => l.passes?.[0] === 'bound-5-to-4');
  assert.equal(line?.reason, 'outputs differ');
  assert.equal(line?.solver, 'made-up');
  assert.equal(line?.instance, inst.id);
  assert.match(line?.note ?? '', /exit 0 vs 0, stdout \d+ vs \d+ bytes/);
});

function semanticsLog(): { instance?: string; solver?: string; passes?: string[]; reason?: string; note?: string }[] {
  const f = join(dir, 'cache', 'compiler', 'semantics.jsonl');
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : [];
}

test('semantics: a run past the first limit gets one longer rerun; still running, it is a logged timeout', { skip }, async () => {
  const { checkSemantics } = await import('../../../src/problems/compiler/semantics.js');
  const inst = tiny();
  // Limits scaled down so the test takes seconds (the defaults are 20 s, then one rerun of at
  // least 120 s and 10x -O0's run).
  const limits = { runMs: 150, retryMs: 2500, buildMs: 60_000 };
  const irOf = (name: string, source: string) => {
    const f = join(dir, name);
    writeFileSync(f, source);
    const ll = runSync(requireTool('clang'), ['-O0', '-S', '-emit-llvm', f, '-o', '-'], undefined, 60_000);
    assert.ok(ll.ok, ll.message);
    return ll.stdout.toString();
  };
  // slow but right: past the first limit, inside the rerun's (the old check called it wrong)
  const slow = irOf('slow.c', TINY.replace('int main(void) {', '#include <unistd.h>\nint main(void) { usleep(600000);'));
  assert.deepEqual(checkSemantics(inst, slow, { solver: 'slow' }, limits), { checked: true, same: true });
  assert.equal(semanticsLog().find((l) => l.solver === 'slow'), undefined);
  // never ends: a failed check, with its reason in the log (the old check kept no reason)
  const forever = irOf('forever.c', 'int main(void) { volatile int x = 0; for (;;) x++; return x; }\n');
  const r = checkSemantics(inst, forever, { solver: 'looping', passes: ['p1', 'p2'] }, limits);
  assert.deepEqual([r.checked, r.same, r.reason], [true, false, 'timeout']);
  assert.match(r.note ?? '', /the run went over 150 ms, then over \d+ ms/);
  const line = semanticsLog().find((l) => l.solver === 'looping');
  assert.deepEqual([line?.reason, line?.passes], ['timeout', ['p1', 'p2']]);
  // a module clang cannot build is a failed check with clang's message
  const bad = checkSemantics(inst, 'define i32 @main() {\n  ret i32 %undefined_value\n}\n', { solver: 'broken-ir' });
  assert.deepEqual([bad.checked, bad.same, bad.reason], [true, false, 'build failed']);
  assert.match(bad.note ?? '', /undefined_value/);
  assert.equal(semanticsLog().find((l) => l.solver === 'broken-ir')?.reason, 'build failed');
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
