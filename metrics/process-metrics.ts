// The metrics each kind of process serves, registered from what it keeps anyway: names, help
// texts and labels in one place (the README lists them).
import type client from 'prom-client';
import { byLabel, collected, collectedHistograms, type Sample } from './registry.js';
import type { TransactionObserver } from './transactions.js';

/** A view as the metrics count it. */
export interface ViewCounts {
  epoch: number;
  members: number;
  replicas: number;
  joining: number;
}

export interface MessageCounts {
  sent: ReadonlyMap<string, number>;
  received: ReadonlyMap<string, number>;
}

function registerMessages(registry: client.Registry, messages: MessageCounts): void {
  collected(registry, 'counter', 'messages_sent_total', 'Requests this process sent to other processes, by type.', () => byLabel('type', messages.sent));
  collected(registry, 'counter', 'messages_received_total', 'Requests this process received, by type.', () => byLabel('type', messages.received));
}

function registerView(registry: client.Registry, view: () => ViewCounts | undefined, whose: string): void {
  const gauge = (name: string, help: string, read: (counts: ViewCounts) => number): void => {
    collected(registry, 'gauge', name, `${help} (${whose}).`, (): Sample[] => {
      const counts = view();
      return counts ? [[{}, read(counts)]] : [];
    });
  };
  gauge('view_epoch', 'Epoch of the view', (counts) => counts.epoch);
  gauge('view_members', 'Middlewares that are members of the view', (counts) => counts.members);
  gauge('view_replicas', 'Databases that are replicas in the view', (counts) => counts.replicas);
  gauge('view_joining', 'Databases joining in the view (being brought up to date)', (counts) => counts.joining);
}

export interface MiddlewareMetricsSource {
  observer: TransactionObserver;
  messages: MessageCounts;
  inFlight(): number;
  view(): ViewCounts | undefined;
  /** APPLYs queued or on their way and not acknowledged, per database. */
  appliesPending(): Array<readonly [database: number, count: number]>;
  suspicions(): { middlewares: number; databases: number };
}

export function registerMiddlewareMetrics(registry: client.Registry, source: MiddlewareMetricsSource): void {
  const { observer } = source;
  collected(registry, 'counter', 'transactions_committed_total', 'Client transactions answered committed.', () => [[{}, observer.committed]]);
  collected(registry, 'counter', 'transactions_rolled_back_total', 'Client transactions answered rolled back (ROLLBACK, or a command\'s error); not counted as commits.', () => [[{}, observer.rolledBack]]);
  collected(registry, 'counter', 'transactions_failed_total', 'Client transactions answered with a failure, by error code.', () => byLabel('code', observer.failed));
  collected(registry, 'counter', 'aborts_total', 'Attempts that lost (a NO vote, a stale read, a lock refused, a view change) and ran again or gave up, by reason.', () => byLabel('reason', observer.aborts));
  collected(registry, 'counter', 'retries_total', 'Attempts run again after an abort, summed over the answered transactions.', () => [[{}, observer.retries]]);
  collectedHistograms(registry, 'transaction_duration_seconds', 'Latency of the answered transactions by phase: read (the last attempt\'s read phase), validation (to its decision), apply (to the last replica\'s acknowledgement), total (request to reply).', 'phase', observer.latency);
  collected(registry, 'gauge', 'transactions_in_flight', 'Client transactions running now.', () => [[{}, source.inFlight()]]);
  collected(registry, 'gauge', 'applies_pending', 'APPLYs sent or queued to each database and not acknowledged yet (how far the replica lags behind this middleware).', () => source.appliesPending().map(([database, count]) => [{ database: `DATABASE${database}` }, count] as const));
  collected(registry, 'counter', 'suspicions_total', 'Suspicions this middleware acted on (it proposed to remove the process), of middlewares and of databases.', () => {
    const raised = source.suspicions();
    return [[{ of: 'middleware' }, raised.middlewares], [{ of: 'database' }, raised.databases]];
  });
  registerMessages(registry, source.messages);
  registerView(registry, source.view, 'the view installed here');
}

export interface DatabaseMetricsSource {
  messages: MessageCounts;
  applies(): number;
  syncs(): number;
  lingers(): number;
  /** Requests in the database's line now (APPLYs admitted and not yet written among them). */
  pending(): number;
  keys(): Promise<number>;
  view(): ViewCounts | undefined;
}

export function registerDatabaseMetrics(registry: client.Registry, source: DatabaseMetricsSource): void {
  collected(registry, 'counter', 'database_applies_total', 'APPLYs written (each a committed transaction\'s writes) since the database started.', () => [[{}, source.applies()]]);
  collected(registry, 'counter', 'database_syncs_total', 'Synced group writes (one per group of APPLYs) since the database started.', () => [[{}, source.syncs()]]);
  collected(registry, 'counter', 'database_lingers_total', 'Groups that waited for more APPLYs before they were written.', () => [[{}, source.lingers()]]);
  collected(registry, 'gauge', 'database_pending', 'Requests waiting in the database\'s line of writes now.', () => [[{}, source.pending()]]);
  collected(registry, 'gauge', 'database_keys', 'Entries with a live value stored.', async () => [[{}, await source.keys()]]);
  registerMessages(registry, source.messages);
  registerView(registry, source.view, 'the newest view chosen that the database knows');
}
