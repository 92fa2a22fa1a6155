/**
 * One error type for everything a user can get wrong: bad input files, unknown names, corrupt
 * stores. Its message always says what was wrong, where (file, offset, field, name) and what was
 * expected, so the user can act on it without reading a stack trace. The CLI prints the message
 * alone for a SelfoptError and the full stack for anything else (a bug of ours).
 */
export class SelfoptError extends Error {
  override readonly name = 'SelfoptError';
  constructor(
    readonly what: string,
    readonly where: string,
    readonly expected: string,
  ) {
    super(`${what} (at ${where}); expected ${expected}`);
  }
}

/** The message of anything thrown: an Error's own, else the value as text. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Throws a SelfoptError unless `cond` holds. */
export function check(cond: unknown, what: string, where: string, expected: string): asserts cond {
  if (!cond) throw new SelfoptError(what, where, expected);
}

/** "did you mean" help for unknown names. */
export function unknownName(kind: string, name: string, known: readonly string[], where: string): SelfoptError {
  const close = known.filter((k) => editDistance(k.toLowerCase(), name.toLowerCase()) <= 2);
  const hint = close.length > 0 ? ` (did you mean ${close.join(', ')}?)` : '';
  return new SelfoptError(`unknown ${kind} '${name}'${hint}`, where, `one of: ${known.join(', ')}`);
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length]!;
}

/**
 * How a command ends on an error: a SelfoptError as its one-line message (exit code 2), anything
 * else with its stack (exit code 1). The CLI and the stand-alone scripts alike.
 */
export function reportError(e: unknown, program = 'selfopt'): void {
  if (e instanceof SelfoptError || (e instanceof Error && e.name === 'SelfoptError')) {
    console.error(`${program}: error: ${e.message}`);
    process.exitCode = 2;
  } else {
    console.error(e);
    process.exitCode = 1;
  }
}
