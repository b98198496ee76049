// `occdb dashboard`: serves a live web page of the cluster (dashboard/): every process, the
// commit and abort rates and latencies of the last five minutes, the replicas, the hottest
// keys, the installed view, and a form to run a transaction and see its timeline.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { clusterOption, dirOption, resolveClusterFile } from './options.js';

export const DASHBOARD_PORT_DEFAULT = 8080;
const LOOPBACK = '127.0.0.1';

interface DashboardCommandOptions {
  dir: string;
  cluster?: string;
  port: number;
  host: string;
}

export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description(
      'Serve a live web dashboard of the cluster: every process (green when it answers, red with why when not), ' +
      'commits/s, aborts/s and latency percentiles over the last 5 minutes, replica lag, the hottest keys, ' +
      'the installed view, and a form to run command lines on a middleware and see the transaction\'s timeline. ' +
      'It polls every process once a second and runs until interrupted (Ctrl-C).',
    )
    .addOption(dirOption())
    .addOption(clusterOption())
    .addOption(new Option('--port <port>', 'the port to serve on (0: any free port; the URL is printed)').default(DASHBOARD_PORT_DEFAULT).argParser(parsePort))
    .addOption(new Option('--host <address>', `the address to listen on; anything but loopback lets other machines see the cluster and run transactions, with no authentication`).default(LOOPBACK))
    .addHelpText('after', [
      '',
      'Examples:',
      '  $ occdb dashboard --dir ./demo                 # then open http://127.0.0.1:8080/',
      '  $ occdb dashboard --cluster prod/cluster.json --port 9000',
    ].join('\n'))
    .action(async (options: DashboardCommandOptions) => {
      const { startDashboard } = await import('../dashboard/server.js');
      if (!isLoopback(options.host)) {
        const tunnelPort = options.port === 0 ? DASHBOARD_PORT_DEFAULT : options.port;
        process.stderr.write([
          '',
          `WARNING: the dashboard listens on ${options.host}, not on loopback, and has NO AUTHENTICATION:`,
          'anyone who can reach this port sees the cluster and can run transactions on it.',
          `Keep it on 127.0.0.1 (the default) and reach it through an ssh tunnel instead: ssh -L ${tunnelPort}:127.0.0.1:${tunnelPort} <host>`,
          '',
        ].join('\n') + '\n');
      }
      const dashboard = await startDashboard({ clusterFile: resolveClusterFile(options), host: options.host, port: options.port });
      process.stdout.write(`occdb dashboard: ${dashboard.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void dashboard.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new InvalidArgumentError('a port is an integer from 0 to 65535 (0: any free port).');
  }
  return Number(text);
}
