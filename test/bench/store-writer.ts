/**
 * A writing process for the store-sharing tests (store-share.test.ts): a results store's lease
 * (store-lease.ts) in a process of its own, as a bench holds it, driven step by step over IPC so
 * that a test sets the interleaving with its reader instead of hoping for it. DuckDB's lock is
 * per process: a reader in the test's own process would never find the file held.
 *
 * Messages in: { open: path } (open the file and hold it), 'reopen' (let the file go and take it
 * back at once, as a bench does between cells), 'statement' (ask the lease for the connection of a
 * next statement, as a bench does for each of a cell's, holding the file), 'go' (after a readers' turn: wait for them),
 * 'release', 'exit'. Messages out: 'held' (the file is open here), { turn: notices } (about to wait
 * for the readers of these notices; waits for 'go' first), 'released', { error }.
 */
import { connectWaiting, Lease } from '../../src/bench/store-lease.js';
import { lockHooks } from '../../src/bench/store-lock.js';

export type WriterCommand = { open: string } | 'reopen' | 'statement' | 'go' | 'release' | 'exit';
export type WriterEvent = 'held' | 'released' | { turn: string[] } | { error: string };

/** Set in the writer's environment: `node --test dist/test/` also loads this file as a test file of its own, where it has nothing to do. */
export const WRITER_ENV = 'SELFOPT_TEST_STORE_WRITER';

if (process.env[WRITER_ENV] === '1' && process.send) run();

function run(): void {
  const send = (e: WriterEvent) => process.send!(e);
  let lease: Lease | undefined;
  let go: (() => void) | undefined;
  lockHooks.readersTurn = (_abs, notices) => new Promise<void>((res) => {
    go = res;
    send({ turn: notices.map(String) });
  });
  const step = async (m: WriterCommand) => {
    if (m === 'go') {
      go?.();
      go = undefined;
    } else if (m === 'exit') {
      lease?.release();
      process.disconnect();
    } else if (m === 'release') {
      lease!.release();
      send('released');
    } else if (m === 'statement') {
      await lease!.conn();
      send('held');
    } else if (m === 'reopen') {
      lease!.release();
      await lease!.conn();
      send('held');
    } else {
      const abs = m.open;
      lease = new Lease(abs, await connectWaiting(abs, false), true);
      send('held');
    }
  };
  // 'go' arrives while a reopen waits in the hook: steps are not serialised.
  process.on('message', (m: WriterCommand) => void step(m).catch((e: unknown) => send({ error: String((e as Error).stack ?? e) })));
}
