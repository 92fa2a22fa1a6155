/**
 * The data search path (DESIGN.md "Data"): `--data DIR`, then `$SELFOPT_DATA`, then `./data`,
 * then `../shared/data`. The first directory that holds a dataset's relative path wins. Nothing
 * found is never an error by itself: every problem also runs on generated instances.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { SelfoptError } from './errors.js';

export interface DataDir {
  dir: string;
  /** Where this entry of the search path came from. */
  origin: '--data' | '$SELFOPT_DATA' | './data' | '../shared/data';
  exists: boolean;
}

export class DataPath {
  readonly dirs: DataDir[];

  constructor(opts: { dataDir?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
    const env = opts.env ?? process.env;
    const cwd = opts.cwd ?? process.cwd();
    const entries: [string | undefined, DataDir['origin']][] = [
      [opts.dataDir, '--data'],
      [env.SELFOPT_DATA, '$SELFOPT_DATA'],
      ['data', './data'],
      ['../shared/data', '../shared/data'],
    ];
    this.dirs = entries
      .filter((e): e is [string, DataDir['origin']] => typeof e[0] === 'string' && e[0].length > 0)
      .map(([d, origin]) => {
        const dir = resolve(cwd, d);
        return { dir, origin, exists: existsSync(dir) && statSync(dir).isDirectory() };
      });
  }

  /** The absolute path of `relPath` in the first data directory that has it, or undefined. */
  find(relPath: string): string | undefined {
    for (const d of this.dirs) {
      if (!d.exists) continue;
      const p = resolve(d.dir, relPath);
      if (existsSync(p)) return p;
    }
    return undefined;
  }

  /** Plain form, to hand the same search path to worker threads. */
  toJSON(): { dataDir?: string; env: { SELFOPT_DATA?: string }; cwd: string } {
    const flag = this.dirs.find((d) => d.origin === '--data');
    const envDir = this.dirs.find((d) => d.origin === '$SELFOPT_DATA');
    return { dataDir: flag?.dir, env: envDir ? { SELFOPT_DATA: envDir.dir } : {}, cwd: process.cwd() };
  }
}

/**
 * Runs a program a dataset builder reads its source with (npm, nccopy, apt-cache, Debian's
 * python) and returns its output. A failure is one SelfoptError: "could not <doing>: <why>",
 * `why` being the program missing, else `reason(stderr)` where the program says more than its
 * last line, else that last line; `needs` says what to install.
 */
export function runSourceTool(exe: string, args: string[], doing: string, needs: string,
  reason: (stderr: string) => string | undefined = () => undefined): string {
  try {
    return execFileSync(exe, args, { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? '').trim();
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${exe} is not installed` : reason(stderr) ?? stderr.split('\n').pop();
    throw new SelfoptError(`could not ${doing}: ${why}`, 'selfopt data build', needs);
  }
}
