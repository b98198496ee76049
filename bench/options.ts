// The benchmark's knobs: their defaults, the --quick sweep, the --sweep presets, and the checks that turn a
// mistaken value into a one-line message before anything is started.
import path from 'node:path';
import { STRATEGIES, clusterFilePath, type Strategy } from '../cluster/names.js';
import { OccdbError } from '../errors/catalogue.js';
import { SCHEDULING_POLICIES, type SchedulingPolicy } from '../runtime/scheduling.js';
import { WORKLOAD_KINDS, YCSB_KEY_COUNT, type WorkloadKind } from './workloads.js';

export interface BenchOptions {
  clients: number[];
  operationsPerTransaction: number;
  readFraction: number;
  thetas: number[];
  middlewares: number;
  databases: number;
  durationSeconds: number;
  warmupSeconds: number;
  repetitions: number;
  strategies: Strategy[];
  workloads: WorkloadKind[];
  quick: boolean;
  /** Processes talk over TCP loopback rather than Unix domain sockets. */
  tcpOnly: boolean;
  /** The clusters' CPU scheduling policy (runtime/scheduling.ts). */
  scheduling: SchedulingPolicy;
  /** The folder results.json, results.md and the charts go to. */
  out: string;
  /**
   * The cluster file of a running cluster to measure instead of local clusters the benchmark
   * starts (--cluster, --dir); then the cluster's own strategy and layout are what is measured.
   */
  clusterFile?: string;
  /** Seeds every client's random stream, so a sweep draws the same transactions again. */
  seed: number;
  /** The --sweep preset these options came from, if any. */
  sweep?: SweepName;
  /**
   * The configurations to run, listed one by one, instead of every workload x theta x
   * client count; set by a --sweep preset whose points are not a cross product.
   */
  points?: SweepPoint[];
}

/** One configuration of an explicitly listed sweep: a workload (with its skew, for ycsb) at a client count. */
export type SweepPoint = { workload: 'bank'; clients: number } | { workload: 'ycsb'; theta: number; clients: number };

export const REPETITIONS_MIN = 3;
export const CLIENTS_MAX = 1000;
export const NODES_PER_ROLE_MAX = 32;
export const SECONDS_MAX = 3600;

export const BENCH_DEFAULTS: Omit<BenchOptions, 'quick' | 'tcpOnly' | 'scheduling'> = {
  clients: [1, 4, 16, 64],
  operationsPerTransaction: 4,
  readFraction: 0.5,
  thetas: [0, 0.6, 0.8, 0.9, 0.99],
  middlewares: 3,
  databases: 3,
  durationSeconds: 10,
  warmupSeconds: 2,
  repetitions: 3,
  strategies: [...STRATEGIES],
  workloads: [...WORKLOAD_KINDS],
  out: path.join('bench-results', '<time>'),
  seed: 1,
};

/**
 * Where results go when --out is not given: a new folder per run under bench-results/, so
 * that no run overwrites another's, nor the committed report data (npm run report names
 * reports/bench itself).
 */
export function defaultOutDir(now: Date): string {
  return path.join('bench-results', now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-'));
}

/** Options that shape the local clusters: they do not apply to a running cluster (--cluster, --dir). */
export const LOCAL_CLUSTER_OPTIONS = ['--middlewares', '--databases', '--tcp-only', '--scheduling'] as const;

/**
 * What --quick changes (options given on the command line still win): one client count,
 * two skews, short runs. 3 workload points x 3 strategies x 3 repetitions = 27 runs of 3 s.
 */
export const QUICK_OVERRIDES: Partial<BenchOptions> = {
  clients: [16],
  thetas: [0, 0.9],
  durationSeconds: 2.5,
  warmupSeconds: 0.5,
};

export const SWEEP_NAMES = ['report'] as const;
export type SweepName = (typeof SWEEP_NAMES)[number];

export interface SweepPreset {
  /** What the preset is for, for --help. */
  summary: string;
  /** Knobs the preset sets (options given on the command line still win, except the configuration lists). */
  overrides: Partial<BenchOptions>;
  points: SweepPoint[];
}

const REPORT_CLIENTS = [1, 4, 16, 64];
const REPORT_SKEW_CLIENTS = 16;

/**
 * The sweep report 2 shows: throughput against clients for bank and for uniform ycsb, and
 * skew against restarts at one client count. 12 configurations x 3 strategies x 3
 * repetitions = 108 runs of 5 s.
 */
export const SWEEP_PRESETS: Record<SweepName, SweepPreset> = {
  report: {
    summary: `bank and ycsb theta 0 at clients ${REPORT_CLIENTS.join(',')}, ycsb theta 0.6,0.8,0.9,0.99 at ${REPORT_SKEW_CLIENTS} clients; 4 s runs after 1 s warm-up (about 12 minutes)`,
    overrides: {
      clients: REPORT_CLIENTS,
      thetas: [0, 0.6, 0.8, 0.9, 0.99],
      workloads: ['bank', 'ycsb'],
      strategies: [...STRATEGIES],
      repetitions: 3,
      durationSeconds: 4,
      warmupSeconds: 1,
    },
    points: [
      ...REPORT_CLIENTS.map((clients): SweepPoint => ({ workload: 'bank', clients })),
      ...REPORT_CLIENTS.map((clients): SweepPoint => ({ workload: 'ycsb', theta: 0, clients })),
      ...[0.6, 0.8, 0.9, 0.99].map((theta): SweepPoint => ({ workload: 'ycsb', theta, clients: REPORT_SKEW_CLIENTS })),
    ],
  },
};

function usage(message: string): OccdbError {
  return new OccdbError('USAGE', message);
}

/** `1,4,16` as a list of numbers, each checked by `check` (which names what is wrong). */
export function parseNumberList(text: string, option: string, check: (value: number) => string | null): number[] {
  const words = text.split(',').map((word) => word.trim());
  if (words.length === 0 || words.some((word) => word === '')) throw usage(`${option} takes a comma-separated list, got '${text}'`);
  const values = words.map((word) => {
    const value = Number(word);
    const problem = Number.isFinite(value) ? check(value) : 'is not a number';
    if (problem !== null) throw usage(`${option}: '${word}' ${problem}`);
    return value;
  });
  return [...new Set(values)].sort((a, b) => a - b);
}

export function parseNumber(text: string, option: string, check: (value: number) => string | null): number {
  const value = Number(text.trim());
  const problem = text.trim() !== '' && Number.isFinite(value) ? check(value) : 'is not a number';
  if (problem !== null) throw usage(`${option}: '${text}' ${problem}`);
  return value;
}

export function parseNameList<T extends string>(text: string, option: string, allowed: readonly T[]): T[] {
  const words = text.split(',').map((word) => word.trim().toLowerCase());
  const unknown = words.find((word) => !(allowed as readonly string[]).includes(word));
  if (unknown !== undefined) throw usage(`${option}: '${unknown}' is not one of ${allowed.join(', ')}`);
  // In the catalogue's order, so that tables and legends always list them alike.
  return allowed.filter((name) => words.includes(name));
}

export const checks = {
  integerIn: (minimum: number, maximum: number) => (value: number): string | null =>
    Number.isInteger(value) && value >= minimum && value <= maximum ? null : `must be an integer from ${minimum} to ${maximum}`,
  positiveSeconds: (value: number): string | null => (value > 0 && value <= SECONDS_MAX ? null : `must be more than 0 and at most ${SECONDS_MAX} seconds`),
  nonNegativeSeconds: (value: number): string | null => (value >= 0 && value <= SECONDS_MAX ? null : `must be from 0 to ${SECONDS_MAX} seconds`),
  fraction: (value: number): string | null => (value >= 0 && value <= 1 ? null : 'must be from 0 to 1'),
  theta: (value: number): string | null => (value >= 0 && value < 1 ? null : 'must be at least 0 and below 1 (the Zipfian generator is undefined at 1)'),
};

/** Raw option text as commander hands it over; absent means "not given". */
export interface RawBenchOptions {
  clients?: string;
  ops?: string;
  readFraction?: string;
  theta?: string;
  middlewares?: string;
  databases?: string;
  durationSeconds?: string;
  warmupSeconds?: string;
  repetitions?: string;
  strategies?: string;
  workloads?: string;
  quick?: boolean;
  tcpOnly?: boolean;
  scheduling?: string;
  sweep?: string;
  out?: string;
  seed?: string;
  cluster?: string;
  dir?: string;
}

/** The preset named by --sweep; a preset lists its own configurations, so the options that shape them are refused with it. */
function sweepPreset(raw: RawBenchOptions): { name: SweepName; preset: SweepPreset } | null {
  if (raw.sweep === undefined) return null;
  const name = SWEEP_NAMES.find((candidate) => candidate === raw.sweep!.trim().toLowerCase());
  if (name === undefined) throw usage(`--sweep: '${raw.sweep}' is not one of ${SWEEP_NAMES.join(', ')}`);
  const clashing = ([['--quick', raw.quick === true], ['--clients', raw.clients !== undefined], ['--theta', raw.theta !== undefined], ['--workloads', raw.workloads !== undefined]] as const)
    .filter(([, given]) => given)
    .map(([option]) => option);
  if (clashing.length > 0) throw usage(`--sweep ${name} lists its own configurations: it cannot be combined with ${clashing.join(', ')}`);
  return { name, preset: SWEEP_PRESETS[name] };
}

/**
 * Defaults, then --quick's or the --sweep preset's, then what was given; every value checked.
 * With a running cluster (`clusterStrategy` is its strategy, read from its cluster file), the
 * options of local clusters are refused and the strategy is the cluster's.
 */
export function resolveBenchOptions(raw: RawBenchOptions, now = new Date(), clusterStrategy?: Strategy): BenchOptions {
  const quick = raw.quick === true;
  const sweep = sweepPreset(raw);
  const tcpOnly = raw.tcpOnly === true;
  const scheduling = parseScheduling(raw.scheduling);
  const base: BenchOptions = { ...BENCH_DEFAULTS, ...(quick ? QUICK_OVERRIDES : {}), ...(sweep?.preset.overrides ?? {}), quick, tcpOnly, scheduling };
  const given = <T>(text: string | undefined, parse: (text: string) => T, fallback: T): T => (text === undefined ? fallback : parse(text));
  const options: BenchOptions = {
    quick,
    tcpOnly,
    scheduling,
    clients: given(raw.clients, (text) => parseNumberList(text, '--clients', checks.integerIn(1, CLIENTS_MAX)), base.clients),
    operationsPerTransaction: given(raw.ops, (text) => parseNumber(text, '--ops', checks.integerIn(1, 1000)), base.operationsPerTransaction),
    readFraction: given(raw.readFraction, (text) => parseNumber(text, '--read-fraction', checks.fraction), base.readFraction),
    thetas: given(raw.theta, (text) => parseNumberList(text, '--theta', checks.theta), base.thetas),
    middlewares: given(raw.middlewares, (text) => parseNumber(text, '--middlewares', checks.integerIn(1, NODES_PER_ROLE_MAX)), base.middlewares),
    databases: given(raw.databases, (text) => parseNumber(text, '--databases', checks.integerIn(1, NODES_PER_ROLE_MAX)), base.databases),
    durationSeconds: given(raw.durationSeconds, (text) => parseNumber(text, '--duration-seconds', checks.positiveSeconds), base.durationSeconds),
    warmupSeconds: given(raw.warmupSeconds, (text) => parseNumber(text, '--warmup-seconds', checks.nonNegativeSeconds), base.warmupSeconds),
    // Fewer than 3 repetitions give no meaningful median or spread.
    repetitions: given(raw.repetitions, (text) => parseNumber(text, '--repetitions', checks.integerIn(REPETITIONS_MIN, 1000)), base.repetitions),
    strategies: given(raw.strategies, (text) => parseNameList(text, '--strategies', STRATEGIES), base.strategies),
    workloads: given(raw.workloads, (text) => parseNameList(text, '--workloads', WORKLOAD_KINDS), base.workloads),
    out: path.resolve(raw.out ?? defaultOutDir(now)),
    seed: given(raw.seed, (text) => parseNumber(text, '--seed', checks.integerIn(0, 2 ** 32 - 1)), base.seed),
  };
  if (options.operationsPerTransaction > YCSB_KEY_COUNT) throw usage(`--ops must be at most ${YCSB_KEY_COUNT}, the number of ycsb keys`);
  const clusterFile = runningClusterFile(raw);
  if (clusterFile !== undefined) {
    const given = ([['--middlewares', raw.middlewares], ['--databases', raw.databases], ['--tcp-only', raw.tcpOnly], ['--scheduling', raw.scheduling]] as const)
      .filter(([, value]) => value !== undefined)
      .map(([option]) => option);
    if (given.length > 0) throw usage(`${given.join(', ')} shape${given.length === 1 ? 's' : ''} the local clusters the benchmark starts; with --cluster or --dir the running cluster is measured as it is`);
    if (clusterStrategy === undefined) throw usage('the strategy of the running cluster is not known');
    if (raw.strategies !== undefined && (options.strategies.length !== 1 || options.strategies[0] !== clusterStrategy)) {
      throw usage(`--strategies: the running cluster runs ${clusterStrategy}; only that strategy can be measured on it`);
    }
    options.strategies = [clusterStrategy];
    options.clusterFile = clusterFile;
  }
  if (sweep !== null) {
    options.sweep = sweep.name;
    options.points = sweep.preset.points.map((point) => ({ ...point }));
  }
  return options;
}

/** The cluster file --cluster or --dir names, or undefined when the benchmark starts its own clusters. */
export function runningClusterFile(raw: Pick<RawBenchOptions, 'cluster' | 'dir'>): string | undefined {
  if (raw.cluster !== undefined && raw.dir !== undefined) throw usage('give --cluster or --dir, not both');
  if (raw.cluster !== undefined) return path.resolve(raw.cluster);
  if (raw.dir !== undefined) return clusterFilePath(raw.dir);
  return undefined;
}

function parseScheduling(text: string | undefined): SchedulingPolicy {
  if (text === undefined) return 'batch';
  const policy = SCHEDULING_POLICIES.find((candidate) => candidate === text.trim().toLowerCase());
  if (policy === undefined) throw usage(`--scheduling: '${text}' is not one of ${SCHEDULING_POLICIES.join(', ')}`);
  return policy;
}
