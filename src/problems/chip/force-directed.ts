/**
 * Force-directed placement of the standard-cell clusters (soft macros) around fixed hard macros and
 * ports, the step every macro placer here ends with (as Circuit Training's FD placer does for RL and
 * for the assessment's SA).
 *
 * Each round has two halves:
 * - attraction: every pin of a cluster is pulled toward the centroid of the other pins of each of its
 *   nets (a spring per net, weighted by net weight / (degree − 1)); the cluster moves by `step` of the
 *   way to the spring equilibrium of its pins (Jacobi: all clusters see the previous round's positions);
 * - repulsion as spreading: clusters claim room in grid cells, whose room is `targetDensity` × cell
 *   area minus the hard macros' area in the cell; a cluster whose cell is full goes to the nearest cell
 *   with room, and its centre is kept inside the cell it claimed. So clusters do not pile up on each
 *   other or on hard macros, which is what the repulsive forces of a force-directed placer achieve.
 * The order clusters claim room in is shuffled each round (seeded), so no cluster always wins.
 */
import type { Rng } from '../../core/rng.js';
import { netsOfNodes, nodePositions, pinsOfMacros } from './cost.js';
import type { Netlist } from './netlist.js';
import type { Placement, PlcHeader } from './plc.js';

export interface ForceDirectedConfig {
  /** Rounds of attraction + spreading. */
  rounds: number;
  /** Fraction of the way to the spring equilibrium a cluster moves each round. */
  step: number;
  /** Cell fill (hard macros + clusters) the spreading allows. */
  targetDensity: number;
}

export const FD_DEFAULTS: ForceDirectedConfig = { rounds: 30, step: 0.8, targetDensity: 0.9 };

/** Scratch arrays for one netlist, reused across calls (SA calls the placer often). */
export class ForceDirected {
  readonly nl: Netlist;
  readonly s: Pick<PlcHeader, 'columns' | 'rows' | 'width' | 'height'>;
  private readonly px: Float64Array;
  private readonly py: Float64Array;
  private readonly sx: Float64Array;
  private readonly sy: Float64Array;
  private readonly sw: Float64Array;
  private readonly pinNetStart: Int32Array;
  private readonly pinNets: Int32Array;
  private readonly pinStart: Int32Array;
  private readonly pins: Int32Array;
  private readonly tx: Float64Array;
  private readonly ty: Float64Array;
  private readonly room: Float64Array;
  private readonly order: Int32Array;

  constructor(nl: Netlist, s: Pick<PlcHeader, 'columns' | 'rows' | 'width' | 'height'>) {
    this.nl = nl;
    this.s = s;
    const n = nl.names.length, nNets = nl.netStart.length - 1;
    this.px = new Float64Array(n);
    this.py = new Float64Array(n);
    this.sx = new Float64Array(nNets);
    this.sy = new Float64Array(nNets);
    this.sw = new Float64Array(nNets);
    const byPin = netsOfNodes(nl, false);
    this.pinNetStart = byPin.start;
    this.pinNets = byPin.nets;
    const pm = pinsOfMacros(nl);
    this.pinStart = pm.start;
    this.pins = pm.pins;
    this.tx = new Float64Array(nl.softMacros.length);
    this.ty = new Float64Array(nl.softMacros.length);
    this.room = new Float64Array(s.columns * s.rows);
    this.order = Int32Array.from(nl.softMacros.keys());
  }

  /**
   * Moves the clusters of `pl` in place. Hard macros with `hardPresent[i] === 0` take no room
   * (the greedy and RL placers call this before every hard macro has its place).
   */
  place(pl: Placement, rng: Rng, cfg: ForceDirectedConfig = FD_DEFAULTS, hardPresent?: Uint8Array): void {
    const { nl, s, px, py, sx, sy, sw, tx, ty, room, order } = this;
    const soft = nl.softMacros;
    const st = nl.netStart, netPins = nl.netPins;
    const gw = s.width / s.columns, gh = s.height / s.rows;
    const cols = s.columns, cells = s.columns * s.rows;
    for (let round = 0; round < cfg.rounds; round++) {
      // attraction
      nodePositions(nl, pl, px, py);
      for (let e = 0, ne = st.length - 1; e < ne; e++) {
        let x = 0, y = 0;
        for (let p = st[e]!; p < st[e + 1]!; p++) { x += px[netPins[p]!]!; y += py[netPins[p]!]!; }
        sx[e] = x; sy[e] = y;
        const deg = st[e + 1]! - st[e]!;
        sw[e] = deg > 1 ? nl.netWeight[e]! / (deg - 1) : 0;
      }
      for (let k = 0; k < soft.length; k++) {
        const c = soft[k]!;
        let ax = 0, ay = 0, aw = 0;
        for (let q = this.pinStart[c]!; q < this.pinStart[c + 1]!; q++) {
          const v = this.pins[q]!;
          const ox = px[v]! - pl.x[c]!, oy = py[v]! - pl.y[c]!;
          for (let r = this.pinNetStart[v]!; r < this.pinNetStart[v + 1]!; r++) {
            const e = this.pinNets[r]!;
            const deg = st[e + 1]! - st[e]!;
            if (deg < 2) continue;
            const w = sw[e]! * (deg - 1);
            // centroid of the net's other pins, minus this pin's offset: where the centre would put v there
            ax += w * ((sx[e]! - px[v]!) / (deg - 1) - ox);
            ay += w * ((sy[e]! - py[v]!) / (deg - 1) - oy);
            aw += w;
          }
        }
        if (aw > 0) {
          tx[k] = pl.x[c]! + cfg.step * (ax / aw - pl.x[c]!);
          ty[k] = pl.y[c]! + cfg.step * (ay / aw - pl.y[c]!);
        } else { tx[k] = pl.x[c]!; ty[k] = pl.y[c]!; }
      }
      // spreading
      room.fill(cfg.targetDensity * gw * gh);
      for (const i of nl.hardMacros) {
        if (hardPresent !== undefined && hardPresent[i] === 0) continue;
        const hw = nl.w[i]! / 2, hh = nl.h[i]! / 2;
        const xl = pl.x[i]! - hw, xh = pl.x[i]! + hw, yl = pl.y[i]! - hh, yh = pl.y[i]! + hh;
        const r0 = Math.max(0, Math.floor(yl / gh)), r1 = Math.min(s.rows - 1, Math.floor(yh / gh));
        const c0 = Math.max(0, Math.floor(xl / gw)), c1 = Math.min(cols - 1, Math.floor(xh / gw));
        for (let r = r0; r <= r1; r++) {
          const oy = Math.min(yh, (r + 1) * gh) - Math.max(yl, r * gh);
          if (oy <= 0) continue;
          for (let c = c0; c <= c1; c++) {
            const ox = Math.min(xh, (c + 1) * gw) - Math.max(xl, c * gw);
            if (ox > 0) room[r * cols + c]! -= ox * oy;
          }
        }
      }
      rng.shuffle(order);
      for (let j = 0; j < order.length; j++) {
        const k = order[j]!;
        const c = soft[k]!;
        const a = nl.w[c]! * nl.h[c]!;
        const x = Math.min(s.width, Math.max(0, tx[k]!)), y = Math.min(s.height, Math.max(0, ty[k]!));
        let g = Math.min(s.rows - 1, Math.floor(y / gh)) * cols + Math.min(cols - 1, Math.floor(x / gw));
        if (room[g]! < a) {
          // nearest cell (by distance from the target to the cell rectangle) with room; the fullest
          // cell if none has room left
          let best = -1, bestD = Infinity, most = g;
          for (let h = 0; h < cells; h++) {
            if (room[h]! > room[most]!) most = h;
            if (room[h]! < a) continue;
            const r = Math.floor(h / cols), cc = h - r * cols;
            const dx = Math.max(0, cc * gw - x, x - (cc + 1) * gw), dy = Math.max(0, r * gh - y, y - (r + 1) * gh);
            const d = dx * dx + dy * dy;
            if (d < bestD) { bestD = d; best = h; }
          }
          g = best >= 0 ? best : most;
        }
        room[g]! -= a;
        const r = Math.floor(g / cols), cc = g - r * cols;
        // the cluster stays inside the claimed cell (its centre, if it is larger than the cell)
        const hw = Math.min(nl.w[c]! / 2, gw / 2), hh = Math.min(nl.h[c]! / 2, gh / 2);
        pl.x[c] = Math.min(Math.max(x, cc * gw + hw), (cc + 1) * gw - hw);
        pl.y[c] = Math.min(Math.max(y, r * gh + hh), (r + 1) * gh - hh);
      }
    }
  }
}
