/**
 * A private redis-server for the queue tests: Debian's, on a free loopback port, without
 * persistence. `skip` is the reason to skip when it is not installed, so the tests skip visibly.
 */
import { existsSync } from 'node:fs';
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';
import { checkRedis } from '../../src/bench/queue.js';

export const REDIS = '/usr/bin/redis-server';
export const skip = existsSync(REDIS) || spawnSync('redis-server', ['--version']).status === 0 ? false : 'redis-server is not installed on this machine';

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/**
 * A child process of a test, SIGKILLed when the test is aborted (node:test aborts `t.signal` on
 * its timeout): a test that awaits a child's exit would otherwise hang the whole file past its
 * timeout, the failure never reported (a coordinator whose workers died waits for ever).
 */
export function child(signal: AbortSignal, cmd: string, args: string[], opts: SpawnOptions): ChildProcess {
  const proc = spawn(cmd, args, { ...opts, signal, killSignal: 'SIGKILL' });
  proc.on('error', (e) => {
    if (e.name !== 'AbortError') throw e;
  });
  return proc;
}

/**
 * A redis-server on `port` (a free one by default; the same one again for a restart), once it
 * answers; with `password`, one that wants it (its URL carries it).
 */
export async function startRedis(signal: AbortSignal, port?: number, password?: string): Promise<{ url: string; proc: ChildProcess }> {
  port ??= await freePort();
  const bin = existsSync(REDIS) ? REDIS : 'redis-server';
  const auth = password === undefined ? [] : ['--requirepass', password];
  const proc = child(signal, bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...auth], { stdio: 'ignore' });
  const url = `redis://${password === undefined ? '' : `:${password}@`}127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await checkRedis(url);
      return { url, proc };
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
