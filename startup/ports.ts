// Choosing the ports of a new cluster on one host: free ports picked by the system, or a
// consecutive range from a base port that is checked port by port.
import net from 'node:net';
import { OccdbError } from '../errors/catalogue.js';

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

/**
 * Ports are drawn at random below Linux's ephemeral range (32768-60999 by default): a port
 * the system handed out for listening on port 0 may be handed out again at once as the
 * source port of some outgoing connection, and the process that should listen there would
 * then fail to start. Random draws also keep clusters started side by side apart.
 */
const PORT_RANGE_START = 20_000;
const PORT_RANGE_END = 32_767;
const DRAWS_MAX = 1_000;

async function allocateSystemPorts(count: number, address: string): Promise<number[]> {
  const servers: net.Server[] = [];
  const ports: number[] = [];
  try {
    for (let draw = 0; draw < DRAWS_MAX && ports.length < count; draw += 1) {
      const port = PORT_RANGE_START + Math.floor(Math.random() * (PORT_RANGE_END - PORT_RANGE_START + 1));
      if (ports.includes(port)) continue;
      try {
        servers.push(await listen(port, address));
        ports.push(port);
      } catch {
        // In use: draw again.
      }
    }
    if (ports.length < count) throw new OccdbError('USAGE', `found only ${ports.length} of ${count} free ports on ${address} in ${PORT_RANGE_START}-${PORT_RANGE_END}; use --base-port`);
    return ports;
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
