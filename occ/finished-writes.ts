// What a middleware remembers of its own transactions that have finished (every replica
// acknowledged): for each key, the largest timestamp it wrote. A voter answers NO to a
// request that read such a key at an older version: that request would miss a committed
// write ordered before it (case 3 of the serializability argument in docs/design.md,
// decided by the voter instead of by a second read of the replica).
//
// The memory is bounded. When it has forgotten something, when this middleware restarted and
// so cannot know what its previous life wrote, or when a member left and took its memory
// along, it answers CHECK instead of YES for reads it cannot vouch for, and the coordinator
// falls back to re-reading the versions after the last vote, as docs/design.md describes.
import { isBefore, maxTimestamp, TIMESTAMP_ZERO, type Timestamp } from '../timestamp/timestamp.js';
import type { Key } from '../transaction/types.js';
import { invariantBroken } from '../errors/invariant.js';

export const FINISHED_WRITES_MAX_DEFAULT = 1_000_000;

export type FinishedVerdict =
  | { verdict: 'fresh' }
  | { verdict: 'stale'; key: Key; written: Timestamp }
  | { verdict: 'unknown'; key: Key };

export class FinishedWrites {
  /** key -> largest finished write, in least-recently-updated order (for eviction). */
  private readonly latest = new Map<Key, Timestamp>();
  /** Every forgotten write is at or below this. */
  private forgottenUpTo: Timestamp = TIMESTAMP_ZERO;
  /**
   * Finished writes this middleware cannot know of (an earlier life of its own, or a member
   * that has left and taken its memory along) have counters at or below this; null until the
   * middleware has joined (until then it vouches for nothing).
   */
  private unknownUpTo: number | null = null;

  constructor(private readonly capacity = FINISHED_WRITES_MAX_DEFAULT) {
    if (capacity < 1) invariantBroken('finished writes: capacity must be at least 1');
  }

  /**
   * Called once the JOIN is complete, with the clock it ended at: every write an earlier life
   * of this middleware finished was seen by some member, so its counter is at most that
   * clock. A clock of zero means nothing was ever written: there is nothing to have forgotten.
   */
  joined(clock: number): void {
    this.unknownUpTo = clock;
  }

  /** True once `joined` was called: this middleware vouches for reads above its first clock. */
  get hasJoined(): boolean {
    return this.unknownUpTo !== null;
  }

  /**
   * A member left: what it remembered of its finished writes is gone. Each of them was seen
   * by this middleware (in its VALIDATE, or in the clock of a JOIN answer), so its counter is
   * at most this middleware's clock now.
   */
  memberLeft(clock: number): void {
    if (this.unknownUpTo !== null) this.unknownUpTo = Math.max(this.unknownUpTo, clock);
  }

  record(key: Key, ts: Timestamp): void {
    const current = this.latest.get(key);
    this.latest.delete(key);
    this.latest.set(key, current ? maxTimestamp(current, ts) : ts);
    if (this.latest.size > this.capacity) {
      const [oldestKey, oldest] = this.latest.entries().next().value as [Key, Timestamp];
      this.latest.delete(oldestKey);
      this.forgottenUpTo = maxTimestamp(this.forgottenUpTo, oldest);
    }
  }

  /** Whether a read of `key` at `versionRead` missed a finished write of this middleware. */
  judge(key: Key, versionRead: Timestamp): FinishedVerdict {
    const written = this.latest.get(key);
    if (written && isBefore(versionRead, written)) return { verdict: 'stale', key, written };
    if (this.unknownUpTo === null) return { verdict: 'unknown', key };
    if (this.unknownUpTo > 0 && versionRead[0] <= this.unknownUpTo) return { verdict: 'unknown', key };
    // Something forgotten may be newer than what is remembered of this key (a late, older write).
    if (isBefore(versionRead, this.forgottenUpTo)) return { verdict: 'unknown', key };
    return { verdict: 'fresh' };
  }

  get size(): number {
    return this.latest.size;
  }
}
