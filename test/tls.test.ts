// TLS on the TCP ports of a real cluster (startup --tls, over TCP only): clients and processes
// work through it; the cluster file pins the certificate; a plaintext connection to a TLS
// port is closed without an answer and logged; a server that shows another certificate is
// refused by the client. (A cluster that spans hosts turns TLS on by itself: the ssh tests,
// whose hosts are network namespaces, run that way.)
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { clusterFilePath, databaseEndpoint, middlewareClientEndpoint, readClusterFile } from '../cluster/cluster-file.js';
import { Connection } from '../protocol/connection.js';
import { addressKey, registerTls } from '../protocol/credentials.js';
import { clusterDir, removeClusterDirs, runOccdb } from './helpers/startup-cluster.js';
import { RawClient } from './helpers/raw-client.js';

test.after.always(removeClusterDirs);

test('a cluster started with --tls commits through TLS; plaintext is refused; a certificate that is not the pinned one is refused', async (t) => {
  const dir = clusterDir('tls');
  const started = await runOccdb(['startup', '1', 'localhost', '1', 'localhost', '--dir', dir, '--tls', '--tcp-only']);
  t.is(started.code, 0, started.stderr);
  const file = clusterFilePath(dir);
  const cluster = readClusterFile(file);
  t.regex(cluster.tls?.fingerprint ?? '', /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, 'the cluster file pins the certificate');
  t.is((fs.statSync(path.join(dir, 'tls.key')).mode & 0o777), 0o600, 'the key is the owner\'s only');

  const commands = path.join(dir, 'tls.op');
  fs.writeFileSync(commands, 'ASSIGN over_tls 41\nADD over_tls over_tls 1\nPRINT over_tls\n');
  const client = await runOccdb(['client', '1', commands, '--dir', dir]);
  t.is(client.code, 0, client.stderr);
  t.regex(client.stdout, /42/);

  // A plaintext client that sends a request gets no answer, and the connection is closed.
  const database = databaseEndpoint(cluster.databases[0]!);
  const plain = await RawClient.connect(database);
  try {
    plain.send(`${JSON.stringify({ id: 1, type: 'ping' })}\n`);
    t.true(await plain.waitClosed(), 'closed');
  } finally {
    plain.destroy();
  }
  // The log is written a moment after: wait for the line, boundedly.
  const logFile = path.join(cluster.databases[0]!.dir, 'database.log');
  for (let attempt = 0; attempt < 50 && !/failed the TLS handshake/.test(fs.readFileSync(logFile, 'utf8')); attempt += 1) await new Promise((resolve) => setTimeout(resolve, 100));
  const log = fs.readFileSync(logFile, 'utf8');
  t.regex(log, /DATABASE1: a connection from 127\.0\.0\.1:\d+ failed the TLS handshake \([^)]*wrong version number\); closed/);
  t.regex(log, /TLS on every TCP port/);

  // The same port, pinned to another fingerprint: the client refuses the server.
  const middleware = middlewareClientEndpoint(cluster.middlewares[0]!);
  registerTls([addressKey(middleware)], 'AB:'.repeat(31) + 'AB');
  const connection = new Connection(middleware, 'MIDDLEWARE1');
  try {
    await t.throwsAsync(connection.request({ type: 'ping' }, 5_000), { code: 'UNAUTHENTICATED', message: /MIDDLEWARE1 showed a TLS certificate that is not the cluster's/ } as never);
  } finally {
    connection.close();
  }
  const stopped = await runOccdb(['stop', '--dir', dir]);
  t.is(stopped.code, 0, stopped.stderr);
});
