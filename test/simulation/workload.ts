// What the simulated clients run, in both simulators: random transactions over a few keys,
// most of them writing some of what they read.
import type { Key } from '../../transaction/types.js';
import type { Random } from './random.js';

export interface TransactionPlan {
  /** Keys read, 1 to 4 of them. */
  readKeys: Key[];
  /** Keys read and then written. */
  writeKeys: Key[];
  /** Keys written without being read first: none or one. */
  blindKeys: Key[];
}

/** One transaction: a fifth of them only read; the others write each key read with chance 0.6, and a fifth of those one more key blind. */
export function randomPlan(random: Random, keys: readonly Key[]): TransactionPlan {
  const readKeys = random.sample(keys, random.int(1, Math.min(4, keys.length)));
  const readOnly = random.chance(0.2);
  const writeKeys = readOnly ? [] : readKeys.filter(() => random.chance(0.6));
  const blindKeys = readOnly ? [] : random.sample(keys.filter((key) => !readKeys.includes(key)), random.chance(0.2) ? 1 : 0);
  return { readKeys, writeKeys, blindKeys };
}
