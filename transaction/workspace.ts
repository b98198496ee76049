// The private workspace of one transaction's read phase (docs/design.md, "Read phase").
// Writes are buffered; reads are served from the write set, else from what was already
// read, else they must go to a replica, and the version read is recorded.
import { timestampsEqual, type Timestamp } from '../timestamp/timestamp.js';
import type { Key, ReadSet, Value, Write } from './types.js';
import { invariantBroken } from '../errors/invariant.js';

export type Lookup =
  | { found: true; value: Value | undefined }
  | { found: false };

export class Workspace {
  private readonly versionsRead = new Map<Key, Timestamp>();
  private readonly valuesRead = new Map<Key, Value | undefined>();
  private readonly writes = new Map<Key, { value: Value | undefined }>();

  /** The value a read of `key` sees if it can be answered without a replica. */
  lookup(key: Key): Lookup {
    const written = this.writes.get(key);
    if (written) return { found: true, value: written.value };
    if (this.valuesRead.has(key)) return { found: true, value: this.valuesRead.get(key) };
    return { found: false };
  }

  /** Records what a replica returned for `key`. The first read of a key fixes its version. */
  recordRead(key: Key, version: Timestamp, value: Value | undefined): void {
    const earlier = this.versionsRead.get(key);
    if (earlier) {
      // Reads are cached, so a second replica read of one key means the caller bypassed lookup().
      if (!timestampsEqual(earlier, version)) invariantBroken(`workspace: key ${key} read twice at different versions`);
      return;
    }
    this.versionsRead.set(key, version);
    this.valuesRead.set(key, value);
  }

  write(key: Key, value: Value): void {
    this.writes.set(key, { value });
  }

  delete(key: Key): void {
    this.writes.set(key, { value: undefined });
  }

  get readSet(): ReadSet {
    return [...this.versionsRead];
  }

  get writeSet(): Write[] {
    return [...this.writes].map(([key, { value }]) => (value === undefined ? { key } : { key, value }));
  }

  get isReadOnly(): boolean {
    return this.writes.size === 0;
  }
}
