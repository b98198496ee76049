// A request/response connection over NDJSON: made lazily, re-made after loss, many requests
// in flight at once (replies echo the request id), and a timeout on every request. What it
// reads is checked by the ReplyChecks it is given: zod's schemas (connection.ts, every
// process), or the JSON Schemas generated from them (client-connection.ts, the command line's
// client and status, which then do not load zod). Nothing here imports zod.
import crypto from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { OccdbError } from '../errors/catalogue.js';
import { NONCE_BYTES, type Transcript, clientProof, serverSignatureIsValid } from './auth.js';
import { type Credentials, addressKey, credentialsFor, tlsFor } from './credentials.js';
import { CoalescingWriter, LineSplitter } from './ndjson.js';
import { MESSAGE_BYTES_MAX } from './limits.js';
import type { OutgoingRequest, Reply, RequestType, ResultOf } from './schemas.js';

export interface Endpoint {
  host: string;
  port: number;
  /**
   * A Unix domain socket the same process listens on, tried first when set (the process is
   * on this machine); TCP is the fallback when it cannot be reached.
   */
  socket?: string;
}

interface Pending {
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  /** performance.now() after which the request fails with TIMEOUT. */
  deadlineMs: number;
  type: string;
  timeoutMs: number;
}

/**
 * A request that failed on this side of the wire, not by the remote's answer. `sent` is false
 * when it never left (the connection could not be made, or this connection is closed), true
 * when it was handed to the socket and no answer came (connection lost, timeout): the remote
 * may then have acted on it. A caller that may retry elsewhere needs that difference (the
 * client's failover); an error the remote answered with is a plain OccdbError.
 */
export class LinkError extends OccdbError {
  constructor(code: 'NODE_UNAVAILABLE' | 'TIMEOUT', message: string, readonly sent: boolean, reason?: 'refused') {
    super(code, message, reason);
    this.name = 'LinkError';
  }
}

export const REQUEST_TIMEOUT_MS_DEFAULT = 10_000;
/**
 * A connection not made by then is given up. Short: a peer cut off by a partition drops the
 * SYN, and one attempt waiting for the kernel's retransmission would delay the reconnection
 * after the heal by seconds; a fresh attempt at the next request sends a new SYN at once.
 */
const CONNECT_TIMEOUT_MS = 1_000;
const PENDING_REQUESTS_MAX = 100_000;
/** The two round trips of a login, together (the server itself allows AUTH_TIMEOUT_MS). */
const LOGIN_TIMEOUT_MS = 5_000;

/**
 * What a sender needs of a connection: the TCP/Unix one below, or an in-process link that
 * passes messages without a socket (the in-process test cluster).
 */
export interface RequestLink {
  readonly label: string;
  /** Replies received (results and refusals alike): the far end's sign of life, read by the view keeper each tick. */
  readonly answers: number;
  request<M extends OutgoingRequest>(message: M & { id?: never }, timeoutMs?: number): Promise<ResultOf<M['type']>>;
  close(): void;
}

/** A check's answer: the value as checked (unknown properties dropped), or why it was refused. */
export type Checked<T> = { success: true; data: T } | { success: false; message: string };

/** How a connection checks what it reads: every reply's envelope, and each request type's result. */
export interface ReplyChecks {
  reply(json: unknown): Checked<Reply>;
  result<T extends RequestType>(type: T, result: unknown): Checked<ResultOf<T>>;
}

export class Link implements RequestLink {
  /** Requests sent by every connection of this process: the messages-per-commit measure. */
  static requestsSent = 0;
  /** The same, by request type (the metrics' messages sent). */
  static readonly requestsSentByType = new Map<string, number>();
  private socket: net.Socket | null = null;
  private writer: CoalescingWriter | null = null;
  private connecting: Promise<CoalescingWriter> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  answers = 0;
  /**
   * One timer for the timeouts of every request in flight, set for the earliest deadline
   * known when it was set. A timer of its own for each request would cost a timer start and
   * stop per request, which at a few thousand requests a second is a fair share of the
   * sender's CPU. It does not keep the process alive: while requests are in flight, their
   * socket does.
   */
  private timeoutTimer: NodeJS.Timeout | null = null;
  private timeoutAtMs = Infinity;

  constructor(readonly endpoint: Endpoint, readonly label: string, private readonly checks: ReplyChecks) {}

  /**
   * Sends `message` (an `id` is added) and resolves with the reply's result, checked as the
   * result of its type. Rejects with an OccdbError: the remote's own
   * code, BAD_MESSAGE when the answer breaks its schema, or a LinkError: NODE_UNAVAILABLE when
   * the connection cannot be made (not sent) or is lost (sent), TIMEOUT after `timeoutMs` (sent).
   * `timeoutMs` counts from the call, connecting included.
   */
  async request<M extends OutgoingRequest>(message: M & { id?: never }, timeoutMs = REQUEST_TIMEOUT_MS_DEFAULT): Promise<ResultOf<M['type']>> {
    if (this.closed) throw new LinkError('NODE_UNAVAILABLE', `connection to ${this.label} is closed`, false);
    if (this.pending.size >= PENDING_REQUESTS_MAX) {
      throw new LinkError('NODE_UNAVAILABLE', `too many requests in flight to ${this.label}`, false);
    }
    const startedMs = performance.now();
    const writer = this.socket && this.writer ? this.writer : await this.connectWithin(timeoutMs);
    return this.send(writer, message, startedMs, timeoutMs);
  }

  /** Writes `message` on `writer` and waits for its answer, as `request` says. */
  private async send<M extends OutgoingRequest>(writer: CoalescingWriter, message: M & { id?: never }, startedMs: number, timeoutMs: number): Promise<ResultOf<M['type']>> {
    const id = this.nextId++;
    const result = await new Promise<unknown>((resolve, reject) => {
      const deadlineMs = startedMs + timeoutMs;
      this.pending.set(id, { resolve, reject, deadlineMs, type: message.type, timeoutMs });
      this.armTimeout(deadlineMs);
      Link.requestsSent += 1;
      Link.requestsSentByType.set(message.type, (Link.requestsSentByType.get(message.type) ?? 0) + 1);
      // Object.assign, not a spread: `{ ...message, id }` costs about 1 us more a message on Node 20.
      writer.write(Object.assign({ id }, message));
    });
    return this.checkedResult<M['type']>(message.type, result);
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.failAll(new LinkError('NODE_UNAVAILABLE', `connection to ${this.label} closed`, true));
  }

  /** Makes sure the timeout timer fires by `deadlineMs`. */
  private armTimeout(deadlineMs: number): void {
    if (this.timeoutTimer !== null) {
      if (this.timeoutAtMs <= deadlineMs) return;
      clearTimeout(this.timeoutTimer);
    }
    this.timeoutAtMs = deadlineMs;
    this.timeoutTimer = setTimeout(() => this.expireRequests(), Math.max(0, deadlineMs - performance.now()));
    this.timeoutTimer.unref();
  }

  /** Fails the requests past their deadline, and sets the timer for the earliest of the others. */
  private expireRequests(): void {
    this.timeoutTimer = null;
    this.timeoutAtMs = Infinity;
    const nowMs = performance.now();
    let nextMs = Infinity;
    for (const [id, waiter] of this.pending) {
      if (waiter.deadlineMs > nowMs) {
        nextMs = Math.min(nextMs, waiter.deadlineMs);
        continue;
      }
      this.pending.delete(id);
      waiter.reject(new LinkError('TIMEOUT', `${this.label} did not answer ${waiter.type} within ${waiter.timeoutMs} ms`, true));
    }
    if (nextMs !== Infinity) this.armTimeout(nextMs);
  }

  /** `connect`, but NODE_UNAVAILABLE (nothing sent) if it is not done within `timeoutMs`; the attempt itself goes on. */
  private connectWithin(timeoutMs: number): Promise<CoalescingWriter> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LinkError('NODE_UNAVAILABLE', `${this.label} could not be reached within ${timeoutMs} ms`, false)), timeoutMs);
      timer.unref();
    });
    return Promise.race([this.connect(), late]).finally(() => clearTimeout(timer));
  }

  private connect(): Promise<CoalescingWriter> {
    if (this.socket && this.writer) return Promise.resolve(this.writer);
    this.connecting ??= this.open().finally(() => { this.connecting = null; });
    return this.connecting;
  }

  /**
   * Connects over the Unix socket if there is one and it answers, else over TCP; then logs in
   * with the credentials this process holds for the address it reached, if any.
   */
  private async open(): Promise<CoalescingWriter> {
    const tcp = { host: this.endpoint.host, port: this.endpoint.port };
    let address = addressKey(tcp);
    const fingerprint = tlsFor(address);
    const overTcp = (): Promise<net.Socket> => connectSocket(tcp, fingerprint === undefined ? undefined : { fingerprint, label: this.label });
    let socket: net.Socket;
    try {
      // A missing or stale socket file (the process is gone, or runs without one) is no
      // reason to fail: TCP reaches the same process.
      if (this.endpoint.socket === undefined) socket = await overTcp();
      else {
        const path = this.endpoint.socket;
        socket = await connectSocket({ path }).then((connected) => {
          address = addressKey({ path });
          return connected;
        }, overTcp);
      }
    } catch (error) {
      if (error instanceof OccdbError) throw error;
      throw this.unreachable(error);
    }
    if (this.closed) {
      socket.destroy();
      throw new LinkError('NODE_UNAVAILABLE', `connection to ${this.label} is closed`, false);
    }
    const splitter = new LineSplitter(MESSAGE_BYTES_MAX, (line) => this.onLine(line), () => socket.destroy());
    socket.on('data', (chunk) => splitter.push(chunk));
    socket.on('error', () => { /* 'close' follows and cleans up */ });
    socket.once('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.writer = null;
      this.failAll(new LinkError('NODE_UNAVAILABLE', `connection to ${this.label} was lost`, true));
    });
    this.socket = socket;
    const writer = new CoalescingWriter(socket);
    const credentials = credentialsFor(address);
    if (credentials !== undefined) {
      try {
        await this.logIn(writer, credentials, socket);
      } catch (error) {
        socket.destroy();
        throw error;
      }
    }
    this.writer = writer;
    return writer;
  }

  /** The login exchange (protocol/auth.ts): hello, proof, and a check of the server's own proof. */
  private async logIn(writer: CoalescingWriter, credentials: Credentials, socket: net.Socket): Promise<void> {
    const refused = (error: unknown): never => {
      if (error instanceof OccdbError && error.code === 'UNAUTHENTICATED') throw new OccdbError('UNAUTHENTICATED', `${this.label} refused the login as ${credentials.principal}: ${error.message}`);
      throw error;
    };
    const clientNonce = crypto.randomBytes(NONCE_BYTES).toString('base64');
    const startedMs = performance.now();
    const hello = await this.send(writer, { type: 'auth.hello', principal: credentials.principal, nonce: clientNonce }, startedMs, LOGIN_TIMEOUT_MS).catch(refused);
    if (!hello.nonce.startsWith(clientNonce) || hello.nonce.length === clientNonce.length) {
      throw new OccdbError('UNAUTHENTICATED', `${this.label} answered the login with a nonce that is not this connection's`);
    }
    const salt = Buffer.from(hello.salt, 'base64');
    const keys = credentials.keys(salt, hello.cost);
    const transcript: Transcript = { principal: credentials.principal, clientNonce, nonce: hello.nonce, salt, binding: channelBinding(socket) };
    const proof = clientProof(keys, transcript).toString('base64');
    const answer = await this.send(writer, { type: 'auth.proof', proof }, startedMs, LOGIN_TIMEOUT_MS).catch(refused);
    if (!serverSignatureIsValid(keys, transcript, Buffer.from(answer.signature, 'base64'))) {
      throw new OccdbError('UNAUTHENTICATED', `${this.label} could not prove that it knows the keys of ${credentials.principal}: it is not the process it claims to be`);
    }
  }

  /** `result` as the result of `type`; BAD_MESSAGE naming the sender when it is not one. */
  private checkedResult<T extends RequestType>(type: T, result: unknown): ResultOf<T> {
    const checked = this.checks.result(type, result);
    if (!checked.success) throw new OccdbError('BAD_MESSAGE', `${this.label} answered ${type} with a malformed result: ${checked.message}`);
    return checked.data;
  }

  private unreachable(error: unknown): LinkError {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ECONNREFUSED'
      ? new LinkError('NODE_UNAVAILABLE', `${this.label} refused the connection (not running?)`, false, 'refused')
      : new LinkError('NODE_UNAVAILABLE', `${this.label} is unreachable (${code ?? 'connect timeout'})`, false);
  }

  private onLine(line: string): void {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      return; // A garbled reply can only be dropped; its request will time out.
    }
    const parsed = this.checks.reply(json);
    if (!parsed.success) {
      // A reply that names its request but breaks the schema (an error code outside the
      // catalogue, say) fails that request at once rather than letting it time out.
      const id = (json as { id?: unknown } | null)?.id;
      const waiter = typeof id === 'number' ? this.pending.get(id) : undefined;
      if (waiter === undefined) return;
      this.pending.delete(id as number);
      waiter.reject(new OccdbError('BAD_MESSAGE', `${this.label} answered ${waiter.type} with a malformed reply: ${parsed.message}`));
      return;
    }
    const reply = parsed.data;
    if (reply.id === null) return;
    const waiter = this.pending.get(reply.id);
    if (!waiter) return; // Answer to a request that already timed out.
    this.pending.delete(reply.id);
    this.answers += 1;
    if (reply.ok) waiter.resolve(reply.result);
    else waiter.reject(new OccdbError(reply.error.code, reply.error.message));
  }

  private failAll(error: Error): void {
    if (this.timeoutTimer !== null) clearTimeout(this.timeoutTimer);
    this.timeoutTimer = null;
    this.timeoutAtMs = Infinity;
    for (const [id, waiter] of this.pending) {
      waiter.reject(error);
      this.pending.delete(id);
    }
  }
}

/**
 * One request on `link`, closed afterwards. `timeoutMs` bounds all of it: connecting and
 * logging in count against it, as they do for every request.
 */
export async function requestOnceOver<M extends OutgoingRequest>(link: Link, message: M & { id?: never }, timeoutMs: number): Promise<ResultOf<M['type']>> {
  try {
    return await link.request(message, timeoutMs);
  } finally {
    link.close();
  }
}

/**
 * A connected socket (Nagle off), or the error that prevented it; gives up after
 * CONNECT_TIMEOUT_MS. With `pinned`, a TLS connection whose server shows the certificate with
 * that SHA-256 fingerprint: no certificate authority and no host name are checked, the pinned
 * fingerprint being what the cluster file says the cluster's certificate is.
 */
function connectSocket(target: { path: string } | { host: string; port: number }, pinned?: { fingerprint: string; label: string }): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = pinned === undefined || 'path' in target
      ? net.connect(target)
      : tls.connect({ ...target, rejectUnauthorized: false, minVersion: 'TLSv1.3', checkServerIdentity: () => undefined });
    const timer = setTimeout(() => socket.destroy(new Error('connect timeout')), CONNECT_TIMEOUT_MS);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.once('error', fail);
    socket.once(socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      if (pinned !== undefined && socket instanceof tls.TLSSocket && socket.getPeerCertificate().fingerprint256 !== pinned.fingerprint) {
        socket.destroy();
        reject(new OccdbError('UNAUTHENTICATED', `${pinned.label} showed a TLS certificate that is not the cluster's (expected fingerprint ${pinned.fingerprint.slice(0, 23)}...)`));
        return;
      }
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** TLS keying material of the connection (binds a login to it), or nothing without TLS. */
export function channelBinding(socket: net.Socket): Buffer {
  const tlsSocket = socket as net.Socket & { exportKeyingMaterial?: (length: number, label: string) => Buffer };
  return typeof tlsSocket.exportKeyingMaterial === 'function' ? tlsSocket.exportKeyingMaterial(32, 'EXPORTER-occdb-login') : Buffer.alloc(0);
}
