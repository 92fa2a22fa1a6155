/**
 * Stopping what a test starts (a server, a browser, a worker, a process, a client of one) when the
 * test ends, whatever way it ends.
 */
import type { TestContext } from 'node:test';

/**
 * What test `t` starts is stopped once it ends, passed, failed or timed out: `stopLater(stop)` as
 * the test starts a thing, and the stops run after the test (t.after), the last added first, so a
 * worker stops before its Redis. A `finally` after the body was not enough: node:test gives up on
 * a body that times out without ending it, so its finally did not run (or only once the body ended
 * on its own), and what the test had started (a coordinator waiting for its cells, a worker or a
 * Redis client reconnecting to a killed Redis) kept the file's process alive: the suite hung
 * instead of failing. A stop added after the test ended (by a body still running after its
 * timeout) runs at once. Each stop runs once; one that throws does not keep the others from
 * running, and the test fails with its error.
 */
export function stopsAfter(t: TestContext): (stop: () => unknown) => void {
  const stops: (() => unknown)[] = [];
  let ended = false;
  t.after(async () => {
    ended = true;
    let failed: { error: unknown } | undefined;
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (error) {
        failed ??= { error };
      }
    }
    if (failed) throw failed.error;
  });
  return (stop) => {
    if (!ended) stops.push(stop);
    else void (async () => stop())().catch(() => undefined);
  };
}

/**
 * `promise`'s value, or `late` if it has not come within `ms`: a bound on a wait that the code
 * under test once made for ever (a stop that hung, a lock never let go), so that the test fails
 * saying so rather than at its own timeout. A bound, not a timing. Its timer is cleared, and
 * unref'd meanwhile: a body that timed out and still waits here keeps no process alive by it.
 */
export async function within<T>(promise: Promise<T>, ms: number, late = `still waiting after ${ms / 1000} s`): Promise<T | string> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<string>((ok) => {
    timer = setTimeout(() => ok(late), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}
