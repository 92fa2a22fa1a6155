/**
 * Seeded random numbers: xoshiro128** (Blackman & Vigna), 32-bit state words so every step is
 * plain Int32 arithmetic (Math.imul), no BigInt and no allocation.
 *
 * Every random draw in selfopt goes through an Rng that was handed down from a seed: no
 * Math.random anywhere. `split(stream)` derives an independent generator for a worker, an
 * environment copy or a sub-task, so that results do not depend on scheduling order.
 */

/** SplitMix32 step: used to expand a seed into state words and to hash stream ids. */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Mixes a sequence of 32-bit words into one (order matters). */
export function hashWords(...words: number[]): number {
  let h = 0x243f6a88;
  for (const w of words) h = splitmix32((h ^ (w >>> 0)) + Math.imul(h, 31));
  return h >>> 0;
}

/** Hashes a string to 32 bits (FNV-1a then a SplitMix finalizer). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return splitmix32(h);
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare = NaN; // second normal from Box-Muller

  /** A generator from a 32-bit seed (any integer; negative and large values are folded). */
  constructor(seed: number) {
    let x = seed >>> 0;
    if (!Number.isSafeInteger(seed)) throw new RangeError(`Rng seed must be an integer, got ${seed}`);
    // Fold in the high bits of seeds above 2^32 so that nearby large seeds differ.
    x = hashWords(x, Math.floor(seed / 4294967296) >>> 0);
    this.s0 = x = splitmix32(x);
    this.s1 = x = splitmix32(x);
    this.s2 = x = splitmix32(x);
    this.s3 = splitmix32(x);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s0 = this.s0, s1 = this.s1, s2 = this.s2, s3 = this.s3;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    let n2 = s2 ^ s0;
    let n3 = s3 ^ s1;
    const n1 = s1 ^ n2;
    const n0 = s0 ^ n3;
    n2 ^= t;
    n3 = rotl(n3, 11);
    this.s0 = n0; this.s1 = n1; this.s2 = n2; this.s3 = n3;
    return r >>> 0;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, n), unbiased (Lemire's method with rejection). n <= 2^32. */
  int(n: number): number {
    if (!(n >= 1 && n <= 4294967296 && Number.isInteger(n))) throw new RangeError(`Rng.int(n) needs an integer 1 <= n <= 2^32, got ${n}`);
    if (n > 2147483648) return Math.floor(this.next() * n);
    const limit = 4294967296 - remainder(4294967296, n);
    let x: number;
    do x = this.nextU32(); while (x >= limit);
    return remainder(x, n);
  }

  /**
   * Fills `out` with uniform integers in [0, n): exactly the values `out.length` calls of int(n)
   * would return, in order, with the argument check and the rejection limit paid once.
   */
  fillInt(out: Int32Array | Uint32Array | Float64Array, n: number): void {
    if (!(n >= 1 && n <= 2147483648 && Number.isInteger(n))) {
      for (let i = 0; i < out.length; i++) out[i] = this.int(n);
      return;
    }
    const limit = 4294967296 - remainder(4294967296, n);
    for (let i = 0; i < out.length; i++) {
      let x: number;
      do x = this.nextU32(); while (x >= limit);
      out[i] = remainder(x, n);
    }
  }

  /** A uniform double in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** A standard normal draw (Box-Muller, both values used). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = NaN;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** An exponential draw with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Shuffles an array or typed array in place (Fisher-Yates). */
  shuffle<T extends { length: number; [i: number]: any }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** One element chosen uniformly. */
  pick<T>(a: readonly T[]): T {
    if (a.length === 0) throw new RangeError('Rng.pick on an empty array');
    return a[this.int(a.length)]!;
  }

  /**
   * An independent generator for sub-stream `stream` (a worker index, an env copy, a label).
   * Deterministic: the same parent state and stream give the same child, and splitting does not
   * advance the parent, so the order in which children are made does not matter.
   */
  split(stream: number | string): Rng {
    const id = typeof stream === 'string' ? hashString(stream) : stream >>> 0;
    const child = new Rng(0);
    child.s0 = hashWords(this.s0, id, 1);
    child.s1 = hashWords(this.s1, id, 2);
    child.s2 = hashWords(this.s2, id, 3);
    child.s3 = hashWords(this.s3, id, 4);
    if ((child.s0 | child.s1 | child.s2 | child.s3) === 0) child.s0 = 1;
    return child;
  }

  /** The state, to save and restore a generator exactly. */
  state(): [number, number, number, number] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  /** An exact copy (the pending second normal included): it draws what this one would draw next. */
  clone(): Rng {
    const r = new Rng(0);
    r.s0 = this.s0; r.s1 = this.s1; r.s2 = this.s2; r.s3 = this.s3;
    r.spare = this.spare;
    return r;
  }

  static fromState(s: readonly number[]): Rng {
    if (s.length !== 4 || s.every((w) => (w | 0) === 0)) throw new RangeError('Rng state must be 4 words, not all zero');
    const r = new Rng(0);
    r.s0 = s[0]! | 0; r.s1 = s[1]! | 0; r.s2 = s[2]! | 0; r.s3 = s[3]! | 0;
    return r;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * x mod n for integers 0 <= x <= 2^32 and 1 <= n <= 2^32: exactly x % n, without the double `%`
 * (x above 2^31 is not an int32, and V8 then calls fmod, which dominated the scheduling simulator's
 * task starts). Exact: when n does not divide x, x / n is at least 1/n below the next integer,
 * a relative gap of at least 2^-32, far above the 2^-53 rounding error, so the floor is the quotient.
 */
function remainder(x: number, n: number): number {
  return x - Math.floor(x / n) * n;
}
