/** What produced a result: the code version (git sha, `+dirty` when uncommitted) and the machine. */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem, hostname, platform, arch } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

let cached: string | undefined;

export function codeVersion(): string {
  if (cached) return cached;
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    cached = dirty ? `${sha}+dirty` : sha;
  } catch {
    cached = 'unknown';
  }
  return cached;
}

export function machineInfo(): string {
  const c = cpus();
  return `${hostname()} ${platform()}-${arch()} ${c.length}x ${c[0]?.model ?? 'cpu'} ${Math.round(totalmem() / 2 ** 30)}GiB node${process.versions.node}`;
}
