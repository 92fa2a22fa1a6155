/**
 * Options from the command line (`--opt name=value`): integers and numbers read the same way by
 * every problem, and the check of a command's keys against the problems' declared ones.
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
  return raw === undefined ? fallback : checked(name, raw, Number(raw), Number.isInteger, 'an integer', min, max, expected);
}

/**
 * The number option `name` (any finite real), or `fallback` when it is absent; a value that is not
 * a number, or lies outside [min, max], throws as intOption does.
 */
export function numberOption<F extends number | undefined>(options: Readonly<Record<string, string>>, name: string, fallback: F,
  min = -Infinity, max = Infinity): number | F {
  const raw = options[name];
  return raw === undefined ? fallback : checked(name, raw, raw.trim() === '' ? NaN : Number(raw), Number.isFinite, 'a number', min, max);
}

/** `v` (read from `raw`) when it is of its kind and within [min, max]; else the one error both readers give. */
function checked(name: string, raw: string, v: number, isKind: (v: number) => boolean, kind: string, min: number, max: number, expected?: string): number {
  if (isKind(v) && v >= min && v <= max) return v;
  const range = min === -Infinity ? (max === Infinity ? kind : `${kind} <= ${max}`)
    : max === Infinity ? `${kind} >= ${min}` : `${kind} in [${min}, ${max}]`;
  const why = isKind(v) ? 'is out of range' : `is not ${kind}`;
  throw new SelfoptError(`option ${name}=${raw} ${why}`, `--opt ${name}`, expected ?? range);
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
