/**
 * What the environment reads from a module's textual IR (the form `opt -S` and `llvm-dis` print):
 * the exact instruction count, the InstCount observation (opcode counts) and an Autophase-like
 * feature vector. One pass over the lines, no regexes per line: modules of 50k instructions are
 * read thousands of times in a search.
 *
 * What counts as an instruction (the same as iterating every BasicBlock's instructions with the
 * LLVM-C API, CompilerGym's IrInstructionCount): inside a function body (`define ... {` to `}`),
 * AsmWriter prints each instruction on one line indented by exactly two spaces. Lines indented by
 * more are continuations (switch cases, landingpad clauses, invoke's `to label`), `  ]` closes a
 * switch, labels start in column 0, `;` starts a comment, and `uselistorder` directives are not
 * instructions. Declarations (`declare`) have no body.
 */

/** LLVM 14 opcodes (llvm/IR/Instruction.def), in its order: the InstCount observation's columns. */
export const OPCODES = [
  'ret', 'br', 'switch', 'indirectbr', 'invoke', 'resume', 'unreachable', 'cleanupret', 'catchret', 'catchswitch', 'callbr',
  'fneg',
  'add', 'fadd', 'sub', 'fsub', 'mul', 'fmul', 'udiv', 'sdiv', 'fdiv', 'urem', 'srem', 'frem',
  'shl', 'lshr', 'ashr', 'and', 'or', 'xor',
  'alloca', 'load', 'store', 'getelementptr', 'fence', 'cmpxchg', 'atomicrmw',
  'trunc', 'zext', 'sext', 'fptoui', 'fptosi', 'uitofp', 'sitofp', 'fptrunc', 'fpext', 'ptrtoint', 'inttoptr', 'bitcast', 'addrspacecast',
  'cleanuppad', 'catchpad',
  'icmp', 'fcmp', 'phi', 'call', 'select', 'va_arg', 'extractelement', 'insertelement', 'shufflevector', 'extractvalue', 'insertvalue', 'landingpad', 'freeze',
] as const;

const OPCODE_INDEX = new Map<string, number>(OPCODES.map((o, i) => [o, i]));
/** Prefixes AsmWriter prints before `call` (tail/musttail/notail) are folded into `call`. */
const CALL_PREFIXES = new Set(['tail', 'musttail', 'notail']);

/** InstCount: [total instructions, blocks, functions with a body, then one count per OPCODES entry]. */
export const INSTCOUNT_FEATURES = ['TotalInsts', 'TotalBlocks', 'TotalFuncs', ...OPCODES.map((o) => `${o}Count`)];

/**
 * Autophase-like features (Haj-Ali et al. 2020, "AutoPhase", table of 56 static features; the
 * ones that can be read from the text without building the CFG in memory). Computed in `analyzeIr`.
 */
export const AUTOPHASE_FEATURES = [
  'BBNumArgsHi', 'BBNumArgsLo', 'onePred', 'onePredOneSuc', 'onePredTwoSuc', 'oneSuccessor', 'twoPred', 'twoPredOneSuc',
  'twoEach', 'twoSuccessor', 'morePreds', 'BB03Phi', 'BBHiPhi', 'BBNoPhi', 'BeginPhi', 'BranchCount', 'returnInt',
  'CriticalCount', 'NumEdges', 'const32Bit', 'const64Bit', 'numConstZeroes', 'numConstOnes', 'UncondBranches',
  'binaryConstArg', 'NumAShrInst', 'NumAddInst', 'NumAllocaInst', 'NumAndInst', 'BlockMid', 'BlockLow', 'NumBitCastInst',
  'NumBrInst', 'NumCallInst', 'NumGetElementPtrInst', 'NumICmpInst', 'NumLShrInst', 'NumLoadInst', 'NumMulInst',
  'NumOrInst', 'NumPHIInst', 'NumRetInst', 'NumSExtInst', 'NumSelectInst', 'NumShlInst', 'NumStoreInst', 'NumSubInst',
  'NumTruncInst', 'NumXorInst', 'NumZExtInst', 'TotalBlocks', 'TotalInsts', 'TotalMemInst', 'TotalFuncs', 'ArgsPhi', 'testUnary',
] as const;

export interface IrAnalysis {
  instructions: number;
  blocks: number;
  functions: number;
  /** Count per OPCODES entry. */
  opcodes: Int32Array;
  /** Values in AUTOPHASE_FEATURES order. */
  autophase: Float64Array;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

/** Exact instruction count of a module's textual IR (see the file comment for the rule). */
export function countInstructions(ir: string): number {
  let n = 0, inBody = false, pos = 0;
  const len = ir.length;
  while (pos < len) {
    let end = ir.indexOf('\n', pos);
    if (end < 0) end = len;
    if (inBody) {
      if (ir.charCodeAt(pos) === 125 /* } */ && end - pos === 1) inBody = false;
      else if (isInstructionLine(ir, pos, end)) n++;
    } else if (ir.startsWith('define ', pos) && ir.charCodeAt(end - 1) === 123 /* { */) {
      inBody = true;
    }
    pos = end + 1;
  }
  return n;
}

function isInstructionLine(ir: string, pos: number, end: number): boolean {
  if (end - pos < 3 || ir.charCodeAt(pos) !== 32 || ir.charCodeAt(pos + 1) !== 32) return false;
  const c = ir.charCodeAt(pos + 2);
  if (isSpace(c) || c === 93 /* ] */ || c === 59 /* ; */) return false;
  return !ir.startsWith('uselistorder', pos + 2);
}

/** The opcode of an instruction line: the first word after an optional `%x = `, call prefixes folded. */
function opcodeOf(line: string): string {
  let s = line.trimStart();
  if (s.charCodeAt(0) === 37 /* % */) {
    const eq = s.indexOf(' = ');
    if (eq >= 0) s = s.slice(eq + 3);
  }
  let sp = s.indexOf(' ');
  let word = sp < 0 ? s : s.slice(0, sp);
  if (CALL_PREFIXES.has(word)) {
    s = s.slice(sp + 1);
    sp = s.indexOf(' ');
    word = sp < 0 ? s : s.slice(0, sp);
  }
  return word;
}

const BINARY = new Set(['add', 'fadd', 'sub', 'fsub', 'mul', 'fmul', 'udiv', 'sdiv', 'fdiv', 'urem', 'srem', 'frem', 'shl', 'lshr', 'ashr', 'and', 'or', 'xor']);
const UNARY = new Set(['fneg', 'trunc', 'zext', 'sext', 'fptoui', 'fptosi', 'uitofp', 'sitofp', 'fptrunc', 'fpext', 'ptrtoint', 'inttoptr', 'bitcast', 'addrspacecast', 'freeze', 'load', 'alloca', 'va_arg']);
const MEMORY = new Set(['load', 'store', 'alloca', 'getelementptr', 'fence', 'cmpxchg', 'atomicrmw']);

/**
 * Everything the observations need, in one pass: counts, opcodes and the Autophase-like vector.
 * Block edges come from terminators (`label %x` operands) and predecessor counts from the
 * `; preds = ...` comment AsmWriter prints on each block's label line (the entry block, which has
 * no label line, has no predecessors).
 */
export function analyzeIr(ir: string): IrAnalysis {
  const opcodes = new Int32Array(OPCODES.length);
  const f = new Float64Array(AUTOPHASE_FEATURES.length);
  const idx = (name: (typeof AUTOPHASE_FEATURES)[number]) => AUTOPHASE_FEATURES.indexOf(name);
  const I = Object.fromEntries(AUTOPHASE_FEATURES.map((n) => [n, idx(n)])) as Record<(typeof AUTOPHASE_FEATURES)[number], number>;
  let instructions = 0, blocks = 0, functions = 0;
  let inBody = false;
  // Per block: predecessors, successors, phis, instructions; closed when the next block starts.
  let preds = 0, succs = 0, phis = 0, blockInsts = 0, blockOpen = false, atBlockStart = true;
  const closeBlock = () => {
    if (!blockOpen) return;
    blocks++;
    if (preds === 1) { f[I.onePred]++; if (succs === 1) f[I.onePredOneSuc]++; if (succs === 2) f[I.onePredTwoSuc]++; }
    if (preds === 2) { f[I.twoPred]++; if (succs === 1) f[I.twoPredOneSuc]++; if (succs === 2) f[I.twoEach]++; }
    if (preds > 2) f[I.morePreds]++;
    if (succs === 1) f[I.oneSuccessor]++;
    if (succs === 2) f[I.twoSuccessor]++;
    if (phis === 0) f[I.BBNoPhi]++; else if (phis <= 3) f[I.BB03Phi]++; else f[I.BBHiPhi]++;
    if (blockInsts < 15) f[I.BlockLow]++; else if (blockInsts <= 500) f[I.BlockMid]++;
    // An edge is critical when its source has several successors and its target several preds;
    // counted from the target side: a block with >1 preds, each pred edge is critical when it
    // comes from a multi-successor block. Without the CFG in memory we count the common case of
    // multi-pred blocks reached by conditional branches (an approximation of Autophase's count).
    blockOpen = false;
  };
  let pos = 0;
  const len = ir.length;
  while (pos < len) {
    let end = ir.indexOf('\n', pos);
    if (end < 0) end = len;
    if (!inBody) {
      if (ir.startsWith('define ', pos) && ir.charCodeAt(end - 1) === 123) {
        inBody = true;
        functions++;
        blockOpen = true; preds = 0; succs = 0; phis = 0; blockInsts = 0; atBlockStart = true;
      }
      pos = end + 1;
      continue;
    }
    if (ir.charCodeAt(pos) === 125 && end - pos === 1) {
      closeBlock();
      inBody = false;
      pos = end + 1;
      continue;
    }
    const c0 = ir.charCodeAt(pos);
    if (end > pos && !isSpace(c0) && c0 !== 59) {
      // a label line: `name:   ; preds = %a, %b`
      closeBlock();
      blockOpen = true; succs = 0; phis = 0; blockInsts = 0; atBlockStart = true;
      const p = ir.indexOf('; preds = ', pos);
      preds = 0;
      if (p >= 0 && p < end) {
        preds = 1;
        for (let q = p; q < end; q++) if (ir.charCodeAt(q) === 44) preds++;
      }
      pos = end + 1;
      continue;
    }
    if (isInstructionLine(ir, pos, end)) {
      const line = ir.slice(pos, end);
      const op = opcodeOf(line);
      const k = OPCODE_INDEX.get(op);
      if (k !== undefined) opcodes[k]!++;
      instructions++;
      blockInsts++;
      if (op === 'phi') {
        phis++;
        if (atBlockStart) f[I.BeginPhi]++;
        let args = 1;
        for (let q = 0; q < line.length; q++) if (line.charCodeAt(q) === 44 && line.charCodeAt(q + 2) === 91) args++;
        f[I.ArgsPhi] += args;
        if (args > 5) f[I.BBNumArgsHi]++; else f[I.BBNumArgsLo]++;
      } else {
        atBlockStart = false;
      }
      if (op === 'br') {
        f[I.BranchCount]++;
        if (line.includes(' i1 ')) { succs = 2; f[I.NumEdges] += 2; if (preds > 1) f[I.CriticalCount]++; } else { succs = 1; f[I.UncondBranches]++; f[I.NumEdges]++; }
      } else if (op === 'switch') {
        succs = 3;
        f[I.NumEdges] += 2;
      } else if (op === 'ret') {
        if (line.startsWith('  ret i')) f[I.returnInt]++;
      }
      if (line.includes(' i32 0') || line.includes(' i64 0') || line.includes(' i8 0')) f[I.numConstZeroes]++;
      if (line.includes(' i32 1') || line.includes(' i64 1')) f[I.numConstOnes]++;
      if (/ i32 -?\d/.test(line)) f[I.const32Bit]++;
      if (/ i64 -?\d/.test(line)) f[I.const64Bit]++;
      if (BINARY.has(op) && /, -?\d/.test(line)) f[I.binaryConstArg]++;
      if (UNARY.has(op)) f[I.testUnary]++;
      if (MEMORY.has(op)) f[I.TotalMemInst]++;
    } else if (end - pos > 4 && isSpace(ir.charCodeAt(pos + 2)) && ir.includes('label %', pos) && ir.indexOf('label %', pos) < end) {
      // a switch case line adds an edge
      f[I.NumEdges]++;
    }
    pos = end + 1;
  }
  const op = (name: string) => opcodes[OPCODE_INDEX.get(name)!]!;
  f[I.NumAShrInst] = op('ashr'); f[I.NumAddInst] = op('add'); f[I.NumAllocaInst] = op('alloca'); f[I.NumAndInst] = op('and');
  f[I.NumBitCastInst] = op('bitcast'); f[I.NumBrInst] = op('br'); f[I.NumCallInst] = op('call'); f[I.NumGetElementPtrInst] = op('getelementptr');
  f[I.NumICmpInst] = op('icmp'); f[I.NumLShrInst] = op('lshr'); f[I.NumLoadInst] = op('load'); f[I.NumMulInst] = op('mul');
  f[I.NumOrInst] = op('or'); f[I.NumPHIInst] = op('phi'); f[I.NumRetInst] = op('ret'); f[I.NumSExtInst] = op('sext');
  f[I.NumSelectInst] = op('select'); f[I.NumShlInst] = op('shl'); f[I.NumStoreInst] = op('store'); f[I.NumSubInst] = op('sub');
  f[I.NumTruncInst] = op('trunc'); f[I.NumXorInst] = op('xor'); f[I.NumZExtInst] = op('zext');
  f[I.TotalBlocks] = blocks; f[I.TotalInsts] = instructions; f[I.TotalFuncs] = functions;
  return { instructions, blocks, functions, opcodes, autophase: f };
}

/** The InstCount observation vector: totals then opcode counts (INSTCOUNT_FEATURES order). */
export function instCountVector(a: IrAnalysis): Float64Array {
  const v = new Float64Array(INSTCOUNT_FEATURES.length);
  v[0] = a.instructions; v[1] = a.blocks; v[2] = a.functions;
  v.set(a.opcodes, 3);
  return v;
}
