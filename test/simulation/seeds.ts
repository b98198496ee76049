// The seeds a simulation test runs: fixed ones, so a failure replays, and one fresh seed per
// run, for new coverage. SIM_SEED=<seed> runs that seed alone.

/** Seeds 1..count plus one fresh seed, or only SIM_SEED when it is set. */
export function seeds(count: number): number[] {
  if (process.env.SIM_SEED) return [Number(process.env.SIM_SEED)];
  const fresh = (Date.now() ^ (process.pid << 16)) >>> 0;
  return [...Array.from({ length: count }, (_, index) => index + 1), fresh];
}
