/**
 * Options from the command line (`--opt name=value`): integers, numbers, booleans and whole config
 * objects, read the same way by every problem, and the check of a command's keys against the
 * problems' declared ones; and the readers of the CLI's own numeric flags (flagNumber).
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
  return raw === undefined ? fallback : checked(name, raw, toNumber(raw), Number.isInteger, 'an integer', min, max, expected);
}

/**
 * The number option `name` (any finite real), or `fallback` when it is absent; a value that is not
 * a number, or lies outside [min, max], throws as intOption does.
 */
export function numberOption<F extends number | undefined>(options: Readonly<Record<string, string>>, name: string, fallback: F,
  min = -Infinity, max = Infinity): number | F {
  const raw = options[name];
  return raw === undefined ? fallback : checked(name, raw, toNumber(raw), Number.isFinite, 'a number', min, max);
}

/** The boolean option `name`: 1, true or yes; 0, false or no; `fallback` when absent. */
export function boolOption<F extends boolean | undefined>(options: Readonly<Record<string, string>>, name: string, fallback: F): boolean | F {
  const raw = options[name];
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new SelfoptError(`option ${name}=${raw} is not a boolean`, `--opt ${name}`, '1, true or yes; 0, false or no');
}

/**
 * What a config field takes beyond the type of its default: an integer, a range, or one of some
 * values (for a list of numbers, each item), with `expected` to say so in words.
 */
export interface FieldRule { int?: boolean; min?: number; max?: number; oneOf?: readonly number[]; expected?: string }

/** The rules most fields (and the CLI's numeric flags) need: a count from `min` up, a non-negative number, a probability, ... */
export const countFrom = (min: number): FieldRule => ({ int: true, min });
export const NON_NEGATIVE: FieldRule = { min: 0 };
export const PROBABILITY: FieldRule = { min: 0, max: 1 };
export const POSITIVE: FieldRule = { min: Number.MIN_VALUE, expected: 'a positive number' };
export const POSITIVE_INT: FieldRule = { int: true, min: 1, expected: 'a positive integer' };
export const NON_NEGATIVE_INT: FieldRule = { int: true, min: 0, expected: 'a non-negative integer' };

/**
 * A config object from options: each field of `defaults` is the option `prefix + field`, read by
 * the type of its default: a boolean by boolOption, a number by numberOption (also `NaN` where the
 * default is NaN, the configs' "off"), a list of numbers as numbers joined by `sep` (empty: no
 * numbers), a string as given; a number (or each of a list) is held to its field's rule. Options
 * of other names are left alone.
 */
export function configOption<T extends object>(options: Readonly<Record<string, string>>, prefix: string, defaults: T,
  { sep = ',', rules = {} }: { sep?: string; rules?: Partial<Record<keyof T & string, FieldRule>> } = {}): T {
  const cfg = { ...defaults } as Record<string, unknown>;
  for (const [field, dflt] of Object.entries(defaults)) {
    const name = prefix + field, raw = options[name];
    if (raw === undefined) continue;
    const rule: FieldRule = (rules as Record<string, FieldRule | undefined>)[field] ?? {};
    if (typeof dflt === 'boolean') cfg[field] = boolOption(options, name, dflt);
    else if (typeof dflt === 'number') cfg[field] = Number.isNaN(dflt) && raw === 'NaN' ? NaN : ruled(name, raw, raw, rule);
    else if (Array.isArray(dflt)) {
      cfg[field] = raw === '' ? [] : raw.split(sep).map((item, i) => ruled(name, raw, item, rule, { i, sep }));
    } else cfg[field] = raw;
  }
  return cfg as T;
}

/**
 * A reader of the command-line flag `flag` (`--port`) for commander: the text typed as a number held
 * to `rule`, else a SelfoptError naming the flag, the text as typed (quoted when blank) and what the
 * flag takes, which the CLI prints as one line (exit 2) before any work. (`oneOf` is not read here.)
 */
export function flagNumber(flag: string, rule: FieldRule = {}): (raw: string) => number {
  const { kind, isKind, min, max } = ruleBounds(rule);
  return (raw) => {
    const v = toNumber(raw);
    if (isKind(v) && v >= min && v <= max) return v;
    throw new SelfoptError(`${flag} ${/^\S+$/.test(raw) ? raw : `'${raw}'`}`, 'command line', rule.expected ?? rangeText(kind, min, max));
  };
}

/** A rule's kind (in words and as a test) and its range, the unset bounds infinite. */
function ruleBounds(rule: FieldRule): { kind: string; isKind: (v: number) => boolean; min: number; max: number } {
  return { kind: rule.int ? 'an integer' : 'a number', isKind: rule.int ? Number.isInteger : Number.isFinite, min: rule.min ?? -Infinity, max: rule.max ?? Infinity };
}

/** `text` (the whole value `raw`, or its item `i` of those separated by `sep`) read as a number held to `rule`. */
function ruled(name: string, raw: string, text: string, rule: FieldRule, list?: { i: number; sep: string }): number {
  const { kind, isKind, min, max } = ruleBounds(rule);
  const item = list ? `: item ${list.i + 1} ('${text}')` : '';
  const each = rule.expected ?? (rule.oneOf ? `one of ${rule.oneOf.join(', ')}` : rangeText(kind, min, max));
  const expected = list ? `numbers separated by '${list.sep}', each ${each}` : each;
  const v = checked(name, raw, toNumber(text), isKind, kind, min, max, expected, item);
  if (rule.oneOf && !rule.oneOf.includes(v)) throw new SelfoptError(`option ${name}=${raw}${item} is not one of ${rule.oneOf.join(', ')}`, `--opt ${name}`, expected);
  return v;
}

/** `Number(raw)`, but an empty or blank value is no number (Number reads it as 0). */
function toNumber(raw: string): number {
  return raw.trim() === '' ? NaN : Number(raw);
}

/**
 * `v` (read from `raw`, or from its item named by `item`) when it is of its kind and within
 * [min, max]; else the one error every number reader gives.
 */
function checked(name: string, raw: string, v: number, isKind: (v: number) => boolean, kind: string, min: number, max: number,
  expected?: string, item = ''): number {
  if (isKind(v) && v >= min && v <= max) return v;
  const why = isKind(v) ? 'is out of range' : `is not ${kind}`;
  throw new SelfoptError(`option ${name}=${raw}${item} ${why}`, `--opt ${name}`, expected ?? rangeText(kind, min, max));
}

/** "an integer in [1, 28]", "a number >= 0", ... */
function rangeText(kind: string, min: number, max: number): string {
  if (min === -Infinity) return max === Infinity ? kind : `${kind} <= ${max}`;
  return max === Infinity ? `${kind} >= ${min}` : `${kind} in [${min}, ${max}]`;
}

/**
 * Refuses an option no problem of the command reads (`known`: the union of their `options`), with
 * the keys it takes and the closest ones: one clear error before anything runs or is recorded.
 * `trainOnly` (a bench's: the problems' `trainOptions`) are keys that only training reads: one of
 * them is refused as such, since a bench would run its checkpoint unchanged under the option's
 * name (and config hash).
 */
export function checkOptions(options: Readonly<Record<string, string>>, known: readonly Readonly<Record<string, string>>[], where: string,
  trainOnly: readonly Readonly<Record<string, string>>[] = []): void {
  const keys = new Set(known.flatMap((k) => Object.keys(k)));
  const training = new Set(trainOnly.flatMap((k) => Object.keys(k)));
  for (const key of Object.keys(options)) {
    if (keys.has(key)) continue;
    if (training.has(key)) {
      throw new SelfoptError(`option ${key} is read by training only: a bench runs the checkpoint, which fixes it`, where,
        `a key bench reads (${[...keys].sort().join(', ')}); to try ${key}, selfopt train with --opt ${key}=... --out FILE, then bench with --opt checkpoint=FILE`);
    }
    throw unknownName('option', key, [...keys].sort(), where);
  }
}

/** The `--opt` keys of a config object's fields under a prefix (`gap.` + hidden, ...), each with one description. */
export function prefixedOptions(prefix: string, config: object, what: string): Record<string, string> {
  return Object.fromEntries(Object.keys(config).map((k) => [`${prefix}${k}`, what]));
}
