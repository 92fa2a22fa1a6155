/**
 * A schedule as SVG: a policy's episode (the bench's seed 1) drawn as the executors each job keeps
 * busy over time, stacked with the smallest jobs (by total work) at the bottom and coloured from
 * light (small) to dark (large), above one line per job from its arrival to its completion. It is
 * the view the Decima paper uses to show how a scheduler shares the cluster: whether small jobs
 * get executors first, and how long the large ones wait.
 *
 * Batches of up to 20 jobs draw each job; longer episodes (a stream of 200) group the jobs into 20
 * classes of size rank, so that a picture stays a few tens of kB.
 */
import { SelfoptError } from '../../core/errors.js';
import { niceTicks, pictureHead } from '../../bench/svg.js';
import { makeEnv, runEpisode, type SchedulingPolicy } from './evaluate.js';
import type { SchedulingEnv } from './env.js';
import type { SchedulingInstance } from './instances.js';

const BINS = 120;
const MAX_GROUPS = 20;

/** Busy executors per size group over the episode, from the simulator's event log. */
export interface Allocation {
  /** Jobs of the episode; job j is in size group groupOf[j] (0 holds the smallest). */
  numJobs: number;
  groups: number;
  groupOf: Int32Array;
  /** The time axis: BINS bins of binMs from 0 to the makespan. */
  bins: number;
  binMs: number;
  /** Mean busy executors of group g in bin b, at g * bins + b. */
  busy: Float64Array;
  arrivalMs: Float64Array;
  completionMs: Float64Array;
  makespanMs: number;
  numExecutors: number;
}

/** Reads the allocation from an env that has run an episode with recordEvents on. */
export function allocation(env: SchedulingEnv): Allocation {
  const sim = env.sim, J = sim.J;
  if (!sim.cfg.recordEvents) throw new SelfoptError('the episode has no event log', 'scheduling picture', 'an env made with recordEvents: true');
  // Size rank by total work, ties in job order; groups split the ranks evenly.
  const byWork = Array.from({ length: J }, (_, j) => j).sort((a, b) => sim.jobTpl[a]!.totalWorkMs - sim.jobTpl[b]!.totalWorkMs || a - b);
  const groups = Math.min(J, MAX_GROUPS);
  const groupOf = new Int32Array(J);
  byWork.forEach((j, rank) => (groupOf[j] = Math.floor((rank * groups) / J)));
  const arrivalMs = Float64Array.from(sim.jobArrival.subarray(0, J));
  const completionMs = Float64Array.from(sim.jobCompletion.subarray(0, J));
  let makespanMs = 0;
  for (let j = 0; j < J; j++) makespanMs = Math.max(makespanMs, completionMs[j]!);
  const binMs = Math.max(makespanMs, 1) / BINS;
  const busy = new Float64Array(groups * BINS);
  // Each task keeps its executor busy over [start, start + duration): add its overlap with every bin.
  for (const ev of sim.log) {
    if (ev.kind !== 'task-start') continue;
    const row = groupOf[ev.job]! * BINS;
    const t0 = ev.time, t1 = ev.time + ev.durationMs!;
    for (let b = Math.floor(t0 / binMs); b < BINS && b * binMs < t1; b++) {
      busy[row + b]! += Math.min(t1, (b + 1) * binMs) - Math.max(t0, b * binMs);
    }
  }
  for (let i = 0; i < busy.length; i++) busy[i]! /= binMs;
  return { numJobs: J, groups, groupOf, bins: BINS, binMs, busy, arrivalMs, completionMs, makespanMs, numExecutors: env.E };
}

/** Runs the policy's episode `seed` with the event log on and draws it. */
export function scheduleSvg(inst: SchedulingInstance, policy: SchedulingPolicy, caption: string, seed = inst.seedBase): string {
  const env = makeEnv(inst, { recordEvents: true });
  runEpisode(env, policy, seed);
  return allocationSvg(allocation(env), caption);
}

/** Light yellow-green (small jobs) to dark blue (large), by group. */
function color(g: number, groups: number): string {
  const stops = [[253, 231, 37], [94, 201, 98], [33, 145, 140], [59, 82, 139], [68, 1, 84]];
  const x = groups > 1 ? (g / (groups - 1)) * (stops.length - 1) : 0;
  const i = Math.min(stops.length - 2, Math.floor(x)), f = x - i;
  const c = stops[i]!.map((v, k) => Math.round(v + f * (stops[i + 1]![k]! - v)));
  return `rgb(${c.join(',')})`;
}

export function allocationSvg(a: Allocation, caption: string, width = 640): string {
  const left = 44, right = 10, top = 54, areaH = 170, gap = 26, ganttH = Math.min(160, Math.max(60, 4 * a.numJobs)), bottom = 30;
  const plotW = width - left - right, height = top + areaH + gap + ganttH + bottom;
  const T = Math.max(a.makespanMs, 1);
  const X = (ms: number) => Math.round(left + (ms / T) * plotW);
  const Y = (execs: number) => Math.round(top + areaH - (execs / a.numExecutors) * areaH);
  const out: string[] = [];
  let sumJct = 0;
  for (let j = 0; j < a.numJobs; j++) sumJct += a.completionMs[j]! - a.arrivalMs[j]!;
  out.push(...pictureHead(width, height, caption, `avg JCT ${(sumJct / a.numJobs / 1000).toFixed(1)} s · makespan ${(a.makespanMs / 1000).toFixed(1)} s · ${a.numJobs} jobs, ${a.numExecutors} executors · colour: job size, light small, dark large${a.groups < a.numJobs ? `, ${a.groups} size classes` : ''}`));
  // Stacked busy executors: the cumulative area up to group g, drawn from the top group down so
  // that each smaller cumulative area covers the part below it.
  const cum = new Float64Array(a.bins);
  const tops: string[] = [];
  for (let g = 0; g < a.groups; g++) {
    const pts: string[] = [];
    for (let b = 0; b < a.bins; b++) {
      cum[b]! += a.busy[g * a.bins + b]!;
      pts.push(`${X((b + 0.5) * a.binMs)},${Y(cum[b]!)}`);
    }
    tops.push(`<path d="M${X(0)},${Y(0)}L${X(0.5 * a.binMs)},${Y(0)}L${pts.join('L')}L${X(T)},${Y(0)}Z" fill="${color(g, a.groups)}"/>`);
  }
  out.push(...tops.reverse());
  // Axes: executors, then time under both panels.
  for (const v of niceTicks(0, a.numExecutors, 4)) {
    if (v > a.numExecutors) continue;
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${Y(v)}" y2="${Y(v)}" stroke="#000" stroke-opacity="0.12"/><text x="${left - 4}" y="${Y(v) + 4}" text-anchor="end">${v}</text>`);
  }
  out.push(`<text x="4" y="${top - 6}">busy executors</text>`);
  const g0 = top + areaH + gap;
  out.push(`<text x="4" y="${g0 - 6}">each job, arrival to completion (smallest at the bottom)</text>`);
  // One line per job in the job panel, at its size rank; one path per size group.
  const rank = Array.from({ length: a.numJobs }, (_, j) => j).sort((p, q) => a.groupOf[p]! - a.groupOf[q]! || p - q);
  const rowH = ganttH / a.numJobs;
  const paths: string[][] = Array.from({ length: a.groups }, () => []);
  rank.forEach((j, r) => {
    const y = (g0 + ganttH - (r + 0.5) * rowH).toFixed(1);
    paths[a.groupOf[j]!]!.push(`M${X(a.arrivalMs[j]!)},${y}H${Math.max(X(a.completionMs[j]!), X(a.arrivalMs[j]!) + 1)}`);
  });
  const stroke = Math.max(1, Math.min(5, rowH * 0.7)).toFixed(1);
  paths.forEach((p, g) => out.push(`<path d="${p.join('')}" stroke="${color(g, a.groups)}" stroke-width="${stroke}"/>`));
  out.push(`<rect x="${left}" y="${g0}" width="${plotW}" height="${ganttH}" fill="none" stroke="#000" stroke-opacity="0.3"/>`);
  out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${areaH}" fill="none" stroke="#000" stroke-opacity="0.3"/>`);
  for (const s of niceTicks(0, T / 1000, 6)) {
    if (s * 1000 > T) continue;
    out.push(`<line x1="${X(s * 1000)}" x2="${X(s * 1000)}" y1="${g0 + ganttH}" y2="${g0 + ganttH + 4}" stroke="#000"/><text x="${X(s * 1000)}" y="${g0 + ganttH + 16}" text-anchor="middle">${s}</text>`);
  }
  out.push(`<text x="${left + plotW}" y="${height - 2}" text-anchor="end">time (s)</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
