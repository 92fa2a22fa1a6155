/**
 * Integer options from the command line (`--opt name=value`), read the same way by every problem.
 */
import { SelfoptError } from './errors.js';

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
