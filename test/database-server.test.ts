// The DATABASE process as a server: bad input of every kind gets an error reply (or, when
// oversized, a closed connection) and the process keeps answering; replies echo request ids
// on every connection; a second process cannot open the same data directory; SIGTERM stops
// the process cleanly with its data kept.
import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { databaseEndpoint } from '../cluster/cluster-file.js';
import { Connection, type Endpoint } from '../protocol/connection.js';
import { nodeCredentials } from '../protocol/credentials.js';
import { MESSAGE_BYTES_MAX } from '../protocol/schemas.js';
import { AUTH_TIMEOUT_MS } from '../protocol/server.js';
import { readSecret } from '../cluster/secret.js';
import { TEST_FROM } from './helpers/members.js';
import { RawClient } from './helpers/raw-client.js';
import { capturedOutput, killProcess, spawnOccdb, waitForExit, waitForPing, writeTestCluster } from './helpers/processes.js';

const STARTUP_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 10_000;

const temporaryRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-server-'));
const children = new Set<ChildProcess>();
let shared: { file: string; endpoint: Endpoint; child: ChildProcess; secret: Buffer };

function startDatabase(clusterFile: string): ChildProcess {
  const child = spawnOccdb(['database', 'DATABASE1', '--cluster', clusterFile]);
  children.add(child);
  return child;
}

test.before(async () => {
  const { file, cluster } = await writeTestCluster(path.join(temporaryRoot, 'shared'), { middlewares: 1, databases: 1 });
  const endpoint = databaseEndpoint(cluster.databases[0]!);
  const child = startDatabase(file);
  await waitForPing(endpoint, STARTUP_TIMEOUT_MS, child);
  shared = { file, endpoint, child, secret: readSecret(file) };
});

test.after.always(async () => {
  for (const child of children) await killProcess(child, 'SIGKILL');
  fs.rmSync(temporaryRoot, { recursive: true, force: true });
});

async function ping(endpoint: Endpoint): Promise<unknown> {
  const connection = new Connection(endpoint);
  try {
    return await connection.request({ type: 'ping' }, REPLY_TIMEOUT_MS);
  } finally {
    connection.close();
  }
}

test('a forged db.apply-batch from a connection that has not logged in is refused, the connection closed, and nothing written', async (t) => {
  const client = await RawClient.connect(shared.endpoint);
  try {
    client.send(JSON.stringify({ id: 1, type: 'db.apply-batch', from: TEST_FROM, applies: [{ ts: [9, 1], writes: [{ key: 'forged_key', value: 666 }] }] }) + '\n');
    t.like(await client.next(), { id: 1, ok: false, error: { code: 'UNAUTHENTICATED' } });
    t.true(await client.waitClosed(), 'the server closed the connection');
  } finally {
    client.destroy();
  }
  const reader = await RawClient.loggedIn(shared.endpoint, shared.secret);
  try {
    reader.send(JSON.stringify({ id: 2, type: 'db.read', keys: ['forged_key'] }) + '\n');
    t.deepEqual(await reader.next(), { id: 2, ok: true, result: { entries: [{ version: [0, 0] }] } }, 'forged_key was never written');
  } finally {
    reader.destroy();
  }
});

test('a login with another cluster\'s secret is refused and the connection closed; so is a replayed login', async (t) => {
  const stranger = await RawClient.connect(shared.endpoint);
  try {
    await t.throwsAsync(stranger.logIn(nodeCredentials('MIDDLEWARE1', crypto.randomBytes(32))), { message: /proof refused: .*UNAUTHENTICATED/ });
    t.true(await stranger.waitClosed(), 'the server closed the connection');
  } finally {
    stranger.destroy();
  }
  // Record a good login's proof, then send it again on a new connection after a new hello.
  const recorder = await RawClient.connect(shared.endpoint);
  const sent: string[] = [];
  const record = recorder.send.bind(recorder);
  recorder.send = (text) => { sent.push(String(text)); record(text); };
  await recorder.logIn(nodeCredentials('MIDDLEWARE1', shared.secret));
  recorder.destroy();
  const replayer = await RawClient.connect(shared.endpoint);
  try {
    replayer.send(sent[0]!);
    t.like(await replayer.next(), { ok: true });
    replayer.send(sent[1]!);
    t.like(await replayer.next(), { ok: false, error: { code: 'UNAUTHENTICATED' } });
    t.true(await replayer.waitClosed(), 'the server closed the connection');
  } finally {
    replayer.destroy();
  }
});

test('a connection that never logs in is closed after the login time', async (t) => {
  const client = await RawClient.connect(shared.endpoint);
  try {
    const startedMs = Date.now();
    t.true(await client.waitClosed(), 'the server closed the connection');
    t.true(Date.now() - startedMs >= AUTH_TIMEOUT_MS - 500, `closed after ${Date.now() - startedMs} ms`);
  } finally {
    client.destroy();
  }
});

test('garbage, unknown types and schema failures each get an error reply, and the connection still works', async (t) => {
  const client = await RawClient.loggedIn(shared.endpoint, shared.secret);
  try {
    client.send('this is not JSON\n');
    t.like(await client.next(), { id: null, ok: false, error: { code: 'BAD_MESSAGE' } });
    client.send('[1, 2\n');
    t.like(await client.next(), { id: null, ok: false, error: { code: 'BAD_MESSAGE' } });
    client.send(JSON.stringify({ id: 5, type: 'db.drop' }) + '\n');
    t.like(await client.next(), { id: 5, ok: false, error: { code: 'UNKNOWN_MESSAGE' } });
    client.send(JSON.stringify({ id: 6 }) + '\n');
    t.like(await client.next(), { id: 6, ok: false, error: { code: 'UNKNOWN_MESSAGE' } });
    client.send(JSON.stringify({ id: 7, type: 'db.read', keys: ['9 is not a key'] }) + '\n');
    t.like(await client.next(), { id: 7, ok: false, error: { code: 'BAD_MESSAGE', message: 'db.read: not an entry name at keys.0' } });
    client.send(JSON.stringify({ id: 8, type: 'db.apply', from: TEST_FROM, ts: [-1, 1], writes: [] }) + '\n');
    t.like(await client.next(), { id: 8, ok: false, error: { code: 'BAD_MESSAGE' } });
    client.send(JSON.stringify({ id: 11, type: 'db.apply-batch', from: TEST_FROM, applies: [{ ts: [1, 1], writes: [{ key: 'fine', value: 1 }] }, { ts: [2, 1], writes: [{ value: 2 }] }] }) + '\n');
    t.like(await client.next(), { id: 11, ok: false, error: { code: 'BAD_MESSAGE', message: 'db.apply-batch: Invalid input: expected string, received undefined at applies.1.writes.0.key' } });
    client.send(JSON.stringify({ id: 9, type: 'db.scan', limit: 0 }) + '\n');
    t.like(await client.next(), { id: 9, ok: false, error: { code: 'BAD_MESSAGE' } });
    client.send(JSON.stringify({ id: 10, type: 'ping' }) + '\n');
    t.deepEqual(await client.next(), { id: 10, ok: true, result: {} });
  } finally {
    client.destroy();
  }
  t.deepEqual(await ping(shared.endpoint), {});
});

test('an oversized line gets an error and a closed connection, and the process still answers', async (t) => {
  const client = await RawClient.loggedIn(shared.endpoint, shared.secret);
  try {
    client.send(Buffer.alloc(MESSAGE_BYTES_MAX + 1024, 'x'));
    const reply = await client.next();
    if (reply !== null) t.like(reply, { id: null, ok: false, error: { code: 'MESSAGE_TOO_LARGE' } });
    t.true(await client.waitClosed(), 'the server closed the connection');
  } finally {
    client.destroy();
  }
  t.deepEqual(await ping(shared.endpoint), {});
});

test('requests on two connections are answered with their own ids and results', async (t) => {
  const first = await RawClient.loggedIn(shared.endpoint, shared.secret);
  const second = await RawClient.loggedIn(shared.endpoint, shared.secret);
  try {
    first.send(JSON.stringify({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [1, 1], writes: [{ key: 'two_first', value: 'one' }] }) + '\n');
    second.send(JSON.stringify({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [1, 2], writes: [{ key: 'two_second', value: 'two' }] }) + '\n');
    t.deepEqual(await first.next(), { id: 1, ok: true, result: { written: 1 } });
    t.deepEqual(await second.next(), { id: 1, ok: true, result: { written: 1 } });
    // Same id on both connections, different keys: each connection gets its own answer.
    first.send(JSON.stringify({ id: 42, type: 'db.read', keys: ['two_second'] }) + '\n');
    second.send(JSON.stringify({ id: 42, type: 'db.read', keys: ['two_first'] }) + '\n');
    first.send(JSON.stringify({ id: 43, type: 'db.versions', keys: ['two_first', 'two_missing'] }) + '\n');
    t.deepEqual(await first.next(), { id: 42, ok: true, result: { entries: [{ version: [1, 2], value: 'two' }] } });
    t.deepEqual(await second.next(), { id: 42, ok: true, result: { entries: [{ version: [1, 1], value: 'one' }] } });
    t.deepEqual(await first.next(), { id: 43, ok: true, result: { versions: [[1, 1], [0, 0]] } });
  } finally {
    first.destroy();
    second.destroy();
  }
});

test('a stored value may be any JSON value, and reads give it back unchanged', async (t) => {
  const connection = new Connection(shared.endpoint);
  const values = [0, -7, 'text', null, true, [1, 'two', [3]], { nested: { list: [1, null], flag: false } }];
  try {
    const writes = values.map((value, index) => ({ key: `json_value${index}`, value }));
    await connection.request({ type: 'db.apply', from: TEST_FROM, ts: [1, 1], writes }, REPLY_TIMEOUT_MS);
    const { entries } = await connection.request({ type: 'db.read', keys: writes.map((write) => write.key) }, REPLY_TIMEOUT_MS);
    t.deepEqual(entries, values.map((value) => ({ version: [1, 1], value })));
  } finally {
    connection.close();
  }
});

test('many pipelined requests on two connections all get their own results', async (t) => {
  const connections = [new Connection(shared.endpoint), new Connection(shared.endpoint)];
  const requestCount = 50;
  try {
    await Promise.all(Array.from({ length: requestCount }, (_, index) => {
      const connection = connections[index % 2]!;
      return connection.request({ type: 'db.apply', from: TEST_FROM, ts: [index + 1, 1], writes: [{ key: `pipelined${index}`, value: index }] }, REPLY_TIMEOUT_MS);
    }));
    const keys = Array.from({ length: requestCount }, (_, index) => `pipelined${index}`);
    const reads = await Promise.all(Array.from({ length: requestCount }, (_, index) =>
      connections[index % 2]!.request({ type: 'db.read', keys: [keys[index]!] }, REPLY_TIMEOUT_MS)));
    t.deepEqual(reads.map((read) => read.entries[0]), keys.map((_, index) => ({ version: [index + 1, 1], value: index })));
    const { versions } = await connections[0]!.request({ type: 'db.versions', keys }, REPLY_TIMEOUT_MS);
    t.deepEqual(versions, keys.map((_, index) => [index + 1, 1]));
  } finally {
    for (const connection of connections) connection.close();
  }
});

test('a read of a key an APPLY is writing sees that APPLY at once; a version re-read waits for it to be stored', async (t) => {
  const client = await RawClient.loggedIn(shared.endpoint, shared.secret);
  try {
    client.send(JSON.stringify({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [1, 1], writes: [{ key: 'waited_for', value: 'old' }] }) + '\n');
    t.deepEqual(await client.next(), { id: 1, ok: true, result: { written: 1 } });
    // One write: the APPLY is admitted first, then the reads of its key.
    client.send([
      JSON.stringify({ id: 2, type: 'db.apply', from: TEST_FROM, ts: [2, 1], writes: [{ key: 'waited_for', value: 'new' }] }),
      JSON.stringify({ id: 3, type: 'db.read', keys: ['other_key', 'waited_for'] }),
      JSON.stringify({ id: 4, type: 'db.versions', keys: ['waited_for'] }),
      JSON.stringify({ id: 5, type: 'db.versions', keys: ['other_key'] }),
    ].join('\n') + '\n');
    const replies = [await client.next(), await client.next(), await client.next(), await client.next()] as Array<{ id: number; result: unknown }>;
    const ids = replies.map((reply) => reply.id);
    t.true(ids.indexOf(3) < ids.indexOf(2), 'the read does not wait for the APPLY\'s sync');
    t.true(ids.indexOf(5) < ids.indexOf(2), 'a re-read of another key does not wait');
    t.true(ids.indexOf(4) > ids.indexOf(2), 'a re-read of the key waits until the APPLY is stored');
    t.deepEqual(replies.find((reply) => reply.id === 3)!.result, { entries: [{ version: [0, 0] }, { version: [2, 1], value: 'new' }] });
    t.deepEqual(replies.find((reply) => reply.id === 4)!.result, { versions: [[2, 1]] });

    // An older APPLY admitted after a newer one is stored changes nothing a read sees (Thomas rule).
    client.send([
      JSON.stringify({ id: 6, type: 'db.apply', from: TEST_FROM, ts: [1, 2], writes: [{ key: 'waited_for', value: 'older' }] }),
      JSON.stringify({ id: 7, type: 'db.read', keys: ['waited_for'] }),
    ].join('\n') + '\n');
    const more = [await client.next(), await client.next()] as Array<{ id: number; result: unknown }>;
    t.deepEqual(more.find((reply) => reply.id === 7)!.result, { entries: [{ version: [2, 1], value: 'new' }] });
  } finally {
    client.destroy();
  }
});

test('a read that needs at least a version waits for the APPLY that brings it, or answers with what is there when its wait runs out', async (t) => {
  const client = await RawClient.loggedIn(shared.endpoint, shared.secret);
  try {
    client.send(JSON.stringify({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [1, 1], writes: [{ key: 'awaited', value: 'old' }] }) + '\n');
    t.deepEqual(await client.next(), { id: 1, ok: true, result: { written: 1 } });

    // The read arrives first and waits (up to 10 s) for version 5.1; the APPLY then brings it.
    client.send(JSON.stringify({ id: 2, type: 'db.read', keys: ['awaited'], atLeast: [['awaited', [5, 1]]], waitMs: 1000 }) + '\n');
    client.send(JSON.stringify({ id: 3, type: 'db.read', keys: ['awaited'] }) + '\n');
    t.deepEqual(await client.next(), { id: 3, ok: true, result: { entries: [{ version: [1, 1], value: 'old' }] } }, 'a read without a version to wait for is answered at once');
    client.send(JSON.stringify({ id: 4, type: 'db.apply', from: TEST_FROM, ts: [5, 1], writes: [{ key: 'awaited', value: 'new' }] }) + '\n');
    const replies = [await client.next(), await client.next()] as Array<{ id: number; result: unknown }>;
    const read = replies.find((reply) => reply.id === 2);
    t.deepEqual(read?.result, { entries: [{ version: [5, 1], value: 'new' }] });

    // A version that never comes (its writer aborted): after the wait, the stored version.
    const sentMs = Date.now();
    client.send(JSON.stringify({ id: 5, type: 'db.read', keys: ['awaited'], atLeast: [['awaited', [9, 2]]], waitMs: 50 }) + '\n');
    t.deepEqual(await client.next(), { id: 5, ok: true, result: { entries: [{ version: [5, 1], value: 'new' }] } });
    t.true(Date.now() - sentMs >= 45, 'it waited');

    client.send(JSON.stringify({ id: 6, type: 'db.read', keys: ['awaited'], atLeast: [['awaited', [1, 1]]], waitMs: 1000 }) + '\n');
    t.deepEqual(await client.next(), { id: 6, ok: true, result: { entries: [{ version: [5, 1], value: 'new' }] } }, 'a version already passed is no reason to wait');
    client.send(JSON.stringify({ id: 7, type: 'db.read', keys: ['awaited'], atLeast: [['awaited', [9, 2]]], waitMs: 60_000 }) + '\n');
    t.like(await client.next(), { id: 7, ok: false, error: { code: 'BAD_MESSAGE' } }, 'the wait is bounded');
  } finally {
    client.destroy();
  }
});
test('status names the database and its process', async (t) => {
  const connection = new Connection(shared.endpoint);
  try {
    const status = await connection.request({ type: 'status' }, REPLY_TIMEOUT_MS);
    t.like(status, { role: 'database', id: 1, pid: shared.child.pid, ports: { port: shared.endpoint.port } });
    t.true((status.requests ?? 0) >= 1);
  } finally {
    connection.close();
  }
});

test('a second process on the same data directory fails with a one-line message', async (t) => {
  const second = startDatabase(shared.file);
  const exit = await waitForExit(second, STARTUP_TIMEOUT_MS);
  t.deepEqual(exit, { code: 2, signal: null });
  const stderr = capturedOutput(second).stderr.trim();
  t.regex(stderr, /DATABASE1's data directory .* is in use/);
  t.is(stderr.split('\n').filter((line) => line.startsWith('occdb:')).length, 1);
  t.notRegex(stderr, /\n\s+at /, 'no stack trace');
  t.deepEqual(await ping(shared.endpoint), {}, 'the first process is unaffected');
});

test('SIGTERM stops the process with exit code 0, and its data is there on restart', async (t) => {
  const { file, cluster } = await writeTestCluster(path.join(temporaryRoot, 'sigterm'), { middlewares: 1, databases: 1 });
  const endpoint = databaseEndpoint(cluster.databases[0]!);
  const child = startDatabase(file);
  await waitForPing(endpoint, STARTUP_TIMEOUT_MS, child);
  const connection = new Connection(endpoint);
  try {
    await connection.request({ type: 'db.apply', from: TEST_FROM, ts: [3, 1], writes: [{ key: 'kept', value: 3 }] }, REPLY_TIMEOUT_MS);
  } finally {
    connection.close();
  }
  child.kill('SIGTERM');
  t.deepEqual(await waitForExit(child, STARTUP_TIMEOUT_MS), { code: 0, signal: null });
  const log = fs.readFileSync(path.join(cluster.databases[0]!.dir, 'database.log'), 'utf8');
  t.regex(log, /DATABASE1 listening on 127\.0\.0\.1:\d+/);
  t.regex(log, /DATABASE1 stopped/);

  const restarted = startDatabase(file);
  await waitForPing(endpoint, STARTUP_TIMEOUT_MS, restarted);
  const reader = new Connection(endpoint);
  try {
    t.deepEqual(await reader.request({ type: 'db.read', keys: ['kept'] }, REPLY_TIMEOUT_MS), { entries: [{ version: [3, 1], value: 3 }] });
  } finally {
    reader.close();
  }
  await killProcess(restarted, 'SIGTERM');
  t.is(restarted.exitCode, 0);
});
