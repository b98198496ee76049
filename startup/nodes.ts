// One view of every process a cluster file names, whatever its role: name, host, ports,
// directory, recorded pid, and the endpoint that answers ping and status.
import fs from 'node:fs';
import { SECRET_FILE_NAME } from '../cluster/secret.js';
import { TLS_CERT_FILE_NAME, TLS_KEY_FILE_NAME } from '../cluster/tls.js';
import { USERS_FILE_NAME } from '../cluster/names.js';
import path from 'node:path';
import type { Endpoint } from '../protocol/connection.js';
import { OccdbError } from '../errors/catalogue.js';
import type { LogLevel } from '../runtime/log.js';
import {
  type ClusterFile,
  databaseEndpoint,
  middlewareClientEndpoint,
  readClusterFile,
  writeClusterFile,
} from '../cluster/cluster-file.js';
import type { LaunchSpec, NodeRole } from './launcher.js';

export interface ClusterNode {
  /** MIDDLEWARE1, DATABASE2. */
  name: string;
  role: NodeRole;
  id: number;
  host: string;
  dir: string;
  pid: number | undefined;
  /** The host's own copy of the cluster file, for a host reached over ssh; undefined for a local host. */
  clusterFile: string | undefined;
  /** client and peer for a middleware, port for a database; metrics for either when it serves metrics. */
  ports: Record<string, number>;
  /** Where ping, status (and a middleware's shutdown) are answered. */
  endpoint: Endpoint;
}

export function nodeName(role: NodeRole, id: number): string {
  return `${role.toUpperCase()}${id}`;
}

/** Middlewares first, then databases, each in id order. */
export function clusterNodes(cluster: ClusterFile): ClusterNode[] {
  const middlewares = [...cluster.middlewares].sort((a, b) => a.id - b.id).map((entry): ClusterNode => ({
    name: nodeName('middleware', entry.id),
    role: 'middleware',
    id: entry.id,
    host: entry.host,
    dir: entry.dir,
    pid: entry.pid,
    clusterFile: entry.clusterFile,
    ports: { client: entry.clientPort, peer: entry.peerPort, ...(entry.metricsPort === undefined ? {} : { metrics: entry.metricsPort }) },
    endpoint: middlewareClientEndpoint(entry),
  }));
  const databases = [...cluster.databases].sort((a, b) => a.id - b.id).map((entry): ClusterNode => ({
    name: nodeName('database', entry.id),
    role: 'database',
    id: entry.id,
    host: entry.host,
    dir: entry.dir,
    pid: entry.pid,
    clusterFile: entry.clusterFile,
    ports: { port: entry.port, ...(entry.metricsPort === undefined ? {} : { metrics: entry.metricsPort }) },
    endpoint: databaseEndpoint(entry),
  }));
  return [...middlewares, ...databases];
}

/** Finds `MIDDLEWARE2` / `database1` (any case) in the cluster, or says which names exist. */
export function findNode(cluster: ClusterFile, name: string): ClusterNode {
  const nodes = clusterNodes(cluster);
  const match = /^(middleware|database)(\d{1,7})$/i.exec(name.trim());
  const node = match
    ? nodes.find((candidate) => candidate.role === match[1]!.toLowerCase() && candidate.id === Number(match[2]))
    : undefined;
  if (!node) {
    throw new OccdbError('USAGE', `the cluster has no process named '${name}' (it has ${nodes.map((n) => n.name).join(', ')})`);
  }
  return node;
}

export function formatPorts(node: ClusterNode): string {
  const ports = node.role === 'middleware' ? `client ${node.ports.client}, peer ${node.ports.peer}` : String(node.ports.port);
  return node.ports.metrics === undefined ? ports : `${ports}, metrics ${node.ports.metrics}`;
}

/** The process's own log file (written by the process through runtime/log.ts). */
export function logFile(node: ClusterNode): string {
  return path.join(node.dir, `${node.role}.log`);
}

/**
 * What the launcher needs to start `node`. A host that keeps its own copy of the cluster file
 * gets the current text with it, so the copy there is brought up to date before the start.
 */
export function launchSpec(node: ClusterNode, clusterFile: string, logLevel: LogLevel): LaunchSpec {
  // The log format is the cluster's (recorded at startup), so a restart writes as the others do.
  const logFormat = readClusterFile(clusterFile).logFormat ?? 'text';
  const spec = { role: node.role, id: node.id, host: node.host, dir: node.dir, logLevel, logFormat };
  if (node.clusterFile === undefined) return { ...spec, clusterFile };
  return { ...spec, clusterFile: node.clusterFile, clusterText: fs.readFileSync(clusterFile, 'utf8'), privateFiles: privateFilesBeside(clusterFile) };
}

/** The cluster secret, the users file and the TLS key and certificate beside `clusterFile`, those that exist, as text. */
export function privateFilesBeside(clusterFile: string): Array<{ name: string; text: string }> {
  const files: Array<{ name: string; text: string }> = [];
  for (const name of [SECRET_FILE_NAME, USERS_FILE_NAME, TLS_KEY_FILE_NAME, TLS_CERT_FILE_NAME]) {
    const file = path.join(path.dirname(path.resolve(clusterFile)), name);
    if (fs.existsSync(file)) files.push({ name, text: fs.readFileSync(file, 'utf8') });
  }
  return files;
}

/**
 * Records (or, with undefined, clears) a process's pid in the cluster file. Re-reads the
 * file first so that pids recorded for other processes are kept.
 */
export function recordPid(clusterFile: string, node: Pick<ClusterNode, 'role' | 'id'>, pid: number | undefined): void {
  const cluster = readClusterFile(clusterFile);
  const entries: { id: number; pid?: number | undefined }[] = node.role === 'middleware' ? cluster.middlewares : cluster.databases;
  const entry = entries.find((candidate) => candidate.id === node.id);
  if (!entry) return;
  if (pid === undefined) delete entry.pid;
  else entry.pid = pid;
  writeClusterFile(clusterFile, cluster);
}
