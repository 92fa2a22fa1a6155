/**
 * Where hard macros may go: the centres of the grid cells ("all the macros are placed onto the
 * centers of the grid cells", Mirhoseini et al.; the assessment's SA does the same), kept inside the
 * canvas and off every other hard macro. `MacroLayout` holds the hard macros' rectangles for fast
 * overlap tests, apart from the cost evaluator, so a placer can test a move before making it.
 */
import type { Netlist } from './netlist.js';
import type { Blockage, Placement, PlcHeader } from './plc.js';

/** Touching edges are legal; overlaps thinner than this (µm) are rounding. */
const EPS = 1e-6;

export class MacroLayout {
  readonly nl: Netlist;
  readonly s: Pick<PlcHeader, 'columns' | 'rows' | 'width' | 'height'> & { blockages?: readonly Blockage[] };
  readonly cells: number;
  readonly gw: number;
  readonly gh: number;
  /** Hard macro list position -> node index, and node index -> list position (-1: not a hard macro). */
  readonly macros: Int32Array;
  readonly slot: Int32Array;
  /** Centre of each hard macro (by list position) and whether it is placed (counts in overlap tests). */
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly placed: Uint8Array;
  private readonly hw: Float64Array;
  private readonly hh: Float64Array;

  constructor(nl: Netlist, s: Pick<PlcHeader, 'columns' | 'rows' | 'width' | 'height'> & { blockages?: readonly Blockage[] }) {
    this.nl = nl;
    this.s = s;
    this.cells = s.columns * s.rows;
    this.gw = s.width / s.columns;
    this.gh = s.height / s.rows;
    this.macros = Int32Array.from(nl.hardMacros);
    this.slot = new Int32Array(nl.names.length).fill(-1);
    this.macros.forEach((m, k) => { this.slot[m] = k; });
    const n = this.macros.length;
    this.x = new Float64Array(n);
    this.y = new Float64Array(n);
    this.placed = new Uint8Array(n);
    this.hw = Float64Array.from(this.macros, (m) => nl.w[m]! / 2);
    this.hh = Float64Array.from(this.macros, (m) => nl.h[m]! / 2);
  }

  /** Takes the hard macros' positions from a placement, all placed. */
  load(pl: Placement): void {
    for (let k = 0; k < this.macros.length; k++) {
      this.x[k] = pl.x[this.macros[k]!]!;
      this.y[k] = pl.y[this.macros[k]!]!;
      this.placed[k] = 1;
    }
  }

  cellX(g: number): number { return ((g % this.s.columns) + 0.5) * this.gw; }
  cellY(g: number): number { return (Math.floor(g / this.s.columns) + 0.5) * this.gh; }

  /** The cell whose centre is nearest to (x, y). */
  cellAt(x: number, y: number): number {
    const c = Math.min(this.s.columns - 1, Math.max(0, Math.floor(x / this.gw)));
    const r = Math.min(this.s.rows - 1, Math.max(0, Math.floor(y / this.gh)));
    return r * this.s.columns + c;
  }

  inside(k: number, x: number, y: number): boolean {
    return x - this.hw[k]! >= -EPS && y - this.hh[k]! >= -EPS && x + this.hw[k]! <= this.s.width + EPS && y + this.hh[k]! <= this.s.height + EPS;
  }

  /**
   * True when macro k centred at (x, y) is inside the canvas and overlaps no blockage and no placed
   * macro other than itself and `skip` (a list position, or -1).
   */
  fits(k: number, x: number, y: number, skip = -1): boolean {
    if (!this.inside(k, x, y)) return false;
    const hw = this.hw[k]!, hh = this.hh[k]!;
    for (const b of this.s.blockages ?? []) {
      if (Math.min(x + hw, b.xh) - Math.max(x - hw, b.xl) > EPS && Math.min(y + hh, b.yh) - Math.max(y - hh, b.yl) > EPS) return false;
    }
    for (let j = 0; j < this.macros.length; j++) {
      if (j === k || j === skip || this.placed[j] === 0) continue;
      if (Math.abs(this.x[j]! - x) < hw + this.hw[j]! - EPS && Math.abs(this.y[j]! - y) < hh + this.hh[j]! - EPS) return false;
    }
    return true;
  }

  /**
   * A legal centre for macro k off the cell centres, on a lattice `1/sub` of a cell, nearest the
   * canvas centre; undefined if there is none. Used when no cell centre is free (large macros of
   * mixed sizes can block every centre while room is left between them).
   */
  fallbackSpot(k: number, sub = 4): [number, number] | undefined {
    const sx = this.gw / sub, sy = this.gh / sub;
    let best: [number, number] | undefined, bestD = Infinity;
    for (let y = this.hh[k]!; y <= this.s.height - this.hh[k]! + EPS; y += sy) {
      for (let x = this.hw[k]!; x <= this.s.width - this.hw[k]! + EPS; x += sx) {
        const d = (x - this.s.width / 2) ** 2 + (y - this.s.height / 2) ** 2;
        if (d < bestD && this.fits(k, x, y)) { bestD = d; best = [x, y]; }
      }
    }
    return best;
  }

  /** Fills `out` with the cells whose centre is a legal spot for macro k; returns how many. */
  legalCells(k: number, out: Int32Array): number {
    let n = 0;
    for (let g = 0; g < this.cells; g++) if (this.fits(k, this.cellX(g), this.cellY(g))) out[n++] = g;
    return n;
  }
}
