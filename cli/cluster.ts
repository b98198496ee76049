// occdb startup / status / verify / stop / start: running a cluster, on this machine or
// across several over ssh.
import path from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { STRATEGIES, type Strategy } from '../cluster/names.js';
import { SCHEDULING_POLICIES, type SchedulingPolicy } from '../runtime/scheduling.js';
import type { LogFormat, LogLevel } from '../runtime/log.js';
import { parseStartupArguments } from '../startup/arguments.js';
import type { RemoteOptions } from '../startup/launchers.js';
import { consoleOutput } from '../startup/output.js';
import { EXIT_FAILED } from '../errors/exit-codes.js';
import { OccdbError } from '../errors/catalogue.js';
import { clusterOption, dirOption, logFormatOption, logLevelOption, resolveClusterFile } from './options.js';

// Each action loads what it runs (the cluster file's schema, connections, launchers, ssh2)
// with import(): a command pays only for its own modules, and --help for none of them.
interface ClusterOptions {
  dir: string;
  cluster?: string;
}

interface SshCommandOptions {
  identity?: string;
  knownHosts?: string;
  acceptNewHosts?: boolean;
  remoteOccdb?: string;
}

/** The options of every command that may reach other hosts over ssh. */
function addSshOptions(command: Command, withRemoteOccdb: boolean): Command {
  command
    .addOption(new Option('--identity <file>', 'ssh private key for remote hosts (default: the ssh agent at SSH_AUTH_SOCK, then ~/.ssh/id_*)'))
    .addOption(new Option('--known-hosts <file>', 'known_hosts file that remote host keys are checked against (default: ~/.ssh/known_hosts)'))
    .addOption(new Option('--accept-new-hosts', 'trust a remote host seen for the first time and add its key to known_hosts (a changed key is always refused)'));
  if (withRemoteOccdb) command.addOption(new Option('--remote-occdb <command>', "the occdb command on remote hosts, e.g. 'node /opt/occdb/bin/occdb.js' (default: occdb on their PATH)"));
  return command;
}

function remoteOptions(options: SshCommandOptions): RemoteOptions {
  return {
    identityFile: options.identity === undefined ? undefined : path.resolve(options.identity),
    knownHostsFile: options.knownHosts === undefined ? undefined : path.resolve(options.knownHosts),
    acceptNewHosts: options.acceptNewHosts === true,
    remoteOccdb: options.remoteOccdb,
  };
}

export function registerClusterCommands(program: Command): void {
  const startup = program
    .command('startup')
    .description('start a cluster: N middlewares on the hosts given, then M databases (the classic STARTUP form); hosts other than localhost and 127.x.x.x are reached over ssh')
    .argument('<layout...>', 'N host1 ... hostN M host1 ... hostM (N middlewares, M databases); a host is localhost, 127.x.x.x, or host, user@host, user@host:sshport for ssh')
    .addOption(dirOption())
    .addOption(new Option('--strategy <strategy>', 'concurrency control of the middlewares').choices([...STRATEGIES]).default('occ'))
    .addOption(new Option('--scheduling <policy>', 'CPU scheduling policy of every process: batch (Linux SCHED_BATCH: no wake-up preemption, more messages handled per wake-up) or normal').choices([...SCHEDULING_POLICIES]).default('batch'))
    .addOption(logLevelOption())
    .addOption(logFormatOption())
    .addOption(new Option('--no-metrics', 'serve no Prometheus metrics (by default every process serves GET /metrics on a port of its own, recorded in cluster.json as metricsPort)'))
    .addOption(new Option('--base-port <port>', 'on every host, use consecutive ports from this one (default: any free ports)').argParser(parsePort))
    .addOption(new Option('--remote-dir <dir>', "the cluster's directory on remote hosts, relative to the remote home unless absolute (default: .occdb/<last part of --dir>)"))
    .addOption(new Option('--keep-going', 'when a process fails to start, keep the others running and start the rest'))
    .addOption(new Option('--tcp-only', 'processes on one machine talk over TCP too (by default they use Unix domain sockets in their directories, which cost less)'))
    .addOption(new Option('--tls', 'TLS on every TCP port even when every process is on this machine (by default: on when the cluster spans hosts)').conflicts('insecure'))
    .addOption(new Option('--insecure', 'no TLS even when the cluster spans hosts: anyone on the network can read and change what crosses it').conflicts('tls'))
    .addOption(new Option('--tls-cert <file>', 'the PEM certificate every process shows on its TCP ports, instead of a generated one (with --tls-key; turns TLS on)'))
    .addOption(new Option('--tls-key <file>', 'the PEM private key of --tls-cert'));
  addSshOptions(startup, true)
    .addHelpText('after', [
      '',
      'Examples:',
      '  occdb startup 3 localhost localhost localhost 3 localhost localhost localhost --dir ./demo',
      '  occdb startup 2 alpha beta 2 beta gamma --dir ./demo --accept-new-hosts',
      '  occdb startup 1 ops@alpha:2222 1 ops@beta --identity ~/.ssh/occdb --remote-occdb /opt/occdb/bin/occdb.js',
    ].join('\n'))
    .action(async (layoutWords: string[], options: ClusterOptions & SshCommandOptions & { strategy: Strategy; scheduling: SchedulingPolicy; logLevel: LogLevel; logFormat: LogFormat; metrics: boolean; basePort?: number; remoteDir?: string; keepGoing?: boolean; tcpOnly?: boolean; tls?: boolean; insecure?: boolean; tlsCert?: string; tlsKey?: string }) => {
      const layout = parseStartupArguments(layoutWords);
      if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) throw new OccdbError('USAGE', '--tls-cert and --tls-key go together');
      if (options.insecure && options.tlsCert !== undefined) throw new OccdbError('USAGE', '--insecure turns TLS off; it cannot go with --tls-cert');
      if (options.insecure) process.stderr.write('occdb: WARNING: --insecure: TCP between hosts is not encrypted; anyone on the network can read and change what crosses it\n');
      const { runStartup } = await import('../startup/startup.js');
      const healthy = await runStartup(
        {
          layout,
          dir: options.dir,
          strategy: options.strategy,
          scheduling: options.scheduling,
          logLevel: options.logLevel,
          logFormat: options.logFormat,
          metrics: options.metrics,
          basePort: options.basePort,
          remote: remoteOptions(options),
          remoteDir: options.remoteDir,
          keepGoing: options.keepGoing === true,
          tcpOnly: options.tcpOnly === true,
          tls: options.tls ? 'on' : options.insecure ? 'off' : 'auto',
          tlsFiles: options.tlsCert !== undefined && options.tlsKey !== undefined ? { certFile: path.resolve(options.tlsCert), keyFile: path.resolve(options.tlsKey) } : undefined,
        },
        consoleOutput,
      );
      if (!healthy) process.exitCode = EXIT_FAILED;
    });

  program
    .command('status')
    .description('show the cluster\'s health in one line, then every process: up or down, uptime, a middleware\'s clock, commits, rolled-back transactions, aborts and members, a database\'s applies, syncs, keys and pending requests, and the installed view (exit 1 if any is down)')
    .addOption(dirOption())
    .addOption(clusterOption())
    .option('--json', 'print JSON (with --watch, one document a line per refresh)')
    .addOption(new Option('--watch [seconds]', 'show it again every interval (default 2 s) with rates per second (commits/s, aborts/s, applies/s), until Ctrl-C').argParser(parseInterval))
    .addOption(new Option('--count <n>', 'with --watch: end after n refreshes').argParser(parseRefreshCount))
    .addHelpText('after', [
      '',
      'The first line is the cluster\'s health:',
      '  Primary      every process answers and stands where the newest view puts it',
      '  degraded     transactions commit, but a process is down, out of the view, joining, behind or suspected (named)',
      '  non-Primary  nothing can commit: no middleware is a member, or fewer than a majority of the databases are in sync',
      '',
      'Examples:',
      '  occdb status --dir ./demo',
      '  occdb status --dir ./demo --watch 1',
    ].join('\n'))
    .action(async (options: ClusterOptions & { json?: boolean; watch?: number | true; count?: number }) => {
      const [{ readClusterFile }, { runStatus, watchStatus }] = await Promise.all([import('../cluster/cluster-file.js'), import('../startup/status.js')]);
      const cluster = readClusterFile(resolveClusterFile(options));
      if (options.count !== undefined && options.watch === undefined) throw new OccdbError('USAGE', '--count counts the refreshes of --watch; give --watch too');
      const allUp = options.watch === undefined
        ? await runStatus(cluster, options.json === true, consoleOutput)
        : await watchStatus(cluster, {
          json: options.json === true,
          intervalMs: options.watch === true ? WATCH_INTERVAL_MS_DEFAULT : options.watch,
          count: options.count,
          clearScreen: process.stdout.isTTY === true && options.json !== true,
        }, consoleOutput);
      if (!allUp) process.exitCode = EXIT_FAILED;
    });

  program
    .command('verify')
    .description('compare the database replicas key by key (exit 1 if they differ, 3 if one does not answer)')
    .addOption(dirOption())
    .addOption(clusterOption())
    .option('--json', 'print JSON')
    .action(async (options: ClusterOptions & { json?: boolean }) => {
      const [{ readClusterFile }, { runVerify }] = await Promise.all([import('../cluster/cluster-file.js'), import('../startup/verify.js')]);
      const agree = await runVerify(readClusterFile(resolveClusterFile(options)), options.json === true, consoleOutput);
      if (!agree) process.exitCode = EXIT_FAILED;
    });

  const stop = program
    .command('stop')
    .description('stop the cluster (middlewares first, then databases), or only the process named; remote processes are stopped over ssh by pid')
    .argument('[name]', 'one process to stop, e.g. MIDDLEWARE2')
    .addOption(dirOption())
    .addOption(clusterOption());
  addSshOptions(stop, false)
    .action(async (name: string | undefined, options: ClusterOptions & SshCommandOptions) => {
      const { stopCluster } = await import('../startup/stop.js');
      const allStopped = await stopCluster(resolveClusterFile(options), consoleOutput, name, remoteOptions(options));
      if (!allStopped) process.exitCode = EXIT_FAILED;
    });

  const start = program
    .command('start')
    .description('start one stopped process of the cluster on its recorded host, ports and directory')
    .argument('<name>', 'the process, e.g. MIDDLEWARE2 or DATABASE1')
    .addOption(dirOption())
    .addOption(clusterOption())
    .addOption(logLevelOption());
  addSshOptions(start, true)
    .action(async (name: string, options: ClusterOptions & SshCommandOptions & { logLevel: LogLevel }) => {
      const { startNode } = await import('../startup/start.js');
      const started = await startNode(resolveClusterFile(options), name, options.logLevel, consoleOutput, remoteOptions(options));
      if (!started) process.exitCode = EXIT_FAILED;
    });

  // Run by startup on a remote host over ssh, to choose ports free there; prints them as JSON.
  program
    .command('free-ports', { hidden: true })
    .argument('<count>', 'how many ports', parseCount)
    .addOption(new Option('--address <address>', 'the address the ports are for').default('0.0.0.0'))
    .addOption(new Option('--base-port <port>', 'consecutive ports from this one').argParser(parsePort))
    .action(async (count: number, options: { address: string; basePort?: number }) => {
      const { allocatePorts } = await import('../startup/ports.js');
      process.stdout.write(`${JSON.stringify(await allocatePorts(count, options.address, options.basePort))}\n`);
    });
}

function parseCount(text: string): number {
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > 3000) {
    throw new InvalidArgumentError('a count is an integer from 1 to 3000.');
  }
  return Number(text);
}

const WATCH_INTERVAL_MS_DEFAULT = 2_000;

/** --watch's seconds, as milliseconds: from 0.1 s to an hour. */
function parseInterval(text: string): number {
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || seconds < 0.1 || seconds > 3600) throw new InvalidArgumentError('the interval is in seconds, from 0.1 to 3600.');
  return Math.round(seconds * 1000);
}

function parseRefreshCount(text: string): number {
  if (!/^\d{1,7}$/.test(text) || Number(text) < 1) throw new InvalidArgumentError('the count is a whole number of refreshes, from 1 to 9999999.');
  return Number(text);
}

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new InvalidArgumentError('a port is an integer from 1 to 65535.');
  }
  return Number(text);
}
