// The interactive shell's transactions, as a state machine over the lines typed: each line
// outside a block is one transaction; BEGIN opens a block that COMMIT or ROLLBACK runs as one
// transaction. Several commands may share a line, separated by `;`. Every line is checked
// when it is typed: a bad line runs nothing, and a block with a bad line runs nothing either.
// No I/O here: cli/shell.ts reads the lines and carries out the steps.
import { OccdbError } from '../errors/catalogue.js';
import type { Command } from '../protocol/schemas.js';
import { parseCommandFile } from './parser.js';

/** What the shell must do after a line. */
export type SessionStep =
  | { kind: 'run'; commands: Command[]; end: 'commit' | 'rollback'; firstLine: number }
  /** The line is refused: nothing of it runs (and an open block is spoiled). */
  | { kind: 'refused'; message: string };

/** A block is held in memory until COMMIT; this bounds it as a command file's transaction is bounded. */
export const BLOCK_LINES_MAX = 10_000;

const BRACKETS = new Set(['BEGIN', 'COMMIT', 'ROLLBACK']);

interface OpenBlock {
  firstLine: number;
  commands: Command[];
  lineCount: number;
  /** The first line of the block that was refused: the block will not run. */
  spoiledAt: number | null;
}

export class ShellSession {
  private block: OpenBlock | null = null;

  /** True while a BEGIN waits for its COMMIT or ROLLBACK. */
  get inBlock(): boolean {
    return this.block !== null;
  }

  /** The steps line `lineNumber` of the session asks for, in order. */
  feed(text: string, lineNumber: number): SessionStep[] {
    const pieces = text.split(';').map((piece) => piece.trim()).filter((piece) => piece !== '' && !piece.startsWith('#'));
    if (pieces.length === 0) return [];

    // The whole line is checked before any of it takes effect: a bad line runs nothing.
    const parsed: Array<{ bracket: string } | { command: Command }> = [];
    const mistakes: string[] = [];
    for (const [index, piece] of pieces.entries()) {
      const word = piece.split(/\s+/, 1)[0]!.toUpperCase();
      if (BRACKETS.has(word)) {
        if (piece.split(/\s+/).length > 1) mistakes.push(`${label(lineNumber, index, pieces.length)}: ${word} takes no arguments`);
        parsed.push({ bracket: word });
        continue;
      }
      try {
        const [block] = parseCommandFile(piece, 'line', { lineLabel: () => label(lineNumber, index, pieces.length) });
        for (const command of block!.commands) parsed.push({ command: { ...command, line: lineNumber } });
      } catch (error) {
        if (!(error instanceof OccdbError)) throw error;
        mistakes.push(error.message);
      }
    }
    if (mistakes.length > 0) return [this.refuse(mistakes.join('\n'), lineNumber)];

    const steps: SessionStep[] = [];
    let loose: Command[] = [];
    const flushLoose = (): void => {
      if (loose.length > 0) steps.push({ kind: 'run', commands: loose, end: 'commit', firstLine: lineNumber });
      loose = [];
    };
    for (const item of parsed) {
      if ('command' in item) {
        if (this.block === null) loose.push(item.command);
        else this.addToBlock(item.command, lineNumber, steps);
        continue;
      }
      if (item.bracket === 'BEGIN') {
        if (this.block !== null) {
          steps.push(this.refuse(`line ${lineNumber}: BEGIN inside the block begun at line ${this.block.firstLine}: blocks do not nest (end it with COMMIT or ROLLBACK first)`, lineNumber));
          continue;
        }
        flushLoose();
        this.block = { firstLine: lineNumber, commands: [], lineCount: 0, spoiledAt: null };
        continue;
      }
      // COMMIT or ROLLBACK.
      const block = this.block;
      if (block === null) {
        steps.push({ kind: 'refused', message: `line ${lineNumber}: ${item.bracket} without a BEGIN before it` });
        continue;
      }
      this.block = null;
      if (block.spoiledAt !== null) {
        steps.push({ kind: 'refused', message: `line ${lineNumber}: the block begun at line ${block.firstLine} has a bad line (${block.spoiledAt}); nothing of it ran` });
      } else {
        steps.push({ kind: 'run', commands: block.commands, end: item.bracket === 'COMMIT' ? 'commit' : 'rollback', firstLine: block.firstLine });
      }
    }
    flushLoose();
    return steps;
  }

  /** At the end of the input: an open block is dropped, unrun, and said so. */
  finish(): SessionStep[] {
    const block = this.block;
    this.block = null;
    if (block === null) return [];
    return [{ kind: 'refused', message: `the block begun at line ${block.firstLine} was never ended with COMMIT or ROLLBACK; nothing of it ran` }];
  }

  private addToBlock(command: Command, lineNumber: number, steps: SessionStep[]): void {
    const block = this.block!;
    if (block.lineCount >= BLOCK_LINES_MAX && block.spoiledAt === null) {
      steps.push(this.refuse(`line ${lineNumber}: the block begun at line ${block.firstLine} has more than ${BLOCK_LINES_MAX} commands`, lineNumber));
      return;
    }
    block.lineCount += 1;
    block.commands.push(command);
  }

  /** Refuses a line; inside a block the block is spoiled, and the message says so. */
  private refuse(message: string, lineNumber: number): SessionStep {
    if (this.block === null) return { kind: 'refused', message };
    if (this.block.spoiledAt === null) this.block.spoiledAt = lineNumber;
    return { kind: 'refused', message: `${message}\n(the block begun at line ${this.block.firstLine} will not run: end it with COMMIT or ROLLBACK)` };
  }
}

function label(lineNumber: number, index: number, pieceCount: number): string {
  return pieceCount === 1 ? `line ${lineNumber}` : `line ${lineNumber}, command ${index + 1}`;
}
