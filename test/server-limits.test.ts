// Each limit a server puts on one connection (protocol/limits.ts), reached on purpose against
// an in-process server whose limits are lowered to reach them quickly: connections beyond the
// limit closed at once and logged once a second, a message that does not complete in time, an
// idle connection (and one with a request in flight, kept), reading paused at the limit of
// requests in flight and resumed as answers go out, and a peer that does not read its answers.
// The tests run one at a time: each measures time, which another's load would skew.
import test from 'ava';
import net from 'node:net';
import { z } from 'zod';
import { NODE_PORT_LIMITS, NdjsonServer, type ConnectionLimits } from '../protocol/server.js';
import { RawClient } from './helpers/raw-client.js';

const WAIT_MS_MAX = 5_000;

const EchoRequest = z.discriminatedUnion('type', [
  z.object({ id: z.number(), type: z.literal('ping') }),
  z.object({ id: z.number(), type: z.literal('hold') }),
  z.object({ id: z.number(), type: z.literal('big'), bytes: z.number().int().max(1_000_000) }),
]);

interface Served {
  server: NdjsonServer;
  warnings: string[];
  endpoint: { host: string; port: number };
  /** Requests of type hold waiting for their answer; `release()` answers them all. */
  held: Array<() => void>;
  handled: () => number;
}

async function serve(limits: Partial<ConnectionLimits>): Promise<Served> {
  const warnings: string[] = [];
  const held: Array<() => void> = [];
  let handled = 0;
  const server = await NdjsonServer.listen({
    host: '127.0.0.1', port: 0, schema: EchoRequest, knownTypes: ['ping', 'hold', 'big'], label: 'test port',
    logger: { warn: (message) => warnings.push(message), error: (message) => warnings.push(message) },
    limits: { ...NODE_PORT_LIMITS, ...limits },
    handle: (request) => {
      handled += 1;
      if (request.type === 'hold') return new Promise<void>((resolve) => held.push(resolve));
      if (request.type === 'big') return { text: 'x'.repeat(request.bytes) };
      return {};
    },
  });
  return { server, warnings, endpoint: { host: '127.0.0.1', port: server.port }, held, handled: () => handled };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadlineMs = Date.now() + WAIT_MS_MAX;
  while (!condition()) {
    if (Date.now() > deadlineMs) throw new Error(`${what}: not within ${WAIT_MS_MAX} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const line = (message: unknown): string => `${JSON.stringify(message)}\n`;

test.serial('connections beyond the limit are closed at once, and a flood of them is logged once', async (t) => {
  const served = await serve({ connectionsPerPortMax: 4 });
  const clients: RawClient[] = [];
  try {
    for (let index = 0; index < 4; index++) clients.push(await RawClient.connect(served.endpoint));
    const refused: RawClient[] = [];
    for (let index = 0; index < 20; index++) refused.push(await RawClient.connect(served.endpoint));
    clients.push(...refused);
    for (const client of refused) t.true(await client.waitClosed(), 'a connection beyond the limit is closed');
    clients[0]!.send(line({ id: 1, type: 'ping' }));
    t.like(await clients[0]!.next(), { id: 1, ok: true }, 'the connections within the limit still work');
    const logged = served.warnings.filter((warning) => warning.includes('refused, over 4 open'));
    t.is(logged.length, 1, served.warnings.join('\n'));
    clients[1]!.destroy();
    await until(() => served.server.connections.tcp === 3, 'the server sees the closed connection');
    const another = await RawClient.connect(served.endpoint);
    clients.push(another);
    another.send(line({ id: 2, type: 'ping' }));
    t.like(await another.next(), { id: 2, ok: true }, 'a place freed is taken again');
  } finally {
    for (const client of clients) client.destroy();
    await served.server.close();
  }
});

test.serial('a message begun and not completed in time closes the connection', async (t) => {
  const served = await serve({ messageCompleteTimeoutMs: 300 });
  const client = await RawClient.connect(served.endpoint);
  try {
    client.send('{"id":1,"type":');
    const startedMs = Date.now();
    t.true(await client.waitClosed(), 'the server closed the connection');
    t.true(Date.now() - startedMs >= 250, `closed after ${Date.now() - startedMs} ms`);
    t.true(served.warnings.some((warning) => warning.includes('a message not completed within 300 ms')), served.warnings.join('\n'));
  } finally {
    client.destroy();
    await served.server.close();
  }
});

test.serial('a message trickled in bytes that completes in time is served', async (t) => {
  const served = await serve({ messageCompleteTimeoutMs: 600 });
  const client = await RawClient.connect(served.endpoint);
  try {
    for (const piece of ['{"id":3,', '"type":', '"ping"}\n']) {
      client.send(piece);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    t.like(await client.next(), { id: 3, ok: true });
  } finally {
    client.destroy();
    await served.server.close();
  }
});

test.serial('an idle connection is closed, but not while a request of it is in flight', async (t) => {
  const served = await serve({ idleTimeoutMs: 300 });
  const waiting = await RawClient.connect(served.endpoint);
  waiting.send(line({ id: 1, type: 'hold' }));
  await until(() => served.held.length === 1, 'the request is held');
  const idle = await RawClient.connect(served.endpoint);
  try {
    t.true(await idle.waitClosed(), 'the idle connection was closed');
    t.false(waiting.closed, 'the connection waiting for an answer is open');
    served.held.splice(0).forEach((release) => release());
    t.like(await waiting.next(), { id: 1, ok: true });
    t.true(await waiting.waitClosed(), 'idle once answered, it is closed too');
    t.deepEqual(served.warnings, [], 'an idle connection is not a warning');
  } finally {
    idle.destroy();
    waiting.destroy();
    await served.server.close();
  }
});

test.serial('at the limit of requests in flight the server stops reading the socket, and reads again as answers go out', async (t) => {
  const served = await serve({ requestsInFlightMax: 4 });
  const client = await RawClient.connect(served.endpoint);
  try {
    for (let id = 1; id <= 4; id++) client.send(line({ id, type: 'hold' }));
    await until(() => served.held.length === 4, 'four requests held');
    for (let id = 5; id <= 20; id++) client.send(line({ id, type: 'hold' }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.is(served.handled(), 4, 'nothing more was read');
    for (let round = 0; round < 20 && served.handled() < 20; round++) {
      served.held.splice(0).forEach((release) => release());
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    served.held.splice(0).forEach((release) => release());
    const ids: number[] = [];
    for (let count = 0; count < 20; count++) ids.push((await client.next() as { id: number }).id);
    t.deepEqual(ids.sort((a, b) => a - b), Array.from({ length: 20 }, (_, index) => index + 1), 'every request was answered, none failed');
    t.false(client.closed);
  } finally {
    client.destroy();
    await served.server.close();
  }
});

test.serial('a peer that sends requests and does not read the answers is closed past the write backlog', async (t) => {
  const served = await serve({ writeBacklogBytesMax: 256 * 1024 });
  const socket = net.connect(served.endpoint.port, served.endpoint.host);
  socket.on('error', () => { /* reset by the server */ });
  try {
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.pause();
    const requests = Array.from({ length: 60 }, (_, index) => line({ id: index, type: 'big', bytes: 100_000 })).join('');
    socket.write(requests);
    await until(() => served.warnings.some((warning) => warning.includes('answers not read')), 'the server gave up on the reader');
    await until(() => served.server.connections.tcp === 0, 'the server closed the connection');
    t.pass();
  } finally {
    socket.destroy();
    await served.server.close();
  }
});
