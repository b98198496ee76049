// What a middleware counts and records of the transactions it runs, kept as plain numbers
// incremented in place: the metrics endpoint reads them when scraped (metrics/middleware.ts),
// and `observe` reads the timelines and the hot keys.
import type { ObserveAnswer, TxnResult } from '../protocol/schemas.js';
import { HotKeys } from './hot-keys.js';
import { LatencyHistogram } from './histogram.js';
import { Trace, TraceEvent, TraceRing } from './traces.js';

export const HOT_KEYS_SHOWN = 20;

/** The phases of a transaction's latency, as the histograms name them. */
export const PHASES = ['read', 'validation', 'apply', 'total'] as const;
export type Phase = (typeof PHASES)[number];

export class TransactionObserver {
  readonly traces: TraceRing;
  readonly hotKeys = new HotKeys();
  committed = 0;
  rolledBack = 0;
  /** Transactions that failed (no outcome but an error), by error code. */
  readonly failed = new Map<string, number>();
  /** Attempts that lost and ran again (or gave up), by reason. */
  readonly aborts = new Map<string, number>();
  retries = 0;
  readonly latency: Record<Phase, LatencyHistogram> = {
    read: new LatencyHistogram(), validation: new LatencyHistogram(), apply: new LatencyHistogram(), total: new LatencyHistogram(),
  };

  constructor(middlewareId: number) {
    this.traces = new TraceRing(`M${middlewareId}`);
  }

  begin(): Trace {
    return this.traces.begin();
  }

  /** An attempt of `trace` lost (`reason`), because of `key` when one is known. */
  aborted(trace: Trace | undefined, reason: string, key: string | undefined): void {
    this.aborts.set(reason, (this.aborts.get(reason) ?? 0) + 1);
    if (key !== undefined) this.hotKeys.aborted(key);
    trace?.note(TraceEvent.aborted, reason, key ?? '');
  }

  /** A vote or a lock waited because of `key`. */
  waited(key: string): void {
    this.hotKeys.waited(key);
  }

  /** `trace`'s reply leaves with `result`: counted, timed by phase, and kept among the recent ones. */
  finish(trace: Trace, result: TxnResult): void {
    trace.end(result.outcome, result.error?.code);
    if (result.outcome === 'committed') this.committed += 1;
    else if (result.outcome === 'rolled_back') this.rolledBack += 1;
    else {
      const code = result.error?.code ?? 'INTERNAL';
      this.failed.set(code, (this.failed.get(code) ?? 0) + 1);
    }
    this.retries += result.retries;
    this.timePhases(trace);
    this.traces.keep(trace);
  }

  /** A request that ended in an error reply rather than a result. */
  finishWithError(trace: Trace, code: string): void {
    trace.end('failed', code);
    this.failed.set(code, (this.failed.get(code) ?? 0) + 1);
    this.traces.keep(trace);
  }

  observe(): ObserveAnswer {
    return { hotKeys: this.hotKeys.top(HOT_KEYS_SHOWN), recent: this.traces.recent() };
  }

  /** The last attempt's phases: read (its beginning to the block's end), validation (to the decision), apply (to the last acknowledgement). */
  private timePhases(trace: Trace): void {
    this.latency.total.observeMs(trace.totalMs);
    const readBegan = Math.max(trace.lastAt(TraceEvent.readBegan), trace.lastAt(TraceEvent.locksGranted));
    const readEnded = trace.lastAt(TraceEvent.readEnded);
    if (readBegan < 0 || readEnded < readBegan) return;
    this.latency.read.observeMs(readEnded - readBegan);
    const applySent = trace.lastAt(TraceEvent.applySent);
    const decidedAt = applySent >= 0 ? applySent : trace.lastAt(TraceEvent.decided);
    if (decidedAt >= readEnded) this.latency.validation.observeMs(decidedAt - readEnded);
    const applied = trace.lastAt(TraceEvent.applied);
    if (applySent >= readEnded && applied >= applySent) this.latency.apply.observeMs(applied - applySent);
  }
}
