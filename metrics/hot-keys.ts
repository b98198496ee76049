// The keys that made transactions abort or wait, counted since the process started, in bounded
// memory: a count per key for at most KEYS_MAX keys. When a new key comes and the table is full,
// the tenth of the keys with the smallest counts is dropped in one pass, so that eviction costs
// one sort per thousand new keys rather than a scan per key. A key dropped and seen again starts
// from zero: a key that matters keeps coming back, and its count outgrows the newcomers'.

export const HOT_KEYS_MAX = 10_000;

interface KeyCounts {
  aborts: number;
  waits: number;
}

export interface HotKey {
  key: string;
  aborts: number;
  waits: number;
}

export class HotKeys {
  private readonly counts = new Map<string, KeyCounts>();

  constructor(private readonly keysMax = HOT_KEYS_MAX) {}

  /** `key` made a transaction abort (a validation conflict, a stale read, a lock refused). */
  aborted(key: string): void {
    this.entry(key).aborts += 1;
  }

  /** A vote or a lock waited because of `key`. */
  waited(key: string): void {
    this.entry(key).waits += 1;
  }

  get size(): number {
    return this.counts.size;
  }

  /** The `limit` keys with the most aborts and waits together, most first. */
  top(limit: number): HotKey[] {
    const all: HotKey[] = [];
    for (const [key, counts] of this.counts) all.push({ key, aborts: counts.aborts, waits: counts.waits });
    all.sort((a, b) => (b.aborts + b.waits) - (a.aborts + a.waits) || (a.key < b.key ? -1 : 1));
    return all.slice(0, limit);
  }

  private entry(key: string): KeyCounts {
    let counts = this.counts.get(key);
    if (counts) return counts;
    if (this.counts.size >= this.keysMax) this.evict();
    counts = { aborts: 0, waits: 0 };
    this.counts.set(key, counts);
    return counts;
  }

  private evict(): void {
    const byCount = [...this.counts].sort((a, b) => (a[1].aborts + a[1].waits) - (b[1].aborts + b[1].waits));
    const dropped = Math.max(1, Math.floor(this.keysMax / 10));
    for (let index = 0; index < dropped && index < byCount.length; index++) this.counts.delete(byCount[index]![0]);
  }
}
