// The Zipfian key chooser of YCSB (Gray et al., "Quickly generating billion-record synthetic
// databases", SIGMOD 1994): item i (0-based rank) is drawn with probability
// 1 / ((i + 1)^theta * zeta(n, theta)). zeta(n, theta) is computed once per generator, so a
// draw costs one random number and one power. theta 0 is the uniform distribution; the
// generator is defined for 0 <= theta < 1.
import type { Random } from './random.js';

/** zeta(n, theta) = sum over i = 1..n of 1 / i^theta. */
export function zeta(itemCount: number, theta: number): number {
  let sum = 0;
  for (let i = 1; i <= itemCount; i += 1) sum += 1 / Math.pow(i, theta);
  return sum;
}

export class ZipfianGenerator {
  private readonly zetaN: number;
  private readonly alpha: number;
  private readonly eta: number;
  private readonly halfPowTheta: number;

  constructor(readonly itemCount: number, readonly theta: number) {
    if (!Number.isInteger(itemCount) || itemCount < 2) throw new RangeError(`a Zipfian generator needs at least 2 items, got ${itemCount}`);
    if (!(theta >= 0 && theta < 1)) throw new RangeError(`theta must be in [0, 1), got ${theta}`);
    this.zetaN = zeta(itemCount, theta);
    const zeta2 = zeta(2, theta);
    this.alpha = 1 / (1 - theta);
    this.eta = (1 - Math.pow(2 / itemCount, 1 - theta)) / (1 - zeta2 / this.zetaN);
    this.halfPowTheta = Math.pow(0.5, theta);
  }

  /** A rank in [0, itemCount): 0 is the most popular item. */
  next(random: Random): number {
    const u = random();
    const uz = u * this.zetaN;
    if (uz < 1) return 0;
    if (uz < 1 + this.halfPowTheta) return 1;
    const rank = Math.floor(this.itemCount * Math.pow(this.eta * u - this.eta + 1, this.alpha));
    // u < 1 keeps the rank below itemCount in exact arithmetic; rounding must not break that.
    return Math.min(rank, this.itemCount - 1);
  }

  /** The exact probability of `rank` under the distribution the generator approximates. */
  probability(rank: number): number {
    return 1 / (Math.pow(rank + 1, this.theta) * this.zetaN);
  }
}
