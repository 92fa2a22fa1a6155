/**
 * The problems' envs over the environment protocol: scheduling (graph observations, masked actions
 * refused with the env's reason), chip placement and the compiler, each an episode that matches the
 * same env in this process, with their bad options named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../src/server/server.js';
import { encode } from '../../src/server/protocol.js';
import { createSchedulingEnv } from '../../src/problems/scheduling/evaluate.js';
import { WsClient, assertError, servedProtocol, stillServes } from './helpers.js';
import { findTool, llvmAvailable } from '../../src/problems/compiler/llvm.js';
import { actionByName } from '../../src/problems/compiler/passes.js';
import { tempDir } from '../tmp.js';
import { PlacementEnv } from '../../src/problems/chip/rl-env.js';
import { MAX_CELLS, MAX_GENERATED_NODES } from '../../src/server/chip-env.js';

// The compiler env compiles its programs on make: into a cache of this file's own.
process.env.SELFOPT_CACHE ??= tempDir('selfopt-protocol-compiler-');

let server: RunningServer;
let a: WsClient;
servedProtocol((s, c) => ((server = s), (a = c)));
/** The server still answers on the same connection and on a new one. */
const stillServing = (c: WsClient = a) => stillServes(server.url, c);

test('the scheduling env over the protocol: graph observations as arrays, masked actions', async () => {
  const made = await a.ok('make', { env: 'scheduling', options: { instance: 'synthetic_batch2_5exec' } });
  assert.equal(made.actionSpace.kind, 'MaskedDiscrete');
  const { obs, info } = await a.ok('reset', { session: made.session, seed: 3 });
  assert.ok(Array.isArray(obs.nodeFeatures) && Array.isArray(obs.rowPtr) && Array.isArray(info.actionMask));
  assert.equal(info.actionMask.length, made.actionSpace.n);
  const action = info.actionMask.indexOf(1);
  // A masked action is refused with the env's reason (which stage, why), not only "masked out".
  const E = 5, blocked = obs.stageMask.indexOf(0);
  assert.ok(blocked >= 0 && blocked < obs.numNodes, 'a stage row that cannot be picked at t = 0');
  const refused = await a.call('step', { session: made.session, action: blocked * E });
  assertError(refused, 'invalid_action', '$.action');
  assert.match(refused.error!.message, new RegExp(`stage row ${blocked} \\(job \\d+, stage \\d+\\) cannot be picked now: its parents are not all saturated`), JSON.stringify(refused.error));
  const missing = await a.call('step', { session: made.session, action: obs.numNodes * E });
  assert.match(missing.error!.message, new RegExp(`stage row ${obs.numNodes} does not exist`), JSON.stringify(missing.error));
  const outside = await a.call('step', { session: made.session, action: made.actionSpace.n });
  assert.match(outside.error!.message, /not an integer in \[0, \d+\)/, JSON.stringify(outside.error));
  // ... and the episode is the one an in-process env plays without the refused actions.
  const s = await a.ok('step', { session: made.session, action });
  const local = createSchedulingEnv({ instance: 'synthetic_batch2_5exec' });
  local.reset({ seed: 3 });
  assert.deepEqual(s, JSON.parse(encode(local.step(action))));
  await a.ok('close', { session: made.session });
});

test('the scheduling env over the protocol: an action sent as a list is named in its error as the client sent it ([1, 2] read "1,2", and [3] read "3", like a valid action)', async () => {
  const made = await a.ok('make', { env: 'scheduling', options: { instance: 'synthetic_batch2_5exec' } });
  await a.ok('reset', { session: made.session, seed: 3 });
  for (const action of [[1, 2], [3], []]) {
    const refused = await a.call('step', { session: made.session, action });
    assertError(refused, 'invalid_action', '$.action');
    assert.ok(refused.error!.message.startsWith(`invalid action ${JSON.stringify(action)}: not an integer in [0, ${made.actionSpace.n})`), refused.error!.message);
  }
  await a.ok('close', { session: made.session });
});

test('the chip placement env over the protocol: an episode of legal actions = the in-process PlacementEnv, illegal actions refused, bad options named', async () => {
  const id = 'synth_h4_s8_1';
  const made = await a.ok('make', { env: 'chip', options: { instance: id } });
  assert.deepEqual(made.actionSpace, { kind: 'MaskedDiscrete', n: 144 }); // the generator's 12 x 12 grid
  assert.deepEqual(made.observationSpace, { kind: 'ChipPlacementObs', maxCells: 144, cellFeatures: 6, globalFeatures: 3 });
  const local = new PlacementEnv({ instances: [{ id }], maxCells: 144 });
  const r0 = await a.ok('reset', { session: made.session, seed: 9 });
  const l0 = local.reset({ seed: 9 });
  const view = (obs: unknown) => ({ ...(JSON.parse(encode(obs)) as Record<string, unknown>), spec: { id } });
  assert.deepEqual(r0.obs, view(l0.obs));
  assert.deepEqual(r0.info.actionMask, Array.from(l0.info.actionMask!));
  // the netlist graph a client embeds: nodes, nets in CSR form, the macro order
  const nl = r0.info.netlist;
  assert.equal(nl.kind.length, nl.numNodes);
  assert.equal(nl.netStart.at(-1), nl.netPins.length);
  assert.deepEqual(nl.canvas, { width: 600, height: 600, columns: 12, rows: 12 });
  assert.equal(nl.macroOrder.length, 4);
  assert.equal(nl.macroOrder[0], r0.obs.current);
  let info = r0.info, steps = 0, ret = 0, localRet = 0, last;
  for (;;) {
    // illegal actions first: masked, out of space, not an integer; each leaves the episode as it was
    const masked = info.actionMask.indexOf(0);
    for (const action of [...(masked >= 0 ? [masked] : []), -1, 144, 2.5]) assertError(await a.call('step', { session: made.session, action }), 'invalid_action', '$.action');
    const action = info.actionMask.indexOf(1);
    const s = await a.ok('step', { session: made.session, action });
    const l = local.step(action);
    assert.deepEqual(s.obs, view(l.obs), `obs at step ${steps}`);
    assert.equal(s.reward, l.reward);
    assert.equal(s.terminated, l.terminated);
    assert.deepEqual(s.info.actionMask, Array.from(l.info.actionMask!));
    ret += s.reward; localRet += l.reward; steps++; last = s;
    if (s.terminated || s.truncated) break;
    info = s.info;
  }
  assert.equal(steps, 4);
  assert.ok(last.reward < 0);
  assert.equal(ret, localRet);
  assert.equal(-ret, last.info.proxy); // rewardScale 1: the return is minus CT's proxy cost
  assertError(await a.call('step', { session: made.session, action: 0 }), 'needs_reset');
  await a.ok('close', { session: made.session });

  const badOptions = [
    [{}, '$.options.instance'],
    [{ instance: 'synth_h4_s8_1', maxCell: 144 }, '$.options.maxCell'],
    [{ instance: 'synth_h4_s8_1', maxCells: 100 }, '$.options.maxCells'], // fewer than the grid's 144
    [{ instance: 'synth_h4_s8_1', maxCells: MAX_CELLS + 1 }, '$.options.maxCells'],
    [{ instance: 'synth_h4_s8_1', maxCells: 200.5 }, '$.options.maxCells'],
    [{ instance: 'synth_h4_s8_1', fdRounds: 0 }, '$.options.fdRounds'],
    [{ instance: 'synth_h4_s8_1', fdRounds: 1e9 }, '$.options.fdRounds'],
    [{ instance: 'synth_h4_s8_1', rewardScale: -1 }, '$.options.rewardScale'],
    [{ instance: 'no_such_netlist' }, '$.options.instance'],
    [{ instance: 'synth_h0_s8_1' }, '$.options.instance'],
    [{ instance: `synth_h4_s8_p${MAX_GENERATED_NODES}_1` }, '$.options.instance'], // would hold the server for minutes
    [{ instance: 'x'.repeat(129) }, '$.options.instance'],
  ] as const;
  for (const [options, path] of badOptions) assertError(await a.call('make', { env: 'chip', options }), 'bad_options', path);
  assert.equal(server.sessionCount(), 0);
  await stillServing();
});

test('the compiler env over the protocol: programs by id, the mask refuses attributor, a pass shrinks the module', { skip: llvmAvailable() && findTool('llvm-as') ? false : 'LLVM 14 is not installed' }, async () => {
  assertError(await a.call('make', { env: 'compiler', options: { programs: ['own/no-such'] } }), 'bad_options', '$.options');
  assertError(await a.call('make', { env: 'compiler', options: { programs: ['own/fib'], observation: 'pixels' } }), 'bad_options');
  const made = await a.ok('make', { env: 'compiler', options: { programs: ['own/fib', 'own/sieve'], maxSteps: 3 } });
  assert.deepEqual(made.actionSpace, { kind: 'MaskedDiscrete', n: 119 });
  const r0 = await a.ok('reset', { session: made.session, seed: 1, options: { program: 'own/fib' } });
  assert.equal(r0.obs.length, made.observationSpace.shape[0]);
  assert.equal(r0.info.program, 'own/fib');
  const attributor = actionByName('attributor').index, mem2reg = actionByName('mem2reg').index;
  assert.equal(r0.info.actionMask[attributor], 0);
  assertError(await a.call('step', { session: made.session, action: attributor }), 'invalid_action', '$.action');
  const s1 = await a.ok('step', { session: made.session, action: mem2reg });
  assert.ok(s1.reward > 0 && s1.info.instructionCount < r0.info.instructionCount, JSON.stringify(s1.info));
  assertError(await a.call('reset', { session: made.session, options: { program: 'own/rle' } }), 'env_error');
  await a.ok('close', { session: made.session });
  // unmask: attributor may then be taken; a pass that is not masked is refused at make
  const un = await a.ok('make', { env: 'compiler', options: { programs: ['own/fib'], maxSteps: 3, unmask: ['attributor'] } });
  assert.equal((await a.ok('reset', { session: un.session, seed: 1 })).info.actionMask[attributor], 1);
  assert.equal((await a.ok('step', { session: un.session, action: attributor })).info.pass, 'attributor');
  await a.ok('close', { session: un.session });
  const bad = await a.call('make', { env: 'compiler', options: { programs: ['own/fib'], unmask: ['gvn'] } });
  assertError(bad, 'bad_options', '$.options');
  assert.match((bad.error as { message: string }).message, /'gvn' is not a masked pass/);
  await stillServing();
});
