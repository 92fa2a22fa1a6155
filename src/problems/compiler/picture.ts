/**
 * A pass sequence as SVG, the view of the phase-ordering papers: the module's instruction count
 * after each pass of the answer, from -O0 at step 0, as a staircase, with -Oz's and -O3's counts
 * as reference lines and the passes named under their steps (grey: removed nothing, red: added
 * instructions). The counts come from replaying the answer one pass at a time in an OptSession
 * (the opt-server when it is built, else opt); the last one must equal the count the search saw,
 * which the evaluator checked with the real opt. A standard pipeline (-Oz, -O3) or an empty
 * answer has no steps to draw.
 */
import { pictureHead, esc, niceTicks } from '../../bench/svg.js';
import { SelfoptError } from '../../core/errors.js';
import type { PassSequence } from './evaluate.js';
import type { CompilerInstance } from './instances.js';
import { OptSession } from './session.js';

/** Above this many passes only the ones that changed the count are named. */
const NAME_ALL = 60;

/** The instruction count after each pass of `passes`, applied one at a time from -O0. */
export function countTrace(inst: CompilerInstance, passes: readonly string[]): number[] {
  const session = new OptSession();
  try {
    let cur = session.addState(inst.ir);
    return passes.map((p, i) => {
      const t = session.apply(cur.hash, p);
      if (!t.ok) throw new SelfoptError(`pass ${i + 1} (${p}) failed on replay: ${t.error}`, `compiler picture, ${inst.id}`, 'an answer every pass of which runs');
      cur = t.state;
      return cur.count;
    });
  } finally {
    session.close();
  }
}

const BLACK = '#000', GREY = '#94a3b8', RED = '#dc2626';

export function sequenceSvg(inst: CompilerInstance, sol: PassSequence, caption: string, width = 640): string | undefined {
  if (inst.error || sol.pipeline !== undefined || sol.passes.length === 0) return undefined;
  const trace = countTrace(inst, sol.passes);
  const L = trace.length, last = trace[L - 1]!;
  // The one-pass-at-a-time replay must end where the evaluator's one-call replay ended.
  if (sol.count !== undefined && sol.count !== last) {
    throw new SelfoptError(`replayed pass by pass the answer ends at ${last} instructions, the search saw ${sol.count}`, `compiler picture, ${inst.id}`, 'the count the evaluator checked');
  }
  // What each pass did: removed instructions (black), nothing (grey), added some (red). Past
  // NAME_ALL passes only those that changed the count are named.
  const colour = trace.map((c, i) => { const before = i === 0 ? inst.countO0 : trace[i - 1]!; return c < before ? BLACK : c > before ? RED : GREY; });
  const named = trace.map((_, i) => L <= NAME_ALL || colour[i] !== GREY);
  const shown = (i: number) => (sol.passes[i]!.length > 26 ? `${sol.passes[i]!.slice(0, 25)}…` : sol.passes[i]!);
  const longest = Math.max(3, ...sol.passes.map((_, i) => (named[i] ? shown(i).length : 0)));
  const left = 52, right = 46, top = 54, plotH = 190, namesH = Math.ceil(longest * 4.7 * 0.87) + 12, height = top + plotH + namesH + 18;
  const plotW = width - left - right;
  const yMax = Math.max(inst.countO0, inst.countOz, inst.countO3, ...trace) * 1.05 || 1;
  // L + 1 columns: column 0 is the module as built (-O0), column i its state after pass i.
  const X = (col: number) => (left + (col / (L + 1)) * plotW).toFixed(1);
  const Y = (count: number) => (top + plotH - (count / yMax) * plotH).toFixed(1);
  const out = pictureHead(width, height, caption,
    `${L} passes · ${last.toLocaleString('en-US')} instructions after the last · -Oz ${inst.countOz.toLocaleString('en-US')}, ratio ${inst.countOz > 0 ? `${(inst.countOz / Math.max(1, last)).toFixed(3)} (above 1 beats it)` : 'n/a (-Oz leaves no instruction)'} · -O0 ${inst.countO0.toLocaleString('en-US')}`);
  for (const v of niceTicks(0, yMax, 4)) {
    if (v > yMax) continue;
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${Y(v)}" y2="${Y(v)}" stroke="#000" stroke-opacity="0.1"/><text x="${left - 4}" y="${Number(Y(v)) + 4}" text-anchor="end">${v.toLocaleString('en-US')}</text>`);
  }
  const ref = (count: number, label: string, c: string) =>
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${Y(count)}" y2="${Y(count)}" stroke="${c}" stroke-dasharray="4 3"/><text x="${left + plotW + 3}" y="${Number(Y(count)) + 4}" fill="${c}">${label}</text>`);
  ref(inst.countOz, '-Oz', RED);
  ref(inst.countO3, '-O3', '#64748b');
  // The staircase: each column at its count.
  const d = [`M${X(0)},${Y(inst.countO0)}H${X(1)}`];
  trace.forEach((c, i) => d.push(`V${Y(c)}H${X(i + 2)}`));
  out.push(`<path d="${d.join('')}" fill="none" stroke="#ea580c" stroke-width="2"/>`);
  out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#000" stroke-opacity="0.3"/>`);
  out.push(`<text x="4" y="${top - 6}">instructions after each pass (first column: the module as built, -O0)</text>`);
  // -O0 and the passes, each under its column, read upwards from the axis.
  const label = (col: number, text: string, c: string) => {
    const x = ((Number(X(col)) + Number(X(col + 1))) / 2 + 3).toFixed(1);
    return `<text transform="translate(${x},${top + plotH + 6}) rotate(-60)" text-anchor="end" font-size="9"${c === BLACK ? '' : ` fill="${c}"`}>${esc(text)}</text>`;
  };
  out.push(label(0, '-O0', BLACK));
  trace.forEach((_, i) => { if (named[i]) out.push(label(i + 1, shown(i), colour[i]!)); });
  out.push(`<text x="${left + plotW}" y="${height - 4}" text-anchor="end">${L > NAME_ALL ? 'passes that changed the count' : 'passes'} (black: removed instructions, grey: none, red: added some)</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
