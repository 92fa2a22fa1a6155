/**
 * The server under load: 64 concurrent sessions, each on its own WebSocket, stepping random
 * valid actions with malformed, oversized and out-of-space messages mixed in; no valid message
 * may fail, every bad one gets its error, and no session outlives its connection.
 * 2 s by default; SELFOPT_LOAD_SECONDS=30 runs the bar.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serve } from '../../src/server/server.js';
import { MAX_MESSAGE_BYTES } from '../../src/server/protocol.js';
import { Rng } from '../../src/core/rng.js';
import { WsClient, msg, sleep } from './helpers.js';

const SECONDS = Number(process.env.SELFOPT_LOAD_SECONDS ?? 2);

test(`64 concurrent sessions for ${SECONDS} s with bad messages mixed in: no error, no leak`, async (t) => {
  const server = await serve({ port: 0, log: () => {} });
  try {
    const oversized = msg('hello', { client: 'x'.repeat(MAX_MESSAGE_BYTES) });
    const deadline = Date.now() + SECONDS * 1000;
    const counts = { steps: 0, episodes: 0, bad: 0 };
    const clients = await Promise.all(Array.from({ length: 64 }, () => WsClient.open(server.url)));
    await Promise.all(clients.map(async (c, k) => {
      const rng = new Rng(k);
      const env = k % 2 === 0 ? 'chain' : 'bandit';
      const { session } = await c.ok('make', { env, options: env === 'chain' ? { slip: 0.1 } : {} });
      let { info } = await c.ok('reset', { session, seed: k });
      for (let i = 0; Date.now() < deadline; i++) {
        if (i % 50 === 7) {
          const kind = rng.int(3);
          const r = kind === 0 ? await c.raw('{"v":1,"op":') : kind === 1 ? await c.raw(rng.next() < 0.05 ? oversized : msg('step', { session })) : await c.call('step', { session, action: 99 });
          assert.equal(r.ok, false);
          assert.ok(['bad_json', 'too_large', 'bad_request', 'invalid_action'].includes(r.error!.code), r.error!.code);
          counts.bad++;
        }
        const allowed = (info.actionMask as number[]).flatMap((m, a) => (m === 1 ? [a] : []));
        const r = await c.ok('step', { session, action: allowed[rng.int(allowed.length)] });
        counts.steps++;
        info = r.info;
        if (r.terminated || r.truncated) {
          ({ info } = await c.ok('reset', { session }));
          counts.episodes++;
        }
      }
    }));
    assert.equal(server.sessionCount(), 64);
    await Promise.all(clients.map((c) => c.close()));
    for (let i = 0; i < 200 && server.sessionCount() > 0; i++) await sleep(10);
    assert.equal(server.sessionCount(), 0, 'every session closed with its connection');
    t.diagnostic(`${counts.steps} steps (${Math.round(counts.steps / SECONDS)}/s over 64 sessions, client in the same process), ${counts.episodes} episodes, ${counts.bad} bad messages answered`);
  } finally {
    await server.close();
  }
});
