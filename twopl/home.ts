// Which middleware homes a key's lock under 2PL. Every middleware must give the same answer
// for the same key, or two of them could each grant an exclusive lock on it: so the answer
// depends only on the key's bytes and on the middleware list as the cluster file orders it.
// Homes do not move when a middleware leaves (the list stays the cluster file's), which is
// why a key homed at an absent middleware cannot be locked until it returns.
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

/** The id of the middleware that homes key's lock: a stable hash (e.g. FNV-1a 32-bit) of the key over the
 *  middleware ids as listed in the cluster file (the list order, not sorted). Same answer on every machine. */
export function homeOf(key: string, middlewareIds: readonly number[]): number {
  if (middlewareIds.length === 0) invariantBroken('twopl: homeOf needs at least one middleware id');
  return middlewareIds[fnv1a32(key) % middlewareIds.length]!;
}
