/**
 * The decision rules decima-sim's agents share (heuristic_agent.py, spark_agent.py), used by every
 * heuristic here: the idle action, a job's stage choice, the parallelism limit that sends a
 * number of executors to a job, keeping the source executors in their own job, and whether a job
 * still has tasks to assign.
 */
import type { Info } from '../../core/env.js';
import { encodeAction, type SchedulingObs } from './env.js';

/** The idle action (leave the source executors unassigned): the last index of the action space. */
export function idle(info: Info): number {
  return info.actionMask!.length - 1;
}

/** decima's stage choice within job row k: first runnable selectable stage in frontier order, else first selectable. */
export function firstStageOf(o: SchedulingObs, k: number): number {
  let best = -1, firstSel = -1;
  for (let r = o.jobPtr[k]!; r < o.jobPtr[k + 1]!; r++) {
    if (!o.stageMask[r]) continue;
    if (firstSel < 0) firstSel = r;
    const q = o.stageFrontierSeq[r]!;
    if (q >= 0 && (best < 0 || q < o.stageFrontierSeq[best]!)) best = r;
  }
  return best >= 0 ? best : firstSel;
}

/** The parallelism limit that sends `use` executors to job row k. */
export function limitFor(o: SchedulingObs, k: number, use: number): number {
  const held = o.jobExecutors[k]! - (k === o.sourceJob ? Math.min(o.numSourceExec, o.jobExecutors[k]!) : 0);
  return Math.min(o.numExecutors, held + Math.max(1, use));
}

/** Keep the source executors in their own job when it has a selectable stage. */
export function stayInSourceJob(o: SchedulingObs): number {
  if (o.sourceJob < 0) return -1;
  const r = firstStageOf(o, o.sourceJob);
  return r < 0 ? -1 : encodeAction(r, limitFor(o, o.sourceJob, o.numSourceExec), o.numExecutors);
}

/** Whether job row k still has tasks not yet assigned (weighted fair's 'unfinished'). */
export function hasUnassigned(o: SchedulingObs, k: number): boolean {
  for (let r = o.jobPtr[k]!; r < o.jobPtr[k + 1]!; r++) if (o.stageUnassigned[r]! > 0) return true;
  return false;
}
