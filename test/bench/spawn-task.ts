/** A pool task for pool.test.ts: starts a child process and kills it, as a compiler cell ends its opt-server. */
import { spawn } from 'node:child_process';

export default function spawnAndKill(): number {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  child.unref();
  child.kill('SIGKILL');
  return child.pid ?? -1;
}
