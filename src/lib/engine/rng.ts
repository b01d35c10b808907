/**
 * Seeded pseudo-random numbers, so the same seed gives the same data, init,
 * shuffles and masks on every runtime. mulberry32: small, fast, good enough for
 * ML bookkeeping (not for cryptography).
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    // Spread small seeds (0, 1, 2...) over the state space.
    this.state = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ 0xc2b2ae35) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A child generator whose stream does not depend on how much of this one was used later. */
  fork(salt: number): Rng {
    return new Rng((Math.imul(this.state, 31) + salt * 0x632be5ab) >>> 0);
  }
}

/** Derive a stable sub-seed for a named purpose (init, data, control...). */
export function subSeed(seed: number, purpose: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < purpose.length; i++) h = Math.imul(h ^ purpose.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
