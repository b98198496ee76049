// The light part of the cluster file's vocabulary: the strategies, where the file lives and how
// processes are named. Apart from cluster-file.ts (which re-exports all of it) so that the
// command line can define its options without loading the file's schema, and with it zod.
import path from 'node:path';

export const STRATEGIES = ['occ', '2pl', '2pl-nowait'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const CLUSTER_FILE_NAME = 'cluster.json';
/** The users who may log in, beside the cluster file (cluster/users.ts). */
export const USERS_FILE_NAME = 'users.json';

export function clusterFilePath(dir: string): string {
  return path.resolve(dir, CLUSTER_FILE_NAME);
}

/** Parses `MIDDLEWARE3`, `middleware3`, `3` (role given) into a number, or null. */
export function parseNodeName(name: string, role: 'MIDDLEWARE' | 'DATABASE'): number | null {
  const match = new RegExp(`^(?:${role})?(\\d{1,7})$`, 'i').exec(name.trim());
  return match ? Number(match[1]) : null;
}

/**
 * `MIDDLEWARE2 appears twice` (or the same of a database) when two processes of a cluster file
 * share an id, else null: the one rule of the file a JSON Schema cannot say.
 */
export function duplicateNodeMessage(cluster: { middlewares: readonly { id: number }[]; databases: readonly { id: number }[] }): string | null {
  const duplicate = (ids: number[]): number | undefined => ids.find((id, index) => ids.indexOf(id) !== index);
  const middleware = duplicate(cluster.middlewares.map((entry) => entry.id));
  if (middleware !== undefined) return `MIDDLEWARE${middleware} appears twice`;
  const database = duplicate(cluster.databases.map((entry) => entry.id));
  return database === undefined ? null : `DATABASE${database} appears twice`;
}
