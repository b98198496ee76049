// Which middlewares a client may use: the one named, and with failover the others of the
// cluster file after it, in the order a failover route tries them (failover.ts).
import { connectHost, findMiddleware, middlewareClientEndpoint, parseHostPort, parseNodeName, readClusterFile, type ClusterFile } from '../cluster/cluster-file.js';
import type { Endpoint } from '../protocol/connection.js';
import { OccdbError } from '../errors/catalogue.js';

export interface MiddlewareTarget {
  /** How one-line notes name the middleware: `MIDDLEWARE1`, or `host:port` for an address. */
  name: string;
  /** How messages name the middleware: `MIDDLEWARE1 at 127.0.0.1:7001`, or `middleware at host:port`. */
  label: string;
  endpoint: Endpoint;
}

/** The middlewares a client may use, in the order it tries them, and whether it may move at all. */
export interface MiddlewareRouteTargets {
  /** The one named first, then (with failover) the others. */
  targets: MiddlewareTarget[];
  failover: boolean;
}

/**
 * Resolves `MIDDLEWARE<n>`, `middleware<n>`, `<n>` (through the cluster file) or `host:port`
 * (no cluster file needed).
 */
export function resolveMiddleware(name: string, clusterFile: string): MiddlewareTarget {
  const endpoint = parseHostPort(name);
  if (endpoint !== null) return addressTarget(endpoint);
  const id = middlewareId(name);
  return clusterTarget(readClusterFile(clusterFile), id);
}

/**
 * The middleware `name` names (as resolveMiddleware() reads it) and, when failing over, the
 * middlewares of the cluster file after it, cycling: MIDDLEWARE2 of 1, 2, 3 gives 2, 3, 1.
 *
 * `failover` defaults to on for a middleware named through the cluster file, and to off for
 * an address (it may be no middleware of the cluster file); asked for with an address, the
 * address comes first, then the cluster file's middlewares after the one listening there (or
 * all of them, in file order, when none does).
 */
export function resolveRoute(name: string, clusterFile: string, options: { failover?: boolean } = {}): MiddlewareRouteTargets {
  const endpoint = parseHostPort(name);
  if (endpoint !== null) {
    const first = addressTarget(endpoint);
    if (options.failover !== true) return { targets: [first], failover: false };
    const cluster = readClusterFile(clusterFile);
    const at = cluster.middlewares.findIndex((entry) => sameEndpoint(middlewareClientEndpoint(entry), endpoint));
    const others = at === -1 ? cluster.middlewares : rotate(cluster.middlewares, at).slice(1);
    return { targets: [first, ...others.map((entry) => clusterTarget(cluster, entry.id))], failover: true };
  }
  // The name first: a name that is no middleware's is wrong whatever the cluster file holds.
  const id = middlewareId(name);
  const cluster = readClusterFile(clusterFile);
  const first = clusterTarget(cluster, id);
  const failover = options.failover ?? true;
  if (!failover) return { targets: [first], failover: false };
  const at = cluster.middlewares.findIndex((entry) => entry.id === id);
  return { targets: rotate(cluster.middlewares, at).map((entry) => clusterTarget(cluster, entry.id)), failover: true };
}

function middlewareId(name: string): number {
  const id = parseNodeName(name, 'MIDDLEWARE');
  if (id === null) {
    throw new OccdbError('USAGE', `'${name}' names no middleware: use MIDDLEWARE<n>, middleware<n>, <n> or host:port`);
  }
  return id;
}

function clusterTarget(cluster: ClusterFile, id: number): MiddlewareTarget {
  const endpoint = middlewareClientEndpoint(findMiddleware(cluster, id));
  return { name: `MIDDLEWARE${id}`, label: `MIDDLEWARE${id} at ${endpoint.host}:${endpoint.port}`, endpoint };
}

function addressTarget(endpoint: Endpoint): MiddlewareTarget {
  return { name: `${endpoint.host}:${endpoint.port}`, label: `middleware at ${endpoint.host}:${endpoint.port}`, endpoint };
}

/** `localhost:7001` and `127.0.0.1:7001` are one middleware. */
function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return connectHost(a.host) === connectHost(b.host) && a.port === b.port;
}

/** `items` starting at index `at`, the ones before it moved to the end. */
function rotate<T>(items: readonly T[], at: number): T[] {
  return [...items.slice(at), ...items.slice(0, at)];
}
