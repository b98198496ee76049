// The scenario runner's result document (what `occdb scenario --json` prints and `--out`
// writes, and what the report generator reads) and its text form. The document's shape is
// documented in test-scenarios/README.md; change both together, and bump
// RESULTS_FORMAT_VERSION when a field changes meaning or disappears.
import os from 'node:os';
import type { Strategy } from '../cluster/cluster-file.js';
import { plural } from '../startup/output.js';
import type { TxnResult } from '../protocol/schemas.js';
import type { Property } from './manifest.js';

export const RESULTS_FORMAT = 'occdb-scenario-results';
export const RESULTS_FORMAT_VERSION = 1;

export interface MachineFacts {
  hostname: string;
  platform: string;
  release: string;
  arch: string;
  cpuModel: string;
  cpuCount: number;
  memoryBytes: number;
  node: string;
}

export interface ScenarioResults {
  format: typeof RESULTS_FORMAT;
  version: typeof RESULTS_FORMAT_VERSION;
  startedAt: string;
  finishedAt: string;
  machine: MachineFacts;
  /** The scenario path the command was given. */
  target: string;
  /** `local`: the runner started (and stopped) a cluster per strategy; otherwise the cluster file used. */
  cluster: 'local' | string;
  passed: boolean;
  /** The command was interrupted (SIGINT, SIGTERM): the runs listed are those that ran. */
  interrupted: boolean;
  runs: ScenarioRun[];
  /** Scenario × strategy pairs not run, and why (e.g. the given cluster runs another strategy). */
  skipped: SkippedRun[];
}

export interface SkippedRun {
  scenario: string;
  strategy: Strategy;
  reason: string;
}

/** One scenario under one strategy. */
export interface ScenarioRun {
  scenario: string;
  property: Property;
  description: string;
  /** The manifest's path as given to the command. */
  manifest: string;
  strategy: Strategy;
  cluster: ClusterFacts;
  /** Every entry name of the scenario ran as `<keyPrefix><name>`, so runs never share entries. */
  keyPrefix: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** The text of every command file, by the name the manifest uses. */
  files: Record<string, string>;
  setup: ClientRun | null;
  steps: StepRun[];
  final: FinalReading;
  /** `occdb verify` after the last step; null when the scenario does not ask for it. */
  replicas: ReplicaComparison | null;
  expectations: ExpectationResult[];
  passed: boolean;
  /** Why the run stopped before its end (setup failed, an action failed); the expectations then fail. */
  error?: string;
}

export interface ClusterFacts {
  file: string;
  startedHere: boolean;
  middlewares: number[];
  databases: number[];
}

export type StepRun = ClientsStepRun | ActionStepRun;

export interface ClientsStepRun {
  kind: 'clients';
  /** Milliseconds since the run started. */
  startedMs: number;
  finishedMs: number;
  clients: ClientRun[];
}

export interface ActionStepRun {
  kind: 'action';
  action: 'kill-database' | 'restart-database';
  database: number;
  /** The pid killed, or the pid of the restarted process. */
  pid?: number;
  startedMs: number;
  finishedMs: number;
  ok: boolean;
  detail: string;
}

export interface ClientRun {
  name: string;
  middleware: number;
  file: string;
  startAfterMs: number;
  /** Milliseconds since the run started. */
  startedMs: number;
  finishedMs: number;
  /** What the classic client (`occdb client`) would print on stdout. */
  output: string;
  /** What the classic client would exit with: 0 all committed, 1 one rolled back or failed, 3 middleware unreachable. */
  exitCode: number;
  /** One result per transaction (block) of the file, as the middleware answered it. */
  transactions: TxnResult[];
  /** The middleware could not be reached or did not answer in time; the blocks after it did not run. */
  error?: { code: string; message: string };
}

/** An entry's value as read at the end: an integer, or null for "does not exist". */
export type EntryReading = number | null;

export type MiddlewareReading = { state: Record<string, EntryReading> } | { error: string };

export interface FinalReading {
  /** Every entry name the scenario mentions, sorted. */
  keys: string[];
  /** The state every middleware read, when they all read the same one; else null. */
  state: Record<string, EntryReading> | null;
  /** What each middleware read, in one read-only transaction each. */
  byMiddleware: Record<string, MiddlewareReading>;
}

export type ReplicaComparison =
  | { agree: boolean; keys: number; replicas: number; differenceCount: number; differences: unknown[] }
  | { agree: false; error: string };

export interface ExpectationResult {
  /** Stable: `exitCode.A`, `output.A`, `final.x`, `final`, `invariant.0`, `oneOf`, `middlewaresAgree`, `replicasAgree`. */
  id: string;
  /** A sentence: what must hold. */
  description: string;
  pass: boolean;
  expected: unknown;
  seen: unknown;
  /** Why it failed, or which alternative matched. */
  detail?: string;
}

export function machineFacts(): MachineFacts {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: os.platform(),
    release: os.release(),
    arch: os.arch(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    memoryBytes: os.totalmem(),
    node: process.version,
  };
}

// ---- the text form ----

/** A value as the text report shows it: strings quoted with \n visible, the rest as JSON. */
export function show(value: unknown): string {
  if (value === undefined) return '(nothing)';
  const text = JSON.stringify(value);
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(2);
}

function describeClient(client: ClientRun, nameWidth: number, fileWidth: number): string {
  const outcomes = client.transactions.map((transaction) => (transaction.retries > 0 ? `${transaction.outcome} after ${transaction.retries} ${transaction.retries === 1 ? 'retry' : 'retries'}` : transaction.outcome));
  const summary = client.error ? `${outcomes.join(', ')}${outcomes.length > 0 ? ', then ' : ''}${client.error.code}: ${client.error.message}` : outcomes.join(', ') || 'no transaction';
  return `${client.name.padEnd(nameWidth)}  MIDDLEWARE${client.middleware}  ${client.file.padEnd(fileWidth)}  ${seconds(client.startedMs)}-${seconds(client.finishedMs)} s  exit ${client.exitCode}  ${summary}`;
}

/** The lines of one run: what ran, then each expectation with PASS or FAIL, seen and expected. */
export function formatRun(run: ScenarioRun): string[] {
  const lines: string[] = [];
  lines.push(`${run.scenario} (${run.property}) under ${run.strategy}: ${run.passed ? 'PASS' : 'FAIL'}`);
  if (run.keyPrefix !== '') lines.push(`  entries ran as ${run.keyPrefix}<name>; cluster ${run.cluster.file}`);
  const clients = [...(run.setup ? [run.setup] : []), ...run.steps.flatMap((step) => (step.kind === 'clients' ? step.clients : []))];
  const nameWidth = Math.max(0, ...clients.map((client) => client.name.length));
  const fileWidth = Math.max(0, ...clients.map((client) => client.file.length));
  if (run.setup) lines.push(`  ${describeClient(run.setup, nameWidth, fileWidth)}`);
  for (const step of run.steps) {
    if (step.kind === 'clients') {
      for (const client of step.clients) lines.push(`  ${describeClient(client, nameWidth, fileWidth)}`);
    } else {
      lines.push(`  ${step.action} DATABASE${step.database} at ${seconds(step.startedMs)} s: ${step.ok ? '' : 'FAILED: '}${step.detail}`);
    }
  }
  if (run.error) lines.push(`  stopped early: ${run.error}`);
  for (const expectation of run.expectations) {
    const verdict = expectation.pass ? 'PASS' : 'FAIL';
    let line = `  ${verdict}  ${expectation.description}: seen ${show(expectation.seen)}`;
    if (!expectation.pass) line += `, expected ${show(expectation.expected)}`;
    if (expectation.detail) line += ` (${expectation.detail})`;
    lines.push(line);
  }
  return lines;
}

/** The closing lines: one per run, then the count. */
export function formatSummary(results: ScenarioResults): string[] {
  const lines = ['summary:'];
  for (const run of results.runs) {
    const failed = run.expectations.filter((expectation) => !expectation.pass).length;
    const detail = run.passed ? `${run.expectations.length} expectations` : `${failed} of ${run.expectations.length} expectations failed${run.error ? `; ${run.error}` : ''}`;
    lines.push(`  ${run.passed ? 'PASS' : 'FAIL'}  ${run.scenario.padEnd(24)} ${run.strategy.padEnd(11)} ${detail}`);
  }
  const reasons = new Map<string, number>();
  for (const skipped of results.skipped) reasons.set(skipped.reason, (reasons.get(skipped.reason) ?? 0) + 1);
  for (const [reason, count] of reasons) lines.push(`  skipped ${plural(count, 'run')}: ${reason}`);
  const passedCount = results.runs.filter((run) => run.passed).length;
  lines.push(`${passedCount} of ${plural(results.runs.length, 'run')} passed${results.interrupted ? '; interrupted before the end' : ''}`);
  return lines;
}
