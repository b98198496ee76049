// Stand-in middlewares for client tests, on 127.0.0.1. `standInMiddleware` answers every
// txn.run with `answer(request, index)`; `droppingMiddleware` reads each txn.run and drops
// the connection without answering (as a middleware that dies with the request in hand). Both
// record the requests, so a test can see exactly what a client sent. For one that refuses
// connections, use a free port (helpers/ports.ts) that nothing listens on.
import net from 'node:net';
import { NdjsonServer } from '../../protocol/server.js';
import { ClientRequestSchema, type ClientRequest, type TxnResult } from '../../protocol/schemas.js';

export type TxnRun = Extract<ClientRequest, { type: 'txn.run' }>;

const silentLogger = { warn: () => {}, error: () => {} };

export async function standInMiddleware(
  answer: (request: TxnRun, index: number) => Promise<TxnResult> | TxnResult,
): Promise<{ server: NdjsonServer; requests: TxnRun[] }> {
  const requests: TxnRun[] = [];
  const server = await NdjsonServer.listen({
    host: '127.0.0.1',
    port: 0,
    schema: ClientRequestSchema,
    knownTypes: ['ping', 'status', 'txn.run', 'shutdown'],
    logger: silentLogger,
    label: 'stand-in middleware',
    handle: (request) => {
      if (request.type !== 'txn.run') return {};
      requests.push(request);
      return answer(request, requests.length - 1);
    },
  });
  return { server, requests };
}

export interface DroppingServer {
  port: number;
  close(): Promise<void>;
}

/** A stand-in that takes each txn.run, records it, and closes the connection without a word. */
export async function droppingMiddleware(): Promise<{ server: DroppingServer; requests: TxnRun[] }> {
  const requests: TxnRun[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => { /* the client went away */ });
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const parsed = ClientRequestSchema.safeParse(JSON.parse(line));
        if (parsed.success && parsed.data.type === 'txn.run') {
          requests.push(parsed.data);
          socket.destroy();
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const close = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { server: { port, close }, requests };
}
