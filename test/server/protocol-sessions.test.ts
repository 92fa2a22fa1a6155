/**
 * The environment protocol's sessions and connections: a session is its connection's (forbidden to
 * others, closed with it), HTTP POST /v1 (one-shot, or sessions on a keep-alive connection), many
 * sessions at once, idle ones reaped, the paths a WebSocket may take, and the token.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { serve, type RunningServer } from '../../src/server/server.js';
import { WsClient, assertError, msg, post, servedProtocol, sleep, stillServes } from './helpers.js';

let server: RunningServer;
let a: WsClient;
servedProtocol((s, c) => ((server = s), (a = c)));
/** The server still answers on the same connection and on a new one. */
const stillServing = (c: WsClient = a) => stillServes(server.url, c);

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
