/**
 * The server under load (`selfopt bench-server`, and a short version in the tests): N
 * concurrent sessions, each on its own WebSocket, stepping valid actions for S seconds, with bad
 * messages mixed in. What it checks, and counts as an error when it does not hold:
 *
 * - every valid message succeeds, and its reply equals the same env run in this process with
 *   the same seed and actions (a mirror). A message of one session that reached another
 *   session's env would change that env's trajectory and break its mirror, so the mirrors are
 *   the check that no message crosses sessions;
 * - every bad message (malformed JSON, oversized, wrong version, unknown or ill-typed field,
 *   an action outside the space, another connection's session) gets `ok: false` with the
 *   expected error code and the JSON path of the bad field, and the session goes on;
 * - the server logs no internal error;
 * - after the clients disconnect, no session is left on the server.
 */
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { errorMessage } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Env } from '../core/env.js';
import { ENVS } from './registry.js';
import { encode, MAX_MESSAGE_BYTES } from './protocol.js';

export interface LoadOptions {
  /** ws://host:port/v1 or http://host:port/v1. */
  url: string;
  sessions: number;
  seconds: number;
  /** One bad message per this many steps of a session (default 25). */
  badEvery?: number;
  /** Every session steps at least this often, however long it takes (tests on a loaded machine). */
  minStepsPerSession?: number;
  /** How many sessions the server holds now (for the leak check); omitted = not checked. */
  sessionCount?: () => Promise<number>;
  /** Internal errors the server logged so far. */
  serverErrors?: () => string[];
  seed?: number;
}

export interface LoadReport {
  sessions: number;
  seconds: number;
  steps: number;
  stepsPerSec: number;
  episodes: number;
  /** Round-trip time of a step, ms. */
  latencyMs: { p50: number; p99: number; max: number };
  /** Bad messages answered as expected, by error code. */
  badAnswered: Record<string, number>;
  /** Steps whose reply was compared with the in-process mirror (all of them). */
  mirrored: number;
  /** Sessions left on the server after every client disconnected (null: not checked). */
  leakedSessions: number | null;
  /** Everything that went wrong (at most 20 kept); empty = the bar is met. */
  errors: string[];
  errorCount: number;
}

interface Reply {
  id: number | string | null;
  ok: boolean;
  result?: Record<string, unknown>;
  error?: { code: string; message: string; path: string | null };
}

/** A WebSocket whose replies come back in order. */
class Client {
  private waiting: ((r: Reply) => void)[] = [];
  private next = 0;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => this.waiting.shift()?.(JSON.parse(d.toString()) as Reply));
    ws.on('error', () => {});
  }
  static open(url: string): Promise<Client> {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), { perMessageDeflate: false });
    return new Promise((ok, fail) => {
      ws.once('open', () => ok(new Client(ws)));
      ws.once('error', fail);
    });
  }
  raw(text: string): Promise<Reply> {
    return new Promise((ok, fail) => {
      if (this.ws.readyState !== WebSocket.OPEN) return fail(new Error(`connection closed (state ${this.ws.readyState})`));
      this.waiting.push(ok);
      this.ws.send(text);
    });
  }
  call(op: string, fields: Record<string, unknown>): Promise<Reply> {
    return this.raw(JSON.stringify({ v: 1, id: ++this.next, op, ...fields }));
  }
  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((ok) => {
      this.ws.once('close', () => ok());
      this.ws.close();
    });
  }
}

/** The bad messages, each with the code and path its error must carry. */
type Bad = { name: string; text: (session: string, other: string, n: number) => string; code: string; path: string | null };
const BAD: Bad[] = [
  { name: 'malformed JSON', text: () => '{"v":1,"id":7,"op":"step","session":', code: 'bad_json', path: null },
  { name: 'wrong version', text: (s) => JSON.stringify({ v: 2, id: 7, op: 'step', session: s, action: 0 }), code: 'bad_version', path: '$.v' },
  { name: 'unknown field', text: (s) => JSON.stringify({ v: 1, id: 7, op: 'step', session: s, action: 0, actoin: 1 }), code: 'bad_request', path: '$.actoin' },
  { name: 'ill-typed action', text: (s) => JSON.stringify({ v: 1, id: 7, op: 'step', session: s, action: 'left' }), code: 'bad_request', path: '$.action' },
  { name: 'missing session', text: () => JSON.stringify({ v: 1, id: 7, op: 'step', action: 0 }), code: 'bad_request', path: '$.session' },
  { name: 'action out of space', text: (s, _o, n) => JSON.stringify({ v: 1, id: 7, op: 'step', session: s, action: n + 3 }), code: 'invalid_action', path: '$.action' },
  { name: "another connection's session", text: (_s, other) => JSON.stringify({ v: 1, id: 7, op: 'step', session: other, action: 0 }), code: 'forbidden_session', path: '$.session' },
  { name: "closing another connection's session", text: (_s, other) => JSON.stringify({ v: 1, id: 7, op: 'close', session: other }), code: 'forbidden_session', path: '$.session' },
];
const OVERSIZED: Bad = { name: 'oversized', text: () => JSON.stringify({ v: 1, id: 7, op: 'hello', client: 'x'.repeat(MAX_MESSAGE_BYTES) }), code: 'too_large', path: null };

const ALL_BAD = [...BAD, OVERSIZED];
export const BAD_KINDS = ALL_BAD.map((b) => ({ name: b.name, code: b.code, path: b.path }));

const canon = (x: unknown) => JSON.stringify(JSON.parse(encode(x)));

export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const badEvery = o.badEvery ?? 25;
  const errors: string[] = [];
  let errorCount = 0;
  const fail = (msg: string) => {
    errorCount++;
    if (errors.length < 20) errors.push(msg);
  };
  const badAnswered: Record<string, number> = {};
  let steps = 0, episodes = 0, mirrored = 0;
  const lat: number[] = [];

  const clients = await Promise.all(Array.from({ length: o.sessions }, () => Client.open(o.url)));
  // Sessions are made first, so that each client knows another connection's session to attack.
  const made = await Promise.all(clients.map(async (c, k) => {
    const env = k % 2 === 0 ? 'chain' : 'bandit';
    const options = env === 'chain' ? { length: 8, slip: 0.1 } : { contexts: 4, arms: 5 };
    const r = await c.call('make', { env, options });
    if (!r.ok) throw new Error(`make ${env}: ${JSON.stringify(r.error)}`);
    return { env, options, session: String(r.result!.session) };
  }));

  const t0 = performance.now();
  const deadline = t0 + o.seconds * 1000;
  await Promise.all(clients.map(async (c, k) => {
    const { env, options, session } = made[k]!;
    const other = made[(k + 1) % made.length]!.session;
    const mirror = ENVS[env]!.make(options, {}) as Env<unknown, unknown>;
    const rng = new Rng((o.seed ?? 1) * 1000 + k);
    const where = `session ${k} (${env})`;
    try {
      let seed = k;
      let r = await c.call('reset', { session, seed });
      let m = mirror.reset({ seed });
      if (!r.ok || canon(r.result) !== canon(m)) return fail(`${where}: reset differs from the mirror: ${JSON.stringify(r.error ?? r.result).slice(0, 200)}`);
      let info = m.info as { actionMask?: Uint8Array };
      const minSteps = o.minStepsPerSession ?? 0;
      for (let i = 1, j = 0; i <= minSteps || performance.now() < deadline; i++) {
        if (i === 1 || i % badEvery === 0) {
          // Each session's first bad message is kind (k mod kinds), so every kind is sent once
          // the sessions outnumber the kinds; then random kinds, rarely the 1 MB one.
          const bad = j++ === 0 ? ALL_BAD[k % ALL_BAD.length]! : rng.next() < 0.01 ? OVERSIZED : BAD[rng.int(BAD.length)]!;
          const n = (mirror.actionSpace as unknown as { n: number }).n;
          const b = await c.raw(bad.text(session, other, n));
          if (b.ok || b.error?.code !== bad.code || b.error.path !== bad.path) {
            fail(`${where}: ${bad.name} answered ${JSON.stringify(b.ok ? b.result : b.error).slice(0, 200)}; expected code ${bad.code}, path ${bad.path}`);
          } else badAnswered[bad.code] = (badAnswered[bad.code] ?? 0) + 1;
        }
        const mask = info.actionMask;
        const n = (mirror.actionSpace as unknown as { n: number }).n;
        let action = rng.int(n);
        if (mask) {
          const allowed: number[] = [];
          for (let a = 0; a < mask.length; a++) if (mask[a] === 1) allowed.push(a);
          action = allowed[rng.int(allowed.length)]!;
        }
        const s0 = performance.now();
        r = await c.call('step', { session, action });
        lat.push(performance.now() - s0);
        const ms = mirror.step(action);
        steps++;
        if (!r.ok) return fail(`${where}: step ${i} failed: ${JSON.stringify(r.error)}`);
        if (canon(r.result) !== canon(ms)) return fail(`${where}: step ${i} differs from the in-process mirror (a message reached the wrong env?)`);
        mirrored++;
        info = ms.info as { actionMask?: Uint8Array };
        if (ms.terminated || ms.truncated) {
          episodes++;
          seed = rng.int(1 << 30);
          r = await c.call('reset', { session, seed });
          m = mirror.reset({ seed });
          if (!r.ok || canon(r.result) !== canon(m)) return fail(`${where}: reset differs from the mirror`);
          info = m.info as { actionMask?: Uint8Array };
        }
      }
    } catch (e) {
      fail(`${where}: ${errorMessage(e)}`);
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;

  await Promise.all(clients.map((c) => c.close()));
  let leaked: number | null = null;
  if (o.sessionCount) {
    // Sessions close when the server sees their connection close; give it a moment.
    for (let i = 0; i < 100; i++) {
      leaked = await o.sessionCount();
      if (leaked === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (leaked !== 0) fail(`${leaked} sessions left on the server after every client disconnected`);
  }
  for (const e of o.serverErrors?.() ?? []) fail(`server logged: ${e.slice(0, 300)}`);
  lat.sort((a, b) => a - b);
  const q = (p: number) => (lat.length ? Number(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(3)) : 0);
  return {
    sessions: o.sessions,
    seconds: Number(elapsed.toFixed(2)),
    steps,
    stepsPerSec: Math.round(steps / elapsed),
    episodes,
    latencyMs: { p50: q(0.5), p99: q(0.99), max: q(1) },
    badAnswered,
    mirrored,
    leakedSessions: leaked,
    errors,
    errorCount,
  };
}
