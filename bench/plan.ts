// The order of a sweep's runs. Strategies are interleaved: every repetition runs every
// configuration under every strategy before the next repetition begins, so drift of the
// machine (another job, thermal limits, a filling disk) hits all strategies alike. Within a
// repetition the strategies also take turns going first, so none always runs just after
// a cluster sat idle or just after the data was re-created.
import type { Strategy } from '../cluster/cluster-file.js';
import type { BenchOptions } from './options.js';
import type { WorkloadSpec } from './workloads.js';

/** One point of the sweep: a workload at a number of clients. */
export interface Configuration {
  /** Stable and unique within a sweep: `bank/c16`, `ycsb/t0.9/c16`. */
  key: string;
  workload: WorkloadSpec;
  clients: number;
}

export interface PlannedRun {
  /** 0-based position in the sweep. */
  index: number;
  /** 0-based. */
  repetition: number;
  configuration: Configuration;
  strategy: Strategy;
}

export function configurationKey(workload: WorkloadSpec, clients: number): string {
  return workload.kind === 'bank' ? `bank/c${clients}` : `ycsb/t${workload.theta}/c${clients}`;
}

export function configurations(options: Pick<BenchOptions, 'workloads' | 'clients' | 'thetas' | 'operationsPerTransaction' | 'readFraction' | 'points'>): Configuration[] {
  // A --sweep preset lists its configurations one by one, in the order given.
  if (options.points !== undefined) {
    return options.points.map((point) => {
      const workload: WorkloadSpec = point.workload === 'bank'
        ? { kind: 'bank' }
        : { kind: 'ycsb', theta: point.theta, operationsPerTransaction: options.operationsPerTransaction, readFraction: options.readFraction };
      return { key: configurationKey(workload, point.clients), workload, clients: point.clients };
    });
  }
  const list: Configuration[] = [];
  for (const kind of options.workloads) {
    const workloads: WorkloadSpec[] = kind === 'bank'
      ? [{ kind: 'bank' }]
      : options.thetas.map((theta) => ({ kind: 'ycsb', theta, operationsPerTransaction: options.operationsPerTransaction, readFraction: options.readFraction }));
    for (const workload of workloads) {
      for (const clients of options.clients) list.push({ key: configurationKey(workload, clients), workload, clients });
    }
  }
  return list;
}

/** Every run of the sweep, in the order they are to run. */
export function planRuns(options: Pick<BenchOptions, 'workloads' | 'clients' | 'thetas' | 'operationsPerTransaction' | 'readFraction' | 'repetitions' | 'strategies' | 'points'>): PlannedRun[] {
  const runs: PlannedRun[] = [];
  const configurationList = configurations(options);
  const strategyCount = options.strategies.length;
  for (let repetition = 0; repetition < options.repetitions; repetition += 1) {
    configurationList.forEach((configuration, configurationIndex) => {
      for (let turn = 0; turn < strategyCount; turn += 1) {
        const strategy = options.strategies[(turn + repetition + configurationIndex) % strategyCount]!;
        runs.push({ index: runs.length, repetition, configuration, strategy });
      }
    });
  }
  return runs;
}
