// Choosing the ports of a new cluster on one host: free ports picked by the system, or a
// consecutive range from a base port that is checked port by port.
import net from 'node:net';
import { OccdbError } from '../protocol/errors.js';

const PORT_MAX = 65535;

/**
 * Returns `count` distinct ports that were free on `address` a moment ago. Every port stays
 * held until all are chosen, so the system cannot hand the same port out twice. Between
 * this check and a process binding the port another program may take it; the process then
 * fails to start and startup reports it.
 */
export async function allocatePorts(count: number, address: string, basePort?: number): Promise<number[]> {
  if (basePort === undefined) return allocateSystemPorts(count, address);
  const lastPort = basePort + count - 1;
  if (lastPort > PORT_MAX) {
    throw new OccdbError('USAGE', `--base-port ${basePort} leaves no room for ${count} ports (the last would be ${lastPort})`);
  }
  const ports: number[] = [];
  for (let port = basePort; port <= lastPort; port += 1) {
    if (!(await isPortFree(port, address))) {
      throw new OccdbError('USAGE', `port ${port} on ${address} is in use; --base-port ${basePort} needs ${count} free ports (${basePort}-${lastPort})`);
    }
    ports.push(port);
  }
  return ports;
}

export async function isPortFree(port: number, address: string): Promise<boolean> {
  try {
    const server = await listen(port, address);
    await close(server);
    return true;
  } catch {
    return false;
  }
}

async function allocateSystemPorts(count: number, address: string): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let index = 0; index < count; index += 1) servers.push(await listen(0, address));
    return servers.map((server) => (server.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map(close));
  }
}

function listen(port: number, address: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port, host: address, exclusive: true }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
