// An NDJSON request/response server. Every request is validated against the server's
// schema before its handler sees it; a bad message gets an error reply, never a crash.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { z } from 'zod';
import { OccdbError } from '../errors/catalogue.js';
import { NONCE_BYTES, type StoredKeys, type Transcript, proofIsValid, serverSignature } from './auth.js';
import { channelBinding } from './connection.js';
import { CoalescingWriter, LineSplitter } from './ndjson.js';
import {
  AUTH_TIMEOUT_MS, CLIENT_IDLE_TIMEOUT_MS, CONNECTION_SWEEP_INTERVAL_MS, CONNECTIONS_PER_PORT_MAX, KEEPALIVE_INITIAL_DELAY_MS, MESSAGE_BYTES_MAX,
  MESSAGE_COMPLETE_TIMEOUT_MS, NODE_IDLE_TIMEOUT_MS, REFUSED_CONNECTION_LOG_INTERVAL_MS, REQUESTS_IN_FLIGHT_PER_CONNECTION_MAX, WRITE_BACKLOG_BYTES_MAX,
} from './limits.js';
import { AuthRequestSchema, type Role } from './schemas.js';

export { AUTH_TIMEOUT_MS } from './limits.js';

export interface ServerLogger {
  warn(message: string): void;
  error(message: string): void;
}

/** Who sent a request: the principal its connection proved, and that principal's role. */
export interface Session {
  readonly principal: string;
  readonly role: Role;
}

/** The session of every connection to a server without authentication (in-process test servers only). */
export const TRUSTED_SESSION: Session = { principal: 'node:TRUSTED', role: 'node' };

export type RequestHandler<R> = (request: R, session: Session) => Promise<unknown> | unknown;

/** Who may connect to a port, and with which keys (protocol/auth.ts). */
export interface ServerAuth {
  /** The stored keys and role of `principal` when it may use this port; null when it may not, or does not exist. */
  lookUp(principal: string): { keys: StoredKeys; role: Role } | null;
  /** Keys that look like a real principal's, to answer for one that does not pass lookUp. */
  decoy(principal: string): StoredKeys;
}

/** What one connection may do (protocol/limits.ts); a port of users gets CLIENT_IDLE_TIMEOUT_MS. */
export interface ConnectionLimits {
  connectionsPerPortMax: number;
  messageCompleteTimeoutMs: number;
  idleTimeoutMs: number;
  requestsInFlightMax: number;
  writeBacklogBytesMax: number;
}

export const NODE_PORT_LIMITS: ConnectionLimits = {
  connectionsPerPortMax: CONNECTIONS_PER_PORT_MAX,
  messageCompleteTimeoutMs: MESSAGE_COMPLETE_TIMEOUT_MS,
  idleTimeoutMs: NODE_IDLE_TIMEOUT_MS,
  requestsInFlightMax: REQUESTS_IN_FLIGHT_PER_CONNECTION_MAX,
  writeBacklogBytesMax: WRITE_BACKLOG_BYTES_MAX,
};

export const CLIENT_PORT_LIMITS: ConnectionLimits = { ...NODE_PORT_LIMITS, idleTimeoutMs: CLIENT_IDLE_TIMEOUT_MS };

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
  /** Every connection proves who it is before any other message (unset: every connection is trusted). */
  auth?: ServerAuth;
  /** TLS on the TCP port with this certificate and key (the Unix socket stays plain). */
  tls?: { cert: string; key: string };
  /** What one connection may do (unset: NODE_PORT_LIMITS). Tests lower them to reach them quickly. */
  limits?: ConnectionLimits;
}

export type Transport = 'tcp' | 'unix';

/** One open connection, as the server's sweep sees it. */
interface Peer {
  readonly transport: Transport;
  readonly splitter: LineSplitter;
  readonly writer: CoalescingWriter;
  /**
   * When the connection last sent bytes, as the sweep saw it (to within one sweep interval):
   * a read only sets `readSinceSweep`, so that a busy connection costs no clock reading per chunk.
   */
  lastReadMs: number;
  readSinceSweep: boolean;
  /** Requests read and not answered yet. */
  inFlight: number;
  /** Being closed: what it still sends is ignored. */
  closing: boolean;
}

export class NdjsonServer {
  private readonly sockets = new Map<net.Socket, Peer>();
  private unixServer: net.Server | null = null;
  private readonly sweepTimer: NodeJS.Timeout;

  private constructor(private readonly server: net.Server, private readonly limits: ConnectionLimits, private readonly logger: ServerLogger, private readonly label: string) {
    // One timer for all the connections' time limits: nothing per line or per request.
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(CONNECTION_SWEEP_INTERVAL_MS, limits.messageCompleteTimeoutMs, limits.idleTimeoutMs));
    this.sweepTimer.unref();
  }

  /**
   * Listens on TCP, then on the Unix socket if one is given. A Unix socket that cannot be
   * made is only a warning: everything reaches the process over TCP too.
   */
  static async listen<S extends z.ZodType<{ id: number; type: string }>>(options: ServeOptions<S>): Promise<NdjsonServer> {
    const limits = options.limits ?? NODE_PORT_LIMITS;
    const onConnection = (socket: net.Socket): void => instance.accept(socket, 'tcp', options);
    // Keepalive on every accepted TCP socket: a peer that vanished without a FIN is found out.
    const socketOptions = { keepAlive: true, keepAliveInitialDelay: KEEPALIVE_INITIAL_DELAY_MS, noDelay: true };
    const server = options.tls === undefined ? net.createServer(socketOptions, onConnection) : tls.createServer({ ...socketOptions, ...options.tls, minVersion: 'TLSv1.3' }, onConnection);
    const instance = new NdjsonServer(server, limits, options.logger, options.label);
    limitConnections(server, limits.connectionsPerPortMax, options, `${options.label} (TCP)`);
    // A client that does not speak TLS (or fails its handshake) is closed by the TLS layer.
    server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
      options.logger.warn(`${options.label}: a connection from ${remoteOf(socket)} failed the TLS handshake (${(error as Error & { reason?: string }).reason ?? error.message}); closed`);
    });
    await listening(server, (ready) => server.listen(options.port, options.host, ready));
    server.on('error', (error) => options.logger.error(`${options.label} server error: ${error.message}`));
    if (options.socketPath !== undefined) instance.unixServer = await listenUnix(options.socketPath, (socket) => instance.accept(socket, 'unix', options), options);
    if (instance.unixServer) limitConnections(instance.unixServer, limits.connectionsPerPortMax, options, `${options.label} (Unix socket)`);
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
    for (const peer of this.sockets.values()) counts[peer.transport] += 1;
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
    clearInterval(this.sweepTimer);
    // Closing the Unix server also removes its socket file.
    const closed = Promise.all([this.server, this.unixServer].map((server) => server && new Promise<void>((resolve) => server.close(() => resolve()))));
    for (const socket of this.sockets.keys()) socket.end();
    const timer = setTimeout(() => { for (const socket of this.sockets.keys()) socket.destroy(); }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  private accept<S extends z.ZodType<{ id: number; type: string }>>(socket: net.Socket, transport: Transport, options: ServeOptions<S>): void {
    socket.setNoDelay(true);
    socket.on('error', () => { /* the peer went away; 'close' cleans up */ });
    socket.on('close', () => this.sockets.delete(socket));
    const writer = new CoalescingWriter(socket, {
      bytesMax: this.limits.writeBacklogBytesMax,
      onBacklog: () => this.drop(socket, `answers not read (over ${this.limits.writeBacklogBytesMax} bytes waiting)`),
    });
    const send = (message: unknown): void => writer.write(message);
    const login = options.auth ? new Login(options.auth, socket, writer, options) : null;
    const splitter = new LineSplitter(
      MESSAGE_BYTES_MAX,
      (line) => this.onLine(line, socket, peer, options, login),
      () => {
        options.logger.warn(`${options.label}: a message over ${MESSAGE_BYTES_MAX} bytes from ${remoteOf(socket)}; closing the connection`);
        send({ id: null, ok: false, error: { code: 'MESSAGE_TOO_LARGE', message: `a message is limited to ${MESSAGE_BYTES_MAX} bytes` } });
        writer.end();
      },
    );
    const peer: Peer = { transport, splitter, writer, lastReadMs: Date.now(), readSinceSweep: false, inFlight: 0, closing: false };
    this.sockets.set(socket, peer);
    socket.on('data', (chunk) => {
      if (peer.closing) return;
      peer.readSinceSweep = true;
      splitter.push(chunk);
    });
  }

  /**
   * Closes connections past their time limits: a message begun and not finished in time, or
   * nothing sent (and nothing in flight) for the idle time. Login has its own timer.
   */
  private sweep(): void {
    const nowMs = Date.now();
    for (const [socket, peer] of this.sockets) {
      if (peer.closing) continue;
      if (peer.readSinceSweep) {
        peer.lastReadMs = nowMs;
        peer.readSinceSweep = false;
      }
      const partialSinceMs = peer.splitter.partialSinceMs;
      if (partialSinceMs !== null && nowMs - partialSinceMs > this.limits.messageCompleteTimeoutMs) {
        this.drop(socket, `a message not completed within ${this.limits.messageCompleteTimeoutMs} ms`);
      } else if (peer.inFlight === 0 && nowMs - peer.lastReadMs > this.limits.idleTimeoutMs) {
        this.drop(socket, null);
      }
    }
  }

  /** Ends a connection (logging why, unless it is only idle), and destroys it if it does not end soon. */
  private drop(socket: net.Socket, why: string | null): void {
    const peer = this.sockets.get(socket);
    if (!peer || peer.closing) return;
    peer.closing = true;
    if (why !== null) this.logger.warn(`${this.label}: ${why} from ${remoteOf(socket)}; closing the connection`);
    // A peer that does not read keeps nothing: what is waiting for it goes with the socket.
    if (socket.writableLength > this.limits.writeBacklogBytesMax) {
      socket.destroy();
      return;
    }
    peer.writer.end();
    setTimeout(() => socket.destroy(), 1_000).unref();
  }

  private onLine<S extends z.ZodType<{ id: number; type: string }>>(line: string, socket: net.Socket, peer: Peer, options: ServeOptions<S>, login: Login | null): void {
    if (peer.closing) return;
    const send = (message: unknown): void => peer.writer.write(message);
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      send({ id: null, ok: false, error: { code: 'BAD_MESSAGE', message: 'not JSON' } });
      if (login && login.session === null) login.refuse('a line that is not JSON');
      return;
    }
    if (login !== null && login.session === null) {
      login.step(raw);
      return;
    }
    // Past the limit of requests in flight, the socket is not read until answers go out.
    peer.inFlight += 1;
    if (peer.inFlight >= this.limits.requestsInFlightMax) socket.pause();
    const reply = (message: unknown): void => {
      peer.inFlight -= 1;
      if (peer.inFlight < this.limits.requestsInFlightMax && socket.isPaused() && !peer.closing) socket.resume();
      send(message);
    };
    serveRequest(raw, options, reply, login?.session ?? TRUSTED_SESSION);
  }
}

/**
 * Closes at once every connection to `server` beyond `connectionsMax`, and logs it at most once
 * per REFUSED_CONNECTION_LOG_INTERVAL_MS (with how many), so that a flood does not flood the log.
 */
function limitConnections(server: net.Server, connectionsMax: number, options: { logger: ServerLogger }, what: string): void {
  server.maxConnections = connectionsMax;
  let refused = 0;
  let loggedMs = 0;
  server.on('drop', (data?: { remoteAddress?: string }) => {
    refused += 1;
    const nowMs = Date.now();
    if (nowMs - loggedMs < REFUSED_CONNECTION_LOG_INTERVAL_MS) return;
    options.logger.warn(`${what}: ${refused} connection${refused === 1 ? '' : 's'} refused, over ${connectionsMax} open (the last from ${data?.remoteAddress ?? 'a Unix socket'})`);
    loggedMs = nowMs;
    refused = 0;
  });
}

/** Requests of a known type received by every server of this process, by type (the metrics' messages received). */
export const requestsReceivedByType = new Map<string, number>();

/**
 * One connection's login: hello, then proof, then the session; anything else before the
 * session, a failed proof or the time running out closes the connection, and the log names
 * the address it came from.
 */
class Login {
  session: Session | null = null;
  private exchange: { transcript: Transcript; keys: StoredKeys; role: Role | null } | null = null;
  private readonly timer: NodeJS.Timeout;
  /** Refused: lines that still arrive are ignored until the socket closes. */
  private closing = false;

  constructor(
    private readonly auth: ServerAuth,
    private readonly socket: net.Socket,
    private readonly writer: CoalescingWriter,
    private readonly options: { logger: ServerLogger; label: string },
  ) {
    this.timer = setTimeout(() => this.refuse(`no login within ${AUTH_TIMEOUT_MS} ms`, false), AUTH_TIMEOUT_MS);
    this.timer.unref();
    socket.once('close', () => clearTimeout(this.timer));
  }

  step(raw: unknown): void {
    if (this.closing) return;
    const id = idOf(raw);
    const parsed = AuthRequestSchema.safeParse(raw);
    if (!parsed.success) {
      const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
      const what = type === 'auth.hello' || type === 'auth.proof' ? `a malformed ${type}` : `${describeType(type)} before logging in`;
      this.fail(id, `log in first: the connection sent ${what}`, what);
      return;
    }
    const request = parsed.data;
    if (request.type === 'auth.hello' && this.exchange === null) {
      const found = this.auth.lookUp(request.principal);
      const keys = found?.keys ?? this.auth.decoy(request.principal);
      const nonce = request.nonce + crypto.randomBytes(NONCE_BYTES).toString('base64');
      const transcript: Transcript = { principal: request.principal, clientNonce: request.nonce, nonce, salt: keys.salt, binding: channelBinding(this.socket) };
      this.exchange = { transcript, keys, role: found?.role ?? null };
      this.writer.write({ id, ok: true, result: { nonce, salt: keys.salt.toString('base64'), cost: keys.cost } });
      return;
    }
    if (request.type === 'auth.proof' && this.exchange !== null) {
      const { transcript, keys, role } = this.exchange;
      if (role === null || !proofIsValid(keys, transcript, Buffer.from(request.proof, 'base64'))) {
        this.fail(id, 'authentication failed: wrong secret, password or token, or no such user for this port', `a failed login as ${transcript.principal}`);
        return;
      }
      clearTimeout(this.timer);
      this.session = { principal: transcript.principal, role };
      this.writer.write({ id, ok: true, result: { signature: serverSignature(keys.serverKey, transcript).toString('base64'), role } });
      return;
    }
    this.fail(id, `log in first: ${request.type} out of order`, `${request.type} out of order`);
  }

  /** Closes the connection after answering UNAUTHENTICATED, and logs why, with the address. */
  refuse(why: string, answer = true): void {
    if (answer) this.writer.write({ id: null, ok: false, error: { code: 'UNAUTHENTICATED', message: `closing: ${why}` } });
    this.close(why);
  }

  private fail(id: number | null, message: string, why: string): void {
    this.writer.write({ id, ok: false, error: { code: 'UNAUTHENTICATED', message } });
    this.close(why);
  }

  private close(why: string): void {
    if (this.closing) return;
    this.closing = true;
    this.options.logger.warn(`${this.options.label}: ${why} from ${remoteOf(this.socket)}; closing the connection`);
    clearTimeout(this.timer);
    this.writer.end();
    // A peer that does not read its answer does not keep the socket open either.
    setTimeout(() => this.socket.destroy(), 1_000).unref();
  }
}

function remoteOf(socket: net.Socket): string {
  return socket.remoteAddress === undefined ? 'a Unix socket' : `${socket.remoteAddress}:${socket.remotePort}`;
}

/** How to name a message's type in an answer or the log: stringifying whatever a peer sent could be a megabyte, or deeper than the stack. */
const TYPE_DESCRIBED_CHARS_MAX = 64;

function describeType(type: unknown): string {
  if (typeof type === 'string') return JSON.stringify(type.length > TYPE_DESCRIBED_CHARS_MAX ? `${type.slice(0, TYPE_DESCRIBED_CHARS_MAX)}...` : type);
  if (type === undefined || type === null || typeof type === 'number' || typeof type === 'boolean') return String(type);
  return Array.isArray(type) ? 'an array' : 'an object';
}

function idOf(raw: unknown): number | null {
  return typeof raw === 'object' && raw !== null && Number.isSafeInteger((raw as { id?: unknown }).id) ? (raw as { id: number }).id : null;
}

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
  session: Session = TRUSTED_SESSION,
): void {
  const id = idOf(raw);
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  if (typeof type !== 'string' || !options.knownTypes.includes(type)) {
    send({ id, ok: false, error: { code: 'UNKNOWN_MESSAGE', message: `unknown message type ${describeType(type)}` } });
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
    result = options.handle(parsed.data, session);
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
