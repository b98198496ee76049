// One Lamport clock per middleware (docs/design.md, "Timestamps").
import type { Timestamp } from './timestamp.js';
import { invariantBroken } from '../errors/invariant.js';

export class LamportClock {
  private counter: number;

  constructor(readonly middlewareId: number, counterStart = 0) {
    assertCounter(counterStart);
    this.counter = counterStart;
  }

  /** The current counter, for status and for JOIN acknowledgements. */
  get value(): number {
    return this.counter;
  }

  /** Before sending a validation request: counter += 1, and stamp with the result. */
  tick(): Timestamp {
    this.counter += 1;
    assertCounter(this.counter);
    return [this.counter, this.middlewareId];
  }

  /** On receiving a timestamp or reading a version: counter = max(counter, seen). */
  observe(seen: Timestamp | number): void {
    const seenCounter = typeof seen === 'number' ? seen : seen[0];
    assertCounter(seenCounter);
    if (seenCounter > this.counter) this.counter = seenCounter;
  }
}

function assertCounter(counter: number): void {
  // A counter that is not a safe non-negative integer means a corrupt message got past
  // validation or the clock overflowed: either way ordering can no longer be trusted.
  if (!Number.isSafeInteger(counter) || counter < 0) {
    invariantBroken(`Lamport counter out of range: ${counter}`);
  }
}
