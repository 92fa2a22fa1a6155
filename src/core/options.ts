/**
 * Integer options from the command line (`--opt name=value`), read the same way by every problem.
 */
import { SelfoptError, unknownName } from './errors.js';

/**
 * The integer option `name`, or `fallback` when it is absent. A value that is not an integer, or
 * lies outside [min, max], throws a SelfoptError naming the option, its value and what it takes
 * (`expected`, by default the range). Checks beyond the range (a power of two, say) are the
 * caller's.
 */
export function intOption<F extends number | undefined>(options: Readonly<Record<string, string>>, name: string, fallback: F,
  min = -Infinity, max = Infinity, expected?: string): number | F {
  const raw = options[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) {
    const range = min === -Infinity ? (max === Infinity ? 'an integer' : `an integer <= ${max}`)
      : max === Infinity ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    const why = Number.isInteger(v) ? 'is out of range' : 'is not an integer';
    throw new SelfoptError(`option ${name}=${raw} ${why}`, `--opt ${name}`, expected ?? range);
  }
  return v;
}

/**
 * The number option `name` (any finite real), or `fallback` when it is absent; a value that is not
 * a number, or lies outside [min, max], throws as intOption does.
 */
export function numberOption<F extends number | undefined>(options: Readonly<Record<string, string>>, name: string, fallback: F,
  min = -Infinity, max = Infinity): number | F {
  const raw = options[name];
  if (raw === undefined) return fallback;
  const v = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) {
    const range = min === -Infinity ? (max === Infinity ? 'a number' : `a number <= ${max}`)
      : max === Infinity ? `a number >= ${min}` : `a number in [${min}, ${max}]`;
    throw new SelfoptError(`option ${name}=${raw} ${Number.isFinite(v) ? 'is out of range' : 'is not a number'}`, `--opt ${name}`, range);
  }
  return v;
}

/**
 * Refuses an option no problem of the command reads (`known`: the union of their `options`), with
 * the keys it takes and the closest ones: one clear error before anything runs or is recorded.
 */
export function checkOptions(options: Readonly<Record<string, string>>, known: readonly Readonly<Record<string, string>>[], where: string): void {
  const keys = new Set(known.flatMap((k) => Object.keys(k)));
  for (const key of Object.keys(options)) {
    if (!keys.has(key)) throw unknownName('option', key, [...keys].sort(), where);
  }
}

/** The `--opt` keys of a config object's fields under a prefix (`gap.` + hidden, ...), each with one description. */
export function prefixedOptions(prefix: string, config: object, what: string): Record<string, string> {
  return Object.fromEntries(Object.keys(config).map((k) => [`${prefix}${k}`, what]));
}
