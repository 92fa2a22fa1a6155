/**
 * Error helpers for the learning core. A shape mismatch deep inside a model is only useful to
 * its author if it says which op, which shapes, and which line of *their* code made the call, so
 * every op reports the first stack frame outside src/learn. The frame is looked up only when an
 * error is thrown: the hot path never touches the stack.
 */
import { SelfoptError } from '../core/errors.js';

/** Matches frames inside the learning core itself, in source (src/learn) or compiled (dist/src/learn) form. */
const INSIDE = /[\\/]src[\\/]learn[\\/]/;

/** "file:line:col" of the first caller outside src/learn, or "unknown caller". */
export function callSite(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 64; // nested layers can be deeper than the default 10 frames
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  for (const line of stack.split('\n').slice(1)) {
    const frame = line.trim();
    if (!frame.startsWith('at ') || INSIDE.test(frame) || frame.includes('node:internal')) continue;
    const m = /\((.*)\)$/.exec(frame);
    return m ? m[1]! : frame.slice(3);
  }
  return 'unknown caller';
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** A SelfoptError for op `op`: `what` names the shapes involved, `expected` says what would have worked. */
export function opError(op: string, what: string, expected: string): SelfoptError {
  return new SelfoptError(`${op}: ${what}`, callSite(), expected);
}
