/**
 * Long per-instance sections, folded: the rule the dashboard (web/src/fold.ts) and the HTML report
 * (html.ts) share. A full run's partition section (40 instances) was a table of 10,600 px, bar
 * charts of 6,100 px and a ratio chart of 2,700 px at 1400 px before anything else of the page.
 * A section of more than SHOWN instances shows its first SHOWN and folds the rest behind a line
 * that says how many more it holds.
 */

/** Instances a section shows before it folds the rest: about a screen of the table. */
export const SHOWN = 6;

/** `items` (one per instance) as those shown and those folded. */
export function split<T>(items: T[]): [T[], T[]] {
  return items.length > SHOWN ? [items.slice(0, SHOWN), items.slice(SHOWN)] : [items, []];
}

/** "1 row", "34 rows". */
export function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
