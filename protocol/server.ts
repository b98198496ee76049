// An NDJSON request/response server. Every request is validated against the server's
// schema before its handler sees it; a bad message gets an error reply, never a crash.
import fs from 'node:fs';
import net from 'node:net';
import type { z } from 'zod';
import { OccdbError } from '../errors/catalogue.js';
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
  /** Also listen on this Unix domain socket (for processes on the same machine), when set. */
  socketPath?: string;
}

export type Transport = 'tcp' | 'unix';

export class NdjsonServer {
  private readonly sockets = new Map<net.Socket, Transport>();
  private unixServer: net.Server | null = null;

  private constructor(private readonly server: net.Server) {}

  /**
   * Listens on TCP, then on the Unix socket if one is given. A Unix socket that cannot be
   * made is only a warning: everything reaches the process over TCP too.
   */
  static async listen<S extends z.ZodType<{ id: number; type: string }>>(options: ServeOptions<S>): Promise<NdjsonServer> {
    const server = net.createServer((socket) => instance.accept(socket, 'tcp', options));
    const instance = new NdjsonServer(server);
    await listening(server, (ready) => server.listen(options.port, options.host, ready));
    server.on('error', (error) => options.logger.error(`${options.label} server error: ${error.message}`));
    if (options.socketPath !== undefined) instance.unixServer = await listenUnix(options.socketPath, (socket) => instance.accept(socket, 'unix', options), options);
    return instance;
  }

  /** The Unix socket the server listens on, if any. */
  get socketPath(): string | null {
    const address = this.unixServer?.address();
    return typeof address === 'string' ? address : null;
  }

  /** Open connections, by how they reached the server. */
  get connections(): Record<Transport, number> {
    const counts = { tcp: 0, unix: 0 };
    for (const transport of this.sockets.values()) counts[transport] += 1;
    return counts;
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
    // Closing the Unix server also removes its socket file.
    const closed = Promise.all([this.server, this.unixServer].map((server) => server && new Promise<void>((resolve) => server.close(() => resolve()))));
    for (const socket of this.sockets.keys()) socket.end();
    const timer = setTimeout(() => { for (const socket of this.sockets.keys()) socket.destroy(); }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  private accept<S extends z.ZodType<{ id: number; type: string }>>(socket: net.Socket, transport: Transport, options: ServeOptions<S>): void {
    this.sockets.set(socket, transport);
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
    serveRequest(raw, options, send);
  }
}

/** Requests of a known type received by every server of this process, by type (the metrics' messages received). */
export const requestsReceivedByType = new Map<string, number>();

/**
 * Answers one parsed message: checks its type and its schema, runs the handler, and sends
 * the reply (the result, or the error's code and message; INTERNAL, logged with its stack,
 * for an error that is not an OccdbError: a bug). The server runs it for every line; an
 * in-process test runs it to pass a message the same way without a socket.
 */
export function serveRequest<S extends z.ZodType<{ id: number; type: string }>>(
  raw: unknown,
  options: Pick<ServeOptions<S>, 'schema' | 'knownTypes' | 'handle' | 'logger' | 'label'>,
  send: (reply: unknown) => void,
): void {
  const id = typeof raw === 'object' && raw !== null && Number.isSafeInteger((raw as { id?: unknown }).id)
    ? (raw as { id: number }).id
    : null;
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  if (typeof type !== 'string' || !options.knownTypes.includes(type)) {
    send({ id, ok: false, error: { code: 'UNKNOWN_MESSAGE', message: `unknown message type ${JSON.stringify(type)}` } });
    return;
  }
  requestsReceivedByType.set(type, (requestsReceivedByType.get(type) ?? 0) + 1);
  const parsed = options.schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    send({ id, ok: false, error: { code: 'BAD_MESSAGE', message: `${type}: ${issue?.message ?? 'invalid'}${where}` } });
    return;
  }
  const answer = (result: unknown): void => send({ id, ok: true, result: result ?? {} });
  const fail = (error: unknown): void => {
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof OccdbError ? error.code : 'INTERNAL';
    // INTERNAL is a bug (a broken invariant, or an error nothing expected): log it whole.
    if (code === 'INTERNAL') options.logger.error(`${options.label}: ${type} failed: ${error instanceof Error ? error.stack : message}`);
    send({ id, ok: false, error: { code, message } });
  };
  // The handler runs at once; its answer leaves with this turn's writes either way.
  let result: unknown;
  try {
    result = options.handle(parsed.data);
  } catch (error) {
    fail(error);
    return;
  }
  if (result instanceof Promise) result.then(answer, fail);
  else answer(result);
}

/** Open connections of `servers` together, by transport. */
export function connectionsOf(servers: ReadonlyArray<NdjsonServer | null>): Record<Transport, number> {
  const counts = { tcp: 0, unix: 0 };
  for (const server of servers) {
    if (!server) continue;
    counts.tcp += server.connections.tcp;
    counts.unix += server.connections.unix;
  }
  return counts;
}

/** `; Unix sockets a, b` for a log line, or nothing when no server has one. */
export function unixSocketsNote(servers: ReadonlyArray<NdjsonServer | null>): string {
  const paths = servers.map((server) => server?.socketPath).filter((socketPath) => socketPath);
  return paths.length > 0 ? `; Unix sockets ${paths.join(', ')}` : '';
}

function listening(server: net.Server, listen: (ready: () => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    listen(() => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Listens on the Unix socket `socketPath`, or returns null (with a warning) when it cannot.
 * A socket file already there was left by an earlier life of this process that did not
 * close: a live one would hold the TCP port this process has just bound. Anything at that
 * path that is not a socket is left alone.
 */
async function listenUnix(socketPath: string, onConnection: (socket: net.Socket) => void, options: { logger: ServerLogger; label: string }): Promise<net.Server | null> {
  try {
    const existing = fs.lstatSync(socketPath, { throwIfNoEntry: false });
    if (existing && !existing.isSocket()) throw new Error('something that is not a socket is in the way');
    if (existing) fs.unlinkSync(socketPath);
    const server = net.createServer(onConnection);
    await listening(server, (ready) => server.listen(socketPath, ready));
    server.on('error', (error) => options.logger.error(`${options.label} server error on ${socketPath}: ${error.message}`));
    return server;
  } catch (error) {
    options.logger.warn(`${options.label} cannot listen on ${socketPath} (${(error as Error).message}); TCP only`);
    return null;
  }
}
