/** What the compiler tests share: the skip reason, a temporary cache, and small programs. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../tmp.js';
import { findTool, llvmAvailable } from '../../../src/problems/compiler/llvm.js';
import { USABLE_PASSES } from '../../../src/problems/compiler/passes.js';
import { loadProgram, ownPrograms, programFromPath, type CompilerInstance } from '../../../src/problems/compiler/instances.js';

export const skip = llvmAvailable() && findTool('llvm-as') ? false : 'LLVM 14 clang/opt/llvm-dis/llvm-link are not installed';
export const dir = tempDir('selfopt-compiler-test-');
process.env.SELFOPT_CACHE = join(dir, 'cache');

/** A tiny C program with a loop, a switch and a helper function: enough for every pass kind. */
export const TINY = `#include <stdio.h>
static int f(int x) { int s = 0; for (int i = 0; i < x; i++) { switch (i % 3) { case 0: s += i; break; case 1: s -= 1; break; default: s *= 2; } } return s; }
int main(void) { int t = 0; for (int k = 0; k < 5; k++) t += f(k * 3); printf("%d\\n", t); return 0; }
`;

let tinyCache: CompilerInstance | undefined;
export function tiny(): CompilerInstance {
  if (!tinyCache) {
    const f = join(dir, 'tiny.c');
    writeFileSync(f, TINY);
    tinyCache = loadProgram(programFromPath(f));
  }
  return tinyCache;
}
/** Usable passes that give byte-identical modules run after run (determinism.ts): newgvn and gvn-hoist may print another use-list order. */
export const STABLE = USABLE_PASSES.filter((p) => p !== 'newgvn' && p !== 'gvn-hoist');
export function own(name: string): CompilerInstance {
  return loadProgram(ownPrograms().find((p) => p.id === `own/${name}`)!);
}

