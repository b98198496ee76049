// A bank workload for the failure tests on real processes: accounts with a known total, and
// clients (each on its own middleware, failing over to the others) moving money between them.
// Every transfer also writes a marker key of its own (`m<client>x<index>`), so after the fault
// each replica tells exactly which transfers committed: every acknowledged marker must be there,
// no marker of a transfer reported not committed may be, and each account must hold its initial
// balance plus the effects of exactly the transfers whose markers are there. A transfer whose
// client got TXN_OUTCOME_UNKNOWN (or no answer) may be either way.
import { OccdbClient } from '../../client/client.js';
import type { TxnResult } from '../../protocol/schemas.js';
import { verifyReplicas } from '../../startup/verify.js';
import { Random } from '../simulation/random.js';
import type { TestCluster } from './cluster.js';

export type TransferOutcome = 'committed' | 'unknown' | 'not-committed';

export interface Transfer {
  marker: string;
  from: number;
  to: number;
  amount: number;
  client: number;
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

/** Writes the initial balances through MIDDLEWARE<via>. */
export async function setupBank(cluster: TestCluster, via: number, options: BankOptions = BANK_DEFAULTS): Promise<void> {
  const client = OccdbClient.connect(`MIDDLEWARE${via}`, { clusterFile: cluster.file, failover: false });
  try {
    const text = Array.from({ length: options.accounts }, (_, index) => `ASSIGN ${account(index)} ${options.initial}`).join('\n') + '\n';
    const result = await client.run(text, { timeoutMs: 30_000 });
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
}

/** Clients in a loop of transfers until stop(). */
export class BankWorkload {
  readonly transfers: Transfer[] = [];
  private running = true;
  private readonly clients: OccdbClient[];
  private readonly loops: Promise<void>[];

  constructor(cluster: TestCluster, readonly options: WorkloadOptions) {
    const random = new Random(options.seed);
    const used = options.accountsUsed ?? Array.from({ length: options.accounts }, (_, index) => index);
    this.clients = options.clientMiddlewares.map((middleware) => OccdbClient.connect(`MIDDLEWARE${middleware}`, { clusterFile: cluster.file }));
    this.loops = this.clients.map(async (client, clientIndex) => {
      // Bounded: a transfer takes milliseconds; a test runs the workload for seconds.
      for (let index = 0; index < 1_000_000 && this.running; index++) {
        const [from, to] = random.sample(used, 2) as [number, number];
        const transfer = await runTransfer(client, { marker: `m${clientIndex}x${index}`, from, to, amount: random.int(1, 20), client: clientIndex }, options.timeoutMs ?? BANK_DEFAULTS.timeoutMs);
        this.transfers.push(transfer);
        if (transfer.outcome !== 'committed') await sleep(20);
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
      await sleep(50);
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

  /** Counts by outcome (and code), for t.log. */
  summary(): string {
    const counts = new Map<string, number>();
    for (const transfer of this.transfers) {
      const key = transfer.outcome === 'committed' ? 'committed' : `${transfer.outcome}${transfer.code ? ` ${transfer.code}` : ''}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts.entries()].map(([key, count]) => `${count} ${key}`).join(', ');
  }
}

/** The value of every key on one replica (tombstones left out). */
export async function replicaValues(cluster: TestCluster, databaseId: number): Promise<Map<string, unknown>> {
  const values = new Map<string, unknown>();
  for (const [key, text] of await cluster.scan(databaseId)) {
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
}

/**
 * The bank's checks after a fault: the total read through MIDDLEWARE<via> (failing over if it
 * must), and on each replica, every acknowledged transfer's marker, no marker of a transfer
 * reported not committed, no stray marker, and each account equal to its initial balance plus
 * the transfers whose markers are there.
 */
export async function checkBank(cluster: TestCluster, transfers: readonly Transfer[], via: number, options: BankOptions = BANK_DEFAULTS): Promise<BankVerdict> {
  const problems: string[] = [];
  const notes: string[] = [];
  const total = options.accounts * options.initial;
  const client = OccdbClient.connect(`MIDDLEWARE${via}`, { clusterFile: cluster.file });
  let readThrough: number[] = [];
  try {
    const result = await client.run(Array.from({ length: options.accounts }, (_, index) => `PRINT ${account(index)}`).join('\n') + '\n', { timeoutMs: 30_000 });
    if (result.outcome !== 'committed') problems.push(`reading the accounts through MIDDLEWARE${via}: ${JSON.stringify(result.error ?? result.outcome)}`);
    else readThrough = result.results.flatMap((line) => (line.kind === 'print' ? [Number(line.value)] : []));
  } finally {
    client.close();
  }
  const sum = readThrough.reduce((a, b) => a + b, 0);
  if (readThrough.length === options.accounts && sum !== total) problems.push(`the total read through a middleware is ${sum}, not ${total}: ${readThrough.join(' ')}`);

  const byMarker = new Map(transfers.map((transfer) => [transfer.marker, transfer]));
  const markers = new Map<number, Set<string>>();
  for (const database of cluster.databaseIds) {
    const values = await replicaValues(cluster, database);
    const present = new Set([...values.keys()].filter((key) => /^m\d+x\d+$/.test(key)));
    markers.set(database, present);
    const where = `DATABASE${database}`;
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
    if (lost.length > 0) problems.push(`${where}: ${lost.length} acknowledged transfers lost: ${lost.slice(0, 5).map((transfer) => transfer.marker).join(', ')}`);
    const stored = Array.from({ length: options.accounts }, (_, index) => Number(values.get(account(index))));
    const wrong = stored.flatMap((value, index) => (value === expected[index] ? [] : [`${account(index)} ${value} (expected ${expected[index]})`]));
    if (wrong.length > 0) problems.push(`${where}: accounts differ from the initial balances plus the transfers whose markers are there: ${wrong.join(', ')}`);
    const storedSum = stored.reduce((a, b) => a + b, 0);
    if (storedSum !== total) problems.push(`${where}: the accounts sum to ${storedSum}, not ${total}`);
    notes.push(`${where}: ${present.size} markers`);
    if (database === cluster.databaseIds[0] && readThrough.length === options.accounts && readThrough.some((value, index) => value !== stored[index])) {
      problems.push(`the accounts read through a middleware (${readThrough.join(' ')}) are not ${where}'s (${stored.join(' ')})`);
    }
  }
  return { problems, notes, markers };
}

/**
 * `occdb verify`'s comparison of the replicas; retried a few times in case an APPLY was still on
 * its way to one of them (a difference that stays is reported).
 */
export async function verifyClean(cluster: TestCluster, attempts = 5): Promise<{ clean: boolean; differences: string[] }> {
  let differences: string[] = [];
  for (let attempt = 0; attempt < attempts; attempt++) {
    const report = await verifyReplicas(cluster.cluster);
    if (report.differenceCount === 0) return { clean: true, differences: [] };
    differences = report.differences.slice(0, 5).map((difference) => `${difference.key}: ${JSON.stringify(difference.entries)}`);
    await sleep(500);
  }
  return { clean: false, differences };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 100 ms until it holds; throws after `timeoutMs` naming `what`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadlineMs = performance.now() + timeoutMs;
  while (performance.now() < deadlineMs) {
    if (await condition()) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
