/**
 * Conformance of the environment protocol (src/server/protocol.ts): every op, every kind of bad
 * message (each answered with its code and the path of the bad field), and after each bad message
 * the server keeps serving. Its sessions and connections (ownership, HTTP, reaping, the token):
 * protocol-sessions.test.ts; the problems' envs over it: protocol-envs.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../src/server/server.js';
import { encode, MAX_MESSAGE_BYTES, HARD_LIMIT_BYTES } from '../../src/server/protocol.js';
import { Chain } from '../../src/learn/envs.js';
import { WsClient, assertError, msg, post, servedProtocol, sleep, stillServes } from './helpers.js';

let server: RunningServer;
let a: WsClient;
servedProtocol((s, c) => ((server = s), (a = c)));
/** The server still answers on the same connection and on a new one. */
const stillServing = (c: WsClient = a) => stillServes(server.url, c);

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
