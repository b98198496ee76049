// The light part of the cluster file's vocabulary: the strategies, where the file lives and how
// processes are named. Apart from cluster-file.ts (which re-exports all of it) so that the
// command line can define its options without loading the file's schema, and with it zod.
import path from 'node:path';

export const STRATEGIES = ['occ', '2pl', '2pl-nowait'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const CLUSTER_FILE_NAME = 'cluster.json';

export function clusterFilePath(dir: string): string {
  return path.resolve(dir, CLUSTER_FILE_NAME);
}

/** Parses `MIDDLEWARE3`, `middleware3`, `3` (role given) into a number, or null. */
export function parseNodeName(name: string, role: 'MIDDLEWARE' | 'DATABASE'): number | null {
  const match = new RegExp(`^(?:${role})?(\\d{1,7})$`, 'i').exec(name.trim());
  return match ? Number(match[1]) : null;
}
