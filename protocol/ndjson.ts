// Newline-delimited JSON framing: one message a line, with a limit on a line's size.

export type LineHandler = (line: string) => void;

/**
 * Splits a byte stream into lines. Calls `onOversized` (and then drops everything) once a
 * line grows beyond `lineBytesMax` without a newline: the peer is sending garbage.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private broken = false;
  /** When the bytes pending now (a message without its newline yet) began to arrive; null when none are. */
  partialSinceMs: number | null = null;

  constructor(
    private readonly lineBytesMax: number,
    private readonly onLine: LineHandler,
    private readonly onOversized: () => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.broken) return;
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline === -1) break;
      const piece = chunk.subarray(start, newline);
      if (this.pendingBytes + piece.length > this.lineBytesMax) return this.breakStream();
      const line = this.pending.length === 0
        ? piece.toString('utf8')
        : Buffer.concat([...this.pending, piece]).toString('utf8');
      this.pending = [];
      this.pendingBytes = 0;
      start = newline + 1;
      if (line.trim() !== '') this.onLine(line);
      if (this.broken) return;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.pendingBytes += rest.length;
      if (this.pendingBytes > this.lineBytesMax) return this.breakStream();
      // A message that began in this chunk starts its clock now; one carried over keeps its own.
      if (start > 0 || this.partialSinceMs === null) this.partialSinceMs = Date.now();
      this.pending.push(rest);
    } else if (start > 0) {
      this.partialSinceMs = null;
    }
  }

  private breakStream(): void {
    this.broken = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.partialSinceMs = null;
    this.onOversized();
  }
}

export function encodeMessage(message: unknown): string {
  return JSON.stringify(message) + '\n';
}

/**
 * Coalesces the messages written to one socket in one turn of the event loop into a single
 * write: under load many requests and replies leave together, and one system call instead of
 * one per message is most of the cost of sending them.
 */
export class CoalescingWriter {
  private pending: string[] = [];
  private scheduled = false;

  /**
   * `onBacklog`, when given, is called (once a flush) when the bytes the socket has not sent yet
   * pass `backlogBytesMax`: its peer does not read what it is sent.
   */
  constructor(
    private readonly socket: { write(data: string): boolean; end(): void; readonly destroyed: boolean; readonly writableLength: number },
    private readonly backlog?: { bytesMax: number; onBacklog: () => void },
  ) {}

  /** Writes out what is pending now, then ends the socket: the last answer reaches the peer. */
  end(): void {
    if (this.pending.length > 0) this.flush();
    this.socket.end();
  }

  write(message: unknown): void {
    this.pending.push(encodeMessage(message));
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const data = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    if (this.socket.destroyed) return;
    this.socket.write(data);
    if (this.backlog !== undefined && this.socket.writableLength > this.backlog.bytesMax) this.backlog.onBacklog();
  }
}
