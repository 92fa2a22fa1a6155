/**
 * OptSession: modules as states, `opt -passes=<p>` as transitions, with a state cache.
 *
 * A state is a module's textual IR as `opt -S` prints it, named by the sha1 of that text: two
 * pass sequences that reach the same module reach the same state. A transition (state, pass) is
 * computed once per session by one `opt -S -passes=<p>` call with the state's IR on stdin; its
 * result (next state, or the pass's failure) is cached, so revisiting a (state, pass) is free and
 * counted as a cache hit. Instruction counts come from the text (ir.ts countInstructions, tested
 * equal to counting llvm-dis's output of the same module's bitcode).
 *
 * Batching: `applySequence` runs several passes in one `opt` call. A pipeline `a,b` is not the
 * same as running a then b (opt nests adjacent function passes into one function pipeline, so b
 * would run on function 1 before a runs on function 2). Each pass is therefore given in the
 * exact top-level form opt builds for it alone (`-print-pipeline-passes`: `function(instcombine)`,
 * `cgscc(inline)`, `function(loop-mssa(licm))`), so the batch runs the same passes over the whole
 * module in the same order, with `invalidate<all>` between two passes (sequencePipeline: a later
 * pass must not reuse an analysis an earlier one left cached, which a separate call never has);
 * and every call prints use-list orders (llvm.ts OPT_TEXT), so the text between two calls loses
 * nothing the next pass could see. The test suite checks that batch and
 * one-by-one give the same module up to the names of local values (`withoutLocalNames`): a name
 * made unique in memory (`%bb1` vs `%bb2` after instnamer) may get another suffix after a text
 * round trip. Counts, opcodes and structure are the same; state identity (the text hash) is not,
 * so searches use batches only where they need a count (the genetic algorithm's fitness).
 *
 * Memory: state texts are kept up to `maxBytes` (least recently used dropped first); a dropped
 * state is rebuilt from its parent and the pass that made it, and must come back the same up to
 * its use-list order (which newgvn and gvn-hoist do not always print the same; see irOf).
 * Searches create one session per solve, so their timings and cache hit rates are their own.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { SelfoptError } from '../../core/errors.js';
import { countInstructions } from './ir.js';
import { firstLines, OPT_TEXT, requireTool, runAsync, runSync, type RunResult } from './llvm.js';
import { OptServer, optServerBinary } from './opt-server.js';

export interface OptStats {
  /** `opt` processes started. */
  optCalls: number;
  /** Wall milliseconds spent waiting for them. */
  optMs: number;
  /** Transition lookups, and how many of them the cache answered. */
  lookups: number;
  hits: number;
  /** Transitions whose pass failed (crash, verifier error, timeout). */
  failures: number;
}

export interface State {
  hash: string;
  count: number;
}

export type Transition = { ok: true; state: State } | { ok: false; error: string };

interface StoredState extends State {
  ir: string | undefined;
  parent?: { hash: string; pass: string };
  /** sha1 of the text without its use-list order, kept when the text is dropped (see irOf). */
  coreHash?: string;
  /**
   * Why opt-server refused this text as input (it does not parse or verify), when it did: every
   * pass fails on it with that message, so later passes are answered without asking again. LLVM
   * 14 prints some modules with a `uselistorder` directive its own parser rejects ("wrong number
   * of indexes"): such a state is a dead end that guided search's widest tier tried 30-odd passes on.
   */
  refused?: string;
}

/** The IR with every local value and label name replaced by `%_` (for comparing up to names). */
export function withoutLocalNames(ir: string): string {
  return ir.replace(/%(?:[-a-zA-Z$._][-a-zA-Z$._0-9]*|"[^"]*"|[0-9]+)/g, '%_').replace(/^(?:[-a-zA-Z$._0-9]+|"[^"]*"):(\s|$)/gm, '_:$1');
}

/**
 * The module without its use-list order: the `uselistorder` lines (module level, and at the end
 * of a function body), their header comment, and blank lines (the printer puts one before the
 * header only when there are directives).
 */
export function withoutUseListOrder(ir: string): string {
  return ir.split('\n').filter((l) => !/^\s*(uselistorder|; uselistorder directives|$)/.test(l)).join('\n');
}

export function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/** Per-pass top-level pipeline forms, shared by every session of the process. */
const pipelineForms = new Map<string, string>();

/** The exact top-level form opt builds for `pass` alone (`function(instcombine)`). */
export function pipelineForm(pass: string): string {
  let f = pipelineForms.get(pass);
  if (f === undefined) {
    const r = runSync(requireTool('opt'), [`-passes=${pass}`, '-print-pipeline-passes', '-disable-output', '-'], 'target triple = "x86_64-pc-linux-gnu"\n', 30_000);
    if (!r.ok) throw new SelfoptError(`opt rejects pass '${pass}': ${firstLines(r.message)}`, 'pipelineForm', 'a pass name LLVM 14 opt -passes= accepts');
    const parts = splitTopLevel(r.stdout.toString().trim()).filter((p) => p !== 'verify');
    f = parts.join(',');
    pipelineForms.set(pass, f);
  }
  return f;
}

/**
 * One pipeline that runs `passes` as separate opt calls would: each in its top-level form, with
 * `invalidate<all>` between them, so that no pass sees analyses cached by an earlier one (a
 * separate call starts with none). Without it a pipeline can differ: on Dhrystone's dry.c a
 * 17-pass answer gave 175 instructions one call per pass and 178 as one plain pipeline.
 */
export function sequencePipeline(passes: readonly string[]): string {
  return passes.map(pipelineForm).join(',invalidate<all>,');
}

/** Splits a pipeline text at the commas that are not inside () or <>. */
export function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(' || c === '<') depth++;
    else if (c === ')' || c === '>') depth--;
    else if (c === ',' && depth === 0) { out.push(text.slice(start, i)); start = i + 1; }
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

export interface SessionOptions {
  /** Kill an `opt` call after this many ms and record the transition as failed. */
  timeoutMs?: number;
  /** Bytes of state text kept in memory. */
  maxBytes?: number;
  /**
   * 'opt': one `opt` process per transition; 'server': opt-server.ts (the same LLVM passes in a
   * long-lived process, tested byte-identical to opt); 'auto' (default): the server when it can be
   * built, else opt. $SELFOPT_COMPILER_BACKEND=opt forces opt everywhere.
   */
  backend?: 'auto' | 'opt' | 'server';
}

export class OptSession {
  readonly stats: OptStats = { optCalls: 0, optMs: 0, lookups: 0, hits: 0, failures: 0 };
  private readonly states = new Map<string, StoredState>();
  private readonly transitions = new Map<string, Transition>();
  /** In-flight async transitions, so two concurrent requests for one (state, pass) start one opt. */
  private readonly pending = new Map<string, Promise<Transition>>();
  private readonly opt: string;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private bytes = 0;
  private readonly server: OptServer | undefined;

  constructor(opts: SessionOptions = {}) {
    this.opt = requireTool('opt');
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.maxBytes = opts.maxBytes ?? 256 << 20;
    const backend = opts.backend ?? 'auto';
    if (backend !== 'opt') {
      const exe = optServerBinary();
      if (exe) this.server = new OptServer(exe, this.timeoutMs);
      else if (backend === 'server') throw new SelfoptError('opt-server is not available', 'OptSession backend=server', 'clang++ and LLVM 14 C++ headers (apt-get install llvm-14-dev), or backend opt');
    }
  }

  /** Which backend computes this session's transitions. */
  get backend(): 'opt' | 'server' {
    return this.server ? 'server' : 'opt';
  }

  /** Gives the session's server process back to the pool (if any); the session still answers from its cache and takes one again when needed. */
  close(): void {
    this.server?.close();
  }

  /** Adds a module (textual IR, as opt -S prints it) and returns its state. */
  addState(ir: string): State {
    const hash = sha1(ir);
    const known = this.states.get(hash);
    if (known) {
      if (known.ir === undefined) this.keep(known, ir);
      return { hash, count: known.count };
    }
    const s: StoredState = { hash, count: countInstructions(ir), ir: undefined };
    this.states.set(hash, s);
    this.keep(s, ir);
    return { hash, count: s.count };
  }

  /** The IR text of a state of this session (rebuilt from its parent when it was dropped). */
  irOf(hash: string): string {
    const s = this.states.get(hash);
    if (!s) throw new SelfoptError(`unknown state ${hash}`, 'OptSession.irOf', 'a state returned by this session');
    if (s.ir !== undefined) {
      // move to the back of the LRU order
      this.states.delete(hash);
      this.states.set(hash, s);
      return s.ir;
    }
    if (!s.parent) throw new SelfoptError(`state ${hash} was dropped and has no parent`, 'OptSession.irOf', 'a root state added with addState');
    // The rebuilt text may differ in its use-list order, so a refusal of the old one no longer holds.
    s.refused = undefined;
    const r = this.runPass(this.irOf(s.parent.hash), s.parent.pass);
    if (!r.ok) throw new SelfoptError(`rebuilding state ${hash} failed: ${firstLines(r.message)}`, 'OptSession.irOf', 'a deterministic opt');
    const ir = r.stdout.toString();
    // newgvn and gvn-hoist can print another use-list order for one input (MEASUREMENTS.md, "Finding
    // (determinism)"): the same instructions, so the rebuilt text stands in for the dropped one.
    if (sha1(ir) !== hash && sha1(withoutUseListOrder(ir)) !== s.coreHash) {
      throw new SelfoptError(`rebuilding state ${hash} (${s.parent.pass} on ${s.parent.hash}) gave another module, not only another use-list order`, 'OptSession.irOf', 'a pass that gives one module for one input (LLVM 14\'s are not all deterministic under ASLR: src/problems/compiler/MEASUREMENTS.md, "Finding (determinism)")');
    }
    this.keep(s, ir);
    return ir;
  }

  /** Applies one pass (or any pipeline text) to a state, synchronously. */
  apply(from: string, pass: string): Transition {
    const key = `${from}\0${pass}`;
    this.stats.lookups++;
    const t = this.transitions.get(key);
    if (t) { this.stats.hits++; return t; }
    const refused = this.states.get(from)?.refused;
    if (refused !== undefined) {
      this.stats.hits++;
      return this.record(key, from, pass, { ok: false, stdout: Buffer.alloc(0), message: refused });
    }
    const r = this.runPass(this.irOf(from), pass);
    if (r.inputRefused) this.states.get(from)!.refused = r.message;
    return this.record(key, from, pass, r);
  }

  /** Applies one pass to a state with an async `opt` call (several may run at once). */
  applyAsync(from: string, pass: string): Promise<Transition> {
    // The server answers synchronously and fast; concurrency would only queue on its one pipe.
    if (this.server) return Promise.resolve(this.apply(from, pass));
    const key = `${from}\0${pass}`;
    this.stats.lookups++;
    const t = this.transitions.get(key);
    if (t) { this.stats.hits++; return Promise.resolve(t); }
    const p = this.pending.get(key);
    if (p) { this.stats.hits++; return p; }
    const ir = this.irOf(from);
    const t0 = performance.now();
    const promise = runAsync(this.opt, [...OPT_TEXT, `-passes=${pass}`, '-'], ir, this.timeoutMs).then((r) => {
      this.stats.optCalls++;
      this.stats.optMs += performance.now() - t0;
      this.pending.delete(key);
      return this.record(key, from, pass, r);
    });
    this.pending.set(key, promise);
    return promise;
  }

  /**
   * Applies a sequence of passes in one `opt` call (see the file comment for why this is exact).
   * The result is cached under the whole sequence; intermediate states are not produced.
   */
  applySequence(from: string, passes: readonly string[]): Transition {
    if (passes.length === 0) return { ok: true, state: { hash: from, count: this.states.get(from)!.count } };
    if (passes.length === 1) return this.apply(from, passes[0]!);
    return this.apply(from, sequencePipeline(passes));
  }

  /** The async form of applySequence. */
  applySequenceAsync(from: string, passes: readonly string[]): Promise<Transition> {
    if (passes.length === 0) return Promise.resolve({ ok: true, state: { hash: from, count: this.states.get(from)!.count } });
    if (passes.length === 1) return this.applyAsync(from, passes[0]!);
    return this.applyAsync(from, sequencePipeline(passes));
  }

  /** Applies passes one by one (stopping at the first failure); every intermediate state is cached. */
  applyEach(from: string, passes: readonly string[]): Transition {
    let cur: Transition = { ok: true, state: { hash: from, count: this.states.get(from)!.count } };
    for (const p of passes) {
      if (!cur.ok) break;
      cur = this.apply(cur.state.hash, p);
    }
    return cur;
  }

  /** Runs one pass (or pipeline) on a module, uncached: what the cache would otherwise answer (determinism.ts repeats runs). */
  runPass(ir: string, pass: string): RunResult {
    const t0 = performance.now();
    const r = this.server ? this.server.run(pass, ir) : runSync(this.opt, [...OPT_TEXT, `-passes=${pass}`, '-'], ir, this.timeoutMs);
    this.stats.optCalls++;
    this.stats.optMs += performance.now() - t0;
    return r;
  }

  private record(key: string, from: string, pass: string, r: RunResult): Transition {
    let t: Transition;
    if (r.ok) {
      const s = this.addState(r.stdout.toString());
      const stored = this.states.get(s.hash)!;
      if (!stored.parent && s.hash !== from) stored.parent = { hash: from, pass };
      t = { ok: true, state: s };
    } else {
      this.stats.failures++;
      t = { ok: false, error: `opt -passes=${pass} failed: ${firstLines(r.message)}` };
    }
    this.transitions.set(key, t);
    return t;
  }

  private keep(s: StoredState, ir: string): void {
    s.ir = ir;
    this.bytes += ir.length;
    // Drop least recently used texts, never roots (they cannot be rebuilt) nor the one just kept.
    for (const [h, old] of this.states) {
      if (this.bytes <= this.maxBytes) break;
      if (old === s || old.ir === undefined || !old.parent) continue;
      this.bytes -= old.ir.length;
      old.coreHash = sha1(withoutUseListOrder(old.ir));
      old.ir = undefined;
      void h;
    }
  }

  /** Cache hit rate of the transitions asked for so far. */
  hitRate(): number {
    return this.stats.lookups === 0 ? 0 : this.stats.hits / this.stats.lookups;
  }
}
