// occdb verify: do the replicas hold the same data? Pages through every database with
// db.scan in key order, all in step (a merge of sorted streams, so memory stays at one page
// per replica whatever the data's size), and compares every key's version and value,
// tombstones included. Meaningful on a quiet cluster: an APPLY in progress on one replica
// and not yet on another shows as a difference.
import type { z } from 'zod';
import type { ClusterFile } from '../cluster/cluster-file.js';
import { Connection } from '../protocol/connection.js';
import { OccdbError } from '../errors/catalogue.js';
import { DbScanResult } from '../protocol/schemas.js';
import { formatTimestamp } from '../timestamp/timestamp.js';
import { type ClusterNode, clusterNodes } from './nodes.js';
import { type Output, plural } from './output.js';

const SCAN_PAGE_KEYS = 1_000;
const SCAN_TIMEOUT_MS = 10_000;
/** The output lists at most this many differing keys. */
export const DIFFERENCES_SHOWN_MAX = 50;

type ScannedEntry = z.infer<typeof DbScanResult>['entries'][number];

export interface KeyDifference {
  key: string;
  /** Each replica's entry for the key, by database name; null where the replica lacks it. */
  entries: Record<string, Omit<ScannedEntry, 'key'> | null>;
}

export interface VerifyReport {
  keys: number;
  replicas: number;
  differenceCount: number;
  /** The first DIFFERENCES_SHOWN_MAX differences, in key order. */
  differences: KeyDifference[];
}

/** One replica's entries in key order, fetched a page at a time. */
class ReplicaCursor {
  private page: ScannedEntry[] = [];
  private index = 0;
  private done = false;
  private after: string | undefined;

  constructor(readonly node: ClusterNode, private readonly connection: Connection) {}

  /** The entry at the cursor, or undefined once the replica has no more. */
  async head(): Promise<ScannedEntry | undefined> {
    if (this.index < this.page.length) return this.page[this.index];
    // A page may come back empty without being the last; bound the refills all the same.
    for (let refill = 0; refill < 1000 && !this.done; refill += 1) {
      const result = await this.scan();
      this.page = result.entries;
      this.index = 0;
      this.done = result.done;
      if (result.entries.length > 0) {
        this.after = result.entries.at(-1)!.key;
        return this.page[0];
      }
    }
    return undefined;
  }

  advance(): void {
    this.index += 1;
  }

  private async scan(): Promise<z.infer<typeof DbScanResult>> {
    const request = { type: 'db.scan' as const, limit: SCAN_PAGE_KEYS, ...(this.after === undefined ? {} : { after: this.after }) };
    try {
      return await this.connection.request(request, SCAN_TIMEOUT_MS);
    } catch (error) {
      // The connection's own messages already name the database; a remote error may not.
      const message = (error as Error).message;
      throw new OccdbError('NODE_UNAVAILABLE', message.includes(this.node.name) ? message : `${this.node.name}: ${message}`);
    }
  }
}

export async function verifyReplicas(cluster: ClusterFile): Promise<VerifyReport> {
  const databases = clusterNodes(cluster).filter((node) => node.role === 'database');
  const connections = databases.map((node) => new Connection(node.endpoint, node.name));
  const cursors = databases.map((node, index) => new ReplicaCursor(node, connections[index]!));
  const report: VerifyReport = { keys: 0, replicas: databases.length, differenceCount: 0, differences: [] };
  try {
    // Each round consumes the smallest key of all replicas, so the loop ends after at most
    // as many rounds as there are distinct keys.
    for (;;) {
      const heads = await headsOf(cursors);
      const present = heads.filter((entry): entry is ScannedEntry => entry !== undefined);
      if (present.length === 0) break;
      const key = present.map((entry) => entry.key).reduce((a, b) => (b < a ? b : a));
      const atKey = heads.map((entry) => (entry?.key === key ? entry : undefined));
      report.keys += 1;
      if (!atKey.every((entry) => sameEntry(entry, atKey[0]))) {
        report.differenceCount += 1;
        if (report.differences.length < DIFFERENCES_SHOWN_MAX) {
          const entries: KeyDifference['entries'] = {};
          databases.forEach((node, index) => {
            const entry = atKey[index];
            entries[node.name] = entry ? { version: entry.version, ...('value' in entry ? { value: entry.value } : {}) } : null;
          });
          report.differences.push({ key, entries });
        }
      }
      atKey.forEach((entry, index) => entry && cursors[index]!.advance());
    }
  } finally {
    for (const connection of connections) connection.close();
  }
  return report;
}

/** Every replica's next entry; if any replica fails, names every one that did. */
async function headsOf(cursors: readonly ReplicaCursor[]): Promise<(ScannedEntry | undefined)[]> {
  const settled = await Promise.allSettled(cursors.map((cursor) => cursor.head()));
  const failures = settled.flatMap((outcome) => (outcome.status === 'rejected' ? [(outcome.reason as Error).message] : []));
  if (failures.length > 0) throw new OccdbError('NODE_UNAVAILABLE', `cannot verify: ${failures.join('; ')}`);
  return settled.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : undefined));
}

function sameEntry(a: ScannedEntry | undefined, b: ScannedEntry | undefined): boolean {
  if (!a || !b) return a === b;
  return a.version[0] === b.version[0] && a.version[1] === b.version[1] && JSON.stringify(a.value) === JSON.stringify(b.value);
}

function formatEntry(entry: KeyDifference['entries'][string]): string {
  if (entry === null) return 'missing';
  return 'value' in entry && entry.value !== undefined
    ? `version ${formatTimestamp(entry.version)} value ${JSON.stringify(entry.value)}`
    : `version ${formatTimestamp(entry.version)} deleted`;
}

/** Prints the verdict; returns true when the replicas agree. */
export async function runVerify(cluster: ClusterFile, json: boolean, output: Output): Promise<boolean> {
  const report = await verifyReplicas(cluster);
  const agree = report.differenceCount === 0;
  if (json) {
    output.line(JSON.stringify({ agree, ...report }, null, 2));
    return agree;
  }
  if (agree) {
    output.line(`verify: ${plural(report.keys, 'key')}, ${plural(report.replicas, 'replica')} agree`);
    return true;
  }
  output.line(`verify: ${plural(report.differenceCount, 'key')} of ${report.keys} differ between the ${plural(report.replicas, 'replica')}`);
  for (const difference of report.differences) {
    const sides = Object.entries(difference.entries).map(([name, entry]) => `${name} ${formatEntry(entry)}`);
    output.line(`  ${difference.key}: ${sides.join('; ')}`);
  }
  if (report.differenceCount > report.differences.length) {
    output.line(`  ... and ${report.differenceCount - report.differences.length} more`);
  }
  return false;
}
