// The dashboard's charts over the last minutes: one point per poll of the cluster, with the
// commits and aborts per second of every middleware together, and the latency percentiles of
// the transactions that finished since the poll before. Counters come from each process's
// `status` (they count from its start), so a rate is the difference of two polls over the time
// between them; a process that restarted counts from zero again, and its difference is taken
// from zero.

/** Five minutes of points at one poll a second. */
export const HISTORY_POINTS_MAX = 300;

/** What one process's counters were at one poll, keyed by its name. */
export interface CounterReading {
  /** The life the counters belong to: a new pid, or an uptime that went back, starts from zero. */
  pid: number;
  uptimeMs: number;
  commits: number;
  aborts: number;
}

/** The chart series, aligned: `atSeconds[i]` is the time of every series' point i; null where nothing was measured. */
export interface Series {
  atSeconds: number[];
  commitsPerSecond: (number | null)[];
  abortsPerSecond: (number | null)[];
  latencyMsP50: (number | null)[];
  latencyMsP99: (number | null)[];
}

export class History {
  private previous: { atMs: number; readings: Map<string, CounterReading> } | null = null;
  private readonly series: Series = { atSeconds: [], commitsPerSecond: [], abortsPerSecond: [], latencyMsP50: [], latencyMsP99: [] };

  /**
   * Adds the poll made at `atMs`: the counters of the middlewares that answered, and the
   * latencies of the transactions seen finished for the first time at this poll (null when
   * latencies are not known at all, as opposed to none finishing).
   */
  add(atMs: number, readings: ReadonlyMap<string, CounterReading>, latenciesMs: readonly number[] | null): void {
    const previous = this.previous;
    this.previous = { atMs, readings: new Map(readings) };
    // The first poll has nothing to count from.
    if (previous === null || atMs <= previous.atMs) return;
    const seconds = (atMs - previous.atMs) / 1000;
    let commits = 0;
    let aborts = 0;
    for (const [name, reading] of readings) {
      const before = previous.readings.get(name);
      // A process that did not answer at the poll before: what it did in between is unknown,
      // so it adds nothing this time rather than all it counted since it started.
      if (before === undefined) continue;
      const sameLife = before.pid === reading.pid && reading.uptimeMs >= before.uptimeMs;
      commits += sameLife ? Math.max(0, reading.commits - before.commits) : reading.commits;
      aborts += sameLife ? Math.max(0, reading.aborts - before.aborts) : reading.aborts;
    }
    const sorted = latenciesMs === null ? null : [...latenciesMs].sort((a, b) => a - b);
    this.push({
      atSeconds: atMs / 1000,
      commitsPerSecond: round(commits / seconds),
      abortsPerSecond: round(aborts / seconds),
      latencyMsP50: sorted === null ? null : percentile(sorted, 0.5),
      latencyMsP99: sorted === null ? null : percentile(sorted, 0.99),
    });
  }

  /** A copy of the series, oldest point first. */
  snapshot(): Series {
    return {
      atSeconds: [...this.series.atSeconds],
      commitsPerSecond: [...this.series.commitsPerSecond],
      abortsPerSecond: [...this.series.abortsPerSecond],
      latencyMsP50: [...this.series.latencyMsP50],
      latencyMsP99: [...this.series.latencyMsP99],
    };
  }

  private push(point: { [K in keyof Series]: Series[K][number] }): void {
    for (const key of Object.keys(this.series) as (keyof Series)[]) {
      (this.series[key] as (number | null)[]).push(point[key]);
      if (this.series[key].length > HISTORY_POINTS_MAX) this.series[key].shift();
    }
  }
}

/** The nearest-rank percentile of ascending `sorted` (null when empty). */
export function percentile(sorted: readonly number[], fraction: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil(fraction * sorted.length));
  return sorted[rank - 1]!;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
