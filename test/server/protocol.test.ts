/**
 * Conformance of the environment protocol (src/server/protocol.ts): every op, every kind of bad
 * message (each answered with its code and the path of the bad field), session ownership,
 * reaping, the token; and after each bad message the server keeps serving.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { serve, type RunningServer } from '../../src/server/server.js';
import { encode, MAX_MESSAGE_BYTES, HARD_LIMIT_BYTES } from '../../src/server/protocol.js';
import { Chain } from '../../src/learn/envs.js';
import { createSchedulingEnv } from '../../src/problems/scheduling/evaluate.js';
import { WsClient, post, msg, sleep } from './helpers.js';
import { findTool, llvmAvailable } from '../../src/problems/compiler/llvm.js';
import { actionByName } from '../../src/problems/compiler/passes.js';
import { tempDir } from '../tmp.js';
import { PlacementEnv } from '../../src/problems/chip/rl-env.js';
import { MAX_CELLS, MAX_GENERATED_NODES } from '../../src/server/chip-env.js';

// The compiler env compiles its programs on make: into a cache of this file's own.
process.env.SELFOPT_CACHE ??= tempDir('selfopt-protocol-compiler-');

let server: RunningServer;
let a: WsClient;

before(async () => {
  server = await serve({ port: 0, log: () => {} });
  a = await WsClient.open(server.url);
});

after(async () => {
  await a.close();
  await server.close();
});

/** The server still answers on the same connection and on a new one. */
async function stillServing(c: WsClient = a): Promise<void> {
  assert.equal((await c.ok('hello')).protocol, 1);
  const fresh = await WsClient.open(server.url);
  assert.equal((await fresh.ok('hello')).server, 'selfopt');
  await fresh.close();
}

function assertError(r: { ok: boolean; error?: { code: string; path: string | null } }, code: string, path?: string | null): void {
  assert.equal(r.ok, false, `expected error ${code}, got ${JSON.stringify(r)}`);
  assert.equal(r.error!.code, code, JSON.stringify(r.error));
  if (path !== undefined) assert.equal(r.error!.path, path, JSON.stringify(r.error));
}

test('hello and list: versions, and every env with its options as JSON Schema', async () => {
  const h = await a.ok('hello', { client: 'test' });
  assert.equal(h.protocol, 1);
  assert.equal(h.maxMessageBytes, MAX_MESSAGE_BYTES);
  assert.equal(h.authenticated, true);
  const { envs } = await a.ok('list');
  assert.deepEqual(envs.map((e: { name: string }) => e.name).sort(), ['bandit', 'chain', 'chip', 'compiler', 'scheduling']);
  const chain = envs.find((e: { name: string }) => e.name === 'chain');
  assert.equal(chain.options.type, 'object');
  assert.ok('slip' in chain.options.properties);
});

test('make, reset, step, close: a Chain episode, replies in the documented encoding', async () => {
  const made = await a.ok('make', { env: 'chain', options: { length: 3 } });
  assert.equal(typeof made.session, 'string');
  assert.deepEqual(made.actionSpace, { kind: 'MaskedDiscrete', n: 2 });
  assert.deepEqual(made.observationSpace, { kind: 'Box', low: 0, high: 1, shape: [3] });
  const r0 = await a.ok('reset', { session: made.session, seed: 7 });
  assert.deepEqual(r0.obs, [1, 0, 0]);
  assert.deepEqual(r0.info.actionMask, [0, 1]);
  const s1 = await a.ok('step', { session: made.session, action: 1 });
  assert.deepEqual(s1.obs, [0, 1, 0]);
  assert.equal(s1.terminated, false);
  assert.equal(s1.truncated, false);
  const s2 = await a.ok('step', { session: made.session, action: 1 });
  assert.equal(s2.terminated, true);
  assert.equal(s2.reward, 1 - 0.01);
  assertError(await a.call('step', { session: made.session, action: 1 }), 'needs_reset');
  assert.deepEqual(await a.ok('close', { session: made.session }), { closed: true });
  assertError(await a.call('step', { session: made.session, action: 1 }), 'unknown_session', '$.session');
  assertError(await a.call('close', { session: made.session }), 'unknown_session', '$.session');
});

test('step before reset is needs_reset', async () => {
  const { session } = await a.ok('make', { env: 'bandit' });
  assertError(await a.call('step', { session, action: 0 }), 'needs_reset');
  await a.ok('close', { session });
});

test('encoding: typed arrays as arrays, non-finite numbers as strings', () => {
  assert.equal(encode({ o: Float32Array.of(0.1, 2), m: Uint8Array.of(1, 0), lo: -Infinity, hi: Infinity, x: NaN }), '{"o":[0.10000000149011612,2],"m":[1,0],"lo":"-inf","hi":"inf","x":"nan"}');
});

test('malformed messages: bad JSON, not an object, wrong version, unknown op; the server keeps serving', async () => {
  let r = await a.raw('{"v":1, "id": 3, "op": ');
  assertError(r, 'bad_json', null);
  assert.equal(r.id, null);
  await stillServing();
  assertError(await a.raw('[1,2]'), 'bad_json', '$');
  assertError(await a.raw('"hello"'), 'bad_json', '$');
  assertError(await a.raw('null'), 'bad_json', '$');
  r = await a.raw(JSON.stringify({ v: 2, id: 'x', op: 'hello' }));
  assertError(r, 'bad_version', '$.v');
  assert.equal(r.id, 'x');
  r = await a.raw(msg('launch_missiles', {}, 9));
  assertError(r, 'unknown_op', '$.op');
  assert.equal(r.id, 9);
  assertError(await a.raw(JSON.stringify({ v: 1, id: 1, op: 'toString' })), 'unknown_op', '$.op');
  assertError(await a.raw(JSON.stringify({ v: 1, id: { x: 1 }, op: 'hello' })), 'bad_request', '$.id');
  assertError(await a.raw(JSON.stringify({ v: 1, op: 'hello' })), 'bad_request', '$.id');
  await stillServing();
});

test('missing, ill-typed and unknown fields are bad_request with the path of the field', async () => {
  const { session } = await a.ok('make', { env: 'chain' });
  assertError(await a.call('step', { session }), 'bad_request', '$.action');
  assertError(await a.call('step', { action: 1 }), 'bad_request', '$.session');
  assertError(await a.call('step', { session, action: 'left' }), 'bad_request', '$.action');
  assertError(await a.call('reset', { session, seed: 'x' }), 'bad_request', '$.seed');
  assertError(await a.call('reset', { session, seed: 1.5 }), 'bad_request', '$.seed');
  assertError(await a.call('reset', { session, options: [1] }), 'bad_request', '$.options');
  assertError(await a.call('reset', { session, sede: 3 }), 'bad_request', '$.sede');
  assertError(await a.call('reset', { session, options: { jobs: [] } }), 'bad_request', '$.options.jobs');
  assertError(await a.call('make', {}), 'bad_request', '$.env');
  assertError(await a.call('make', { env: 'chain', options: { length: 'long' } }), 'bad_options', '$.options.length');
  assertError(await a.call('make', { env: 'chain', options: { lenght: 5 } }), 'bad_options', '$.options.lenght');
  assertError(await a.call('make', { env: 'chain', options: { length: 1 } }), 'bad_options', '$.options.length');
  const unknown = await a.call('make', { env: 'chian' });
  assertError(unknown, 'unknown_env', '$.env');
  assert.match(unknown.error!.message, /did you mean chain/);
  // An id that names no instance points at the id, as the chip env's does (it pointed at $.options).
  for (const instance of ['no_such_instance', '/etc/passwd', 'tpch_batch999999_50exec']) {
    const r = await a.call('make', { env: 'scheduling', options: { instance } });
    assertError(r, 'bad_options', '$.options.instance');
    assert.ok(r.error!.message.startsWith('$.options.instance: ') && r.error!.message.includes(`'${instance}'`), JSON.stringify(r.error));
  }
  await a.ok('close', { session });
  await stillServing();
});

test('a "__proto__" key in make\'s options (or anywhere in a request, escapes included) is bad_request at its path, not dropped without a word', async () => {
  const sessions = server.sessionCount();
  const cases: [string, string][] = [
    ['{"v":1,"id":1,"op":"make","env":"chain","options":{"__proto__":{"length":3}}}', '$.options.__proto__'],
    ['{"v":1,"id":2,"op":"make","env":"chain","options":{"length":4,"\\u005f_proto__":5}}', '$.options.__proto__'],
    ['{"v":1,"id":3,"op":"reset","session":"s","options":{"x":[{"__proto__":{}}]}}', '$.options.x[0].__proto__'],
  ];
  for (const [text, path] of cases) {
    const r = await a.raw(text);
    assertError(r, 'bad_request', path);
    assert.equal(r.error!.message, `${path}: "__proto__" is not allowed as a key (JavaScript takes it for the object's prototype)`);
  }
  assert.equal(server.sessionCount(), sessions, 'no env was made');
  await stillServing();
});

test('a bare NaN or Infinity (as Python\'s json.dumps writes them) is bad_request naming the field that is not a finite number, not bad_json; the reply keeps the id', async () => {
  const made = await a.ok('make', { env: 'chain', options: { length: 4 } });
  await a.ok('reset', { session: made.session, seed: 1 });
  const cases: [string, string, string][] = [
    [`{"v":1,"id":41,"op":"step","session":"${made.session}","action":NaN}`, '$.action', 'NaN'],
    [`{"v":1,"id":42,"op":"step","session":"${made.session}","action":[0.5, -Infinity]}`, '$.action[1]', '-Infinity'],
    ['{"v":1,"id":43,"op":"make","env":"chain","options":{"note":"NaN here is text","slip":Infinity}}', '$.options.slip', 'Infinity'],
  ];
  for (const [text, path, token] of cases) {
    const r = await a.raw(text);
    assertError(r, 'bad_request', path);
    assert.equal(r.error!.message, `${path}: ${token} is not a finite number (JSON has none such); expected a finite number`);
    assert.equal(r.id, JSON.parse(text.replace(/NaN|-?Infinity(?=[,\]}])/g, '0')).id);
  }
  assertError(await a.raw('{"v":1,"id":44,"op":"step","action":NaN'), 'bad_json', null); // still not JSON without it
  assert.equal((await a.ok('step', { session: made.session, action: 1 })).terminated, false, 'the session lives on');
  await a.ok('close', { session: made.session });
});

test('an id or action of the wrong kind says what was expected, not just "Invalid input"', async () => {
  const { session } = await a.ok('make', { env: 'chain' });
  for (const action of [true, 'left', { a: 1 }, new Array((1 << 16) + 1).fill(0)]) {
    const r = await a.call('step', { session, action });
    assertError(r, 'bad_request', '$.action');
    assert.equal(r.error!.message, '$.action: expected an integer (a Discrete or MaskedDiscrete action) or an array of at most 65536 numbers (a Box action)');
  }
  for (const id of [1.5, { x: 1 }, null]) {
    const r = await a.raw(JSON.stringify({ v: 1, id, op: 'hello' }));
    assertError(r, 'bad_request', '$.id');
    assert.equal(r.error!.message, '$.id: expected a string (at most 128 characters) or an integer');
  }
  await a.ok('close', { session });
  await stillServing();
});

test('an env too large to allocate or send is bad_options on make, with the path of the size', async () => {
  // Each of these was an `internal` error (a RangeError on allocation), on make or on every reset.
  const tooBig = [
    ['chain', { length: 1e12 }, '$.options.length'],
    ['bandit', { contexts: 1e10 }, '$.options.contexts'],
    ['bandit', { arms: 3e9 }, '$.options.arms'],
    ['scheduling', { instance: 'synthetic_batch2_5exec', maxStages: 1e12 }, '$.options.maxStages'],
  ] as const;
  for (const [env, options, path] of tooBig) {
    const r = await a.call('make', { env, options });
    assertError(r, 'bad_options', path);
    assert.match(r.error!.message, /Too big/, JSON.stringify(r.error));
  }
  // A scheduling env's actions are maxStages x executor classes x executors + 1, a mask entry each,
  // sent every step: the instance's own sizes count too. 100,000 jobs of up to 18 stages on 10,000
  // executors; a stream's 201 jobs of up to 18 stages on 10,000 executors if asked for (~70 MB of JSON every step).
  const manyActions = [
    [{ instance: 'synthetic_batch5_10000exec', maxStages: 4096 }, /action space would have 40,960,001 actions \(4096 stage rows x 1 executor classes x 10000 executors \+ 1\), more than 1,048,576/],
    [{ instance: 'synthetic_batch5_10000exec_mr' }, /action space would have [\d,]+ actions .*, more than 1,048,576/],
    [{ instance: 'synthetic_batch100000_10000exec' }, /action space would have [\d,]+ actions .*, more than 1,048,576/],
    [{ instance: 'synthetic_stream_10000exec', maxStages: 3618 }, /action space would have 36,180,001 actions \(3618 stage rows x 1 executor classes x 10000 executors \+ 1\), more than 1,048,576/],
  ] as const;
  for (const [options, message] of manyActions) {
    const r = await a.call('make', { env: 'scheduling', options });
    assertError(r, 'bad_options', '$.options');
    assert.match(r.error!.message, message, JSON.stringify(r.error));
  }
  assert.equal(server.sessionCount(), 0);
  await a.ok('close', { session: (await a.ok('make', { env: 'scheduling', options: { instance: 'synthetic_batch5_10000exec' } })).session });
  // A stream's default rows (all 201 jobs) do not fit: it gets the rows that do, 104 x 10,000 + 1 actions.
  const stream = await a.ok('make', { env: 'scheduling', options: { instance: 'synthetic_stream_10000exec' } });
  assert.equal(stream.actionSpace.n, 104 * 10_000 + 1, JSON.stringify(stream.actionSpace));
  await a.ok('close', { session: stream.session });
  // The largest allowed Chain is served whole.
  const { session } = await a.ok('make', { env: 'chain', options: { length: 1 << 20 } });
  const { obs } = await a.ok('reset', { session, seed: 1 });
  assert.equal(obs.length, 1 << 20);
  await a.ok('close', { session });
  await stillServing();
});

test('oversized messages: too_large below the hard limit (connection kept), closed above it; the server keeps serving', async () => {
  const big = msg('hello', { client: 'x'.repeat(MAX_MESSAGE_BYTES) });
  assertError(await a.raw(big), 'too_large', null);
  await stillServing();
  const victim = await WsClient.open(server.url);
  victim.ws.send(Buffer.alloc(HARD_LIMIT_BYTES + 10, 32));
  for (let i = 0; i < 100 && !victim.closed; i++) await sleep(10);
  assert.equal(victim.closed?.code, 1009);
  const http = await post(server.url, big);
  assert.equal(http.status, 413);
  assertError(http.reply, 'too_large');
  const huge = await post(server.url, Buffer.alloc(HARD_LIMIT_BYTES + 10, 32));
  assert.equal(huge.status, 413);
  assertError(huge.reply, 'too_large');
  await stillServing();
});

test('after a reset that failed mid-episode, step is needs_reset (not a step of a half-reset env)', async () => {
  // With 14 stage rows, some seeds' jobs fit and some do not: the simulator is reset before the
  // observation finds out, so a step after the failed reset played a mix of the two episodes.
  const { session } = await a.ok('make', { env: 'scheduling', options: { instance: 'synthetic_batch2_5exec', maxStages: 14 } });
  const fits: number[] = [], overflows: number[] = [];
  for (let seed = 0; seed < 40 && (fits.length === 0 || overflows.length === 0); seed++) ((await a.call('reset', { session, seed })).ok ? fits : overflows).push(seed);
  assert.ok(fits.length > 0 && overflows.length > 0, `seeds that fit ${fits}, that overflow ${overflows}`);
  const { info } = await a.ok('reset', { session, seed: fits[0] });
  await a.ok('step', { session, action: info.actionMask.indexOf(1) });
  assertError(await a.call('reset', { session, seed: overflows[0] }), 'env_error', null);
  assertError(await a.call('step', { session, action: info.actionMask.indexOf(1) }), 'needs_reset', null);
  await a.ok('reset', { session, seed: fits[0] });
  await a.ok('step', { session, action: info.actionMask.indexOf(1) });
  await a.ok('close', { session });
});

test('an out-of-space or masked action is invalid_action and leaves the env unchanged', async () => {
  const options = { length: 5, slip: 0.3 };
  const { session } = await a.ok('make', { env: 'chain', options });
  await a.ok('reset', { session, seed: 11 });
  for (const action of [0, 2, -1, 1.5, [1], 1e300]) assertError(await a.call('step', { session, action }), 'invalid_action', '$.action');
  // The message says which: masked out (0 is left at position 0), or outside the space.
  assert.match((await a.call('step', { session, action: 0 })).error!.message, /action 0 is masked out by info\.actionMask/);
  assert.match((await a.call('step', { session, action: 2 })).error!.message, /action 2 is not in \{"kind":"MaskedDiscrete","n":2\}/);
  // The same seed in-process, without the refused actions: the trajectories must agree.
  const local = new Chain(options);
  local.reset({ seed: 11 });
  for (let i = 0; i < 6; i++) {
    const remote = await a.ok('step', { session, action: 1 });
    const mine = local.step(1);
    assert.deepEqual(remote, JSON.parse(encode(mine)));
    if (mine.terminated || mine.truncated) break;
    if (i === 2) assertError(await a.call('step', { session, action: 5 }), 'invalid_action', '$.action');
  }
  await a.ok('close', { session });
  await stillServing();
});

test("another connection's session is forbidden_session, and the owner is not disturbed", async () => {
  const { session } = await a.ok('make', { env: 'chain' });
  await a.ok('reset', { session, seed: 1 });
  const b = await WsClient.open(server.url);
  assertError(await b.call('step', { session, action: 1 }), 'forbidden_session', '$.session');
  assertError(await b.call('reset', { session }), 'forbidden_session', '$.session');
  assertError(await b.call('close', { session }), 'forbidden_session', '$.session');
  const http = await post(server.url, msg('step', { session, action: 1 }));
  assert.equal(http.status, 403);
  assertError(http.reply, 'forbidden_session', '$.session');
  assert.deepEqual((await a.ok('step', { session, action: 1 })).obs, [0, 1, 0, 0, 0, 0, 0, 0]);
  await b.close();
  await a.ok('close', { session });
});

test('sessions close with their connection', async () => {
  const before = server.sessionCount();
  const c = await WsClient.open(server.url);
  for (let i = 0; i < 5; i++) await c.ok('make', { env: 'bandit' });
  assert.equal(server.sessionCount(), before + 5);
  await c.close();
  for (let i = 0; i < 100 && server.sessionCount() !== before; i++) await sleep(10);
  assert.equal(server.sessionCount(), before);
});

test('HTTP POST /v1: one-shot calls, and sessions that live on a keep-alive connection', async () => {
  const hello = await post(server.url, msg('hello'));
  assert.equal(hello.status, 200);
  assert.equal(hello.reply.result.protocol, 1);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const made = await post(server.url, msg('make', { env: 'chain', options: { length: 4 } }), {}, agent);
    const session = made.reply.result.session;
    assert.deepEqual((await post(server.url, msg('reset', { session, seed: 2 }), {}, agent)).reply.result.obs, [1, 0, 0, 0]);
    const bad = await post(server.url, msg('step', { session, action: 0 }), {}, agent);
    assert.equal(bad.status, 400);
    assertError(bad.reply, 'invalid_action', '$.action');
    assert.deepEqual((await post(server.url, msg('step', { session, action: 1 }), {}, agent)).reply.result.obs, [0, 1, 0, 0]);
    const badJson = await post(server.url, '{', {}, agent);
    assertError(badJson.reply, 'bad_json');
    assert.equal((await post(server.url, msg('close', { session }), {}, agent)).reply.ok, true);
  } finally {
    agent.destroy();
  }
  const res = await fetch(server.url.replace('/v1', '/other'));
  assert.equal(res.status, 404);
  assert.equal(((await res.json()) as { ok: boolean }).ok, false);
  assert.equal((await fetch(server.url)).status, 405);
});

test('HTTP POST /v1 with a query string is the protocol, as a WebSocket on /v1 with one is; GET /v1 with one is not the dashboard', async () => {
  const s = await serve({ port: 0, log: () => {}, dashboard: { store: '/nonexistent/results.duckdb', trainDir: '/nonexistent/train' } });
  try {
    const hello = await post(`${s.url}?client=curl`, msg('hello'));
    assert.equal(hello.status, 200, JSON.stringify(hello.reply));
    assert.equal(hello.reply.result.protocol, 1);
    const ws = await WsClient.open(`${s.url}?client=ws`);
    assert.equal((await ws.ok('hello')).protocol, 1);
    await ws.close();
    const get = await fetch(`${s.url}?client=curl`);
    assert.equal(get.status, 405);
    assert.equal(((await get.json()) as { ok: boolean }).ok, false);
  } finally {
    await s.close();
  }
});

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

test('many concurrent sessions on many connections step without error and leak nothing', async () => {
  const before = server.sessionCount();
  const clients = await Promise.all(Array.from({ length: 8 }, () => WsClient.open(server.url)));
  const sessions = await Promise.all(clients.flatMap((c) => Array.from({ length: 8 }, async () => ({ c, id: (await c.ok('make', { env: 'chain', options: { slip: 0.2 } })).session as string }))));
  assert.equal(server.sessionCount(), before + 64);
  await Promise.all(sessions.map(async ({ c, id }, k) => {
    await c.ok('reset', { session: id, seed: k });
    for (let i = 0; i < 50; i++) {
      const r = await c.ok('step', { session: id, action: 1 });
      if (r.terminated || r.truncated) await c.ok('reset', { session: id });
    }
  }));
  await Promise.all(sessions.map(({ c, id }) => c.ok('close', { session: id })));
  assert.equal(server.sessionCount(), before);
  await Promise.all(clients.map((c) => c.close()));
});

test('idle sessions are reaped', async () => {
  const s = await serve({ port: 0, idleMs: 100, log: () => {} });
  try {
    const c = await WsClient.open(s.url);
    const { session } = await c.ok('make', { env: 'chain' });
    assert.equal(s.sessionCount(), 1);
    await sleep(400);
    assert.equal(s.sessionCount(), 0);
    assertError(await c.call('reset', { session }), 'unknown_session', '$.session');
    await c.close();
  } finally {
    await s.close();
  }
});

test('a WebSocket on another path than /v1 is refused with a reply that names /v1; /v1 with a query is served', async () => {
  const { WebSocket } = await import('ws');
  for (const path of ['/', '/v2']) {
    const ws = new WebSocket(server.url.replace(/^http/, 'ws').replace(/\/v1$/, path));
    const refused = await new Promise<{ status: number; body: string }>((ok, fail) => {
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
      });
      ws.on('open', () => fail(new Error(`a WebSocket opened on ${path}`)));
      ws.on('error', () => {});
    });
    assert.equal(refused.status, 404);
    const reply = JSON.parse(refused.body);
    assertError(reply, 'bad_request', null);
    assert.match(reply.error.message, new RegExp(`^WebSocket on ${path}: the protocol is a WebSocket on /v1`));
  }
  const q = await WsClient.open(`${server.url}?client=test`);
  assert.equal((await q.ok('hello')).protocol, 1);
  await q.close();
  await stillServing();
});

test('a long --idle keeps HTTP sessions without a timer warning on every request', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  const s = await serve({ port: 0, idleMs: 40 * 24 * 3600_000, log: () => {} }); // 40 days: past a timer's 2^31 - 1 ms
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const { session } = (await post(s.url, msg('make', { env: 'chain', options: { length: 4 } }), {}, agent)).reply.result;
    await post(s.url, msg('reset', { session, seed: 1 }), {}, agent);
    await sleep(50);
    assert.deepEqual((await post(s.url, msg('step', { session, action: 1 }), {}, agent)).reply.result.obs, [0, 1, 0, 0]);
    await sleep(50);
    assert.deepEqual(warnings, []);
  } finally {
    process.off('warning', onWarning);
    agent.destroy();
    await s.close();
  }
});

test('a token, when set, is required: header or first hello', async () => {
  const s = await serve({ port: 0, token: 'sesame', log: () => {} });
  try {
    const anon = await WsClient.open(s.url);
    assert.equal((await anon.ok('hello')).authenticated, false);
    assertError(await anon.call('list'), 'unauthorized', null);
    assertError(await anon.call('make', { env: 'chain' }), 'unauthorized', null);
    assertError(await anon.call('hello', { token: 'wrong' }), 'unauthorized', '$.token');
    assertError(await anon.call('list'), 'unauthorized', null);
    assert.equal((await anon.ok('hello', { token: 'sesame' })).authenticated, true);
    assert.equal((await anon.ok('list')).envs.length, 5);
    await anon.close();
    const withHeader = await WsClient.open(s.url, { authorization: 'Bearer sesame' });
    assert.equal((await withHeader.ok('make', { env: 'chain' })).actionSpace.n, 2);
    await withHeader.close();
    const denied = await post(s.url, msg('list'));
    assert.equal(denied.status, 401);
    assertError(denied.reply, 'unauthorized');
    assertError((await post(s.url, msg('list'), { authorization: 'Bearer nope' })).reply, 'unauthorized');
    assert.equal((await post(s.url, msg('list'), { authorization: 'Bearer sesame' })).reply.ok, true);
  } finally {
    await s.close();
  }
});
