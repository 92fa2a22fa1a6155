/**
 * The optimal epsilon-bounded piecewise-linear segmentation that PGM-index builds each of its
 * levels with (the streaming convex-hull algorithm of O'Rourke 1981, as PGM-index keeps it apart
 * in piecewise_linear_model.hpp), and the builder that turns a stream of (key, y) points into one
 * level's segments. Which points a level gets (runs of duplicates, the recursive levels) is
 * PGM's business and stays in pgm.ts.
 */
import { TWO32 } from './keys.js';

// ---------------------------------------------------------------------------------------------
// The optimal piecewise-linear model, one segment at a time (streaming).
//
// Points (x, y) arrive with strictly increasing x. The model keeps the convex hulls of the upper
// points (x, y + eps) and lower points (x, y - eps) and the "rectangle" of the two extreme lines
// (r0->r2 has the smallest feasible slope, r1->r3 the largest). A new point that falls outside
// both lines' corridor closes the segment. Slopes compare by cross-multiplication, as in the
// reference; x is an offset from the segment's first key, so the products stay small.

export class OptimalPla {
  private readonly eps: number;
  private ux: Float64Array = new Float64Array(1024);
  private uy: Float64Array = new Float64Array(1024);
  private lx: Float64Array = new Float64Array(1024);
  private ly: Float64Array = new Float64Array(1024);
  private uSize = 0;
  private lSize = 0;
  private uStart = 0;
  private lStart = 0;
  /** Points in the current segment. */
  count = 0;
  private r0x = 0; private r0y = 0;
  private r1x = 0; private r1y = 0;
  private r2x = 0; private r2y = 0;
  private r3x = 0; private r3y = 0;
  /** Written by finish(). */
  slope = 0;
  intercept = 0;

  constructor(eps: number) {
    this.eps = eps;
  }

  private pushUpper(x: number, y: number): void {
    if (this.uSize === this.ux.length) {
      this.ux = grow(this.ux);
      this.uy = grow(this.uy);
    }
    this.ux[this.uSize] = x;
    this.uy[this.uSize++] = y;
  }

  private pushLower(x: number, y: number): void {
    if (this.lSize === this.lx.length) {
      this.lx = grow(this.lx);
      this.ly = grow(this.ly);
    }
    this.lx[this.lSize] = x;
    this.ly[this.lSize++] = y;
  }

  /** Adds (x, y); false (and the segment is closed) when no line can stay within eps of all points. */
  add(x: number, y: number): boolean {
    const p1y = y + this.eps;
    const p2y = y - this.eps;
    if (this.count === 0) {
      this.r0x = x; this.r0y = p1y;
      this.r1x = x; this.r1y = p2y;
      this.uSize = this.lSize = this.uStart = this.lStart = 0;
      this.pushUpper(x, p1y);
      this.pushLower(x, p2y);
      this.count = 1;
      return true;
    }
    if (this.count === 1) {
      this.r2x = x; this.r2y = p2y;
      this.r3x = x; this.r3y = p1y;
      this.pushUpper(x, p1y);
      this.pushLower(x, p2y);
      this.count = 2;
      return true;
    }
    const s1dx = this.r2x - this.r0x, s1dy = this.r2y - this.r0y; // smallest slope
    const s2dx = this.r3x - this.r1x, s2dy = this.r3y - this.r1y; // largest slope
    // Outside the corridor: p1 below the min-slope line, or p2 above the max-slope line.
    if ((p1y - this.r2y) * s1dx < (x - this.r2x) * s1dy || (p2y - this.r3y) * s2dx > (x - this.r3x) * s2dy) {
      this.count = 0;
      return false;
    }
    const ux = this.ux, uy = this.uy, lx = this.lx, ly = this.ly;
    if ((p1y - this.r1y) * s2dx < (x - this.r1x) * s2dy) {
      // p1 lowers the max slope: the new max-slope line goes through p1 and a lower-hull point.
      let i = this.lStart;
      let minDx = lx[i]! - x, minDy = ly[i]! - p1y;
      for (let k = i + 1; k < this.lSize; k++) {
        const dx = lx[k]! - x, dy = ly[k]! - p1y;
        if (dy * minDx > dx * minDy) break; // both dx < 0: this compares the slopes
        minDx = dx; minDy = dy; i = k;
      }
      this.r1x = lx[i]!; this.r1y = ly[i]!;
      this.r3x = x; this.r3y = p1y;
      this.lStart = i;
      let end = this.uSize;
      while (end >= this.uStart + 2 && cross(ux[end - 2]!, uy[end - 2]!, ux[end - 1]!, uy[end - 1]!, x, p1y) <= 0) end--;
      this.uSize = end;
      this.pushUpper(x, p1y);
    }
    if ((p2y - this.r0y) * s1dx > (x - this.r0x) * s1dy) {
      // p2 raises the min slope: the new min-slope line goes through p2 and an upper-hull point.
      const ux2 = this.ux, uy2 = this.uy;
      let i = this.uStart;
      let maxDx = ux2[i]! - x, maxDy = uy2[i]! - p2y;
      for (let k = i + 1; k < this.uSize; k++) {
        const dx = ux2[k]! - x, dy = uy2[k]! - p2y;
        if (dy * maxDx < dx * maxDy) break;
        maxDx = dx; maxDy = dy; i = k;
      }
      this.r0x = ux2[i]!; this.r0y = uy2[i]!;
      this.r2x = x; this.r2y = p2y;
      this.uStart = i;
      const lx2 = this.lx, ly2 = this.ly;
      let end = this.lSize;
      while (end >= this.lStart + 2 && cross(lx2[end - 2]!, ly2[end - 2]!, lx2[end - 1]!, ly2[end - 1]!, x, p2y) >= 0) end--;
      this.lSize = end;
      this.pushLower(x, p2y);
    }
    this.count++;
    return true;
  }

  /**
   * The segment's line, as PGM's canonical segment: through the intersection of the two extreme
   * lines, with the mean of their slopes; intercept at x = 0 (the segment's first key).
   */
  finish(): void {
    if (this.count === 1) {
      this.slope = 0;
      this.intercept = (this.r0y + this.r1y) / 2;
      return;
    }
    const s1dx = this.r2x - this.r0x, s1dy = this.r2y - this.r0y;
    const s2dx = this.r3x - this.r1x, s2dy = this.r3y - this.r1y;
    let ix = this.r0x, iy = this.r0y;
    const a = s1dx * s2dy - s1dy * s2dx;
    if (a !== 0) {
      const dx = this.r1x - this.r0x, dy = this.r1y - this.r0y;
      const b = (dx * s2dy - dy * s2dx) / a;
      ix = this.r0x + b * s1dx;
      iy = this.r0y + b * s1dy;
    }
    const slope = (s1dy / s1dx + s2dy / s2dx) / 2;
    this.slope = slope;
    this.intercept = iy - ix * slope;
  }
}

function cross(ox: number, oy: number, ax: number, ay: number, bx: number, by: number): number {
  return (ax - ox) * (by - oy) - (ay - oy) * (bx - ox);
}

function grow(a: Float64Array): Float64Array {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

// ---------------------------------------------------------------------------------------------
// One level of segments

/** Segments of one level while building (plain arrays; copied into typed arrays at the end). */
export interface LevelBuild {
  hi: number[];
  lo: number[];
  x: number[];
  slope: number[];
  intercept: number[];
}

/**
 * Feeds points (key, y) of one level to the segmentation, in increasing key order. The key
 * comes as exact halves plus its double; `exact` says which one the offsets use.
 */
export class LevelBuilder {
  readonly out: LevelBuild = { hi: [], lo: [], x: [], slope: [], intercept: [] };
  private readonly pla: OptimalPla;
  private fh = 0; private fl = 0; private fx = 0;
  private lastX = 0;

  constructor(eps: number, private readonly exact: boolean) {
    this.pla = new OptimalPla(eps);
  }

  add(h: number, l: number, x: number, y: number): void {
    const pla = this.pla;
    if (pla.count === 0) this.open(h, l, x);
    let dx = this.exact ? (h - this.fh) * TWO32 + (l - this.fl) : x - this.fx;
    // A point whose offset rounds to the previous one (uint64 offsets above 2^53, or doubles
    // very close together) cannot be told apart by the model: skip it, as PGM skips a repeated
    // key. The last-mile search still finds its exact position.
    if (pla.count > 0 && dx <= this.lastX) return;
    if (!pla.add(dx, y)) {
      this.close();
      this.open(h, l, x);
      dx = 0;
      pla.add(0, y);
    }
    this.lastX = dx;
  }

  private open(h: number, l: number, x: number): void {
    this.fh = h; this.fl = l; this.fx = x;
    this.lastX = 0;
  }

  /** Closes the open segment (call once more at the end). */
  close(): void {
    const pla = this.pla;
    pla.finish();
    const o = this.out;
    o.hi.push(this.fh); o.lo.push(this.fl); o.x.push(this.fx);
    o.slope.push(pla.slope); o.intercept.push(pla.intercept);
    pla.count = 0;
  }
}
