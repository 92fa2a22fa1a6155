/**
 * Which cell a worker lane of the runner takes next. Cells come in groups, one (instance, solver)
 * each, whose seeds share a one-off preparation (a tuned heuristic's sweep, core/memo.ts): the
 * first seed makes it, the others reuse it in a moment. Lanes that shared one queue ran seeds 1
 * and 2 of a group at once, so both threads made the same sweep (or, sharing a memo, one waited
 * out the other's) while the next solver's sweep waited its turn.
 *
 * So a lane keeps to one group: it takes its group's next cell; a lane whose group has no cell
 * left takes the first group no lane has started; once every group is started, an idle lane joins
 * the group with the most cells left (the first such), so a grid of one group still runs on every
 * thread. Groups are started in the order of the cells, which the runner orders by instance.
 */
export class LaneQueue<T> {
  private readonly groups: { cells: T[]; next: number; started: boolean }[] = [];
  private readonly groupOfLane = new Map<number, number>();
  /** The first group that may be unstarted: groups start in order, so none before it is. */
  private firstUnstarted = 0;

  /** `groupOf` names a cell's group; the cells of a group may be anywhere in `cells`, kept in their order. */
  constructor(cells: readonly T[], groupOf: (cell: T) => string) {
    const index = new Map<string, number>();
    for (const cell of cells) {
      const key = groupOf(cell);
      let g = index.get(key);
      if (g === undefined) {
        g = this.groups.length;
        index.set(key, g);
        this.groups.push({ cells: [], next: 0, started: false });
      }
      this.groups[g]!.cells.push(cell);
    }
  }

  /** The next cell for `lane`, or undefined when every cell has been taken. */
  next(lane: number): T | undefined {
    const g = this.groupFor(lane);
    if (g === undefined) return undefined;
    this.groupOfLane.set(lane, g);
    const group = this.groups[g]!;
    group.started = true;
    return group.cells[group.next++];
  }

  private groupFor(lane: number): number | undefined {
    const mine = this.groupOfLane.get(lane);
    if (mine !== undefined && this.left(mine) > 0) return mine;
    while (this.firstUnstarted < this.groups.length && this.groups[this.firstUnstarted]!.started) this.firstUnstarted++;
    if (this.firstUnstarted < this.groups.length) return this.firstUnstarted;
    let most: number | undefined;
    for (let g = 0; g < this.groups.length; g++) if (this.left(g) > (most === undefined ? 0 : this.left(most))) most = g;
    return most;
  }

  private left(g: number): number {
    const group = this.groups[g]!;
    return group.cells.length - group.next;
  }
}
