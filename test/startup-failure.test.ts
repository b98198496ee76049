// When startup cannot bring the cluster up it says why, shows the failing process's log, and
// leaves no process behind; when the command line is wrong it starts nothing at all.
import test from 'ava';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Level } from 'level';
import { writeTestCluster } from './helpers/processes.js';
import { clusterDir, processesUsing, recordedPids, removeClusterDirs, runOccdb } from './helpers/startup-cluster.js';

test.after.always(removeClusterDirs);

test('a database that cannot start fails startup with its log lines, and the others are stopped', async (t) => {
  const dir = clusterDir('fail');
  // DATABASE2's LevelDB directory is held open by this test, so DATABASE2 exits at start
  // while DATABASE1 comes up: startup must stop DATABASE1 again.
  const holder = new Level(path.join(dir, 'database-2', 'data'));
  await holder.open();
  try {
    const result = await runOccdb(['startup', '1', 'localhost', '2', 'localhost', 'localhost', '--dir', dir]);
    t.is(result.code, 1);
    t.regex(result.stderr, /^DATABASE2 on localhost did not start: it exited$/m);
    t.regex(result.stderr, new RegExp(`^---- last \\d+ lines of ${escape(path.join(dir, 'database-2', 'stdout.log'))}$`, 'm'));
    t.regex(result.stderr, /data directory .* is in use/, "the process's own error is shown");
    t.regex(result.stderr, /^stopped DATABASE1 \(pid \d+\)$/m);
    t.notRegex(result.stderr, /MIDDLEWARE1/, 'no middleware was started');
    t.notRegex(result.stderr, /internal error|\n\s+at /, 'no stack trace');
    t.deepEqual(await processesUsing(dir), [], 'no process is left');
    t.deepEqual(recordedPids(dir), [], 'no pid is left recorded');
  } finally {
    await holder.close();
  }
});

test('--base-port with a port in use is refused before anything starts', async (t) => {
  const dir = clusterDir('port');
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
  try {
    const taken = (holder.address() as net.AddressInfo).port;
    const result = await runOccdb(['startup', '1', 'localhost', '1', 'localhost', '--dir', dir, '--base-port', String(taken)]);
    t.is(result.code, 2);
    t.is(result.stderr.trim(), `occdb: port ${taken} on 127.0.0.1 is in use; --base-port ${taken} needs 5 free ports (${taken}-${taken + 4})`);
    t.false(fs.existsSync(path.join(dir, 'cluster.json')));
    t.deepEqual(await processesUsing(dir), []);
  } finally {
    await new Promise<void>((resolve) => holder.close(() => resolve()));
  }
});

test('an unreachable remote host or a wrong count is a one-line error, and nothing is written', async (t) => {
  const dir = clusterDir('usage');
  // A remote host on loopback where no sshd listens: the ssh launcher is refused at once.
  const remote = await runOccdb(['startup', '1', 'localhost', '1', 'nobody@127.0.0.1:1', '--dir', dir]);
  t.is(remote.code, 3);
  t.is(remote.stderr, 'occdb: ssh to nobody@127.0.0.1:1: host unreachable: connection refused (is sshd running there, on that port?)\n');
  const count = await runOccdb(['startup', '3', 'localhost', 'localhost', '3', 'localhost', 'localhost', 'localhost', '--dir', dir]);
  t.is(count.code, 2);
  t.is(count.stderr, 'occdb: expected 3 middleware hosts after 3, got 2\n');
  t.false(fs.existsSync(dir));
});

test('verify names a database that does not answer and exits 3; status shows every process down and exits 1', async (t) => {
  // A cluster file whose processes were never started.
  const dir = clusterDir('unreachable');
  const { file } = await writeTestCluster(dir, { middlewares: 1, databases: 2 });
  const verify = await runOccdb(['verify', '--cluster', file]);
  t.is(verify.code, 3);
  t.regex(verify.stderr, /^occdb: cannot verify: .*DATABASE1.*DATABASE2.*\n$/);
  const status = await runOccdb(['status', '--cluster', file]);
  t.is(status.code, 1);
  t.regex(status.stdout, /^MIDDLEWARE1 .* down /m);
  t.regex(status.stdout, /^DATABASE2 .* down /m);
  t.regex(status.stderr, /^DATABASE1 is down: /m);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
