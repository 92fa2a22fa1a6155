/**
 * `selfopt bench-server` runs the server in this worker thread, so that the server and the load
 * clients get a core each, as they would as separate processes, while the benchmark can still
 * ask the server how many sessions it holds (the leak check) and what it logged.
 */
import { parentPort } from 'node:worker_threads';
import { serve } from './server.js';

const logged: string[] = [];
const server = await serve({ port: 0, log: (m) => void logged.push(m) });
parentPort!.on('message', (m: string) => {
  if (m === 'count') parentPort!.postMessage({ count: server.sessionCount() });
  else if (m === 'logged') parentPort!.postMessage({ logged });
  else if (m === 'close') void server.close().then(() => parentPort!.postMessage({ closed: true }));
});
parentPort!.postMessage({ url: server.url });
