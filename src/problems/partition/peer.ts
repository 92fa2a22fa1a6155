/**
 * What the two subprocess peers (gpmetis, scotch) share: finding an executable on PATH (or at the
 * path an environment variable names), turning a failed run into one SelfoptError with the tool's
 * own words, and reading the answer file it was to write.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { SelfoptError } from '../../core/errors.js';

/**
 * The first executable found: `$envVar` when set (and only it, so a wrong override is not
 * silently replaced by another copy), else each of `names` in each PATH directory, in order.
 */
export function findExecutable(names: string[], envVar: string): string | undefined {
  const explicit = process.env[envVar];
  const dirs = (process.env.PATH ?? '/usr/bin').split(delimiter).filter(Boolean);
  const candidates = explicit ? [explicit] : names.flatMap((name) => dirs.map((d) => join(d, name)));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Whether a peer is in the problem's solver list: found, or named by `$envVar`. A wrong override
 * is then the solve's error saying so (it was "unknown solver" to --solvers, the variable unnamed).
 */
export function peerListed(names: string[], envVar: string): boolean {
  return findExecutable(names, envVar) !== undefined || Boolean(process.env[envVar]);
}

/** The error of a peer not found: not installed, or `$envVar` naming no executable. `what` names it, `pkg` its Debian package. */
export function peerMissing(tool: string, envVar: string, what: string, pkg: string): SelfoptError {
  const set = process.env[envVar];
  if (set) return new SelfoptError(`$${envVar} is '${set}', which is not an executable file`, `solver ${tool}`, `the path of ${what}, or $${envVar} unset to find it on PATH`);
  return new SelfoptError(`${tool} is not installed`, `solver ${tool}`, `${what} on PATH: \`apt-get install ${pkg}\` (Debian/Ubuntu), or set $${envVar} to its path`);
}

/** Runs exe with args; resolves when it exits 0, else rejects with its exit message and output tail. */
export function runTool(exe: string, args: string[], tool: string, where: string, expected: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    execFile(exe, args, { maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      if (err) {
        const tail = String(stdout).trim().split('\n').slice(-5).join(' ');
        reject(new SelfoptError(`${tool} failed: ${err.message.trim()} ${String(stderr).trim()} ${tail}`.trim(), where, expected));
      } else resolve();
    });
  });
}

/**
 * The text of the file a tool was to write. A tool that exits 0 without writing it (a wrapper, a
 * build that reports errors on stdout) is one SelfoptError, not a raw ENOENT with a stack trace.
 */
export function readToolOutput(path: string, tool: string, where: string, expected: string): string {
  if (!existsSync(path)) throw new SelfoptError(`${tool} exited 0 but wrote no ${basename(path)}`, where, expected);
  return readFileSync(path, 'utf8');
}
