// Processes on one machine also listen on Unix domain sockets and use them: which endpoint a
// connection gets, the server's handling of a socket file left behind or something else in
// the way, the fall back to TCP, and a cluster whose middlewares reach databases and peers
// over the sockets (or over TCP only, when asked).
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { databaseEndpoint, databaseSockets, middlewarePeerEndpoint, middlewareSockets, onSameMachine, unixSocketPath, UNIX_SOCKET_PATH_BYTES_MAX } from '../cluster/cluster-file.js';
import { Connection } from '../protocol/connection.js';
import { PingRequest } from '../protocol/schemas.js';
import { NdjsonServer } from '../protocol/server.js';
import { TestCluster } from './helpers/cluster.js';
import { killProcess, waitForExit } from './helpers/processes.js';

const REPLY_TIMEOUT_MS = 10_000;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-unix-'));
const children = new Set<ChildProcess>();

test.after.always(async () => {
  for (const child of children) await killProcess(child, 'SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
});

/** A TCP port nothing listens on: a request that succeeds through it went over the Unix socket. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const quietLogger = () => {
  const warnings: string[] = [];
  return { warnings, warn: (message: string) => warnings.push(message), error: (message: string) => warnings.push(message) };
};

async function pingServer(socketPath: string | undefined, logger = quietLogger()): Promise<NdjsonServer> {
  return NdjsonServer.listen({
    host: '127.0.0.1', port: 0, schema: PingRequest, knownTypes: ['ping'], handle: () => ({}), logger, label: 'test server', socketPath,
  });
}

test('a member uses a peer\'s Unix socket only on its own machine; this machine uses it for loopback hosts', (t) => {
  t.true(onSameMachine('localhost', 'this-machine'));
  t.true(onSameMachine('127.0.0.1', 'this-machine'));
  t.false(onSameMachine('alpha', 'this-machine'));
  t.true(onSameMachine('ops@alpha:2222', { host: 'alpha' }));
  t.false(onSameMachine('beta', { host: 'alpha' }));
  t.true(onSameMachine('localhost', { host: '127.0.0.1' }));

  const database = { id: 1, host: 'beta', port: 9000, dir: '/d', socket: '/d/database.sock' };
  t.deepEqual(databaseEndpoint(database, { host: 'beta' }), { host: 'beta', port: 9000, socket: '/d/database.sock' });
  t.deepEqual(databaseEndpoint(database, { host: 'alpha' }), { host: 'beta', port: 9000 });
  t.deepEqual(databaseEndpoint(database), { host: 'beta', port: 9000 });
  const middleware = { id: 2, host: 'localhost', clientPort: 9001, peerPort: 9002, dir: '/m' };
  t.deepEqual(middlewarePeerEndpoint(middleware, { host: 'localhost' }), { host: '127.0.0.1', port: 9002 }, 'no socket recorded: TCP');
});

test('a socket path too long for the system is not used', (t) => {
  t.is(unixSocketPath('/tmp/x', 'database.sock'), '/tmp/x/database.sock');
  t.is(unixSocketPath(`/tmp/${'d'.repeat(UNIX_SOCKET_PATH_BYTES_MAX)}`, 'database.sock'), undefined);
  t.deepEqual(middlewareSockets('/tmp/m'), { clientSocket: '/tmp/m/client.sock', peerSocket: '/tmp/m/peer.sock' });
  t.deepEqual(databaseSockets(`/tmp/${'d'.repeat(UNIX_SOCKET_PATH_BYTES_MAX)}`), {}, 'too deep: TCP only');
});

test('a server answers on its Unix socket, and closing it removes the socket file', async (t) => {
  const socketPath = path.join(root, 'plain.sock');
  const server = await pingServer(socketPath);
  t.is(server.socketPath, socketPath);
  const connection = new Connection({ host: '127.0.0.1', port: await closedPort(), socket: socketPath });
  t.deepEqual(await connection.request({ type: 'ping' }, REPLY_TIMEOUT_MS), {});
  t.deepEqual(server.connections, { tcp: 0, unix: 1 });
  connection.close();
  await server.close();
  t.false(fs.existsSync(socketPath));
});

test('a socket file left by a killed process is replaced; anything else in the way is left alone and TCP still serves', async (t) => {
  // A process that listens and is killed leaves its socket file behind.
  const stalePath = path.join(root, 'stale.sock');
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stalePath)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  await killProcess(child, 'SIGKILL');
  await waitForExit(child, REPLY_TIMEOUT_MS);
  t.true(fs.lstatSync(stalePath).isSocket(), 'the killed process left its socket file');
  const server = await pingServer(stalePath);
  const overUnix = new Connection({ host: '127.0.0.1', port: await closedPort(), socket: stalePath });
  t.deepEqual(await overUnix.request({ type: 'ping' }, REPLY_TIMEOUT_MS), {});
  overUnix.close();
  await server.close();

  const filePath = path.join(root, 'not-a-socket');
  fs.writeFileSync(filePath, 'keep me');
  const logger = quietLogger();
  const tcpOnly = await pingServer(filePath, logger);
  t.is(tcpOnly.socketPath, null);
  t.is(fs.readFileSync(filePath, 'utf8'), 'keep me');
  t.regex(logger.warnings.join('\n'), /cannot listen on .*not-a-socket .*not a socket.*TCP only/);
  const overTcp = new Connection({ host: '127.0.0.1', port: tcpOnly.port, socket: filePath });
  t.deepEqual(await overTcp.request({ type: 'ping' }, REPLY_TIMEOUT_MS), {});
  t.deepEqual(tcpOnly.connections, { tcp: 1, unix: 0 });
  overTcp.close();
  await tcpOnly.close();
});

test('a connection whose socket is missing falls back to TCP; when both fail it says the node refused', async (t) => {
  const server = await pingServer(undefined);
  const missing = path.join(root, 'missing.sock');
  const connection = new Connection({ host: '127.0.0.1', port: server.port, socket: missing });
  t.deepEqual(await connection.request({ type: 'ping' }, REPLY_TIMEOUT_MS), {});
  connection.close();
  await server.close();
  const nowhere = new Connection({ host: '127.0.0.1', port: await closedPort(), socket: missing }, 'NOWHERE');
  const error = await t.throwsAsync(nowhere.request({ type: 'ping' }, REPLY_TIMEOUT_MS));
  t.regex(error!.message, /NOWHERE refused the connection/);
});

for (const tcpOnly of [false, true]) {
  test(`a 2+2 cluster ${tcpOnly ? 'started TCP only talks over TCP' : 'talks over Unix sockets between its processes'}`, async (t) => {
    const cluster = await TestCluster.start({ middlewares: 2, databases: 2, tcpOnly });
    try {
      for (const middleware of [1, 2]) {
        const [result] = await cluster.run(middleware, `ASSIGN a${middleware} 1\nADD b a${middleware} 1\nPRINT b\n`);
        t.is(result!.outcome, 'committed');
      }
      for (const database of cluster.cluster.databases) {
        t.is(database.socket === undefined, tcpOnly);
        const connection = new Connection(databaseEndpoint(database), `DATABASE${database.id}`);
        const status = await connection.request({ type: 'status' }, REPLY_TIMEOUT_MS);
        connection.close();
        // Both middlewares wrote to every database (APPLY), so each has connected to it.
        if (tcpOnly) t.deepEqual(status.connections, { tcp: 3, unix: 0 });
        else t.deepEqual(status.connections, { tcp: 0, unix: 3 }, `DATABASE${database.id}: the two middlewares and this status request`);
      }
      const peerStatus = await cluster.status(2);
      t.is(tcpOnly ? peerStatus.connections!.unix : peerStatus.connections!.tcp, 0);
    } finally {
      await cluster.stop();
    }
  });
}
