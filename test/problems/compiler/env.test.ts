/** Compiler problem tests: CompilerEnv (the Env contract, the mask, unmask) and the determinism study. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SelfoptError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { actionByName } from '../../../src/problems/compiler/passes.js';
import { CompilerEnv } from '../../../src/problems/compiler/env.js';
import { compareOutputs, scanActions } from '../../../src/problems/compiler/determinism.js';
import { skip, tiny, own } from './fixtures.js';

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

test('determinism verdicts: identical, use-list order only, same count, different count', () => {
  // use-list order at the end of a function body and at module level, as opt -preserve-ll-uselistorder prints it
  const m = (body: string, uses = '') => `define i32 @f(i32 %x) {\n  %a = add i32 %x, 1\n${body}  ret i32 %a\n${uses ? `\n  ; uselistorder directives\n  uselistorder i32 %a, { ${uses} }\n` : ''}}\n${uses ? `\n; uselistorder directives\nuselistorder i32 %x, { ${uses} }\n` : ''}`;
  assert.equal(compareOutputs([m(''), m('')]), 'same');
  assert.equal(compareOutputs([m('', '1, 0'), m('', '0, 1'), m('')]), 'uselist');
  assert.equal(compareOutputs([m('  %b = mul i32 %a, 2\n'), m('  %b = mul i32 %a, 3\n')]), 'module');
  assert.equal(compareOutputs([m(''), m('  %b = mul i32 %a, 2\n')]), 'count');
});

test('determinism scan: every pass on the -O0 module and after a prefix, each verdict counted; deterministic passes are \'same\'', { skip }, () => {
  const rows = scanActions([own('sieve')], { reps: 3, prefixes: 2, rng: new Rng(3), passes: ['mem2reg', 'instcombine', 'simplifycfg'] });
  assert.deepEqual(rows.map((r) => r.pass), ['mem2reg', 'instcombine', 'simplifycfg']);
  // the -O0 module and the distinct modules after the two prefixes, the same for every pass
  assert.ok(rows.every((r) => r.modules === rows[0]!.modules && r.modules >= 2 && r.modules <= 3), JSON.stringify(rows));
  for (const r of rows) assert.deepEqual([r.worst, r.uselist, r.module, r.count], ['same', 0, 0, 0], r.pass);
});
