/**
 * The server under load, short: 64 concurrent sessions, each on its own WebSocket, stepping
 * for 2 s with every kind of bad message mixed in (src/server/load.ts, the same driver as
 * `selfopt bench-server`, which runs the 30 s bar). Every step must equal the same env run in
 * this process (so no message reached another session's env), every bad message must get its
 * code and path, the server must log no internal error, and no session may outlive its
 * connection. SELFOPT_LOAD_SECONDS=30 runs the bar here too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serve } from '../../src/server/server.js';
import { runLoad, BAD_KINDS } from '../../src/server/load.js';

const SECONDS = Number(process.env.SELFOPT_LOAD_SECONDS ?? 2);

test(`64 concurrent sessions for ${SECONDS} s with bad messages mixed in: no error, no crossing, no leak`, async (t) => {
  const logged: string[] = [];
  const server = await serve({ port: 0, log: (m) => void logged.push(m) });
  try {
    const r = await runLoad({ url: server.url, sessions: 64, seconds: SECONDS, badEvery: 10, minStepsPerSession: 30, sessionCount: async () => server.sessionCount(), serverErrors: () => logged });
    assert.deepEqual(r.errors, []);
    assert.equal(r.errorCount, 0);
    assert.equal(r.leakedSessions, 0);
    assert.ok(r.steps >= 64 * 30 && r.mirrored === r.steps);
    // Every kind of bad message was sent (each session's first one is kind k mod kinds) and answered.
    for (const code of new Set(BAD_KINDS.map((b) => b.code))) assert.ok((r.badAnswered[code] ?? 0) > 0, code);
    t.diagnostic(`${r.steps} steps (${r.stepsPerSec}/s, client and server in one process), ${r.episodes} episodes, bad answered ${JSON.stringify(r.badAnswered)}`);
  } finally {
    await server.close();
  }
});

test('the load driver notices a server that answers wrongly', async () => {
  // A proxy in front of the real server drops the path of `$.session` errors: the driver must
  // report those answers as wrong, so its checks are not vacuous.
  const { WebSocketServer, WebSocket } = await import('ws');
  const real = await serve({ port: 0, log: () => {} });
  const proxy = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  proxy.on('connection', (client) => {
    const upstream = new WebSocket(real.url.replace(/^http/, 'ws'));
    const queue: string[] = [];
    upstream.on('open', () => queue.splice(0).forEach((m) => upstream.send(m)));
    client.on('message', (d) => (upstream.readyState === WebSocket.OPEN ? upstream.send(d.toString()) : queue.push(d.toString())));
    upstream.on('message', (d) => {
      const r = JSON.parse(d.toString());
      if (r.error?.path === '$.session') r.error.path = null;
      client.send(JSON.stringify(r));
    });
    client.on('close', () => upstream.close());
  });
  await new Promise((ok) => proxy.once('listening', ok));
  try {
    const port = (proxy.address() as { port: number }).port;
    const r = await runLoad({ url: `ws://127.0.0.1:${port}/v1`, sessions: BAD_KINDS.length, seconds: 0.3, minStepsPerSession: 2, sessionCount: async () => real.sessionCount() });
    assert.ok(r.errorCount > 0);
    assert.ok(r.errors.some((e) => /expected code forbidden_session, path \$\.session/.test(e)), r.errors.join('\n'));
  } finally {
    await new Promise((ok) => proxy.close(ok));
    await real.close();
  }
});
