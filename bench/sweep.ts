// A whole sweep: the planned runs in order, one cluster per strategy kept between its runs
// and replaced after a failed run, every cluster stopped at the end whatever happened. With
// a running cluster (options.clusterFile), every run is on it, and it is left running.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Strategy } from '../cluster/cluster-file.js';
import { type BenchCluster, RunningCluster, StrategyCluster } from './cluster.js';
import type { ClockTicks } from './measure.js';
import type { BenchOptions } from './options.js';
import type { PlannedRun } from './plan.js';
import { type RunRecord, executeRun, failedRecord } from './runner.js';

/** What a sweep tells whoever shows progress. */
export interface SweepListener {
  runStarting(run: PlannedRun): void;
  runFinished(run: PlannedRun, record: RunRecord): void;
  /** Something worth a line of its own: a cluster starting, a failure. */
  note(text: string): void;
}

export interface SweepResult {
  records: RunRecord[];
  interrupted: boolean;
  /** Problems stopping the clusters: processes that may still be running. */
  stopProblems: string[];
}

export async function runSweep(runs: readonly PlannedRun[], options: BenchOptions, ticks: ClockTicks, signal: AbortSignal, listener: SweepListener): Promise<SweepResult> {
  const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-bench-'));
  const running = options.clusterFile === undefined ? null : new RunningCluster(options.clusterFile);
  const clusters = new Map<Strategy, BenchCluster>(
    options.strategies.map((strategy) => [
      strategy,
      running ?? new StrategyCluster(strategy, rootDir, { middlewares: options.middlewares, databases: options.databases }, { tcpOnly: options.tcpOnly, scheduling: options.scheduling }),
    ]),
  );
  const records: RunRecord[] = [];
  const stopProblems: string[] = [];
  const control = { signal, ticks, durationSeconds: options.durationSeconds, warmupSeconds: options.warmupSeconds, seed: options.seed };
  try {
    for (const run of runs) {
      if (signal.aborted) break;
      listener.runStarting(run);
      const cluster = clusters.get(run.strategy)!;
      let record: RunRecord;
      const ready = await cluster.ensureRunning((text) => listener.note(text));
      if (!ready.ok) {
        record = failedRecord(run, 'unavailable', ready.reason);
      } else {
        try {
          record = await executeRun(run, cluster, control);
        } catch (error) {
          // A bug of the benchmark or the client, not a measurement: record it and go on.
          record = failedRecord(run, 'error', `the run crashed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
        }
        // A failed run may have left broken data or processes behind: the next run of this
        // strategy gets a fresh cluster.
        if (record.status === 'failed' && record.failure?.kind !== 'interrupted') stopProblems.push(...(await cluster.stop()));
      }
      // An interrupted run measured nothing and broke nothing: it is simply not there.
      if (record.failure?.kind === 'interrupted') break;
      records.push(record);
      listener.runFinished(run, record);
    }
  } finally {
    for (const cluster of clusters.values()) stopProblems.push(...(await cluster.stop()));
    if (stopProblems.length === 0) fs.rmSync(rootDir, { recursive: true, force: true });
  }
  return { records, interrupted: signal.aborted, stopProblems };
}
