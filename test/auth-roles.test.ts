// Logins and roles against real processes: a user logs in to a middleware's client port with
// a password or a token; a wrong password is refused; each role may do what it says and no
// more (a readonly user cannot write, a readwrite user cannot QUIT or shut a middleware down),
// refused before anything runs; users cannot reach the peer or database ports, where only
// the cluster's own processes may log in; a forged peer message without a login is refused.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { databaseEndpoint, middlewareClientEndpoint, middlewarePeerEndpoint } from '../cluster/cluster-file.js';
import { readSecret } from '../cluster/secret.js';
import { userCredentials } from '../protocol/credentials.js';
import type { Output } from '../startup/output.js';
import { addUser } from '../startup/users.js';
import { TestCluster, printed } from './helpers/cluster.js';
import { RawClient } from './helpers/raw-client.js';
import { runOccdb } from './helpers/startup-cluster.js';

let cluster: TestCluster;
const tokens = new Map<string, string>();
const quiet: Output = { line: () => {}, problem: () => {} };

test.before(async () => {
  cluster = await TestCluster.start({ middlewares: 2, databases: 1, tcpOnly: true });
  for (const [name, role] of [['reader', 'readonly'], ['writer', 'readwrite'], ['boss', 'admin']] as const) {
    tokens.set(name, (await addUser(cluster.file, name, role, { generate: true }, quiet))!);
  }
  await addUser(cluster.file, 'alice', 'readwrite', { password: 'correct horse battery' }, quiet);
  const [setup] = await cluster.run(1, 'ASSIGN guarded 7\n');
  if (setup!.outcome !== 'committed') throw new Error(`setup did not commit: ${JSON.stringify(setup)}`);
});

test.after.always(async () => {
  await cluster?.stop();
});

const clientPort = (id = 1) => middlewareClientEndpoint(cluster.cluster.middlewares[id - 1]!);

async function loggedInAs(name: string, password = tokens.get(name)!): Promise<RawClient> {
  const client = await RawClient.connect(clientPort());
  await client.logIn(userCredentials(name, password));
  return client;
}

let nextId = 1;
/** Sends a txn.run of `lines` (one command each) and returns the reply. */
async function run(client: RawClient, lines: string[]): Promise<{ ok: boolean; result?: { outcome: string }; error?: { code: string; message: string } }> {
  const commands = lines.map((text, index) => {
    const [op, ...args] = text.split(' ');
    const line = index + 1;
    switch (op) {
      case 'PRINT': return { line, op, source: args[0] };
      case 'ASSIGN': return { line, op, target: args[0], source: Number(args[1]) };
      case 'QUIT': return { line, op };
      default: throw new Error(`no such op in this test: ${op}`);
    }
  });
  const id = nextId++;
  client.send(`${JSON.stringify({ id, type: 'txn.run', commands, end: 'commit' })}\n`);
  return (await client.next()) as { ok: boolean; result?: { outcome: string }; error?: { code: string; message: string } };
}

async function guardedValue(): Promise<string[]> {
  const [result] = await cluster.run(2, 'PRINT guarded\n');
  return printed(result!);
}

test('a readonly user reads, and its write is refused before anything runs', async (t) => {
  const client = await loggedInAs('reader');
  try {
    t.like(await run(client, ['PRINT guarded']), { ok: true, result: { outcome: 'committed' } });
    const refused = await run(client, ['PRINT guarded', 'ASSIGN guarded 1']);
    t.like(refused, { ok: false, error: { code: 'FORBIDDEN', message: 'line 2: ASSIGN writes, and this user is readonly; nothing was run' } });
  } finally {
    client.destroy();
  }
  t.deepEqual(await guardedValue(), ['7'], 'nothing was written');
});

test('a readwrite user writes, but QUIT and shutdown need the admin role', async (t) => {
  const client = await loggedInAs('writer');
  try {
    t.like(await run(client, ['ASSIGN written_by_writer 1']), { ok: true, result: { outcome: 'committed' } });
    t.like(await run(client, ['ASSIGN guarded 2', 'QUIT']), { ok: false, error: { code: 'FORBIDDEN', message: 'line 2: QUIT needs the admin role (this user is readwrite); nothing was run' } });
    client.send(`${JSON.stringify({ id: 99, type: 'shutdown' })}\n`);
    t.like(await client.next(), { id: 99, ok: false, error: { code: 'FORBIDDEN' } });
  } finally {
    client.destroy();
  }
  t.deepEqual(await guardedValue(), ['7'], 'nothing of the refused transaction was written');
  t.is((await cluster.status(1)).role, 'middleware', 'MIDDLEWARE1 still runs');
});

test('a password user logs in with its password; a wrong password or an unknown user is refused the same way', async (t) => {
  const alice = await loggedInAs('alice', 'correct horse battery');
  try {
    t.like(await run(alice, ['PRINT guarded']), { ok: true });
  } finally {
    alice.destroy();
  }
  for (const [name, password] of [['alice', 'correct horse batter'], ['mallory', 'anything at all']] as const) {
    const client = await RawClient.connect(clientPort());
    try {
      await t.throwsAsync(client.logIn(userCredentials(name, password)), { message: /proof refused: .*UNAUTHENTICATED.*wrong secret, password or token/ });
      t.true(await client.waitClosed(), 'the connection is closed');
    } finally {
      client.destroy();
    }
  }
});

test('an admin user writes: its role passes every check', async (t) => {
  const boss = await loggedInAs('boss');
  try {
    t.like(await run(boss, ['ASSIGN written_by_boss 1']), { ok: true, result: { outcome: 'committed' } });
  } finally {
    boss.destroy();
  }
});

test('users cannot log in to the peer or database ports: only the cluster\'s processes can', async (t) => {
  for (const endpoint of [middlewarePeerEndpoint(cluster.cluster.middlewares[0]!), databaseEndpoint(cluster.cluster.databases[0]!)]) {
    const client = await RawClient.connect(endpoint);
    try {
      await t.throwsAsync(client.logIn(userCredentials('boss', tokens.get('boss')!)), { message: /UNAUTHENTICATED/ });
    } finally {
      client.destroy();
    }
    const node = await RawClient.loggedIn(endpoint, readSecret(cluster.file));
    node.destroy();
  }
});

test('a forged peer.stop without a login is refused, and the cluster still commits', async (t) => {
  const peer = await RawClient.connect(middlewarePeerEndpoint(cluster.cluster.middlewares[0]!));
  try {
    peer.send(`${JSON.stringify({ id: 1, type: 'peer.stop', view: { epoch: 99, members: [{ id: 2, incarnation: '1.x' }], databases: { replicas: [1], joining: [] } } })}\n`);
    t.like(await peer.next(), { id: 1, ok: false, error: { code: 'UNAUTHENTICATED' } });
    t.true(await peer.waitClosed());
  } finally {
    peer.destroy();
  }
  const [result] = await cluster.run(1, 'ADD guarded_counter 0 1\n');
  t.is(result!.outcome, 'committed');
  t.deepEqual((await cluster.status(1)).members, [2], 'MIDDLEWARE1 still has MIDDLEWARE2 as its peer');
});

test('the command line logs in as a user from a credentials file or from OCCDB_USER and OCCDB_PASSWORD, and says why it is refused', async (t) => {
  const tokenFile = path.join(cluster.dir, 'reader.credentials');
  fs.writeFileSync(tokenFile, `reader:${tokens.get('reader')!}\n`, { mode: 0o600 });
  const read = await runOccdb(['client', '1', '-e', 'PRINT guarded', '--cluster', cluster.file, '--credentials', tokenFile]);
  t.is(read.code, 0, read.stderr);
  t.is(read.stdout, '7\n');
  const write = await runOccdb(['client', '1', '-e', 'ASSIGN guarded 3', '--cluster', cluster.file, '--credentials', tokenFile]);
  t.not(write.code, 0);
  t.regex(write.stdout + write.stderr, /ASSIGN writes, and this user is readonly; nothing was run/);

  const env = { ...process.env, OCCDB_USER: 'alice', OCCDB_PASSWORD: 'correct horse battery' };
  const alice = await runOccdb(['client', '1', '-e', 'PRINT guarded', '--cluster', cluster.file], env);
  t.is(alice.code, 0, alice.stderr);
  t.is(alice.stdout, '7\n');
  const wrong = await runOccdb(['client', '1', '-e', 'PRINT guarded', '--cluster', cluster.file, '--no-failover'], { ...env, OCCDB_PASSWORD: 'wrong horse battery' });
  t.not(wrong.code, 0);
  t.regex(wrong.stdout + wrong.stderr, /refused the login as user:alice: authentication failed/);
  fs.chmodSync(tokenFile, 0o644);
  const open = await runOccdb(['client', '1', '-e', 'PRINT guarded', '--cluster', cluster.file, '--credentials', tokenFile]);
  t.is(open.code, 2);
  t.regex(open.stderr, /reader\.credentials is readable by others \(mode 644\): run chmod 600/);
  t.deepEqual(await guardedValue(), ['7'], 'nothing was written');
});
