/**
 * The time a bench has left, as its progress bar shows it.
 *
 * A run's problems differ by orders of magnitude in time per cell (an index cell takes about a
 * second, a compiler cell up to minutes), and a local run takes them one problem after another.
 * One rate over all cells, as a progress bar keeps, swung on a clean clone's main job from "ETA
 * 13h04m" in the index cells to "ETA 11m55s" in the partition cells of the same run. So the time
 * left is summed group by group (a problem, in a local run), each at the rate its own cells have
 * run. A group none of whose cells has finished has no rate yet: it is named with its count of
 * cells, not guessed. A group named '' (all cells of a queued run) is counted without a name.
 */
export class RunEta {
  /** Cells not yet finished, per group, in the order the groups run. */
  private readonly left = new Map<string, number>();
  private readonly done = new Map<string, number>();
  /** When each group's first cell started (the group's share of the run's wall time starts there). */
  private readonly since = new Map<string, number>();

  constructor(groups: readonly string[], private readonly now: () => number = Date.now) {
    for (const g of groups) this.left.set(g, (this.left.get(g) ?? 0) + 1);
  }

  /** The group's cells begin to run (a local run starts a problem once the one before is done). */
  start(group: string): void {
    if (!this.since.has(group)) this.since.set(group, this.now());
  }

  finish(group: string): void {
    this.start(group);
    this.left.set(group, (this.left.get(group) ?? 1) - 1);
    this.done.set(group, (this.done.get(group) ?? 0) + 1);
  }

  /** "4m10s"; "4m10s + 351 cells not yet timed (compiler)"; "3459 cells not yet timed (index, partition, …)". */
  text(): string {
    let ms = 0;
    let untimed = 0;
    const names: string[] = [];
    for (const [g, left] of this.left) {
      if (left <= 0) continue;
      const done = this.done.get(g) ?? 0;
      if (done === 0) {
        untimed += left;
        if (g !== '') names.push(g);
      }
      // The group's wall time so far over its finished cells: cells run side by side, on as
      // many threads as the problem allows, are in it, and so are those still running.
      else ms += (left * (this.now() - this.since.get(g)!)) / done;
    }
    if (untimed === 0) return formatEta(ms / 1000);
    const which = names.length === 0 ? '' : ` (${names.length > 3 ? `${names.slice(0, 3).join(', ')}, …` : names.join(', ')})`;
    const rest = `${untimed} cells not yet timed${which}`;
    return ms > 0 ? `${formatEta(ms / 1000)} + ${rest}` : rest;
  }
}

/**
 * A duration rounded to 5 s: 35s, 4m10s, 2h05m. cli-progress's own rounds the minutes alone and
 * can print 1h60m. Its placeholders for an unknown ETA ('NULL', 'INF') pass through.
 */
export function formatEta(t: number | string): string {
  if (typeof t !== 'number' || !Number.isFinite(t)) return String(t);
  const s = Math.max(0, 5 * Math.round(t / 5));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const two = (v: number) => String(v).padStart(2, '0');
  return h > 0 ? `${h}h${two(m)}m` : m > 0 ? `${m}m${two(sec)}s` : `${sec}s`;
}
