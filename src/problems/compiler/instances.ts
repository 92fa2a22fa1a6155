/**
 * Programs for the phase-ordering problem, compiled by clang to unoptimised LLVM bitcode with
 * CompilerGym's recipe: `clang -O0 -Xclang -disable-O0-optnone -Xclang -disable-llvm-passes
 * -emit-llvm -c` per source file (optnone off, so that opt's passes may change the functions),
 * `llvm-link` to one module for multi-file programs.
 *
 * Sources:
 * - `own/<name>`: the project's small C programs (programs/*.c beside this file), so a fresh
 *   machine has instances.
 * - `ss/<dir>/<name>`: llvm-test-suite SingleSource/Benchmarks C files on the data path
 *   (compiler/llvm-test-suite), PolyBench with its utilities header.
 * - `ms/<dir>/<name>`: llvm-test-suite MultiSource/Benchmarks programs (Olden, Ptrdist, sim,
 *   MallocBench): one program per directory with a CMakeLists.txt, whose -D/-U/-I/-f flags and
 *   `llvm_multisource(...)` source list are read from that file; a file that fails is retried
 *   with -std=gnu89 (old K&R code), as the data's own build script does.
 * - a path given on the command line: a .c file, or a directory whose .c files form one program.
 *
 * Split: fixed by program, by the sha1 of the program id (first 32 bits mod 100): < 60 train,
 * 60..79 validation (split 'train', subset 'validation': learned methods select on it), >= 80
 * test. The own programs have a fixed split written below.
 *
 * Compiled bitcode is cached under .selfopt/cache/compiler/bc/<sha1>.bc, the sha1 of the clang
 * version, the flags and every source file's content (and, for a path from the command line,
 * every header it includes: createKey). A program that does not compile is a
 * recorded failure (clang's message kept in the instance and in .selfopt/cache/compiler/
 * failures.jsonl), never a crash of the run.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Dataset, InstanceRef } from '../../core/problem.js';
import { SelfoptError } from '../../core/errors.js';
import { inTempDirSync, writeFileAtomic } from '../../core/files.js';
import { PROJECT_ROOT } from '../../core/version.js';
import { firstLines, OPT_TEXT, requireTool, runSync } from './llvm.js';
import { sha1 } from './session.js';
import { countInstructions } from './ir.js';

export const TEST_SUITE_REL = 'compiler/llvm-test-suite';

export const DATASETS: Dataset[] = [
  {
    relPath: TEST_SUITE_REL,
    description: 'llvm-test-suite SingleSource/Benchmarks (incl. PolyBench/C 4.2.1) and MultiSource/Benchmarks (Olden, Ptrdist, sim, MallocBench) C sources',
    source: 'github.com/llvm/llvm-test-suite (commit 3c0a28f1); see shared/data/compiler/PROVENANCE.md',
    license: 'Apache-2.0 WITH LLVM-exception, per-directory licenses (PolyBench: OSU BSD-like)',
    obtain: 'copy SingleSource/Benchmarks and MultiSource/Benchmarks/{Olden,Ptrdist,sim,MallocBench} of llvm-test-suite into DATA/compiler/llvm-test-suite',
  },
];

/** clang flags of CompilerGym's unoptimised bitcode. */
export const O0_FLAGS = ['-O0', '-Xclang', '-disable-O0-optnone', '-Xclang', '-disable-llvm-passes', '-emit-llvm', '-c', '-w'];

export type Subset = 'train' | 'validation' | 'test';

export interface ProgramSpec {
  id: string;
  source: 'own' | 'single' | 'multi' | 'file';
  /** Absolute paths of the C files. */
  files: string[];
  /** Extra clang flags (-D, -I, ...). */
  flags: string[];
  subset: Subset;
  /** Total bytes of the sources (a size proxy for listing without compiling). */
  bytes: number;
  /** The llvm-test-suite directory it came from (test-suite programs). */
  root?: string;
  /** Command-line arguments for a semantics run (RUN_OPTIONS), when known. */
  runArgs?: string[];
}

export interface CompilerInstance {
  id: string;
  program: ProgramSpec;
  /** The unoptimised module's textual IR (as `opt -S` prints it), or '' when it did not build. */
  ir: string;
  /** Instruction counts at -O0 (the module as built), after -Oz and after -O3. */
  countO0: number;
  countOz: number;
  countO3: number;
  /** clang's or llvm-link's message when the program did not build. */
  error?: string;
}

/** The own programs' directory (the C files live in the source tree, next to this file's source). */
export const OWN_DIR = join(PROJECT_ROOT, 'src', 'problems', 'compiler', 'programs');
/** Own programs and their fixed split; quick mode uses the first train and test ones. */
export const OWN_SPLIT: Readonly<Record<string, Subset>> = {
  crc32: 'train', sieve: 'train', matmul: 'train', strhist: 'train', rle: 'train',
  qsort: 'test', bitcount: 'test', fib: 'test', life: 'validation',
};

export function subsetOf(id: string): Subset {
  const v = parseInt(sha1(id).slice(0, 8), 16) % 100;
  return v < 60 ? 'train' : v < 80 ? 'validation' : 'test';
}

export function splitOf(subset: Subset): 'train' | 'test' {
  return subset === 'test' ? 'test' : 'train';
}

function fileBytes(files: string[]): number {
  let n = 0;
  for (const f of files) n += statSync(f).size;
  return n;
}

export function ownPrograms(): ProgramSpec[] {
  if (!existsSync(OWN_DIR)) return [];
  return readdirSync(OWN_DIR).filter((f) => f.endsWith('.c')).sort().map((f) => {
    const name = f.slice(0, -2);
    const files = [join(OWN_DIR, f)];
    return { id: `own/${name}`, source: 'own' as const, files, flags: [], subset: OWN_SPLIT[name] ?? 'train', bytes: fileBytes(files) };
  });
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** SingleSource C programs (one per file) of the llvm-test-suite at `root`. */
export function singleSourcePrograms(root: string): ProgramSpec[] {
  const base = join(root, 'SingleSource', 'Benchmarks');
  if (!existsSync(base)) return [];
  const utilities = join(base, 'Polybench', 'utilities');
  return walk(base).filter((f) => f.endsWith('.c') && !f.startsWith(utilities)).map((f) => {
    const rel = relative(base, f).slice(0, -2);
    const polybench = rel.startsWith('Polybench/');
    const id = polybench ? `ss/Polybench/${basename(rel)}` : `ss/${rel}`;
    const flags = polybench ? [`-I${utilities}`, `-I${dirname(f)}`, '-DPOLYBENCH_DUMP_ARRAYS', '-DSMALL_DATASET', '-DFP_ABSTOLERANCE=1e-5'] : [];
    return { id, source: 'single' as const, files: [f], flags, subset: subsetOf(id), bytes: fileBytes([f]), root };
  });
}

/** MultiSource programs of the llvm-test-suite at `root` (flags and sources from CMakeLists.txt). */
export function multiSourcePrograms(root: string): ProgramSpec[] {
  const base = join(root, 'MultiSource', 'Benchmarks');
  if (!existsSync(base)) return [];
  const out: ProgramSpec[] = [];
  for (const cm of walk(base).filter((f) => basename(f) === 'CMakeLists.txt')) {
    const dir = dirname(cm);
    const cfiles = readdirSync(dir).filter((f) => f.endsWith('.c')).sort();
    if (cfiles.length === 0) continue;
    const text = readFileSync(cm, 'utf8');
    const lines = defaultBuildLines(text);
    const flags: string[] = [`-I${dir}`];
    for (const line of lines) {
      if (!/CPPFLAGS|CFLAGS|add_definitions/.test(line)) continue;
      // -D/-U/-I, and -f flags that change what the code means: Olden bh's tentative definitions
      // of one global in several files link only with -fcommon (clang's default is -fno-common).
      for (const m of line.matchAll(/(?:^|[\s(])(-[DUI][^\s)]*|-f[\w=-]+)/g)) flags.push(m[1]!.replace('${CMAKE_CURRENT_SOURCE_DIR}', dir));
    }
    const listed = /llvm_multisource\(([^)]*)\)/.exec(text.replace(/\n/g, ' '));
    const named = listed ? listed[1]!.split(/\s+/).filter((t) => t.endsWith('.c')) : [];
    const files = (named.length > 0 ? named : cfiles).map((f) => join(dir, f)).filter((f) => existsSync(f));
    // `set(RUN_OPTIONS a b)` or `list(APPEND RUN_OPTIONS a b)` (Ptrdist ft), in the branches a default build takes.
    let runArgs: string[] | undefined;
    for (const line of lines) {
      const m = /^\s*(?:set|list\s*\(\s*(APPEND))\s*\(?\s*RUN_OPTIONS\s+([^)]*)\)/.exec(line);
      if (m) runArgs = [...(m[1] ? runArgs ?? [] : []), ...m[2]!.trim().split(/\s+/)];
    }
    const id = `ms/${relative(base, dir)}`;
    out.push({ id, source: 'multi', files, flags, subset: subsetOf(id), bytes: fileBytes(files), root, runArgs });
  }
  return out;
}

/**
 * The lines of a test-suite CMakeLists.txt that a default build reads: inside `if()` / `elseif()` /
 * `else()` / `endif()`, only the branch taken when neither LARGE_PROBLEM_SIZE nor
 * SMALL_PROBLEM_SIZE is set (both off by default). Reading every branch gave the first one's
 * RUN_OPTIONS, so most Olden programs ran with their LARGE sizes and em3d and treeadd with their
 * SMALL ones. A condition is false unless it is `NOT` of a false one: an unset variable is false
 * in CMake, and the other conditions of the suite (`NOT "${ARCH}" STREQUAL "Alpha"`) hold on x86.
 */
export function defaultBuildLines(text: string): string[] {
  const holds = (cond: string): boolean => {
    const c = cond.trim();
    return /^NOT\s/.test(c) ? !holds(c.slice(3)) : false;
  };
  // Per open if(): whether the lines around it are read, and whether one of its branches was taken.
  const stack: { outer: boolean; taken: boolean }[] = [];
  let reading = true;
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(if|elseif|else|endif)\s*\((.*)\)\s*(#.*)?$/i.exec(line);
    const word = m?.[1]!.toLowerCase();
    if (word === 'if') {
      const take = holds(m![2]!);
      stack.push({ outer: reading, taken: take });
      reading = reading && take;
    } else if ((word === 'elseif' || word === 'else') && stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const take = !top.taken && (word === 'else' || holds(m![2]!));
      top.taken ||= take;
      reading = top.outer && take;
    } else if (word === 'endif' && stack.length > 0) {
      reading = stack.pop()!.outer;
    } else if (reading) out.push(line);
  }
  return out;
}

/** A program from a path given on the command line: a .c file, or a directory of .c files. */
export function programFromPath(path: string): ProgramSpec {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new SelfoptError(`no such file or directory '${path}'`, 'compiler instance', 'a .c file or a directory of .c files');
  const st = statSync(abs);
  const files = st.isDirectory() ? readdirSync(abs).filter((f) => f.endsWith('.c')).sort().map((f) => join(abs, f)) : [abs];
  if (files.length === 0 || !files.every((f) => f.endsWith('.c'))) {
    throw new SelfoptError(`'${path}' holds no C source`, 'compiler instance', 'a .c file, or a directory with .c files (one program)');
  }
  return { id: `file:${abs}`, source: 'file', files, flags: st.isDirectory() ? [`-I${abs}`] : [], subset: 'test', bytes: fileBytes(files) };
}

// ---------------------------------------------------------------------------------------------
// Compiling, with a cache by content
// ---------------------------------------------------------------------------------------------

export function cacheDir(): string {
  return resolve(process.env.SELFOPT_CACHE ?? join('.selfopt', 'cache'), 'compiler');
}

/**
 * Appends one JSON line (with its time) to a log in the cache directory. One append-mode write
 * per line: concurrent writers (worker threads, parallel runs) interleave whole lines, never
 * parts of lines, and a crash loses at most the line being written.
 */
export function appendRecord(file: string, record: Record<string, unknown>): void {
  mkdirSync(cacheDir(), { recursive: true });
  appendFileSync(join(cacheDir(), file), JSON.stringify({ ...record, at: new Date().toISOString() }) + '\n');
}

let clangVersionCache: string | undefined;
function clangVersion(): string {
  clangVersionCache ??= execFileSync(requireTool('clang'), ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().split('\n')[0]!.trim();
  return clangVersionCache;
}

export type BuildResult = { ok: true; bitcode: Buffer; cached: boolean } | { ok: false; error: string };

/** Compiles a program to one unoptimised bitcode module (cached by content: `h`, its createKey). */
export function buildBitcode(p: ProgramSpec, h = createKey(p)): BuildResult {
  const clang = requireTool('clang');
  const cached = join(cacheDir(), 'bc', `${h}.bc`);
  if (existsSync(cached)) return { ok: true, bitcode: readFileSync(cached), cached: true };
  const failed = join(cacheDir(), 'bc', `${h}.failed`);
  if (existsSync(failed)) return { ok: false, error: readFileSync(failed, 'utf8') };
  const parts: Buffer[] = [];
  let error: string | undefined;
  for (const f of p.files) {
    let r = runSync(clang, [...O0_FLAGS, ...p.flags, f, '-o', '-'], undefined, 300_000);
    if (!r.ok && p.source === 'multi') r = runSync(clang, [...O0_FLAGS, '-std=gnu89', ...p.flags, f, '-o', '-'], undefined, 300_000);
    if (!r.ok) { error = `clang failed on ${f}: ${firstLines(r.message, 8)}`; break; }
    parts.push(r.stdout);
  }
  let bitcode: Buffer | undefined;
  if (!error) {
    if (parts.length === 1) bitcode = parts[0]!;
    else {
      // llvm-link reads files, not pipes: each part goes to a directory of its own (two worker
      // threads of one process may link the same program), removed when the link is done or failed.
      const r = inTempDirSync('selfopt-llvm-link-', (dir) => {
        const inputs = parts.map((b, i) => { const f = join(dir, `${i}.bc`); writeFileSync(f, b); return f; });
        return runSync(requireTool('llvm-link'), [...inputs, '-o', '-'], undefined, 300_000);
      });
      if (r.ok) bitcode = r.stdout; else error = `llvm-link failed: ${firstLines(r.message, 8)}`;
    }
  }
  if (error || !bitcode) {
    const msg = error ?? 'no bitcode';
    writeFileAtomic(failed, msg);
    appendRecord('failures.jsonl', { program: p.id, error: msg });
    return { ok: false, error: msg };
  }
  writeFileAtomic(cached, bitcode);
  return { ok: true, bitcode, cached: false };
}

function createKey(p: ProgramSpec): string {
  const parts = [clangVersion(), O0_FLAGS.join(' '), p.flags.join(' ')];
  for (const f of p.files) parts.push(basename(f), sha1(readFileSync(f, 'latin1')));
  // A program from the command line may include its own headers, which its user edits: their
  // contents are part of its key, else an edited header got the old bitcode from the cache. The
  // data path's and the own programs' sources do not change, and their keys stay as they were.
  if (p.source === 'file') for (const d of localHeaders(p)) parts.push(d, existsSync(d) ? sha1(readFileSync(d, 'latin1')) : 'missing');
  return sha1(parts.join('\0'));
}

/**
 * The headers the program's C files include, outside the system directories (`clang -MM`); with
 * -MG a header that is not there is listed too, so that creating it changes the key of a program
 * that failed for want of it. [] when clang cannot preprocess the files (the build then fails).
 */
function localHeaders(p: ProgramSpec): string[] {
  const r = runSync(requireTool('clang'), ['-MM', '-MG', '-w', ...p.flags, ...p.files], undefined, 300_000);
  if (!r.ok) return [];
  const deps = new Set<string>();
  // Make syntax: one rule "x.o: a.c b.h c.h" per file, continued over lines ending in a
  // backslash; a space in a name is escaped with a backslash, a $ doubled.
  for (const rule of r.stdout.toString().replace(/\\\n/g, ' ').split('\n')) {
    const colon = rule.search(/:(\s|$)/);
    if (colon < 0) continue;
    for (const tok of rule.slice(colon + 1).trim().split(/(?<!\\)\s+/)) {
      if (tok) deps.add(resolve(dirname(p.files[0]!), tok.replace(/\\ /g, ' ').replace(/\$\$/g, '$')));
    }
  }
  for (const f of p.files) deps.delete(f);
  return [...deps].sort();
}

/** Textual IR of a bitcode module, as `opt -S` prints it (read from stdin, so the ModuleID is `<stdin>`). */
export function bitcodeToIr(bitcode: Uint8Array, where: string): string {
  const r = runSync(requireTool('opt'), [...OPT_TEXT, '-passes=verify', '-'], bitcode, 300_000);
  if (!r.ok) throw new SelfoptError(`opt could not read the bitcode: ${firstLines(r.message)}`, where, 'a valid LLVM 14 bitcode module');
  return r.stdout.toString();
}

/**
 * Instruction count after a standard pipeline (`default<Oz>`). A failed opt (a timeout on a busy
 * machine) is an error: its -1 was cached as the program's count for good, and every ratio to it
 * came out negative.
 */
export function countAfter(ir: string, pipeline: string, where: string): number {
  const r = runSync(requireTool('opt'), [...OPT_TEXT, `-passes=${pipeline}`, '-'], ir, 600_000);
  if (!r.ok) throw new SelfoptError(`opt -passes=${pipeline} failed: ${firstLines(r.message)}`, where, `the program's reference count after ${pipeline} (nothing is cached; a rerun tries again)`);
  return countInstructions(r.stdout.toString());
}

/** Builds a program and measures its reference counts (-O0, -Oz, -O3). */
export function loadProgram(p: ProgramSpec): CompilerInstance {
  // One key for both files: for a program from the command line it costs a clang -MM.
  const key = createKey(p);
  const b = buildBitcode(p, key);
  if (!b.ok) return { id: p.id, program: p, ir: '', countO0: 0, countOz: 0, countO3: 0, error: b.error };
  const countsFile = join(cacheDir(), 'bc', `${key}.counts.json`);
  const ir = bitcodeToIr(b.bitcode, p.id);
  const countO0 = countInstructions(ir);
  let counts: { oz: number; o3: number } | undefined;
  if (existsSync(countsFile)) counts = JSON.parse(readFileSync(countsFile, 'utf8')) as { oz: number; o3: number };
  // A -1 is a failed opt that older versions cached: measured again.
  if (!counts || counts.oz < 0 || counts.o3 < 0) {
    counts = { oz: countAfter(ir, 'default<Oz>', p.id), o3: countAfter(ir, 'default<O3>', p.id) };
    writeFileAtomic(countsFile, JSON.stringify(counts));
  }
  return { id: p.id, program: p, ir, countO0, countOz: counts.oz, countO3: counts.o3 };
}

export function instanceRefOf(p: ProgramSpec): InstanceRef {
  return {
    id: p.id,
    source: p.source === 'own' ? 'generated' : p.source === 'file' ? 'file' : 'real',
    // The path as given, which the id holds: a directory of one .c file is still the directory
    // (its files' headers are found with -I on it; loaded as the file, they were not).
    path: p.source === 'file' ? p.id.slice('file:'.length) : undefined,
    params: p.root ? { subset: p.subset, bytes: p.bytes, root: p.root } : { subset: p.subset, bytes: p.bytes },
    split: splitOf(p.subset),
    description: `${p.source === 'own' ? 'selfopt\'s own C program' : p.source === 'file' ? 'C program from the command line' : 'llvm-test-suite C program'}, ${p.files.length} file(s), ${p.bytes} bytes of source, ${p.subset} subset`,
  };
}
