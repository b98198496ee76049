// A connection's request timeouts: every request fails with TIMEOUT after its own timeout when
// no answer comes, whatever else is in flight on the connection, and an answered request does
// not fail later.
import test from 'ava';
import net from 'node:net';
import { Connection } from '../protocol/connection.js';
import { OccdbError } from '../errors/catalogue.js';

/** Bounds a test that would otherwise hang when a timeout never fires. */
const TEST_GUARD_MS = 10_000;

/** A server on loopback that answers each request with `reply(id)`, or not at all when it gives undefined. */
async function scriptedServer(reply: (id: number) => unknown): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
        const { id } = JSON.parse(buffered.slice(0, newline)) as { id: number };
        buffered = buffered.slice(newline + 1);
        const answer = reply(id);
        if (answer !== undefined) socket.write(JSON.stringify(answer) + '\n');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A server on loopback that answers the request ids `answered` and ignores every other request. */
function selectiveServer(answered: ReadonlySet<number>): Promise<{ port: number; close(): Promise<void> }> {
  return scriptedServer((id) => (answered.has(id) ? { id, ok: true, result: {} } : undefined));
}

/** How `promise` settled: 'ok', or the OccdbError code it failed with, and when (in settling order). */
function outcome(promise: Promise<unknown>, order: string[], name: string): Promise<string> {
  return promise.then(
    () => { order.push(name); return 'ok'; },
    (error: unknown) => { order.push(name); return error instanceof OccdbError ? `${error.code}: ${error.message}` : `other: ${String(error)}`; },
  );
}

function guarded<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no outcome within ${TEST_GUARD_MS} ms: a timeout never fired`)), TEST_GUARD_MS); });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

test('unanswered requests each fail with TIMEOUT after their own timeout: a shorter one sent later fails first', async (t) => {
  const server = await selectiveServer(new Set());
  const connection = new Connection({ host: '127.0.0.1', port: server.port }, 'SILENT');
  try {
    const order: string[] = [];
    const long = outcome(connection.request({ type: 'ping' }, 600), order, 'long');
    const short = outcome(connection.request({ type: 'status' }, 100), order, 'short');
    const results = await guarded(Promise.all([long, short]));
    t.deepEqual(results, ['TIMEOUT: SILENT did not answer ping within 600 ms', 'TIMEOUT: SILENT did not answer status within 100 ms']);
    t.deepEqual(order, ['short', 'long']);
  } finally {
    connection.close();
    await server.close();
  }
});

test('an answered request does not time out, and a request sent after it still does', async (t) => {
  // Ids are given out from 1 on each connection: the first request is answered, the second is not.
  const server = await selectiveServer(new Set([1]));
  const connection = new Connection({ host: '127.0.0.1', port: server.port }, 'HALF');
  try {
    const order: string[] = [];
    const answered = outcome(connection.request({ type: 'ping' }, 200), order, 'answered');
    t.is(await guarded(answered), 'ok');
    const unanswered = outcome(connection.request({ type: 'ping' }, 150), order, 'unanswered');
    // Past the first request's deadline: nothing more may happen to it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.is(await guarded(unanswered), 'TIMEOUT: HALF did not answer ping within 150 ms');
    t.deepEqual(order, ['answered', 'unanswered']);
  } finally {
    connection.close();
    await server.close();
  }
});

test('error codes are typed on the wire: a catalogue code comes through as itself, one outside the catalogue fails the request at once as BAD_MESSAGE', async (t) => {
  const codes = ['TXN_RETRIES_EXHAUSTED', 'NO_SUCH_CODE'];
  const server = await scriptedServer((id) => ({ id, ok: false, error: { code: codes[(id - 1) % 2], message: 'from the server' } }));
  const connection = new Connection({ host: '127.0.0.1', port: server.port }, 'REMOTE');
  try {
    const order: string[] = [];
    const known = await guarded(outcome(connection.request({ type: 'ping' }, 5_000), order, 'known'));
    t.is(known, 'TXN_RETRIES_EXHAUSTED: from the server');
    const started = performance.now();
    const unknown = await guarded(outcome(connection.request({ type: 'ping' }, 5_000), order, 'unknown'));
    t.regex(unknown, /^BAD_MESSAGE: REMOTE answered ping with a malformed reply/);
    t.true(performance.now() - started < 1_000, 'it does not wait for the timeout');
  } finally {
    connection.close();
    await server.close();
  }
});

test('outgoing requests are typed from the receivers\' schemas, and each answer by its type (checked when the tests compile)', (t) => {
  // Never called: tsc checks these lines. A @ts-expect-error that no longer meets an error
  // fails the build, so each line proves the typing refuses that mistake.
  const typedAtCompileTime = async (connection: Connection): Promise<void> => {
    const read = await connection.request({ type: 'db.read', keys: ['a'] });
    read.entries satisfies Array<{ version: [number, number]; value?: unknown }>;
    const vote = await connection.request({ type: 'peer.validate', from: 1, epoch: 0, txid: 't', ts: [1, 1], readSet: [], writeKeys: [] });
    vote.vote satisfies 'yes' | 'check' | 'no';
    // @ts-expect-error: keys must be a list of entry names
    await connection.request({ type: 'db.read', keys: 5 });
    // @ts-expect-error: no such request type
    await connection.request({ type: 'db.erase', keys: ['a'] });
    // @ts-expect-error: the connection adds the id itself
    await connection.request({ type: 'ping', id: 3 });
    // @ts-expect-error: a read's answer has no vote
    (await connection.request({ type: 'db.read', keys: [] })).vote;
  };
  t.is(typeof typedAtCompileTime, 'function');
});
