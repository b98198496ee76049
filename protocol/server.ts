// An NDJSON request/response server. Every request is validated against the server's
// schema before its handler sees it; a bad message gets an error reply, never a crash.
import net from 'node:net';
import type { z } from 'zod';
import { OccdbError } from './errors.js';
import { CoalescingWriter, LineSplitter } from './ndjson.js';
import { MESSAGE_BYTES_MAX } from './schemas.js';

export interface ServerLogger {
  warn(message: string): void;
  error(message: string): void;
}

export type RequestHandler<R> = (request: R) => Promise<unknown> | unknown;

export interface ServeOptions<S extends z.ZodType<{ id: number; type: string }>> {
  host: string;
  port: number;
  schema: S;
  knownTypes: readonly string[];
  handle: RequestHandler<z.infer<S>>;
  logger: ServerLogger;
  label: string;
}

export class NdjsonServer {
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server) {}

  static async listen<S extends z.ZodType<{ id: number; type: string }>>(options: ServeOptions<S>): Promise<NdjsonServer> {
    const server = net.createServer((socket) => instance.accept(socket, options));
    const instance = new NdjsonServer(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => options.logger.error(`${options.label} server error: ${error.message}`));
    return instance;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /**
   * Stops accepting and closes every open connection: gracefully (replies already written
   * still reach the peer), then by force after `graceMs`.
   */
  async close(graceMs = 500): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.end();
    const timer = setTimeout(() => { for (const socket of this.sockets) socket.destroy(); }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  private accept<S extends z.ZodType<{ id: number; type: string }>>(socket: net.Socket, options: ServeOptions<S>): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => { /* the peer went away; 'close' cleans up */ });
    socket.on('close', () => this.sockets.delete(socket));
    const writer = new CoalescingWriter(socket);
    const send = (message: unknown): void => writer.write(message);
    const splitter = new LineSplitter(
      MESSAGE_BYTES_MAX,
      (line) => this.onLine(line, send, options),
      () => {
        options.logger.warn(`${options.label}: a message over ${MESSAGE_BYTES_MAX} bytes; closing the connection`);
        send({ id: null, ok: false, error: { code: 'MESSAGE_TOO_LARGE', message: `a message is limited to ${MESSAGE_BYTES_MAX} bytes` } });
        socket.end();
      },
    );
    socket.on('data', (chunk) => splitter.push(chunk));
  }

  private onLine<S extends z.ZodType<{ id: number; type: string }>>(line: string, send: (m: unknown) => void, options: ServeOptions<S>): void {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      send({ id: null, ok: false, error: { code: 'BAD_MESSAGE', message: 'not JSON' } });
      return;
    }
    const id = typeof raw === 'object' && raw !== null && Number.isSafeInteger((raw as { id?: unknown }).id)
      ? (raw as { id: number }).id
      : null;
    const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
    if (typeof type !== 'string' || !options.knownTypes.includes(type)) {
      send({ id, ok: false, error: { code: 'UNKNOWN_MESSAGE', message: `unknown message type ${JSON.stringify(type)}` } });
      return;
    }
    const parsed = options.schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
      send({ id, ok: false, error: { code: 'BAD_MESSAGE', message: `${type}: ${issue?.message ?? 'invalid'}${where}` } });
      return;
    }
    Promise.resolve()
      .then(() => options.handle(parsed.data))
      .then(
        (result) => send({ id, ok: true, result: result ?? {} }),
        (error: unknown) => {
          if (error instanceof OccdbError) {
            send({ id, ok: false, error: { code: error.code, message: error.message } });
          } else {
            const message = error instanceof Error ? error.message : String(error);
            options.logger.error(`${options.label}: ${type} failed: ${error instanceof Error ? error.stack : message}`);
            send({ id, ok: false, error: { code: 'INTERNAL', message } });
          }
        },
      );
  }
}
