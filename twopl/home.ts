// Which middleware homes a key's lock under 2PL. Every middleware must give the same answer
// for the same key, or two of them could each grant an exclusive lock on it: so the answer
// depends only on the key's bytes and on the member list of the installed view, in the view's
// order (every member of a view has the same list). Homes move when the view changes: a key
// homed at a middleware that left or failed is homed by a remaining member in the next view,
// whose lock tables start empty (twopl/lock-home.ts says why that is safe).
import { invariantBroken } from '../errors/invariant.js';

const FNV_OFFSET_BASIS_32 = 0x811c9dc5;
const FNV_PRIME_32 = 0x01000193;

const utf8 = new TextEncoder();

/** FNV-1a, 32 bits, over the key's UTF-8 bytes. */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS_32;
  for (const byte of utf8.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME_32) >>> 0;
  }
  return hash >>> 0;
}

/** The id of the middleware that homes key's lock: a stable hash (FNV-1a 32-bit) of the key over the
 *  member ids as the view lists them (the list order, not sorted). Same answer on every machine. */
export function homeOf(key: string, middlewareIds: readonly number[]): number {
  if (middlewareIds.length === 0) invariantBroken('twopl: homeOf needs at least one middleware id');
  return middlewareIds[fnv1a32(key) % middlewareIds.length]!;
}
