// Seeded randomness for the workloads: the same seed draws the same transactions, so a
// sweep can be repeated and the generators can be tested without luck.

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/**
 * mulberry32: a small, fast 32-bit generator. Its quality is ample for choosing keys and
 * amounts; it is not for anything secret.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A uniform integer in [minimum, maximum], both included. */
export function randomInteger(random: Random, minimum: number, maximum: number): number {
  return minimum + Math.floor(random() * (maximum - minimum + 1));
}

/** A seed for one client of one run, distinct for every (run, client) pair of a sweep. */
export function clientSeed(sweepSeed: number, runIndex: number, clientIndex: number): number {
  // Spread the three numbers over 32 bits so that neighbouring runs do not share streams.
  return (Math.imul(sweepSeed >>> 0, 0x9e3779b1) ^ Math.imul(runIndex + 1, 0x85ebca77) ^ Math.imul(clientIndex + 1, 0xc2b2ae3d)) >>> 0;
}
