// A bare socket for tests of what a server does with raw input: sends raw lines and reads
// replies one at a time, each wait bounded; `logIn` runs the login exchange first, with the
// keys of the cluster whose secret is given, as a process of that cluster would.
import crypto from 'node:crypto';
import net from 'node:net';
import { NONCE_BYTES, type Transcript, clientProof, serverSignatureIsValid } from '../../protocol/auth.js';
import type { Endpoint } from '../../protocol/connection.js';
import { type Credentials, nodeCredentials } from '../../protocol/credentials.js';

const REPLY_TIMEOUT_MS = 10_000;

/** A bare socket that sends raw lines and reads replies one at a time, each wait bounded. */
export class RawClient {
  private readonly lines: unknown[] = [];
  private buffered = '';
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      this.buffered += chunk.toString('utf8');
      let newline = this.buffered.indexOf('\n');
      while (newline !== -1) {
        this.lines.push(JSON.parse(this.buffered.slice(0, newline)));
        this.buffered = this.buffered.slice(newline + 1);
        newline = this.buffered.indexOf('\n');
      }
      this.waiter?.();
    });
    socket.on('error', () => { /* a reset after the server closes; 'close' follows */ });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  /** Connects to `endpoint` and logs in with the keys of the cluster whose secret is `clusterSecret`. */
  static async loggedIn(endpoint: Endpoint, clusterSecret: Buffer): Promise<RawClient> {
    const client = await RawClient.connect(endpoint);
    await client.logIn(nodeCredentials('TEST', clusterSecret));
    return client;
  }

  /** The login exchange (protocol/auth.ts) on this socket; throws if the server refuses it. */
  async logIn(credentials: Credentials, ids: [number, number] = [900_001, 900_002]): Promise<void> {
    const clientNonce = crypto.randomBytes(NONCE_BYTES).toString('base64');
    this.send(`${JSON.stringify({ id: ids[0], type: 'auth.hello', principal: credentials.principal, nonce: clientNonce })}\n`);
    const hello = (await this.next()) as { ok: boolean; result?: { nonce: string; salt: string; cost: { N: number; r: number; p: number } } } | null;
    if (!hello?.ok || !hello.result) throw new Error(`hello refused: ${JSON.stringify(hello)}`);
    const salt = Buffer.from(hello.result.salt, 'base64');
    const keys = credentials.keys(salt, hello.result.cost);
    const transcript: Transcript = { principal: credentials.principal, clientNonce, nonce: hello.result.nonce, salt, binding: Buffer.alloc(0) };
    this.send(`${JSON.stringify({ id: ids[1], type: 'auth.proof', proof: clientProof(keys, transcript).toString('base64') })}\n`);
    const proof = (await this.next()) as { ok: boolean; result?: { signature: string } } | null;
    if (!proof?.ok || !proof.result) throw new Error(`proof refused: ${JSON.stringify(proof)}`);
    if (!serverSignatureIsValid(keys, transcript, Buffer.from(proof.result.signature, 'base64'))) throw new Error('the server did not prove itself');
  }

  static connect(endpoint: Endpoint): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(endpoint.port, endpoint.host, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** The next reply, or null if the connection closed first. */
  async next(): Promise<unknown> {
    const deadlineMs = Date.now() + REPLY_TIMEOUT_MS;
    while (this.lines.length === 0 && !this.closed) {
      const remainingMs = deadlineMs - Date.now();
      if (remainingMs <= 0) throw new Error('no reply in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remainingMs);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.lines.shift() ?? null;
  }

  /** Resolves once the server has closed the connection; false if it did not within the reply timeout. */
  async waitClosed(): Promise<boolean> {
    const deadlineMs = Date.now() + REPLY_TIMEOUT_MS;
    while (!this.closed && Date.now() < deadlineMs) await this.next().catch(() => null);
    return this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

