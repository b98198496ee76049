// A latency histogram that costs one short loop and two additions per observation, with no
// allocation: prom-client's own Histogram hashes its labels and makes a closure on every
// observe, which a commit path taking several a transaction cannot afford. It is exported
// through a collected metric (metrics/registry.ts) at scrape time.

/** Upper bounds of the buckets, in seconds: 0.25 ms to 10 s. */
export const LATENCY_BUCKETS_SECONDS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export class LatencyHistogram {
  /** counts[i]: observations in bucket i alone (not cumulative); the last one is above every bound. */
  readonly counts = new Float64Array(LATENCY_BUCKETS_SECONDS.length + 1);
  sumSeconds = 0;
  count = 0;

  observeMs(ms: number): void {
    const seconds = ms / 1000;
    let index = 0;
    while (index < LATENCY_BUCKETS_SECONDS.length && seconds > LATENCY_BUCKETS_SECONDS[index]!) index++;
    this.counts[index]! += 1;
    this.sumSeconds += seconds;
    this.count += 1;
  }
}
