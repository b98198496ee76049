// The cluster file's zod schema: the one definition of what a cluster file may hold. Apart
// from cluster-file.ts so that reading the file does not load zod: readClusterFile checks it
// against the JSON Schema generated from this one (cluster-file-json-schema.ts), which
// test/json-schemas.test.ts holds to the same answers.
import { z } from 'zod';
import { SCHEDULING_POLICIES } from '../runtime/scheduling.js';
import { LOG_FORMATS } from '../runtime/log-format.js';
import { STRATEGIES, duplicateNodeMessage } from './names.js';

const nodeId = z.number().int().positive().max(1_000_000);
const port = z.number().int().min(1).max(65535);
const host = z.string().min(1).max(255);

export const MiddlewareEntrySchema = z.object({
  id: nodeId,
  host,
  clientPort: port,
  peerPort: port,
  /** The process's own directory (log, pid) on its host. */
  dir: z.string().min(1),
  /** Unix domain sockets the process also listens on, for processes on its own machine. */
  clientSocket: z.string().min(1).optional(),
  peerSocket: z.string().min(1).optional(),
  /** Where the process serves its Prometheus metrics (GET /metrics); absent: it serves none. */
  metricsPort: port.optional(),
  pid: z.number().int().positive().optional(),
  /** Where the process's host keeps its copy of this file: set for hosts reached over ssh. */
  clusterFile: z.string().min(1).optional(),
});
export type MiddlewareEntry = z.infer<typeof MiddlewareEntrySchema>;

export const DatabaseEntrySchema = z.object({
  id: nodeId,
  host,
  port,
  dir: z.string().min(1),
  /** A Unix domain socket the process also listens on, for processes on its own machine. */
  socket: z.string().min(1).optional(),
  /** Where the process serves its Prometheus metrics (GET /metrics); absent: it serves none. */
  metricsPort: port.optional(),
  pid: z.number().int().positive().optional(),
  /** Where the process's host keeps its copy of this file: set for hosts reached over ssh. */
  clusterFile: z.string().min(1).optional(),
});
export type DatabaseEntry = z.infer<typeof DatabaseEntrySchema>;

/**
 * How the processes on other hosts were reached, so that stop and start can reach them again
 * without the options being repeated. Present only when a host is reached over ssh.
 */
export const SshSettingsSchema = z.object({
  /** The occdb command on the remote hosts. */
  remoteOccdb: z.string().min(1),
  /** The private key file given with --identity, if any. */
  identityFile: z.string().min(1).optional(),
  /** The known_hosts file given with --known-hosts, if any. */
  knownHostsFile: z.string().min(1).optional(),
});
export type SshSettings = z.infer<typeof SshSettingsSchema>;

export const ClusterFileSchema = z
  .object({
    version: z.literal(1),
    strategy: z.enum(STRATEGIES).default('occ'),
    /** The CPU scheduling policy every process of the cluster asks for (runtime/scheduling.ts). */
    scheduling: z.enum(SCHEDULING_POLICIES).default('batch'),
    /** How every process writes its log lines (runtime/log.ts); absent: text. */
    logFormat: z.enum(LOG_FORMATS).optional(),
    createdAt: z.string(),
    middlewares: z.array(MiddlewareEntrySchema).min(1).max(1000),
    databases: z.array(DatabaseEntrySchema).min(1).max(1000),
    ssh: SshSettingsSchema.optional(),
    /** TLS on every TCP port, with the SHA-256 fingerprint of the cluster's certificate (cluster/tls.ts). */
    tls: z.object({ fingerprint: z.string().regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, 'not a SHA-256 fingerprint (AA:BB:...)') }).optional(),
  })
  .superRefine((cluster, context) => {
    const message = duplicateNodeMessage(cluster);
    if (message !== null) context.addIssue({ code: 'custom', message });
  });
export type ClusterFile = z.infer<typeof ClusterFileSchema>;
