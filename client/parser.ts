// The command-file parser: turns the classic three-address language into transaction
// blocks of typed commands. It reports every mistake it finds (up to a limit) at once,
// each with its file and line, so that a user fixes a file in one pass; a file with any
// mistake is refused as a whole and nothing of it is run.
import { OccdbError } from '../errors/catalogue.js';
import { COMMANDS_PER_TRANSACTION_MAX, KEY_LENGTH_MAX, KEY_PATTERN } from '../protocol/language.js';
import type { Command, Operand } from '../protocol/schemas.js';

/** One transaction of a command file, run as one request to a middleware. */
export interface Block {
  commands: Command[];
  /** commit: the block ended in COMMIT (or the file has no BEGIN); rollback: it ended in ROLLBACK. */
  end: 'commit' | 'rollback';
  /** The BEGIN line, or 1 for a file without BEGIN. */
  firstLine: number;
  /** The COMMIT/ROLLBACK line, or the file's last line for a file without BEGIN. */
  lastLine: number;
}

/** After this many errors the parser stops reporting: the rest are likely consequences of the first ones. */
export const PARSE_ERRORS_MAX = 20;
export const SLEEP_SECONDS_MAX = 3600;

/** How much of a bad word an error message quotes: a line can be arbitrarily long. */
const QUOTED_CHARACTERS_MAX = 40;

const INTEGER_PATTERN = /^[+-]?[0-9]+$/;
const SECONDS_PATTERN = /^\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;

type CommandWord = Command['op'];
type BracketWord = 'BEGIN' | 'COMMIT' | 'ROLLBACK';

/** The arguments each word takes, by role name, for messages about argument counts. */
const ARGUMENT_ROLES: Record<CommandWord | BracketWord, readonly string[]> = {
  ASSIGN: ['target', 'source'],
  ADD: ['target', 'left', 'right'],
  PRINT: ['source'],
  DELETE: ['target'],
  SLEEP: ['seconds'],
  IGNORE: [],
  MAGIC: ['x', 'y', 'z'],
  QUIT: [],
  NOCMD: [],
  BEGIN: [],
  COMMIT: [],
  ROLLBACK: [],
};

const WORDS = Object.keys(ARGUMENT_ROLES) as (CommandWord | BracketWord)[];

function isWord(word: string): word is CommandWord | BracketWord {
  return Object.hasOwn(ARGUMENT_ROLES, word);
}

function isBracket(word: string): word is BracketWord {
  return word === 'BEGIN' || word === 'COMMIT' || word === 'ROLLBACK';
}

/** A mistake on one line, as a sentence; thrown inside the parser and collected per line. */
class LineMistake extends Error {}

/**
 * Parses a command file into its transaction blocks. A file without BEGIN is one block
 * ending in commit (an empty file is one empty block). Throws one
 * OccdbError('BAD_COMMAND_FILE') listing every mistake, one per line, as
 * `<fileName>:<line>: <sentence>` (`lineLabel` may name the line otherwise).
 */
export function parseCommandFile(text: string, fileName: string, options: { lineLabel?: (line: number) => string } = {}): Block[] {
  const lineLabel = options.lineLabel ?? ((line: number) => `${fileName}:${line}`);
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  // A final newline ends the last line; it does not start another one.
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();

  const mistakes: string[] = [];
  let mistakesOverflowed = false;
  const report = (line: number, sentence: string): void => {
    if (mistakes.length < PARSE_ERRORS_MAX) mistakes.push(`${lineLabel(line)}: ${sentence}`);
    else mistakesOverflowed = true;
  };

  // A file that mentions a bracket anywhere is a file of blocks: a command outside a block
  // is then a mistake, not a silent extra transaction.
  const usesBlocks = lines.some((line) => {
    const word = firstWord(line);
    return word !== null && isBracket(word);
  });

  const blocks: Block[] = [];
  let open: { commands: Command[]; firstLine: number } | null = usesBlocks ? null : { commands: [], firstLine: 1 };

  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const words = lines[index]!.trim().split(/\s+/).filter((word) => word !== '');
    if (words.length === 0 || words[0]!.startsWith('#')) continue;
    const word = words[0]!.toUpperCase();
    const args = words.slice(1);

    if (!isWord(word)) {
      report(lineNumber, `unknown command ${quote(words[0]!)} (the commands are ${WORDS.join(', ')})`);
      continue;
    }
    // A wrong argument count on a bracket is reported, but the bracket still opens or
    // closes its block, so that one typo does not cascade into errors on every later line.
    const countMistake = argumentCountMistake(word, args.length);
    if (countMistake !== null) report(lineNumber, countMistake);

    if (isBracket(word)) {
      if (word === 'BEGIN') {
        if (open !== null) {
          report(lineNumber, `BEGIN inside the block opened at line ${open.firstLine}: blocks do not nest (end that block with COMMIT or ROLLBACK first)`);
        } else {
          open = { commands: [], firstLine: lineNumber };
        }
      } else if (open === null) {
        report(lineNumber, `${word} without a BEGIN before it`);
      } else {
        blocks.push({ commands: open.commands, end: word === 'COMMIT' ? 'commit' : 'rollback', firstLine: open.firstLine, lastLine: lineNumber });
        open = null;
      }
      continue;
    }

    if (countMistake !== null) continue;
    let command: Command;
    try {
      command = parseCommand(word, args, lineNumber);
    } catch (error) {
      if (!(error instanceof LineMistake)) throw error;
      report(lineNumber, error.message);
      continue;
    }
    if (open === null) {
      report(lineNumber, `${word} is outside any BEGIN ... COMMIT block: in a file that uses BEGIN, every command must be inside a block`);
      continue;
    }
    open.commands.push(command);
  }

  if (usesBlocks) {
    if (open !== null) report(open.firstLine, `BEGIN is never closed: end the block with COMMIT or ROLLBACK`);
  } else {
    blocks.push({ commands: open!.commands, end: 'commit', firstLine: 1, lastLine: Math.max(1, lines.length) });
  }

  for (const block of blocks) {
    if (block.commands.length > COMMANDS_PER_TRANSACTION_MAX) {
      report(block.firstLine, `the transaction has ${block.commands.length} commands; at most ${COMMANDS_PER_TRANSACTION_MAX} are allowed (split it with BEGIN ... COMMIT blocks)`);
    }
  }

  if (mistakes.length > 0) {
    if (mistakesOverflowed) mistakes.push(`${fileName}: more than ${PARSE_ERRORS_MAX} errors; only the first ${PARSE_ERRORS_MAX} are shown`);
    throw new OccdbError('BAD_COMMAND_FILE', mistakes.join('\n'));
  }
  return blocks;
}

/** The upper-cased command word of a line, or null for a blank or comment line. */
function firstWord(line: string): string | null {
  const word = line.trim().split(/\s+/, 1)[0];
  if (word === undefined || word === '' || word.startsWith('#')) return null;
  return word.toUpperCase();
}

function argumentCountMistake(word: CommandWord | BracketWord, given: number): string | null {
  const roles = ARGUMENT_ROLES[word];
  if (given === roles.length) return null;
  const wanted = roles.length === 0
    ? 'no arguments'
    : `${roles.length} argument${roles.length === 1 ? '' : 's'} (${roles.join(', ')})`;
  return `${word} takes ${wanted}, but ${given} ${given === 1 ? 'was' : 'were'} given`;
}

/** Parses a command whose argument count is already known to be right. */
function parseCommand(word: CommandWord, args: string[], line: number): Command {
  const roles = ARGUMENT_ROLES[word];
  const entry = (position: number): string => parseEntry(word, roles, args, position);
  const operand = (position: number): Operand => parseOperand(word, roles, args, position);
  switch (word) {
    case 'ASSIGN':
      return { line, op: 'ASSIGN', target: entry(0), source: operand(1) };
    case 'ADD':
      return { line, op: 'ADD', target: entry(0), left: operand(1), right: operand(2) };
    case 'PRINT':
      return { line, op: 'PRINT', source: operand(0) };
    case 'DELETE':
      return { line, op: 'DELETE', target: entry(0) };
    case 'SLEEP':
      return { line, op: 'SLEEP', seconds: parseSeconds(args[0]!) };
    case 'MAGIC':
      return { line, op: 'MAGIC', args: [magicArgument(args, 0), magicArgument(args, 1), magicArgument(args, 2)] };
    case 'IGNORE':
    case 'QUIT':
    case 'NOCMD':
      return { line, op: word };
  }
}

function where(word: string, roles: readonly string[], position: number): string {
  return `${word} argument ${position + 1} (${roles[position]})`;
}

function parseEntry(word: string, roles: readonly string[], args: string[], position: number): string {
  const text = args[position]!;
  if (INTEGER_PATTERN.test(text)) {
    throw new LineMistake(`${where(word, roles, position)} must be an entry name, not the literal ${quote(text)}`);
  }
  checkEntryName(word, roles, position, text);
  return text;
}

function parseOperand(word: string, roles: readonly string[], args: string[], position: number): Operand {
  const text = args[position]!;
  if (INTEGER_PATTERN.test(text)) {
    const value = parseSafeInteger(text);
    if (value === null) {
      throw new LineMistake(`${where(word, roles, position)} ${quote(text)} is outside the safe integer range ±${Number.MAX_SAFE_INTEGER}`);
    }
    return value;
  }
  checkEntryName(word, roles, position, text);
  return text;
}

function checkEntryName(word: string, roles: readonly string[], position: number, text: string): void {
  if (!KEY_PATTERN.test(text)) {
    throw new LineMistake(`${where(word, roles, position)} ${quote(text)} is neither an entry name (a letter or _, then letters, digits, _) nor an integer`);
  }
  if (text.length > KEY_LENGTH_MAX) {
    throw new LineMistake(`${where(word, roles, position)} ${quote(text)} is an entry name of ${text.length} characters; at most ${KEY_LENGTH_MAX} are allowed`);
  }
}

/** The value of an integer literal, or null when it is beyond the safe range (never a rounded value). */
function parseSafeInteger(text: string): number | null {
  const value = Number(text);
  // Every integer beyond ±(2^53 - 1) rounds to a double at least as far out, so this check is exact.
  if (!Number.isSafeInteger(value)) return null;
  return value === 0 ? 0 : value; // no -0
}

function parseSeconds(text: string): number {
  if (!SECONDS_PATTERN.test(text)) {
    throw new LineMistake(`SLEEP argument 1 (seconds) must be a non-negative number of seconds, not ${quote(text)}`);
  }
  const seconds = Number(text);
  if (!(seconds <= SLEEP_SECONDS_MAX)) {
    throw new LineMistake(`SLEEP argument 1 (seconds) ${quote(text)} is too long: at most ${SLEEP_SECONDS_MAX} seconds`);
  }
  return seconds;
}

function magicArgument(args: string[], position: number): number {
  const text = args[position]!;
  const value = INTEGER_PATTERN.test(text) ? parseSafeInteger(text) : null;
  if (value === null) {
    const why = INTEGER_PATTERN.test(text) ? `is outside the safe integer range ±${Number.MAX_SAFE_INTEGER}` : 'must be an integer literal';
    throw new LineMistake(`MAGIC argument ${position + 1} ${quote(text)} ${why}`);
  }
  return value;
}

function quote(text: string): string {
  return text.length > QUOTED_CHARACTERS_MAX ? `'${text.slice(0, QUOTED_CHARACTERS_MAX)}…'` : `'${text}'`;
}
