// What a block of commands reads and writes, known before it runs. The optimistic strategy
// fetches the keys it will read in one request (keysToPrefetch); strict 2PL locks every key
// the block may touch before it runs (accessesOf). Both follow the same reading of a command.
import type { Command, Operand } from '../protocol/schemas.js';
import type { Key } from './types.js';

export type Access = 'read' | 'write';

/** The entry names a command reads (its operands that are not literals), and the entry it writes. */
function commandKeys(command: Command): { reads: Key[]; write?: Key } {
  const entries = (...operands: Operand[]): Key[] => operands.filter((operand): operand is Key => typeof operand === 'string');
  switch (command.op) {
    case 'ASSIGN': return { reads: entries(command.source), write: command.target };
    case 'ADD': return { reads: entries(command.left, command.right), write: command.target };
    case 'PRINT': return { reads: entries(command.source) };
    // DELETE reads its entry too: deleting one that does not exist is an error.
    case 'DELETE': return { reads: [command.target], write: command.target };
    default: return { reads: [] };
  }
}

/**
 * Every key the block may touch, in the order first touched, and whether it may write it
 * (a key both read and written counts as written). A write after IGNORE may not happen, but
 * it may, so it counts.
 */
export function accessesOf(commands: readonly Command[]): Map<Key, Access> {
  const accesses = new Map<Key, Access>();
  for (const command of commands) {
    const { reads, write } = commandKeys(command);
    for (const key of reads) if (!accesses.has(key)) accesses.set(key, 'read');
    if (write !== undefined) accesses.set(write, 'write');
  }
  return accesses;
}

/**
 * The keys the block reads before it certainly writes them, fetched in one request before
 * the first command runs. A write after IGNORE may not happen, so it does not count.
 */
export function keysToPrefetch(commands: readonly Command[]): Key[] {
  const written = new Set<Key>();
  const toRead = new Set<Key>();
  let ignoring = false;
  for (const command of commands) {
    const { reads, write } = commandKeys(command);
    for (const key of reads) if (!written.has(key)) toRead.add(key);
    if (write !== undefined && !ignoring) written.add(write);
    ignoring = command.op === 'IGNORE';
  }
  return [...toRead];
}
