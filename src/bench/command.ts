/**
 * The command that re-runs one row of a recorded run: the run's own `bench` command narrowed to
 * one problem, instance and solver, keeping what shapes the result (seeds, --quick, --opt,
 * --data) and dropping what only shaped that run (its grid, the queue, the output files,
 * --resume). Given the problem's `--opt` keys (Problem.options), it keeps only those: bench
 * refuses a key the problem does not read, and a run over several problems carries all of
 * theirs. The dashboard links each row to it. Pure string work, so the browser uses it too.
 *
 * A run records its command as the CLI's arguments, each quoted as a shell reads it back
 * (runs.command; runs recorded before that joined them bare, which reads the same unless an
 * argument held a space or a quote).
 */

/** bench options that take one value (see src/cli/main.ts). */
const WITH_VALUE = new Set(['--instances', '--solvers', '--seeds', '--split', '--html', '--concurrency', '--queue', '--queue-name', '--data', '--store']);
/** Kept in a row's command: they change what a cell computes. */
const KEEP = new Set(['--seeds', '--data', '--quick', '--opt']);

export function rowCommand(runCommand: string, problem: string, instance: string, solver: string, optionKeys?: readonly string[]): string {
  const args = shellWords(runCommand) ?? runCommand.trim().split(/\s+/);
  if (args[0] !== 'bench') return `npx selfopt ${runCommand}`;
  const kept: string[] = [];
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) continue; // a problem name of the grid
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const values: string[] = inline !== undefined ? [inline] : [];
    if (flag === '--opt') {
      // variadic: key=value arguments up to the next flag
      while (inline === undefined && i + 1 < args.length && !args[i + 1]!.startsWith('--')) values.push(args[++i]!);
      const mine = optionKeys ? values.filter((kv) => optionKeys.includes(kv.split('=')[0]!)) : values;
      if (mine.length > 0) kept.push(flag, ...mine);
      continue;
    } else if (WITH_VALUE.has(flag!) && inline === undefined && i + 1 < args.length) {
      values.push(args[++i]!);
    }
    if (KEEP.has(flag!)) kept.push(flag!, ...values);
  }
  return ['npx selfopt bench', ...[problem, '--instances', instance, '--solvers', solver, ...kept].map(shellQuote)].join(' ');
}

/** One argument as a POSIX shell reads it back (`default<Oz>` needs quotes, `rgg_2k_k8` does not). */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The arguments as one command line that a POSIX shell reads back into the same arguments. */
export function shellCommand(args: readonly string[]): string {
  return args.map(shellQuote).join(' ');
}

/**
 * The arguments a POSIX shell reads from `line` (quotes and backslashes, no expansions), or
 * undefined when a quote is left open.
 */
export function shellWords(line: string): string[] | undefined {
  const out: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (/\s/.test(c)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return undefined;
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      word ??= '';
      for (i++; i < line.length && line[i] !== '"'; i++) {
        // Inside double quotes a backslash escapes only these.
        if (line[i] === '\\' && '"\\$`'.includes(line[i + 1] ?? '')) i++;
        word += line[i];
      }
      if (i >= line.length) return undefined;
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) out.push(word);
  return out;
}
