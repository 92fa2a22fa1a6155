/**
 * A rollout worker thread (started by RolloutCollector in rollout.ts). It builds its env copies
 * and a policy copy from module references, then answers one request at a time: set the weights
 * it is sent, run the steps or episodes asked for, and send the trajectories back with their
 * buffers transferred. Errors go back as data, so the trainer rethrows them with their message.
 */
import { parentPort } from 'node:worker_threads';
import { RunnerGroup, trajectoryBuffers, type WorkerRequest, type WorkerReply, type Trajectory } from './rollout.js';

if (parentPort === null) throw new Error('rollout-worker.js runs as a worker thread (see RolloutCollector)');
const port = parentPort;
let group: RunnerGroup<unknown> | null = null;

function reply(r: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(r, transfer);
}

function sendTrajectories(trajectories: Trajectory<unknown>[]): void {
  reply({ type: 'trajectories', trajectories }, trajectories.flatMap(trajectoryBuffers));
}

async function handle(msg: WorkerRequest): Promise<void> {
  switch (msg.type) {
    case 'init':
      group = await RunnerGroup.create(msg.env, msg.policy, msg.runners, msg.run);
      reply({ type: 'ready', shape: group.shape });
      return;
    case 'steps':
      sendTrajectories(group!.steps(msg.weights, msg.numSteps));
      return;
    case 'episodes':
      sendTrajectories(await group!.episodes(msg.weights, msg.tasks));
      return;
    case 'close':
      group?.close();
      group = null;
      reply({ type: 'closed' });
      return;
  }
}

port.on('message', (msg: WorkerRequest) => {
  handle(msg).catch((e: unknown) => {
    const err = e as Error & { what?: string; where?: string; expected?: string };
    reply({ type: 'error', error: { name: err?.name ?? 'Error', message: err?.message ?? String(e), what: err?.what, where: err?.where, expected: err?.expected, stack: err?.stack } });
  });
});
