// The simulation's only source of randomness, seeded (bench/random.ts), so a seed replays a
// run exactly.
import { seededRandom } from '../../bench/random.js';

export class Random {
  private readonly generator: () => number;

  constructor(readonly seed: number) {
    this.generator = seededRandom(seed);
  }

  next(): number {
    return this.generator();
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** `count` distinct items. */
  sample<T>(items: readonly T[], count: number): T[] {
    const copy = [...items];
    for (let index = copy.length - 1; index > 0; index--) {
      const other = Math.floor(this.next() * (index + 1));
      [copy[index], copy[other]] = [copy[other]!, copy[index]!];
    }
    return copy.slice(0, count);
  }
}
