// Client failover, against stand-in middlewares on 127.0.0.1 named in a cluster file: `occdb
// client` moves to the next middleware when its own refuses the connection or is leaving, and
// says so on stderr; a transaction that writes, sent and never answered, is not sent again
// (TXN_OUTCOME_UNKNOWN), while a read-only one is; --no-failover and a plain address do not
// move; when no middleware answers, CLUSTER_UNREACHABLE names them all. The rules on results
// (fenced, unknown, ROLLBACK, QUIT) are checked on the library's FailoverRoute directly.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { writeClusterFile, type ClusterFile } from '../cluster/cluster-file.js';
import { OccdbClient } from '../client/client.js';
import { FailoverRoute, type MiddlewareMove } from '../client/failover.js';
import { parseCommandFile, type Block } from '../client/parser.js';
import { resolveRoute } from '../client/targets.js';
import { OccdbError } from '../errors/catalogue.js';
import type { TxnResult } from '../protocol/schemas.js';
import { freePort } from './helpers/ports.js';
import { droppingMiddleware, standInMiddleware, type TxnRun } from './helpers/stand-in-middleware.js';
import { runCli as runCliIn, type CliRun } from './helpers/processes.js';


let tmpDir = '';
test.before(() => {
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-client-failover-'));
});
test.after.always(() => {
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
});

let fileCount = 0;
function writeFile(lines: string[]): string {
  const file = path.join(tmpDir, `commands-${++fileCount}.op`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** A cluster file whose MIDDLEWARE1, 2, … listen on `ports` of 127.0.0.1 (TCP only). */
function writeCluster(ports: number[]): string {
  const cluster: ClusterFile = {
    version: 1,
    strategy: 'occ',
    scheduling: 'batch',
    createdAt: new Date().toISOString(),
    middlewares: ports.map((port, index) => ({ id: index + 1, host: '127.0.0.1', clientPort: port, peerPort: port, dir: path.join(tmpDir, `middleware${index + 1}`) })),
    databases: [{ id: 1, host: '127.0.0.1', port: 1, dir: path.join(tmpDir, 'database1') }],
  };
  const file = path.join(tmpDir, `cluster-${++fileCount}.json`);
  writeClusterFile(file, cluster);
  return file;
}

/** Runs `occdb <args>` in this file's temporary directory. */
function runCli(args: string[]): Promise<CliRun> {
  return runCliIn(args, tmpDir);
}

function committed(middlewareId: number, prints: string[] = [], request?: TxnRun): TxnResult {
  const lines = request?.commands.filter((command) => command.op === 'PRINT').map((command) => command.line) ?? [];
  return { outcome: 'committed', ts: [1, middlewareId], retries: 0, results: prints.map((value, index) => ({ line: lines[index] ?? 1, kind: 'print', value })), middlewareId };
}

const WRITE = ['ASSIGN A 10', 'ADD B A 10', 'PRINT A', 'PRINT B'];
const READ_ONLY = ['PRINT A', 'PRINT B'];

test('a middleware that refuses connections: the file runs on the next one, one stderr line says so, and later transactions stay there', async (t) => {
  const refusing = await freePort();
  const second = await standInMiddleware((request) => committed(2, ['10', '20'], request));
  const third = await standInMiddleware(() => committed(3));
  try {
    const cluster = writeCluster([refusing, second.server.port, third.server.port]);
    const file = writeFile(['BEGIN', ...WRITE, 'COMMIT', 'BEGIN', ...WRITE, 'COMMIT']);
    const run = await runCli(['client', '--cluster', cluster, 'MIDDLEWARE1', file]);
    t.is(run.exitCode, 0, run.stderr);
    t.is(run.stdout, '10\n20\n10\n20\n');
    t.is(run.stderr, 'occdb: moved from MIDDLEWARE1 (connection refused) to MIDDLEWARE2\n');
    t.is(second.requests.length, 2, 'both transactions ran on MIDDLEWARE2');
    t.is(third.requests.length, 0);
  } finally {
    await second.server.close();
    await third.server.close();
  }
});

test('a transaction that writes, sent and then dropped: TXN_OUTCOME_UNKNOWN, and it is not sent again', async (t) => {
  const dropping = await droppingMiddleware();
  const second = await standInMiddleware(() => committed(2));
  try {
    const cluster = writeCluster([dropping.server.port, second.server.port]);
    const file = writeFile(WRITE);
    const classic = await runCli(['client', '--cluster', cluster, '1', file]);
    t.is(classic.exitCode, 1, classic.stderr);
    t.regex(classic.stdout, /^ERROR in line 1: the transaction was sent to MIDDLEWARE1 at 127\.0\.0\.1:\d+ but no answer came \(.*lost\): it may or may not have committed, so it was not sent again; check with a read/);
    t.is(classic.stdout.trim().split('\n').length, 1, classic.stdout);
    t.false(classic.stderr.includes('moved'), classic.stderr);

    const json = await runCli(['client', '--json', '--cluster', cluster, '1', file]);
    t.is(json.exitCode, 1, json.stderr);
    const document = JSON.parse(json.stdout) as { transactions: TxnResult[]; moves: MiddlewareMove[] };
    t.is(document.transactions[0]!.outcome, 'failed');
    t.is(document.transactions[0]!.error?.code, 'TXN_OUTCOME_UNKNOWN');
    t.deepEqual(document.moves, []);

    t.is(dropping.requests.length, 2, 'each run sent it once');
    t.is(second.requests.length, 0, 'never sent to another middleware');
  } finally {
    await dropping.server.close();
    await second.server.close();
  }
});

test('a read-only transaction, sent and then dropped: sent again to the next middleware, which answers', async (t) => {
  const dropping = await droppingMiddleware();
  const second = await standInMiddleware((request) => committed(2, ['10', '20'], request));
  try {
    const cluster = writeCluster([dropping.server.port, second.server.port]);
    const run = await runCli(['client', '--cluster', cluster, 'MIDDLEWARE1', writeFile(READ_ONLY)]);
    t.is(run.exitCode, 0, run.stderr);
    t.is(run.stdout, '10\n20\n');
    t.is(run.stderr, 'occdb: moved from MIDDLEWARE1 (connection lost) to MIDDLEWARE2\n');
    t.is(dropping.requests.length, 1);
    t.deepEqual(second.requests.map((request) => request.commands), dropping.requests.map((request) => request.commands));
  } finally {
    await dropping.server.close();
    await second.server.close();
  }
});

test('--no-failover: a refused connection is exit 3 naming the middleware, and nothing moves', async (t) => {
  const refusing = await freePort();
  const second = await standInMiddleware(() => committed(2));
  try {
    const cluster = writeCluster([refusing, second.server.port]);
    const run = await runCli(['client', '--no-failover', '--cluster', cluster, 'MIDDLEWARE1', writeFile(WRITE)]);
    t.is(run.exitCode, 3);
    t.is(run.stdout, '');
    t.is(run.stderr.trim().split('\n').length, 1, run.stderr);
    t.true(run.stderr.includes(`MIDDLEWARE1 at 127.0.0.1:${refusing} refused the connection`), run.stderr);
    t.false(run.stderr.includes('moved'), run.stderr);
    t.is(second.requests.length, 0);
  } finally {
    await second.server.close();
  }
});

test('an address moves only with --failover, then to the cluster file\'s middlewares after the one listening there', async (t) => {
  const refusing = await freePort();
  const second = await standInMiddleware(() => committed(2));
  try {
    const cluster = writeCluster([refusing, second.server.port]);
    const file = writeFile(WRITE);
    const plain = await runCli(['client', '--cluster', cluster, `127.0.0.1:${refusing}`, file]);
    t.is(plain.exitCode, 3);
    t.is(second.requests.length, 0);

    const asked = await runCli(['client', '--failover', '--cluster', cluster, `127.0.0.1:${refusing}`, file]);
    t.is(asked.exitCode, 0, asked.stderr);
    t.is(asked.stderr, `occdb: moved from 127.0.0.1:${refusing} (connection refused) to MIDDLEWARE2\n`);
    t.is(second.requests.length, 1);
  } finally {
    await second.server.close();
  }
});

test('no middleware reachable: CLUSTER_UNREACHABLE, exit 3, naming every middleware tried', async (t) => {
  const ports = [await freePort(), await freePort(), await freePort()];
  const cluster = writeCluster(ports);
  const file = writeFile(WRITE);
  const run = await runCli(['client', '--cluster', cluster, 'MIDDLEWARE2', file]);
  t.is(run.exitCode, 3);
  t.is(run.stdout, '');
  t.is(run.stderr.trim().split('\n').length, 1, run.stderr);
  const tried = [2, 3, 1].map((id) => `MIDDLEWARE${id} at 127.0.0.1:${ports[id - 1]} (connection refused)`).join(', ');
  t.is(run.stderr, `occdb: no middleware could run the transaction at line 1: tried ${tried}\n`);

  const json = await runCli(['client', '--json', '--cluster', cluster, 'MIDDLEWARE2', file]);
  t.is(json.exitCode, 3);
  const document = JSON.parse(json.stdout) as { exitCode: number; error: { code: string; message: string } };
  t.is(document.exitCode, 3);
  t.is(document.error.code, 'CLUSTER_UNREACHABLE');
});

test('a middleware that answers MIDDLEWARE_LEAVING (error reply or failed result): the transaction moves to the next one', async (t) => {
  const leavingReply = await standInMiddleware(() => { throw new OccdbError('MIDDLEWARE_LEAVING', 'MIDDLEWARE1 is leaving'); });
  const leavingResult = await standInMiddleware(() => ({ outcome: 'failed', retries: 0, results: [], error: { code: 'MIDDLEWARE_LEAVING', message: 'leaving' }, middlewareId: 2 }));
  const third = await standInMiddleware((request) => committed(3, ['10', '20'], request));
  try {
    const cluster = writeCluster([leavingReply.server.port, leavingResult.server.port, third.server.port]);
    const run = await runCli(['client', '--json', '--cluster', cluster, 'MIDDLEWARE1', writeFile(WRITE)]);
    t.is(run.exitCode, 0, run.stderr);
    t.is(run.stderr, 'occdb: moved from MIDDLEWARE1 (middleware leaving) to MIDDLEWARE3; also tried MIDDLEWARE2 (middleware leaving)\n');
    const document = JSON.parse(run.stdout) as { transactions: TxnResult[]; moves: MiddlewareMove[] };
    t.is(document.transactions[0]!.outcome, 'committed');
    t.is(document.transactions[0]!.middlewareId, 3);
    t.deepEqual(document.moves, [{ from: 'MIDDLEWARE1', why: 'middleware leaving', to: 'MIDDLEWARE3', skipped: [{ name: 'MIDDLEWARE2', why: 'middleware leaving' }], line: 1 }]);
    t.deepEqual([leavingReply.requests.length, leavingResult.requests.length, third.requests.length], [1, 1, 1]);
  } finally {
    await leavingReply.server.close();
    await leavingResult.server.close();
    await third.server.close();
  }
});

// ---- the rules on results, on the library's route ----

/** A route over stand-ins answering `first` and `second`, with no back-off; the moves it reports. */
async function withRoute(
  answers: [(request: TxnRun) => TxnResult, (request: TxnRun) => TxnResult],
  body: (route: FailoverRoute, requests: [TxnRun[], TxnRun[]], moves: MiddlewareMove[]) => Promise<void>,
): Promise<void> {
  const first = await standInMiddleware(answers[0]);
  const second = await standInMiddleware(answers[1]);
  const moves: MiddlewareMove[] = [];
  const cluster = writeCluster([first.server.port, second.server.port]);
  const { targets, failover } = resolveRoute('MIDDLEWARE1', cluster);
  const route = new FailoverRoute(targets, { failover, backoffMs: 0, onMove: (move) => moves.push(move) });
  try {
    await body(route, [first.requests, second.requests], moves);
  } finally {
    route.close();
    await first.server.close();
    await second.server.close();
  }
}

function block(lines: string[]): Block {
  return parseCommandFile(lines.join('\n'), 'test.op')[0]!;
}

function failed(code: 'FENCED' | 'NODE_UNAVAILABLE' | 'TXN_OUTCOME_UNKNOWN', extra: Partial<TxnResult> = {}): TxnResult {
  return { outcome: 'failed', retries: 0, results: [], error: { code, message: code }, middlewareId: 1, ...extra };
}

test('FENCED or NODE_UNAVAILABLE before anything ran moves; after a line ran, or TXN_OUTCOME_UNKNOWN, it is the answer', async (t) => {
  for (const code of ['FENCED', 'NODE_UNAVAILABLE'] as const) {
    await withRoute([() => failed(code), () => committed(2)], async (route, requests, moves) => {
      t.is((await route.sendBlock(block(WRITE), 5_000)).outcome, 'committed', code);
      t.is(requests[1].length, 1);
      t.is(moves.length, 1);
      t.is(route.current.name, 'MIDDLEWARE2');
    });
  }
  const ranALine = failed('NODE_UNAVAILABLE', { results: [{ line: 3, kind: 'print', value: '10' }] });
  await withRoute([() => ranALine, () => committed(2)], async (route, requests) => {
    t.deepEqual(await route.sendBlock(block(WRITE), 5_000), ranALine);
    t.is(requests[1].length, 0);
  });
  await withRoute([() => failed('TXN_OUTCOME_UNKNOWN'), () => committed(2)], async (route, requests) => {
    t.is((await route.sendBlock(block(READ_ONLY), 5_000)).error?.code, 'TXN_OUTCOME_UNKNOWN');
    t.is(requests[1].length, 0);
  });
});

test('a ROLLBACK block that writes may be sent again after a lost answer; a QUIT block never moves', async (t) => {
  const dropping = await droppingMiddleware();
  const second = await standInMiddleware(() => ({ outcome: 'rolled_back', retries: 0, results: [], middlewareId: 2 }));
  const cluster = writeCluster([dropping.server.port, second.server.port]);
  const { targets } = resolveRoute('MIDDLEWARE1', cluster);
  const route = new FailoverRoute(targets, { failover: true, backoffMs: 0 });
  try {
    const rollback = parseCommandFile(['BEGIN', 'ASSIGN A 1', 'ROLLBACK'].join('\n'), 'rollback.op')[0]!;
    t.is((await route.sendBlock(rollback, 5_000)).outcome, 'rolled_back');
    t.is(second.requests.length, 1);

    const quitting = new FailoverRoute(targets, { failover: true, backoffMs: 0 });
    try {
      const error = await t.throwsAsync(quitting.sendBlock(block(['PRINT 1', 'QUIT']), 5_000));
      t.is((error as OccdbError).code, 'NODE_UNAVAILABLE');
      t.is(second.requests.length, 1, 'the QUIT was not sent to MIDDLEWARE2');
    } finally {
      quitting.close();
    }
  } finally {
    route.close();
    await dropping.server.close();
    await second.server.close();
  }
});

test('the library: OccdbClient.connect fails over by default, tells onMove, and keeps to the named middleware with failover: false', async (t) => {
  const refusing = await freePort();
  const second = await standInMiddleware(() => committed(2));
  const cluster = writeCluster([refusing, second.server.port]);
  const moves: MiddlewareMove[] = [];
  const client = OccdbClient.connect('MIDDLEWARE1', { clusterFile: cluster, backoffMs: 0, onMove: (move) => moves.push(move) });
  const fixed = OccdbClient.connect('MIDDLEWARE1', { clusterFile: cluster, failover: false });
  try {
    t.is((await client.run('ASSIGN A 1\n')).middlewareId, 2);
    t.is(client.target.name, 'MIDDLEWARE2');
    t.deepEqual(moves, [{ from: 'MIDDLEWARE1', why: 'connection refused', to: 'MIDDLEWARE2', skipped: [], line: 1 }]);
    const error = await t.throwsAsync(fixed.run('ASSIGN A 1\n'));
    t.is((error as OccdbError).code, 'NODE_UNAVAILABLE');
    t.is(second.requests.length, 1);
  } finally {
    client.close();
    fixed.close();
    await second.server.close();
  }
});
