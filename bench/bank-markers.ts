// The bank with a marker per transfer, for runs with faults: accounts with a known total, and
// clients (each starting on one middleware, failing over to the others) moving money between
// them. Every transfer also writes a marker key of its own (`m<client>x<index>`), so afterwards
// each replica tells exactly which transfers committed: every acknowledged marker must be
// there, no marker of a transfer reported not committed may be, and each account must hold its
// initial balance plus the effects of exactly the transfers whose markers are there. A transfer
// whose client got TXN_OUTCOME_UNKNOWN (or no answer) may be either way.
//
// Used by the nemesis benchmark (bench/nemesis.ts) and the failure tests (test/e2e-failures.test.ts).
import { setTimeout as delay } from 'node:timers/promises';
import { OccdbClient } from '../client/client.js';
import { databaseEndpoint, type ClusterFile } from '../cluster/cluster-file.js';
import { Connection } from '../protocol/connection.js';
import type { TxnResult } from '../protocol/schemas.js';
import { verifyReplicas } from '../startup/verify.js';
import { randomInteger, seededRandom, type Random } from './random.js';

export type TransferOutcome = 'committed' | 'unknown' | 'not-committed';

export interface Transfer {
  marker: string;
  from: number;
  to: number;
  amount: number;
  client: number;
  /** performance.now() when the client sent it and when it learnt the outcome. */
  startMs: number;
  endMs: number;
  outcome: TransferOutcome;
  /** The error code, for a transfer that did not commit. */
  code?: string;
  middlewareId?: number;
}

export interface BankOptions {
  accounts: number;
  initial: number;
  /** Per transfer, at the client (a paused middleware holds a transfer until it wakes). */
  timeoutMs?: number;
}

export const BANK_DEFAULTS: Required<BankOptions> = { accounts: 10, initial: 1_000, timeoutMs: 10_000 };

/** What the bank needs of a cluster: its file (clients resolve names through it) and its contents. */
export interface BankCluster {
  file: string;
  cluster: ClusterFile;
}

/** A marker key: `m<client>x<index>`. */
const MARKER_PATTERN = /^m\d+x\d+$/;
const SCAN_PAGE_KEYS = 1_000;
const SCAN_PAGES_MAX = 10_000;
const SCAN_TIMEOUT_MS = 10_000;
const READ_TIMEOUT_MS = 30_000;
/** A client whose transfer did not commit waits this long before the next one. */
const FAILED_TRANSFER_PAUSE_MS = 20;

export function account(index: number): string {
  return `acct${index}`;
}

/** The command text of one transfer, its marker written in the same transaction. */
export function transferText(marker: string, from: number, to: number, amount: number): string {
  return `ADD ${account(from)} ${account(from)} -${amount}\nADD ${account(to)} ${account(to)} ${amount}\nASSIGN ${marker} 1\n`;
}

/** What a client learnt of a transfer: committed, unknown (TXN_OUTCOME_UNKNOWN, or no answer at all), or not. */
export function outcomeOf(result: TxnResult | undefined): { outcome: TransferOutcome; code?: string } {
  if (result === undefined) return { outcome: 'unknown', code: 'NO_ANSWER' };
  if (result.outcome === 'committed') return { outcome: 'committed' };
  const code = result.error?.code ?? result.outcome;
  return { outcome: code === 'TXN_OUTCOME_UNKNOWN' ? 'unknown' : 'not-committed', code };
}

/** Runs one transfer on `client` and records it. */
export async function runTransfer(client: OccdbClient, transfer: Omit<Transfer, 'startMs' | 'endMs' | 'outcome'>, timeoutMs: number): Promise<Transfer> {
  const startMs = performance.now();
  let result: TxnResult | undefined;
  let thrown: string | undefined;
  try {
    result = await client.run(transferText(transfer.marker, transfer.from, transfer.to, transfer.amount), { timeoutMs });
  } catch (error) {
    // No middleware could take it, or an error reply: nothing says it did not run; count it unknown.
    thrown = (error as { code?: string }).code ?? 'ERROR';
  }
  const known = outcomeOf(result);
  return { ...transfer, startMs, endMs: performance.now(), ...known, ...(thrown ? { code: thrown } : {}), ...(result ? { middlewareId: result.middlewareId } : {}) };
}

/** Writes the initial balances through MIDDLEWARE<via>, in one transaction. */
export async function setupBank(cluster: BankCluster, via: number, options: BankOptions = BANK_DEFAULTS): Promise<void> {
  const client = OccdbClient.connect(`MIDDLEWARE${via}`, { clusterFile: cluster.file, failover: false });
  try {
    const text = Array.from({ length: options.accounts }, (_, index) => `ASSIGN ${account(index)} ${options.initial}`).join('\n') + '\n';
    const result = await client.run(text, { timeoutMs: READ_TIMEOUT_MS });
    if (result.outcome !== 'committed') throw new Error(`bank setup did not commit: ${JSON.stringify(result)}`);
  } finally {
    client.close();
  }
}

export interface WorkloadOptions extends BankOptions {
  /** The middleware each client starts at (it fails over to the next ones of the cluster file). */
  clientMiddlewares: number[];
  seed: number;
  /** The accounts the transfers move money between (default: all). */
  accountsUsed?: number[];
  /** Added to each client's index in its markers, so that workloads run one after another on one bank never share a marker. */
  clientNumberBase?: number;
}

/** Two distinct items of `items`, drawn uniformly. */
function drawTwo<T>(random: Random, items: readonly T[]): [T, T] {
  const first = randomInteger(random, 0, items.length - 1);
  const second = (first + randomInteger(random, 1, items.length - 1)) % items.length;
  return [items[first]!, items[second]!];
}

/** Clients in a loop of transfers until stop(). */
export class BankWorkload {
  readonly transfers: Transfer[] = [];
  private running = true;
  private readonly clients: OccdbClient[];
  private readonly loops: Promise<void>[];

  constructor(cluster: BankCluster, readonly options: WorkloadOptions) {
    const used = options.accountsUsed ?? Array.from({ length: options.accounts }, (_, index) => index);
    const base = options.clientNumberBase ?? 0;
    this.clients = options.clientMiddlewares.map((middleware) => OccdbClient.connect(`MIDDLEWARE${middleware}`, { clusterFile: cluster.file }));
    this.loops = this.clients.map(async (client, clientIndex) => {
      const random = seededRandom(options.seed * 1_000 + clientIndex);
      const clientNumber = base + clientIndex;
      // Bounded: a transfer takes milliseconds; a workload runs for seconds to minutes.
      for (let index = 0; index < 1_000_000 && this.running; index++) {
        const [from, to] = drawTwo(random, used);
        const transfer = await runTransfer(client, { marker: `m${clientNumber}x${index}`, from, to, amount: randomInteger(random, 1, 20), client: clientNumber }, options.timeoutMs ?? BANK_DEFAULTS.timeoutMs);
        this.transfers.push(transfer);
        if (transfer.outcome !== 'committed') await delay(FAILED_TRANSFER_PAUSE_MS);
      }
    });
  }

  /** Ends every client's loop (after its transfer in flight) and closes the clients. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    for (const client of this.clients) client.close();
  }

  /** Acknowledgement times of the committed transfers, in order. */
  commitTimes(): number[] {
    return this.transfers.filter((transfer) => transfer.outcome === 'committed').map((transfer) => transfer.endMs).sort((a, b) => a - b);
  }

  /** Committed transfers that started at or after `sinceMs`. */
  committedStartedSince(sinceMs: number): number {
    return this.transfers.filter((transfer) => transfer.outcome === 'committed' && transfer.startMs >= sinceMs).length;
  }

  /**
   * Waits until `count` transfers that started at or after `sinceMs` have committed, and at
   * least until `minimumUntilMs`; gives up (without throwing) at `timeoutMs` from now.
   */
  async runUntil(options: { sinceMs: number; count: number; minimumUntilMs: number; timeoutMs: number }): Promise<boolean> {
    const deadlineMs = performance.now() + options.timeoutMs;
    while (performance.now() < deadlineMs) {
      if (this.committedStartedSince(options.sinceMs) >= options.count && performance.now() >= options.minimumUntilMs) return true;
      await delay(50);
    }
    return false;
  }

  /**
   * The longest stretch in [fromMs, toMs] without a commit acknowledged: from `fromMs` to the
   * first one, between two, and from the last one to `toMs` (a cluster that never commits again
   * shows the whole window).
   */
  longestGap(fromMs: number, toMs: number): number {
    let previous = fromMs;
    let longest = 0;
    for (const time of this.commitTimes()) {
      if (time <= fromMs) continue;
      if (time > toMs) break;
      longest = Math.max(longest, time - previous);
      previous = time;
    }
    return Math.max(longest, toMs - previous);
  }

  /** Counts by outcome (and code), for a log line. */
  summary(): string {
    return summarizeOutcomes(this.transfers);
  }
}

/** `120 committed, 3 unknown TXN_OUTCOME_UNKNOWN, …`: counts by outcome and code. */
export function summarizeOutcomes(transfers: readonly Transfer[]): string {
  const counts = new Map<string, number>();
  for (const transfer of transfers) {
    const key = transfer.outcome === 'committed' ? 'committed' : `${transfer.outcome}${transfer.code ? ` ${transfer.code}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].map(([key, count]) => `${count} ${key}`).join(', ');
}

/** Every entry of one replica, tombstones included: key to `[version, value]` as JSON text. */
export async function scanReplica(cluster: ClusterFile, databaseId: number): Promise<Map<string, string>> {
  const entry = cluster.databases.find((database) => database.id === databaseId);
  if (!entry) throw new Error(`the cluster has no DATABASE${databaseId}`);
  const connection = new Connection(databaseEndpoint(entry), `DATABASE${databaseId}`);
  const entries = new Map<string, string>();
  try {
    let after: string | undefined;
    for (let page = 0; page < SCAN_PAGES_MAX; page++) {
      const result = await connection.request({ type: 'db.scan', limit: SCAN_PAGE_KEYS, ...(after ? { after } : {}) }, SCAN_TIMEOUT_MS);
      for (const item of result.entries) entries.set(item.key, JSON.stringify([item.version, item.value ?? null]));
      if (result.done || result.entries.length === 0) break;
      after = result.entries[result.entries.length - 1]!.key;
    }
  } finally {
    connection.close();
  }
  return entries;
}

/** The value of every key on one replica (tombstones left out). */
export async function replicaValues(cluster: ClusterFile, databaseId: number): Promise<Map<string, unknown>> {
  const values = new Map<string, unknown>();
  for (const [key, text] of await scanReplica(cluster, databaseId)) {
    const [, value] = JSON.parse(text) as [unknown, unknown];
    if (value !== null && value !== undefined) values.set(key, value);
  }
  return values;
}

export interface BankVerdict {
  /** Everything found wrong; empty when the bank is sound. */
  problems: string[];
  /** What each replica holds, for the log. */
  notes: string[];
  /** Per replica, the markers found. */
  markers: Map<number, Set<string>>;
  /** The total read through a middleware, or null when it could not be read. */
  totalRead: number | null;
  /** Acknowledged transfers whose marker is missing, summed over the replicas. */
  lostCount: number;
}

/**
 * The bank's checks after a fault, with no transfer in flight: the total read through
 * MIDDLEWARE<via> (failing over if it must), and on each replica, every acknowledged transfer's
 * marker, no marker of a transfer reported not committed, no stray marker, and each account
 * equal to its initial balance plus the transfers whose markers are there.
 */
export async function checkBank(cluster: BankCluster, transfers: readonly Transfer[], via: number, options: BankOptions = BANK_DEFAULTS): Promise<BankVerdict> {
  const problems: string[] = [];
  const notes: string[] = [];
  const total = options.accounts * options.initial;
  const client = OccdbClient.connect(`MIDDLEWARE${via}`, { clusterFile: cluster.file });
  let readThrough: number[] = [];
  try {
    const result = await client.run(Array.from({ length: options.accounts }, (_, index) => `PRINT ${account(index)}`).join('\n') + '\n', { timeoutMs: READ_TIMEOUT_MS });
    if (result.outcome !== 'committed') problems.push(`reading the accounts through MIDDLEWARE${via}: ${JSON.stringify(result.error ?? result.outcome)}`);
    else readThrough = result.results.flatMap((line) => (line.kind === 'print' ? [Number(line.value)] : []));
  } catch (error) {
    problems.push(`reading the accounts through MIDDLEWARE${via}: ${(error as Error).message}`);
  } finally {
    client.close();
  }
  const sum = readThrough.reduce((a, b) => a + b, 0);
  if (readThrough.length === options.accounts && sum !== total) problems.push(`the total read through a middleware is ${sum}, not ${total}: ${readThrough.join(' ')}`);

  const byMarker = new Map(transfers.map((transfer) => [transfer.marker, transfer]));
  const markers = new Map<number, Set<string>>();
  let lostCount = 0;
  const databaseIds = cluster.cluster.databases.map((database) => database.id);
  for (const database of databaseIds) {
    const where = `DATABASE${database}`;
    let values: Map<string, unknown>;
    try {
      values = await replicaValues(cluster.cluster, database);
    } catch (error) {
      problems.push(`${where}: could not be read: ${(error as Error).message}`);
      continue;
    }
    const present = new Set([...values.keys()].filter((key) => MARKER_PATTERN.test(key)));
    markers.set(database, present);
    const expected = Array.from({ length: options.accounts }, () => options.initial);
    for (const marker of present) {
      const transfer = byMarker.get(marker);
      if (!transfer) {
        problems.push(`${where}: marker ${marker} of no transfer the clients ran`);
        continue;
      }
      if (transfer.outcome === 'not-committed') problems.push(`${where}: ${marker} is there, but its client was told it did not commit (${transfer.code})`);
      expected[transfer.from]! -= transfer.amount;
      expected[transfer.to]! += transfer.amount;
    }
    const lost = transfers.filter((transfer) => transfer.outcome === 'committed' && !present.has(transfer.marker));
    lostCount += lost.length;
    if (lost.length > 0) problems.push(`${where}: ${lost.length} acknowledged transfers lost: ${lost.slice(0, 5).map((transfer) => transfer.marker).join(', ')}`);
    const stored = Array.from({ length: options.accounts }, (_, index) => Number(values.get(account(index))));
    const wrong = stored.flatMap((value, index) => (value === expected[index] ? [] : [`${account(index)} ${value} (expected ${expected[index]})`]));
    if (wrong.length > 0) problems.push(`${where}: accounts differ from the initial balances plus the transfers whose markers are there: ${wrong.join(', ')}`);
    const storedSum = stored.reduce((a, b) => a + b, 0);
    if (storedSum !== total) problems.push(`${where}: the accounts sum to ${storedSum}, not ${total}`);
    notes.push(`${where}: ${present.size} markers`);
    if (database === databaseIds[0] && readThrough.length === options.accounts && readThrough.some((value, index) => value !== stored[index])) {
      problems.push(`the accounts read through a middleware (${readThrough.join(' ')}) are not ${where}'s (${stored.join(' ')})`);
    }
  }
  return { problems, notes, markers, totalRead: readThrough.length === options.accounts ? sum : null, lostCount };
}

/**
 * `occdb verify`'s comparison of the replicas; retried a few times in case an APPLY was still on
 * its way to one of them (a difference that stays is reported).
 */
export async function verifyClean(cluster: BankCluster, attempts = 5): Promise<{ clean: boolean; differences: string[] }> {
  let differences: string[] = [];
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      const report = await verifyReplicas(cluster.cluster);
      if (report.differenceCount === 0) return { clean: true, differences: [] };
      differences = report.differences.slice(0, 5).map((difference) => `${difference.key}: ${JSON.stringify(difference.entries)}`);
    } catch (error) {
      differences = [`verify failed: ${(error as Error).message}`];
    }
    await delay(500);
  }
  return { clean: false, differences };
}
