/** File helpers shared by every writer: atomic writes so a killed run never leaves half a file. */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, writeFileSync, writeSync, rmSync } from 'node:fs';
import { endianness, hostname, tmpdir } from 'node:os';
import { dirname, basename, join } from 'node:path';
import { SelfoptError } from './errors.js';

/**
 * Writes `data` to `path` atomically: a temp file in the same directory, then rename. `data` may
 * be a writer of the open temp file, for content written piece by piece (no copy of the whole).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array | ((fd: number) => void)): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    if (typeof data !== 'function') writeFileSync(tmp, data);
    else {
      const fd = openSync(tmp, 'w');
      try {
        data(fd);
      } finally {
        closeSync(fd);
      }
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * The file on the way to `path` that stops its directory being made (`a/file/x` under a file
 * `a/file`), or undefined. Checked before long work whose output would then fail to be written.
 */
export function fileInTheWay(path: string): string | undefined {
  let dir = dirname(path);
  while (!existsSync(dir)) dir = dirname(dir);
  return statSync(dir).isDirectory() ? undefined : dir;
}

/**
 * What a user's input file holds, as a cell's config hash keeps it: its size and the SHA-256 of
 * its bytes (16 hex digits), read in 1 MiB pieces so a file of gigabytes is never held whole.
 * An instance read from the user's file puts this in its params, so `--resume` after the file
 * changed finds another grid rather than the cells of the old contents.
 */
export function fileIdentity(path: string): { bytes: number; sha256: string } {
  const fd = openSync(path, 'r');
  try {
    const bytes = fstatSync(fd).size;
    const h = createHash('sha256');
    const buf = Buffer.alloc(1 << 20);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
    return { bytes, sha256: h.digest('hex').slice(0, 16) };
  } finally {
    closeSync(fd);
  }
}

/**
 * An instance name that may be the path of a user's file: true when it is a file; false when it
 * is not and does not look like a path (an id, to be looked up by name); and when it looks like a
 * path (it has a slash, or starts with '.' or '~') but is no file, the error that says so, rather
 * than "unknown instance" with a list of every id.
 */
export function isUserFile(name: string, where: string, expected: string): boolean {
  if (existsSync(name) && statSync(name).isFile()) return true;
  if (!/[/\\]|^[.~]/.test(name)) return false;
  const what = !existsSync(name) ? `no such file '${name}'` : `'${name}' is a directory, not a file`;
  // The shell expands ~ only at the start of a word: --instances ~/x is a path, --instances=~/x is not.
  throw new SelfoptError(what, where, name.startsWith('~') ? `${expected} (~ is not expanded here: write the path out, or --instances ~/... with a space)` : expected);
}

/**
 * Runs `body(dir)` with a fresh temp directory, removed afterwards even when body throws. A killed
 * process never gets to remove it (`data build` blocks the event loop, so no signal handler runs
 * before the kill lands): the name holds this host and process id, `<prefix><host>.<pid>-XXXXXX`,
 * and the first call for a prefix in a process removes that prefix's directories of processes of
 * this host that are no longer alive.
 */
export async function inTempDir<T>(prefix: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = makeTempDir(prefix);
  try {
    return await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** inTempDir for a synchronous body (a subprocess run with spawnSync): the same names, the same sweep. */
export function inTempDirSync<T>(prefix: string, body: (dir: string) => T): T {
  const dir = makeTempDir(prefix);
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A fresh `<prefix><host>.<pid>-XXXXXX` under the OS temp dir, after the first call's sweep of the
 * prefix's stale ones: for a directory that outlives one call (a `selfopt worker`'s), which the
 * caller removes; inTempDir where it can be one call.
 */
export function makeTempDir(prefix: string): string {
  const tag = `${prefix}${hostname().replace(/[^A-Za-z0-9-]/g, '_')}.`;
  if (!swept.has(tag)) {
    swept.add(tag);
    removeStaleTempDirs(tag);
  }
  return mkdtempSync(join(tmpdir(), `${tag}${process.pid}-`));
}

const swept = new Set<string>();

/**
 * Removes the temp directories `<tag><pid>-XXXXXX` of this user whose process is not alive. A pid
 * that is alive, or that cannot be asked (another user's), keeps its directory: a live process's
 * directory is never removed, and a reused pid only delays the removal.
 */
function removeStaleTempDirs(tag: string): void {
  const root = tmpdir();
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(tag)) continue;
    const m = /^(\d+)-[A-Za-z0-9]{6}$/.exec(name.slice(tag.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    const path = join(root, name);
    try {
      const st = lstatSync(path);
      if (!st.isDirectory() || st.uid !== process.getuid?.()) continue;
      rmSync(path, { recursive: true, force: true });
    } catch {
      // gone already, or not ours to remove: a stale directory is only disk space
    }
  }
}

/** Whether a process of this pid runs (one of another user's, which cannot be signalled, counts). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The typed arrays an arrays file holds, by their kind number in the file. */
const ARRAY_KINDS = [Float64Array, Float32Array, Int32Array, Uint8Array] as const;
export type StoredArray = Float64Array | Float32Array | Int32Array | Uint8Array;
type ArrayKind = (typeof ARRAY_KINDS)[number];
const ARRAYS_MAGIC = 'selfopt-arrays\0\0';
const pad8 = (n: number) => (n + 7) & ~7;

/**
 * A JSON header and a sequence of typed arrays in one file, for state too large to write as JSON
 * numbers (a trainer's replay buffer): the values are stored as they are in memory, exactly.
 * `format` names what the file holds (kept in the header as `format`; readArrays checks it).
 * Layout: 16 bytes of magic "selfopt-arrays\0\0", uint32 header length H, uint32 array count,
 * H bytes of UTF-8 JSON, then per array uint32 kind (0 Float64, 1 Float32, 2 Int32, 3 Uint8),
 * uint32 element count and the elements; the header and each array padded with zeros to a
 * multiple of 8 bytes. Integers and elements little-endian (a big-endian host is refused).
 * Written atomically (writeFileAtomic), array by array (no copy of the whole).
 */
export function writeArrays(path: string, format: string, header: object, arrays: Iterable<StoredArray>): void {
  if (endianness() !== 'LE') throw new SelfoptError('a big-endian host', 'writeArrays', 'a little-endian host (the arrays are written as they are in memory)');
  const list = [...arrays];
  const json = Buffer.from(JSON.stringify({ format, ...header }), 'utf8');
  const pre = Buffer.alloc(pad8(24 + json.length));
  pre.write(ARRAYS_MAGIC, 0, 'latin1');
  pre.writeUInt32LE(json.length, 16);
  pre.writeUInt32LE(list.length, 20);
  json.copy(pre, 24);
  writeFileAtomic(path, (fd) => {
    writeSync(fd, pre);
    const head = Buffer.alloc(8), zeros = new Uint8Array(8);
    for (const a of list) {
      const kind = ARRAY_KINDS.findIndex((K) => a instanceof K);
      head.writeUInt32LE(kind, 0);
      head.writeUInt32LE(a.length, 4);
      writeSync(fd, head);
      writeSync(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      writeSync(fd, zeros, 0, pad8(a.byteLength) - a.byteLength);
    }
  });
}

/**
 * Reads a file of writeArrays that holds `format`: its header, and its arrays in order through
 * `next(Kind)`, which copies the next array out (so the file's bytes are not kept alive) and
 * throws a clear error when the file ends early or holds another kind there; `done()` checks
 * nothing is left over. A file of another format is one clear error.
 */
export function readArrays<H extends object>(path: string, format: string): { header: H; next<K extends ArrayKind>(kind: K): InstanceType<K>; done(): void } {
  if (endianness() !== 'LE') throw new SelfoptError('a big-endian host', path, 'a little-endian host (the arrays were written as they are in memory)');
  const buf = readFileSync(path);
  const bad = (what: string) => new SelfoptError(what, path, 'a file written by writeArrays (the trainer\'s saved state); --fresh starts the run over');
  if (buf.length < 24 || buf.toString('latin1', 0, 16) !== ARRAYS_MAGIC) throw bad('not an arrays file (no "selfopt-arrays" magic)');
  const hlen = buf.readUInt32LE(16), count = buf.readUInt32LE(20);
  if (24 + hlen > buf.length) throw bad(`truncated arrays file: the header needs ${24 + hlen} bytes, got ${buf.length}`);
  let header: H & { format?: unknown };
  try {
    header = JSON.parse(buf.toString('utf8', 24, 24 + hlen));
  } catch (e) {
    throw bad(`unreadable arrays header: ${(e as Error).message}`);
  }
  if (header?.format !== format) throw bad(`an arrays file of format ${JSON.stringify(header?.format)}, not ${format}`);
  let at = pad8(24 + hlen), index = 0;
  return {
    header,
    next<K extends ArrayKind>(kind: K): InstanceType<K> {
      if (index >= count || at + 8 > buf.length) throw bad(`array ${index} is missing (the file holds ${count}, ${buf.length} bytes)`);
      const k = buf.readUInt32LE(at), n = buf.readUInt32LE(at + 4);
      if (ARRAY_KINDS[k] !== kind) throw bad(`array ${index} is a ${ARRAY_KINDS[k]?.name ?? `kind ${k}`}, expected a ${kind.name}`);
      const bytes = n * kind.BYTES_PER_ELEMENT;
      if (at + 8 + bytes > buf.length) throw bad(`truncated arrays file: array ${index} needs ${at + 8 + bytes} bytes, got ${buf.length}`);
      const out = new kind(n);
      new Uint8Array(out.buffer).set(buf.subarray(at + 8, at + 8 + bytes));
      at += 8 + pad8(bytes);
      index++;
      return out as InstanceType<K>;
    },
    done() {
      if (index !== count || at !== buf.length) throw bad(`${count - index} arrays (${buf.length - at} bytes) left unread`);
    },
  };
}
