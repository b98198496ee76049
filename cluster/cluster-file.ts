// The cluster file: one JSON file naming every process (id, host, ports, directory).
// Every process reads it at start; names MIDDLEWARE<n> / DATABASE<n> and bare numbers
// resolve through it. Nothing is hard-coded to a count of nodes.
import fs from 'node:fs';
import path from 'node:path';
import { OccdbError } from '../errors/catalogue.js';
import type { Endpoint } from '../protocol/connection.js';
import { addressKey, registerNodeKeys, registerTls } from '../protocol/credentials.js';
import { readSecretIfAny } from './secret.js';
import { checkJson } from '../protocol/json-schema.js';
import { CLUSTER_FILE_NAME, STRATEGIES, clusterFilePath, duplicateNodeMessage, parseNodeName, type Strategy } from './names.js';
import { CLUSTER_FILE_JSON_SCHEMA } from './cluster-file-json-schema.js';
import type { ClusterFile, DatabaseEntry, MiddlewareEntry } from './cluster-file-schema.js';

export { CLUSTER_FILE_NAME, STRATEGIES, clusterFilePath, duplicateNodeMessage, parseNodeName, type Strategy };
export type { ClusterFile, DatabaseEntry, MiddlewareEntry, SshSettings } from './cluster-file-schema.js';

export function readClusterFile(file: string): ClusterFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new OccdbError('CLUSTER_FILE_INVALID', `no cluster file at ${file} (start a cluster with 'occdb startup', or pass --dir)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new OccdbError('CLUSTER_FILE_INVALID', `${file} is not JSON: ${(error as Error).message}`);
  }
  // Checked against the JSON Schema of ClusterFileSchema, not by zod itself: every command
  // reads this file, and loading zod cost occdb client and status more than their own work.
  const parsed = checkJson<ClusterFile>(CLUSTER_FILE_JSON_SCHEMA, json);
  if (!parsed.success) throw new OccdbError('CLUSTER_FILE_INVALID', `${file}: ${parsed.message}`);
  const duplicate = duplicateNodeMessage(parsed.data);
  if (duplicate !== null) throw new OccdbError('CLUSTER_FILE_INVALID', `${file}: ${duplicate}`);
  // Reading the cluster file is how a process learns the cluster; its secret, beside it, is
  // what this process proves itself with to the cluster's processes (protocol/credentials.ts).
  const secret = readSecretIfAny(file);
  if (secret !== null) registerNodeKeys(clusterAddresses(parsed.data, true), secret);
  if (parsed.data.tls !== undefined) registerTls(clusterAddresses(parsed.data, false), parsed.data.tls.fingerprint);
  return parsed.data;
}

/** Every address a process of `cluster` listens at: TCP, and with `withSockets` Unix sockets too. */
function clusterAddresses(cluster: ClusterFile, withSockets: boolean): string[] {
  const addresses: string[] = [];
  const add = (host: string, port: number, socket: string | undefined): void => {
    addresses.push(addressKey({ host: connectHost(host), port }));
    if (socket !== undefined && withSockets) addresses.push(addressKey({ path: socket }));
  };
  for (const entry of cluster.middlewares) {
    add(entry.host, entry.clientPort, entry.clientSocket);
    add(entry.host, entry.peerPort, entry.peerSocket);
  }
  for (const entry of cluster.databases) add(entry.host, entry.port, entry.socket);
  return addresses;
}

/** Writes the cluster file atomically (write a temporary file, then rename). */
export function writeClusterFile(file: string, cluster: ClusterFile): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, JSON.stringify(cluster, null, 2) + '\n');
  fs.renameSync(temporary, file);
}

export function findMiddleware(cluster: ClusterFile, id: number): MiddlewareEntry {
  const entry = cluster.middlewares.find((m) => m.id === id);
  if (!entry) throw new OccdbError('USAGE', `the cluster has no MIDDLEWARE${id} (it has ${cluster.middlewares.map((m) => `MIDDLEWARE${m.id}`).join(', ')})`);
  return entry;
}

export function findDatabase(cluster: ClusterFile, id: number): DatabaseEntry {
  const entry = cluster.databases.find((d) => d.id === id);
  if (!entry) throw new OccdbError('USAGE', `the cluster has no DATABASE${id} (it has ${cluster.databases.map((d) => `DATABASE${d.id}`).join(', ')})`);
  return entry;
}

/** Parses `host:port` into an endpoint, or null. */
export function parseHostPort(text: string): Endpoint | null {
  const match = /^([A-Za-z0-9.\-_]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(text.trim());
  if (!match) return null;
  const portNumber = Number(match[2]);
  if (portNumber < 1 || portNumber > 65535) return null;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: portNumber };
}

/** The address a process on `host` listens on: loopback stays loopback, anything else listens on all interfaces. */
export function listenAddress(host: string): string {
  return isLoopbackHost(connectHost(host)) ? connectHost(host) : '0.0.0.0';
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** The host part of `user@host:port` as ssh would see it, for connecting to the process. */
export function connectHost(host: string): string {
  const withoutUser = host.includes('@') ? host.slice(host.lastIndexOf('@') + 1) : host;
  const withoutPort = withoutUser.replace(/:\d+$/, '');
  return withoutPort === 'localhost' ? '127.0.0.1' : withoutPort.replace(/^\[|\]$/g, '');
}

/**
 * A Unix socket path is limited by the system (108 bytes on Linux, 104 on others, with the
 * terminating zero); a process whose directory is deeper listens on TCP only.
 */
export const UNIX_SOCKET_PATH_BYTES_MAX = 100;

/** `<dir>/<name>` if it is short enough to be a Unix socket's path, else undefined. */
export function unixSocketPath(dir: string, name: string, join: (...parts: string[]) => string = path.join): string | undefined {
  const socketPath = join(dir, name);
  return Buffer.byteLength(socketPath) <= UNIX_SOCKET_PATH_BYTES_MAX ? socketPath : undefined;
}

/** The Unix sockets a middleware whose directory is `dir` listens on (none whose path is too long). */
export function middlewareSockets(dir: string, join: (...parts: string[]) => string = path.join): Pick<MiddlewareEntry, 'clientSocket' | 'peerSocket'> {
  const clientSocket = unixSocketPath(dir, 'client.sock', join);
  const peerSocket = unixSocketPath(dir, 'peer.sock', join);
  return { ...(clientSocket === undefined ? {} : { clientSocket }), ...(peerSocket === undefined ? {} : { peerSocket }) };
}

/** The Unix socket a database whose directory is `dir` listens on (none if its path is too long). */
export function databaseSockets(dir: string, join: (...parts: string[]) => string = path.join): Pick<DatabaseEntry, 'socket'> {
  const socket = unixSocketPath(dir, 'database.sock', join);
  return socket === undefined ? {} : { socket };
}

/**
 * Where a connection starts: from a cluster member on `host` (as the cluster file names it),
 * or from this machine (a client, the command line, a test).
 */
export type Vantage = { host: string } | 'this-machine';

/**
 * True when a process on `host` runs on the machine a connection starts from: then its Unix
 * socket is reachable. Members compare the addresses they are reached at; this machine
 * reaches its own processes at loopback addresses.
 */
export function onSameMachine(host: string, from: Vantage): boolean {
  return from === 'this-machine' ? isLoopbackHost(connectHost(host)) : connectHost(host) === connectHost(from.host);
}

function endpoint(host: string, port: number, socket: string | undefined, from: Vantage): Endpoint {
  return socket !== undefined && onSameMachine(host, from) ? { host: connectHost(host), port, socket } : { host: connectHost(host), port };
}

export function middlewareClientEndpoint(entry: MiddlewareEntry, from: Vantage = 'this-machine'): Endpoint {
  return endpoint(entry.host, entry.clientPort, entry.clientSocket, from);
}

export function middlewarePeerEndpoint(entry: MiddlewareEntry, from: Vantage = 'this-machine'): Endpoint {
  return endpoint(entry.host, entry.peerPort, entry.peerSocket, from);
}

export function databaseEndpoint(entry: DatabaseEntry, from: Vantage = 'this-machine'): Endpoint {
  return endpoint(entry.host, entry.port, entry.socket, from);
}
