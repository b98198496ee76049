// Runs a transaction's commands against its private workspace (the read phase).
// Nothing here touches a database directly: reads go through `readKeys`, writes stay in
// the workspace until the transaction wins validation.
import { OccdbError, type ErrorCode } from '../errors/catalogue.js';
import type { Command, LineResult, Operand } from '../protocol/schemas.js';
import type { Key, Value } from './types.js';
import type { Workspace } from './workspace.js';
import { keysToPrefetch } from './footprint.js';
import { invariantBroken } from '../errors/invariant.js';

export interface InterpreterContext {
  workspace: Workspace;
  /** Reads keys from a replica and records them in the workspace. */
  readKeys(keys: Key[]): Promise<void>;
  /** Answers `MAGIC x y z`; throws OccdbError('MAGIC_UNKNOWN') for values it does not know. */
  magic(args: readonly [number, number, number]): string;
  sleep(ms: number): Promise<void>;
}

export interface InterpreterOutcome {
  results: LineResult[];
  /** The first error not covered by IGNORE: the transaction must roll back. */
  error?: { line: number; code: ErrorCode; message: string };
  quit: boolean;
}

class CommandError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

export async function interpret(commands: readonly Command[], context: InterpreterContext): Promise<InterpreterOutcome> {
  const results: LineResult[] = [];
  let quit = false;
  let ignoreNext = false;
  const prefetch = keysToPrefetch(commands);
  if (prefetch.length > 0) await context.readKeys(prefetch);

  for (const command of commands) {
    const ignoring = ignoreNext;
    ignoreNext = false;
    try {
      switch (command.op) {
        case 'ASSIGN':
          context.workspace.write(command.target, await valueOf(command.source, 2, context));
          break;
        case 'ADD': {
          const left = await valueOf(command.left, 2, context);
          const right = await valueOf(command.right, 3, context);
          const sum = left + right;
          if (!Number.isSafeInteger(sum)) throw new CommandError('INTEGER_OVERFLOW', `integer overflow: ${left} + ${right}`);
          context.workspace.write(command.target, sum);
          break;
        }
        case 'PRINT':
          results.push({ line: command.line, kind: 'print', value: String(await valueOf(command.source, 1, context)) });
          break;
        case 'DELETE':
          if ((await lookup(command.target, context)) === undefined) throw new CommandError('ENTRY_NONEXISTENT', `delete failed: arg1 (${command.target})`);
          context.workspace.delete(command.target);
          break;
        case 'SLEEP':
          await context.sleep(command.seconds * 1000);
          break;
        case 'IGNORE':
          ignoreNext = true;
          break;
        case 'MAGIC':
          results.push({ line: command.line, kind: 'print', value: context.magic(command.args) });
          break;
        case 'QUIT':
          quit = true;
          break;
        case 'NOCMD':
          break;
      }
    } catch (error) {
      if (!(error instanceof CommandError || error instanceof OccdbError) || (error instanceof OccdbError && !isCommandErrorCode(error.code))) throw error;
      if (ignoring) continue;
      results.push({ line: command.line, kind: 'error', code: error.code, message: error.message });
      return { results, error: { line: command.line, code: error.code, message: error.message }, quit };
    }
  }
  return { results, quit };
}

function isCommandErrorCode(code: ErrorCode): boolean {
  return code === 'MAGIC_UNKNOWN' || code === 'ENTRY_NONEXISTENT' || code === 'ENTRY_BOGUS' || code === 'INTEGER_OVERFLOW';
}

async function lookup(key: Key, context: InterpreterContext): Promise<Value | undefined> {
  let found = context.workspace.lookup(key);
  if (!found.found) {
    await context.readKeys([key]);
    found = context.workspace.lookup(key);
    if (!found.found) invariantBroken(`interpreter: ${key} still unknown after a read`);
  }
  return found.value;
}

/**
 * The integer an operand stands for. `argument` numbers it for the classic error text, which
 * then names the entry: `nonexistent: arg1 (balance)`.
 */
async function valueOf(operand: Operand, argument: number, context: InterpreterContext): Promise<number> {
  if (typeof operand === 'number') return operand;
  const value = await lookup(operand, context);
  if (value === undefined) throw new CommandError('ENTRY_NONEXISTENT', `nonexistent: arg${argument} (${operand})`);
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new CommandError('ENTRY_BOGUS', `bogus contents: arg${argument} (${operand})`);
  return value;
}
