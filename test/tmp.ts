/**
 * A fresh directory under the OS temp dir that is removed when the enclosing test ends (or, at
 * a file's top level, when the file's tests end), so a test run leaves nothing behind.
 */
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
