// A real local cluster started with startup/STARTUP and `occdb startup`: status, verify,
// stop and start do what they say. Every test starts its own cluster in a fresh directory,
// and every process of it is killed afterwards, whatever the test's outcome.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { databaseEndpoint, readClusterFile } from '../cluster/cluster-file.js';
import { Connection } from '../protocol/connection.js';
import { memberNow } from './helpers/members.js';
import {
  clusterDir,
  isRunning,
  processesUsing,
  recordedPids,
  removeClusterDirs,
  runOccdb,
  runStartupScript,
} from './helpers/startup-cluster.js';

test.after.always(removeClusterDirs);

async function startup(dir: string, ...extra: string[]): Promise<void> {
  const result = await runOccdb(['startup', '2', 'localhost', 'localhost', '2', 'localhost', '127.0.0.1', '--dir', dir, '--log-level', 'debug', ...extra]);
  if (result.code !== 0) throw new Error(`startup failed (${result.code}): ${result.stderr}`);
}

/** The scheduling policies the threads of `pid` run under (Linux: field 41 of /proc/<pid>/task/<tid>/stat). */
function schedulingPolicies(pid: number): string[] {
  const names: Record<string, string> = { 0: 'SCHED_OTHER', 3: 'SCHED_BATCH', 5: 'SCHED_IDLE' };
  const policies = fs.readdirSync(`/proc/${pid}/task`).map((tid) => {
    const fields = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const policy = fields[41 - 3]!;
    return names[policy] ?? `policy ${policy}`;
  });
  return [...new Set(policies)];
}

const StatusJson = z.array(z.object({ name: z.string(), pid: z.number().nullable(), state: z.enum(['up', 'down']) }));

async function statusOf(dir: string): Promise<{ code: number | null; states: Record<string, { state: string; pid: number | null }> }> {
  const result = await runOccdb(['status', '--dir', dir, '--json']);
  const states = Object.fromEntries(StatusJson.parse(JSON.parse(result.stdout)).map((row) => [row.name, { state: row.state, pid: row.pid }]));
  return { code: result.code, states };
}

test('STARTUP 2+2: status shows every process up with its pid (every thread under SCHED_BATCH), verify is clean, stop leaves nothing running', async (t) => {
  const dir = clusterDir('startup');
  const started = await runStartupScript(['2', 'localhost', 'localhost', '2', 'localhost', 'localhost', '--dir', dir]);
  t.is(started.code, 0, started.stderr);
  for (const name of ['MIDDLEWARE1', 'MIDDLEWARE2', 'DATABASE1', 'DATABASE2']) t.regex(started.stdout, new RegExp(`^${name} `, 'm'));

  const cluster = readClusterFile(path.join(dir, 'cluster.json'));
  const pids = recordedPids(dir);
  t.is(pids.length, 4, 'every process has its pid recorded');
  for (const entry of [...cluster.middlewares, ...cluster.databases]) t.true(path.isAbsolute(entry.dir), entry.dir);
  // Processes on this machine also listen on Unix sockets in their directories.
  const sockets = [...cluster.middlewares.flatMap((m) => [m.clientSocket, m.peerSocket]), ...cluster.databases.map((d) => d.socket)];
  for (const socket of sockets) t.true(socket !== undefined && fs.lstatSync(socket).isSocket(), `${socket} is a socket`);

  const status = await statusOf(dir);
  t.is(status.code, 0);
  t.deepEqual(Object.keys(status.states), ['MIDDLEWARE1', 'MIDDLEWARE2', 'DATABASE1', 'DATABASE2']);
  for (const [name, { state, pid }] of Object.entries(status.states)) {
    t.is(state, 'up', name);
    t.true(pid !== null && pids.includes(pid), `${name} answers with a recorded pid`);
  }
  // Every thread of every process runs under the default scheduling policy, batch.
  for (const pid of pids) t.deepEqual(schedulingPolicies(pid), ['SCHED_BATCH'], `pid ${pid}`);
  const table = await runOccdb(['status', '--dir', dir]);
  t.regex(table.stdout, /^NAME +HOST +PID +PORTS +STATE +UPTIME +CLOCK +COMMITS +ROLLED-BACK +ABORTS +IN-FLIGHT +MEMBERS +STRATEGY$/m);

  const verify = await runOccdb(['verify', '--dir', dir]);
  t.is(verify.code, 0, verify.stderr);
  t.is(verify.stdout.trim(), 'verify: 0 keys, 2 replicas agree');

  const stop = await runOccdb(['stop', '--dir', dir]);
  t.is(stop.code, 0, stop.stderr);
  t.regex(stop.stdout, /stopped MIDDLEWARE1 \(pid \d+\)\nstopped MIDDLEWARE2 \(pid \d+\)\n/, 'middlewares first');
  for (const pid of pids) t.false(await isRunning(pid), `pid ${pid} is gone`);
  t.deepEqual(recordedPids(dir), [], 'the pids are cleared');
  for (const socket of sockets) t.false(fs.existsSync(socket!), `${socket} is removed`);
  t.true(fs.existsSync(path.join(dir, 'cluster.json')), 'the cluster file stays, for occdb start');

  const again = await runOccdb(['stop', '--dir', dir]);
  t.is(again.code, 0);
  t.is(again.stdout.trim(), 'nothing running');
  const down = await runOccdb(['status', '--dir', dir]);
  t.is(down.code, 1, 'status fails when processes are down');
});

test('startup refuses a directory whose cluster is running, and starts nothing', async (t) => {
  const dir = clusterDir('refuse');
  await startup(dir);
  const before = recordedPids(dir);
  const second = await runOccdb(['startup', '1', 'localhost', '1', 'localhost', '--dir', dir]);
  t.is(second.code, 2);
  t.is(second.stderr.trim(), `occdb: a cluster is already running in ${dir}; run occdb stop --dir ${dir} first`);
  t.deepEqual(recordedPids(dir), before, 'the running cluster is untouched');
  t.is((await processesUsing(dir)).length, 4, 'no process was added');
});

test('a stopped MIDDLEWARE2 is down in status, and occdb start MIDDLEWARE2 brings it back', async (t) => {
  const dir = clusterDir('restart');
  await startup(dir);
  const stop = await runOccdb(['stop', 'MIDDLEWARE2', '--dir', dir]);
  t.is(stop.code, 0, stop.stderr);
  t.regex(stop.stdout, /^stopped MIDDLEWARE2 \(pid \d+\)$/m);

  const stopped = await statusOf(dir);
  t.is(stopped.code, 1);
  t.is(stopped.states.MIDDLEWARE2?.state, 'down');
  t.is(stopped.states.MIDDLEWARE1?.state, 'up');

  const start = await runOccdb(['start', 'MIDDLEWARE2', '--dir', dir]);
  t.is(start.code, 0, start.stderr);
  t.regex(start.stdout, /^started MIDDLEWARE2 \(pid \d+\) on localhost/m);
  const restarted = await statusOf(dir);
  t.is(restarted.code, 0);
  t.is(restarted.states.MIDDLEWARE2?.state, 'up');
  const recorded = readClusterFile(path.join(dir, 'cluster.json')).middlewares.find((m) => m.id === 2)?.pid;
  t.is(restarted.states.MIDDLEWARE2?.pid, recorded ?? -1, 'the new pid is recorded');

  const twice = await runOccdb(['start', 'MIDDLEWARE2', '--dir', dir]);
  t.is(twice.code, 2);
  t.regex(twice.stderr, /^occdb: MIDDLEWARE2 is already running \(pid \d+\)$/m);
  const unknown = await runOccdb(['start', 'MIDDLEWARE9', '--dir', dir]);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /the cluster has no process named 'MIDDLEWARE9' \(it has MIDDLEWARE1, MIDDLEWARE2, DATABASE1, DATABASE2\)/);
});

test('verify names the key on which one replica differs, with each replica version and value (a cluster under --scheduling normal)', async (t) => {
  const dir = clusterDir('verify');
  await startup(dir, '--tcp-only', '--scheduling', 'normal');
  const cluster = readClusterFile(path.join(dir, 'cluster.json'));
  t.is(cluster.scheduling, 'normal');
  for (const pid of recordedPids(dir)) t.deepEqual(schedulingPolicies(pid), ['SCHED_OTHER'], `--scheduling normal: pid ${pid}`);
  t.true(cluster.databases.every((d) => d.socket === undefined) && cluster.middlewares.every((m) => m.clientSocket === undefined && m.peerSocket === undefined), '--tcp-only: no Unix sockets');
  const [first, second] = cluster.databases.map((entry) => new Connection(databaseEndpoint(entry)));
  try {
    // The same write on both replicas: they agree. A write on one only, and a delete on one
    // only: they differ on exactly those two keys.
    const from = await memberNow(first!);
    const same = { type: 'db.apply' as const, from, ts: [5, 1] as [number, number], writes: [{ key: 'same', value: 1 }] };
    await first!.request(same);
    await second!.request(same);
    t.is((await runOccdb(['verify', '--dir', dir])).stdout.trim(), 'verify: 1 key, 2 replicas agree');

    await second!.request({ type: 'db.apply', from, ts: [6, 2], writes: [{ key: 'onlyOnTwo', value: 42 }, { key: 'same' }] });
  } finally {
    first!.close();
    second!.close();
  }
  const verify = await runOccdb(['verify', '--dir', dir]);
  t.is(verify.code, 1);
  t.is(verify.stdout, [
    'verify: 2 keys of 2 differ between the 2 replicas',
    '  onlyOnTwo: DATABASE1 missing; DATABASE2 version 6.2 value 42',
    '  same: DATABASE1 version 5.1 value 1; DATABASE2 version 6.2 deleted',
    '',
  ].join('\n'));

  const json = JSON.parse((await runOccdb(['verify', '--dir', dir, '--json'])).stdout) as { agree: boolean; differenceCount: number; differences: { key: string }[] };
  t.false(json.agree);
  t.deepEqual(json.differences.map((difference) => difference.key), ['onlyOnTwo', 'same']);
});

test('after stop, every process starts again with occdb start, on its recorded ports and with its data', async (t) => {
  const dir = clusterDir('reuse');
  await startup(dir);
  const recorded = readClusterFile(path.join(dir, 'cluster.json'));
  for (const entry of recorded.databases) {
    const connection = new Connection(databaseEndpoint(entry));
    try {
      await connection.request({ type: 'db.apply', from: await memberNow(connection), ts: [1, 1], writes: [{ key: 'kept', value: 7 }] });
    } finally {
      connection.close();
    }
  }
  t.is((await runOccdb(['stop', '--dir', dir])).code, 0);
  // Databases first, as startup does, then the middlewares.
  for (const name of ['DATABASE1', 'DATABASE2', 'MIDDLEWARE1', 'MIDDLEWARE2']) {
    const start = await runOccdb(['start', name, '--dir', dir]);
    t.is(start.code, 0, start.stderr);
  }
  const again = readClusterFile(path.join(dir, 'cluster.json'));
  t.deepEqual(again.databases.map((d) => d.port), recorded.databases.map((d) => d.port));
  t.deepEqual(again.middlewares.map((m) => [m.clientPort, m.peerPort]), recorded.middlewares.map((m) => [m.clientPort, m.peerPort]));
  t.is((await runOccdb(['status', '--dir', dir])).code, 0);
  t.is((await runOccdb(['verify', '--dir', dir])).stdout.trim(), 'verify: 1 key, 2 replicas agree');
});
