// Invariant checks. A broken invariant is a bug in occdb, not an operating error: the check
// throws at once, naming what broke, with the code INTERNAL (the only use of that code). A
// peer that is down or a malformed file is handled where it happens, never asserted.
import { OccdbError } from './catalogue.js';

export class InvariantError extends OccdbError {
  constructor(what: string) {
    super('INTERNAL', `invariant broken: ${what}`);
    this.name = 'InvariantError';
  }
}

/** Throws an InvariantError naming `what` unless `condition` holds. */
export function invariant(condition: unknown, what: string): asserts condition {
  if (!condition) throw new InvariantError(what);
}

/**
 * For a check whose message costs something to build: `if (bad) invariantBroken(`…`)`
 * builds the text only when the invariant is broken.
 */
export function invariantBroken(what: string): never {
  throw new InvariantError(what);
}
