// Startup draws free ports, and another program may take one before the process that should
// listen there starts. Startup then chooses new ports and tries again, rather than failing.
import test from 'ava';
import net from 'node:net';
import { clusterFilePath, readClusterFile } from '../cluster/cluster-file.js';
import { localLauncher } from '../startup/launcher.js';
import type { Output } from '../startup/output.js';
import { runStartup } from '../startup/startup.js';
import { stopCluster } from '../startup/stop.js';
import { clusterDir, killClusterProcesses, removeClusterDirs } from './helpers/startup-cluster.js';

test.after.always(removeClusterDirs);

function listenAnywhere(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => resolve(server));
  });
}

test('a drawn port taken before its process starts: startup chooses new ports and the cluster starts', async (t) => {
  const dir = clusterDir('port-taken');
  // The first draw hands out, as the database's port, a port this test holds.
  const holder = await listenAnywhere();
  const heldPort = (holder.address() as net.AddressInfo).port;
  const realFreePorts = localLauncher.freePorts.bind(localLauncher);
  let draws = 0;
  localLauncher.freePorts = async (count, address, basePort) => {
    draws += 1;
    const ports = await realFreePorts(count, address, basePort);
    return draws === 1 ? [...ports.slice(0, count - 1), heldPort] : ports;
  };
  const lines: string[] = [];
  const output: Output = { line: (text) => lines.push(text), problem: (text) => lines.push(text) };
  try {
    const started = await runStartup({ layout: { middlewareHosts: ['localhost'], databaseHosts: ['127.0.0.1'] }, dir, strategy: 'occ', logLevel: 'info', tcpOnly: true }, output);
    t.true(started, lines.join('\n'));
    t.is(draws, 2, 'ports were chosen twice');
    t.true(lines.some((line) => line.includes(`port ${heldPort} on 127.0.0.1 is already in use by another process`)), lines.join('\n'));
    t.true(lines.some((line) => line.includes('choosing new ports (attempt 2 of 3)')), lines.join('\n'));
    const cluster = readClusterFile(clusterFilePath(dir));
    t.not(cluster.databases[0]!.port, heldPort, 'the cluster file holds the new port');
    t.true(await stopCluster(clusterFilePath(dir), output));
  } finally {
    localLauncher.freePorts = realFreePorts;
    holder.close();
    await killClusterProcesses(dir);
  }
});
