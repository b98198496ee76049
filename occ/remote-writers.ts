// What a middleware knows of other middlewares' transactions that are about to write: every
// transaction that commits asked this middleware's vote first, with its timestamp and the
// keys it writes. A read of such a key made now would most likely return the version before
// that write, and the reader would be doomed the moment the writer commits. So the read asks
// its replica for at least the writer's version, waiting a little for it (the replica decides
// how long). The writer may also abort; then the replica's wait runs out and the read takes
// what there is.
//
// Nothing here is needed for safety: reads are validated whatever they returned. It only
// spares readers a restart. The memory is bounded in size and in time.
import { isBefore, type Timestamp } from '../timestamp/timestamp.js';
import type { Key } from '../transaction/types.js';
import { invariantBroken } from '../errors/invariant.js';

export const REMOTE_WRITERS_MAX_DEFAULT = 100_000;
/** A writer not seen written after this long has most likely aborted: it is forgotten. */
export const REMOTE_WRITER_TTL_MS_DEFAULT = 100;

interface Writer {
  ts: Timestamp;
  seenAtMs: number;
}

export class RemoteWriters {
  /** key -> the largest timestamp seen writing it, oldest first. */
  private readonly byKey = new Map<Key, Writer>();

  constructor(
    private readonly capacity = REMOTE_WRITERS_MAX_DEFAULT,
    private readonly ttlMs = REMOTE_WRITER_TTL_MS_DEFAULT,
  ) {
    if (capacity < 1) invariantBroken('remote writers: capacity must be at least 1');
  }

  get size(): number {
    return this.byKey.size;
  }

  /** A transaction stamped `ts` this middleware voted for (not NO) writes `keys`. */
  seen(keys: readonly Key[], ts: Timestamp, nowMs: number): void {
    for (const key of keys) {
      const current = this.byKey.get(key);
      if (current && !isBefore(current.ts, ts)) continue;
      this.byKey.delete(key);
      this.byKey.set(key, { ts, seenAtMs: nowMs });
    }
    while (this.byKey.size > this.capacity) this.byKey.delete(this.byKey.keys().next().value as Key);
  }

  /**
   * The version a read of `key` made now should wait for: the newest writer voted for, unless
   * it has outlived its time to live (then it is forgotten). One key at a time, so that a read
   * of keys nobody is writing allocates nothing.
   */
  awaitedVersion(key: Key, nowMs: number): Timestamp | undefined {
    const writer = this.byKey.get(key);
    if (!writer) return undefined;
    if (nowMs - writer.seenAtMs > this.ttlMs) {
      this.byKey.delete(key);
      return undefined;
    }
    return writer.ts;
  }

  /**
   * A read that waited for `ts` on `key` is back: whether the writer's version came or the
   * wait ran out, that writer is not waited for again. A newer writer seen meanwhile stays.
   */
  settled(key: Key, ts: Timestamp): void {
    const writer = this.byKey.get(key);
    if (writer && !isBefore(ts, writer.ts)) this.byKey.delete(key);
  }
}
