// startup across machines over ssh, against real sshds: three hosts (network namespaces,
// each its own address, or loopback addresses where namespaces cannot be made, which the log
// says), the classic STARTUP 2 hostA hostB 2 hostB hostC, clients on two hosts, verify,
// stop and start over ssh; then every error a user can meet gets its one-line message and
// leaves nothing running. The "remote" occdb is this repository (the hosts share its files).
import test from 'ava';
import { type ChildProcess, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Level } from 'level';
import { z } from 'zod';
import { databaseEndpoint, readClusterFile } from '../cluster/cluster-file.js';
import { killProcess, OCCDB_BIN } from './helpers/processes.js';
import { freePort } from './helpers/ports.js';
import { RawClient } from './helpers/raw-client.js';
import { isRunning, killClusterProcesses, processesUsing, recordedPids, STARTUP_SCRIPT } from './helpers/startup-cluster.js';
import { type LabHost, type SshLab, createSshLab, namespaceOf, runOccdbWith, runStartupScriptWith, startSshAgent } from './helpers/ssh-lab.js';

// The tests share one set of sshds and each starts processes on them: one at a time.
let lab: SshLab;
let agent: { socket: string; agent: ChildProcess } | undefined;
const clusterDirs: string[] = [];
const helpers: ChildProcess[] = [];

const REMOTE_OCCDB = `${process.execPath} ${OCCDB_BIN}`;

test.before(async () => {
  lab = await createSshLab(3);
  agent = await startSshAgent(lab.dir, lab.clientKey);
});

test.after.always(async () => {
  for (const dir of clusterDirs) await killClusterProcesses(dir);
  for (const dir of clusterDirs) for (const pid of await processesUsing(dir)) await killProcess(pid, 'SIGKILL');
  for (const child of helpers) await killProcess(child, 'SIGKILL');
  if (agent) await killProcess(agent.agent, 'SIGKILL');
  await lab?.close();
});

/** A cluster's local directory and its directory on the hosts (the hosts share this file system). */
function clusterPlaces(name: string): { local: string; remote: string } {
  const base = path.join(lab.dir, name);
  clusterDirs.push(path.join(base, 'local'), path.join(base, 'remote'));
  return { local: path.join(base, 'local'), remote: path.join(base, 'remote') };
}

/** The environment of a command: no ~/.ssh of the real user; the test's agent only when asked. */
function environment(withAgent: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: lab.home };
  delete env.SSH_AUTH_SOCK;
  if (withAgent && agent) env.SSH_AUTH_SOCK = agent.socket;
  return env;
}

/** A known_hosts file with the lab's lines for `hosts`. */
function knownHostsFile(name: string, hosts: readonly LabHost[]): string {
  const file = path.join(lab.dir, `${name}_known_hosts`);
  fs.writeFileSync(file, hosts.map((host) => `${lab.knownHostsLine(host)}\n`).join(''));
  return file;
}

function writeCommandFile(name: string, text: string): string {
  const file = path.join(lab.dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** Processes of the cluster still running, by the cluster file and by command line. */
async function leftovers(places: { local: string; remote: string }): Promise<number[]> {
  const pids = new Set([...recordedPids(places.local), ...(await processesUsing(places.remote)), ...(await processesUsing(places.local))]);
  const running: number[] = [];
  for (const pid of pids) if (await isRunning(pid)) running.push(pid);
  return running;
}

const StatusJson = z.array(z.object({ name: z.string(), host: z.string(), pid: z.number().nullable(), state: z.enum(['up', 'down']) }));

test.serial('STARTUP 2 hostA hostB 2 hostB hostC over ssh: clients on two hosts, verify, stop and start over ssh', async (t) => {
  t.log(lab.note);
  const [hostA, hostB, hostC] = lab.hosts as [LabHost, LabHost, LabHost];
  const places = clusterPlaces('classic');
  // First contact: the hosts are trusted on first use and written to this (not yet existing) file.
  const knownHosts = path.join(lab.dir, 'classic_known_hosts');
  const started = await runStartupScriptWith(
    STARTUP_SCRIPT,
    ['2', hostA.host, hostB.host, '2', hostB.host, hostC.host,
      '--dir', places.local, '--remote-dir', places.remote, '--remote-occdb', REMOTE_OCCDB, '--known-hosts', knownHosts, '--accept-new-hosts'],
    environment(true),
  );
  t.is(started.code, 0, started.stderr);
  t.is(started.stderr, '');
  t.regex(started.stdout, new RegExp(`^MIDDLEWARE1 +${escape(hostA.host)} +\\d+ `, 'm'));
  t.regex(started.stdout, new RegExp(`^DATABASE2 +${escape(hostC.host)} +\\d+ `, 'm'));

  // The hosts' keys were added to known_hosts, one line each.
  const knownLines = fs.readFileSync(knownHosts, 'utf8').trim().split('\n').sort();
  t.deepEqual(knownLines, lab.hosts.map((host) => lab.knownHostsLine(host)).sort());

  // The cluster file records every process's host, pid, remote directory and the copy of the file there.
  const cluster = readClusterFile(path.join(places.local, 'cluster.json'));
  t.deepEqual(cluster.middlewares.map((entry) => entry.host), [hostA.host, hostB.host]);
  t.deepEqual(cluster.databases.map((entry) => entry.host), [hostB.host, hostC.host]);
  t.like(cluster.ssh, { remoteOccdb: REMOTE_OCCDB, knownHostsFile: knownHosts });
  const entries = [...cluster.middlewares, ...cluster.databases];
  for (const entry of entries) {
    t.true(entry.dir.startsWith(places.remote + '/'), entry.dir);
    t.is(entry.clusterFile, path.join(places.remote, 'cluster.json'));
    t.true(entry.pid !== undefined && (await isRunning(entry.pid)), `${entry.dir} runs, detached from the ssh session that started it`);
  }
  t.deepEqual(readClusterFile(path.join(places.remote, 'cluster.json')).middlewares.map((entry) => entry.clientPort), cluster.middlewares.map((entry) => entry.clientPort), 'the hosts read the same cluster file');
  // The cluster spans hosts: TLS is on by itself, and the secret and the TLS key reached the
  // hosts readable by their owner only; a plaintext connection to a TLS port is closed unanswered.
  // (Without network namespaces the lab's hosts are loopback addresses: one machine, no TLS by default.)
  t.is(cluster.tls !== undefined, lab.mode === 'namespaces', 'TLS is on when the hosts are other machines');
  for (const name of ['cluster.secret', 'tls.key']) t.is(fs.statSync(path.join(places.remote, name)).mode & 0o777, 0o600, name);
  if (cluster.tls !== undefined) {
    const plain = await RawClient.connect(databaseEndpoint(cluster.databases[1]!));
    try {
      plain.send(`${JSON.stringify({ id: 1, type: 'ping' })}\n`);
      t.true(await plain.waitClosed(), 'a plaintext connection to DATABASE2 is closed');
    } finally {
      plain.destroy();
    }
  }
  // MIDDLEWARE2 and DATABASE1 share host B: their ports differ.
  const portsOnB = [cluster.middlewares[1]!.clientPort, cluster.middlewares[1]!.peerPort, cluster.databases[0]!.port];
  t.is(new Set(portsOnB).size, 3);
  if (lab.mode === 'namespaces') {
    // Each process runs on its own host: in that host's network namespace.
    const placed = [[cluster.middlewares[0]!, hostA], [cluster.middlewares[1]!, hostB], [cluster.databases[0]!, hostB], [cluster.databases[1]!, hostC]] as const;
    for (const [entry, host] of placed) t.is(await namespaceOf(entry.pid!), host.namespace ?? '', `pid ${entry.pid} on ${host.host}`);
  }

  const status = await runOccdbWith(['status', '--dir', places.local, '--json'], environment(false));
  t.is(status.code, 0, status.stderr);
  for (const row of StatusJson.parse(JSON.parse(status.stdout))) t.is(row.state, 'up', row.name);

  // Clients on two hosts: the second reads what the first wrote, through another middleware on another host.
  const write = await runOccdbWith(['client', 'MIDDLEWARE1', writeCommandFile('write.op', 'ASSIGN a 40\nASSIGN b 2\nPRINT a\n'), '--dir', places.local], environment(false));
  t.is(write.code, 0, write.stderr);
  t.is(write.stdout, '40\n');
  const read = await runOccdbWith(['client', 'MIDDLEWARE2', writeCommandFile('read.op', 'ADD c a b\nPRINT c\n'), '--dir', places.local], environment(false));
  t.is(read.code, 0, read.stderr);
  t.is(read.stdout, '42\n');
  const verify = await runOccdbWith(['verify', '--dir', places.local], environment(false));
  t.is(verify.code, 0, verify.stderr);
  t.is(verify.stdout.trim(), 'verify: 3 keys, 2 replicas agree');

  // Stop and start one process over ssh, now with --identity instead of the agent.
  const middleware2Pid = cluster.middlewares[1]!.pid!;
  const stopOne = await runOccdbWith(['stop', 'MIDDLEWARE2', '--dir', places.local, '--identity', lab.clientKey], environment(false));
  t.is(stopOne.code, 0, stopOne.stderr);
  t.is(stopOne.stdout, `stopped MIDDLEWARE2 (pid ${middleware2Pid}) on ${hostB.host}\n`);
  t.false(await isRunning(middleware2Pid));
  const startOne = await runOccdbWith(['start', 'MIDDLEWARE2', '--dir', places.local, '--identity', lab.clientKey], environment(false));
  t.is(startOne.code, 0, startOne.stderr);
  t.regex(startOne.stdout, new RegExp(`^started MIDDLEWARE2 \\(pid \\d+\\) on ${escape(hostB.host)}, ports `));
  const again = await runOccdbWith(['client', 'MIDDLEWARE2', writeCommandFile('again.op', 'PRINT c\n'), '--dir', places.local], environment(false));
  t.is(again.stdout, '42\n', again.stderr);

  // stop reaches every host with what the cluster file recorded (known_hosts) and the agent.
  const pids = recordedPids(places.local);
  t.is(pids.length, 4);
  const stopped = await runOccdbWith(['stop', '--dir', places.local], environment(true));
  t.is(stopped.code, 0, stopped.stderr);
  for (const name of ['MIDDLEWARE1', 'MIDDLEWARE2', 'DATABASE1', 'DATABASE2']) t.regex(stopped.stdout, new RegExp(`^stopped ${name} \\(pid \\d+\\) on `, 'm'));
  for (const pid of pids) t.false(await isRunning(pid), `pid ${pid} is gone`);
  t.deepEqual(recordedPids(places.local), [], 'no pid is left recorded');
  t.deepEqual(await leftovers(places), []);
});

test.serial('an unreachable host is a one-line error, and nothing is written or started', async (t) => {
  const places = clusterPlaces('unreachable');
  const result = await runOccdbWith(
    ['startup', '1', lab.hosts[0]!.host, '1', lab.unreachableHost, '--dir', places.local, '--remote-dir', places.remote, '--remote-occdb', REMOTE_OCCDB, '--accept-new-hosts', '--known-hosts', path.join(lab.dir, 'unreachable_known_hosts')],
    environment(true),
  );
  t.log(result.stderr.trim().split('\n')[0]!);
  t.is(result.code, 3);
  t.regex(result.stderr, new RegExp(`^occdb: ssh to [^ ]*${escape(lab.unreachableHost.replace(/^.*@/, ''))}: host unreachable[^\\n]*\\n$`));
  t.false(fs.existsSync(places.local));
  t.deepEqual(await leftovers(places), []);
});

test.serial('a key the host does not accept is refused with a one-line error', async (t) => {
  const places = clusterPlaces('auth');
  const result = await runOccdbWith(
    ['startup', '1', lab.hosts[0]!.host, '1', lab.hosts[1]!.host, '--dir', places.local, '--remote-dir', places.remote, '--remote-occdb', REMOTE_OCCDB,
      '--identity', lab.wrongKey, '--known-hosts', knownHostsFile('auth', lab.hosts)],
    environment(false),
  );
  t.log(result.stderr.trim().split('\n')[0]!);
  t.is(result.code, 2);
  t.regex(result.stderr, new RegExp(`^occdb: ssh to [^ ]+: authentication refused: the host accepted none of ${escape(lab.wrongKey)}; [^\\n]*--identity\\n$`));
  t.false(fs.existsSync(places.local));
});

test.serial('an unknown host key is refused without --accept-new-hosts, and known_hosts is left alone', async (t) => {
  const places = clusterPlaces('unknown-key');
  const knownHosts = path.join(lab.dir, 'empty_known_hosts');
  fs.writeFileSync(knownHosts, '');
  const result = await runOccdbWith(
    ['startup', '1', lab.hosts[0]!.host, '1', lab.hosts[0]!.host, '--dir', places.local, '--remote-dir', places.remote, '--remote-occdb', REMOTE_OCCDB, '--known-hosts', knownHosts],
    environment(true),
  );
  t.log(result.stderr.trim().split('\n')[0]!);
  t.is(result.code, 2);
  t.regex(result.stderr, /^occdb: ssh to [^ ]+: its host key \(ssh-ed25519 SHA256:[^ ]+\) is not in [^ ]+empty_known_hosts; .*--accept-new-hosts to trust it on first use\n$/);
  t.is(fs.readFileSync(knownHosts, 'utf8'), '');
  t.false(fs.existsSync(places.local));
});

test.serial('a changed host key is refused even with --accept-new-hosts', async (t) => {
  const places = clusterPlaces('changed-key');
  const [hostA, hostB] = lab.hosts as [LabHost, LabHost];
  // known_hosts says host A has host B's key.
  const knownHosts = path.join(lab.dir, 'changed_known_hosts');
  const forgedLine = lab.knownHostsLine(hostB).replace(/^\S+/, lab.knownHostsLine(hostA).split(' ')[0]!);
  fs.writeFileSync(knownHosts, `${forgedLine}\n`);
  const result = await runOccdbWith(
    ['startup', '1', hostA.host, '1', hostA.host, '--dir', places.local, '--remote-dir', places.remote, '--remote-occdb', REMOTE_OCCDB, '--known-hosts', knownHosts, '--accept-new-hosts'],
    environment(true),
  );
  t.log(result.stderr.trim().split('\n')[0]!);
  t.is(result.code, 2);
  t.regex(result.stderr, new RegExp(`^occdb: ssh to [^ ]+: its host key has CHANGED: it offered ssh-ed25519 SHA256:\\S+, but ${escape(knownHosts)} line 1 has another ssh-ed25519 key for it; refusing[^\\n]*\\n$`));
  t.is(fs.readFileSync(knownHosts, 'utf8'), `${forgedLine}\n`, 'known_hosts is not changed');
  t.false(fs.existsSync(places.local));
});

test.serial('occdb missing on the remote host is found before anything starts', async (t) => {
  const places = clusterPlaces('missing');
  const result = await runOccdbWith(
    ['startup', '1', lab.hosts[0]!.host, '1', lab.hosts[1]!.host, '--dir', places.local, '--remote-dir', places.remote, '--remote-occdb', '/nonexistent', '--known-hosts', knownHostsFile('missing', lab.hosts)],
    environment(true),
  );
  t.log(result.stderr.trim().split('\n')[0]!);
  t.is(result.code, 2);
  t.regex(result.stderr, /^occdb: occdb is missing on [^ ]+: '\/nonexistent --version' not found \([^\n]*\); install occdb there \(Node\.js 20\+\) or name it with --remote-occdb\n$/);
  t.false(fs.existsSync(places.local));
  t.false(fs.existsSync(places.remote));
});

test.serial('a --base-port range with a port in use on a remote host is refused before anything starts', async (t) => {
  const places = clusterPlaces('port');
  const hostB = lab.hosts[1]!;
  const port = await freePort();
  // Something else listens on the port on host B (inside its network namespace).
  const listenAddress = lab.mode === 'namespaces' ? '0.0.0.0' : hostB.address;
  const holder = lab.spawnOn(hostB, process.execPath, ['-e', `require('net').createServer().listen(${port}, '${listenAddress}', () => console.log('listening'))`]);
  helpers.push(holder);
  await waitForLine(holder, 'listening');
  try {
    const result = await runOccdbWith(
      ['startup', '1', lab.hosts[0]!.host, '2', hostB.host, hostB.host, '--dir', places.local, '--remote-dir', places.remote, '--remote-occdb', REMOTE_OCCDB,
        '--known-hosts', knownHostsFile('port', lab.hosts), '--base-port', String(port)],
      environment(true),
    );
    t.log(result.stderr.trim().split('\n')[0]!);
    t.is(result.code, 2);
    t.is(result.stderr, `occdb: on ${hostB.host}: port ${port} on ${listenAddress} is in use; --base-port ${port} needs 4 free ports (${port}-${port + 3})\n`); // two databases: a port and a metrics port each
    t.false(fs.existsSync(places.local));
    t.deepEqual(await leftovers(places), []);
  } finally {
    await killProcess(holder, 'SIGKILL');
  }
});

test.serial('a process that exits at start shows its host and log (read over ssh), and the others are stopped over ssh', async (t) => {
  const places = clusterPlaces('exits');
  const [, hostB, hostC] = lab.hosts as [LabHost, LabHost, LabHost];
  // DATABASE2's LevelDB directory on host C is held open by this test, so DATABASE2 exits at start.
  fs.mkdirSync(path.join(places.remote, 'database-2'), { recursive: true });
  const holder = new Level(path.join(places.remote, 'database-2', 'data'));
  await holder.open();
  // Hashed known_hosts lines, as ssh-keygen -H writes them, are honoured.
  const knownHosts = knownHostsFile('exits', lab.hosts);
  execFileSync('ssh-keygen', ['-H', '-f', knownHosts], { stdio: 'ignore', timeout: 30_000 });
  t.notRegex(fs.readFileSync(knownHosts, 'utf8'), /10\.222|127\.0/, 'every line is hashed');
  try {
    const result = await runOccdbWith(
      ['startup', '1', hostB.host, '2', hostB.host, hostC.host, '--dir', places.local, '--remote-dir', places.remote, '--remote-occdb', REMOTE_OCCDB, '--known-hosts', knownHosts],
      environment(true),
    );
    t.log(result.stderr.trim().split('\n')[0]!);
    t.is(result.code, 1);
    t.regex(result.stderr, new RegExp(`^DATABASE2 on ${escape(hostC.host)} did not start: it exited$`, 'm'));
    t.regex(result.stderr, new RegExp(`^---- last \\d+ lines of ${escape(path.join(places.remote, 'database-2', 'stdout.log'))}$`, 'm'));
    t.regex(result.stderr, /data directory .* is in use/, "the process's own error, read on its host");
    t.regex(result.stderr, new RegExp(`^stopped DATABASE1 \\(pid \\d+\\) on ${escape(hostB.host)}$`, 'm'));
    t.notRegex(result.stderr, /MIDDLEWARE1/, 'no middleware was started');
    t.notRegex(result.stderr, /internal error|\n\s+at /, 'no stack trace');
    t.deepEqual(recordedPids(places.local), [], 'no pid is left recorded');
    t.deepEqual(await leftovers(places), [], 'no process is left on any host');
  } finally {
    await holder.close();
  }
});

test.serial('with --keep-going, a process that exits at start leaves the others running, to be stopped over ssh', async (t) => {
  const places = clusterPlaces('keep-going');
  const [, hostB, hostC] = lab.hosts as [LabHost, LabHost, LabHost];
  // MIDDLEWARE2 cannot keep its boot counter: a directory stands where the file goes. (A
  // middleware, not a database: a middleware joins only through a view change, which needs
  // every database of the view up.)
  fs.mkdirSync(path.join(places.remote, 'middleware-2', 'incarnation'), { recursive: true });
  const result = await runOccdbWith(
    ['startup', '2', hostB.host, hostC.host, '1', hostB.host, '--dir', places.local, '--remote-dir', places.remote, '--remote-occdb', REMOTE_OCCDB,
      '--known-hosts', knownHostsFile('keep-going', lab.hosts), '--keep-going'],
    environment(true),
  );
  t.is(result.code, 1);
  t.regex(result.stderr, new RegExp(`^MIDDLEWARE2 on ${escape(hostC.host)} did not start: it exited$`, 'm'));
  t.regex(result.stderr, /cannot read the boot counter .*incarnation: EISDIR/);
  t.regex(result.stderr, /^1 process did not start \(MIDDLEWARE2\); the others keep running \(--keep-going\)$/m);
  t.notRegex(result.stderr, /^stopped /m, 'nothing was stopped');
  t.regex(result.stdout, /^MIDDLEWARE1 /m);
  const cluster = readClusterFile(path.join(places.local, 'cluster.json'));
  for (const entry of [cluster.middlewares[0]!, cluster.databases[0]!]) t.true(entry.pid !== undefined && (await isRunning(entry.pid)), `pid ${entry.pid} runs`);
  const stopped = await runOccdbWith(['stop', '--dir', places.local], environment(true));
  t.is(stopped.code, 0, stopped.stderr);
  t.regex(stopped.stdout, new RegExp(`^stopped MIDDLEWARE1 \\(pid \\d+\\) on ${escape(hostB.host)}$`, 'm'));
  t.regex(stopped.stdout, new RegExp(`^stopped DATABASE1 \\(pid \\d+\\) on ${escape(hostB.host)}$`, 'm'));
  t.deepEqual(await leftovers(places), []);
});

async function waitForLine(child: ChildProcess, text: string): Promise<void> {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  for (let attempt = 0; attempt < 200 && !output.includes(text); attempt += 1) {
    if (child.exitCode !== null) throw new Error(`the helper exited: ${output}`);
    await delay(50);
  }
  if (!output.includes(text)) throw new Error(`the helper did not print '${text}' within 10 s: ${output}`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
