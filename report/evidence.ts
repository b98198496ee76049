// Getting the evidence report 2 is rendered from: running the project's own programs (ava on
// selected test files, `occdb scenario`, the fault benchmark, the benchmark) with their output
// kept under reports/results/, reports/nemesis/ and reports/bench/, and reading back the
// documents they leave. Nothing here interprets results; render.ts does.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SCENARIO_FILE_NAME } from '../scenario/manifest.js';
import { RESULTS_FORMAT, RESULTS_FORMAT_VERSION, machineFacts, type ScenarioResults } from '../scenario/report.js';
import { parseAvaOutput } from './ava-output.js';
import { TEST_FILES, testCompiledFile, testOutputFile, testSourceFile } from './catalogue.js';
import {
  RUNS_FORMAT,
  RUNS_FORMAT_VERSION,
  type BenchEvidence,
  type BenchResultsDocument,
  type ChartFile,
  type CommandRun,
  type Missing,
  type NemesisEvidence,
  type NemesisResultsDocument,
  type RunsDocument,
  type ScenarioEvidence,
  type ScenarioManifestListing,
  type TestEvidence,
  type TestFileEvidence,
} from './input.js';

export const RESULTS_DIR = 'reports/results';
export const RUNS_FILE = `${RESULTS_DIR}/runs.json`;
export const SCENARIOS_FILE = `${RESULTS_DIR}/scenarios.json`;
export const SCENARIOS_OUTPUT_FILE = `${RESULTS_DIR}/scenarios.txt`;
export const SCENARIOS_TARGET = 'test-scenarios';
export const BENCH_DIR = 'reports/bench';
export const BENCH_FILE = `${BENCH_DIR}/results.json`;
export const BENCH_OUTPUT_FILE = `${RESULTS_DIR}/bench.txt`;
export const NEMESIS_DIR = 'reports/nemesis';
export const NEMESIS_FILE = `${NEMESIS_DIR}/results.json`;
export const NEMESIS_CHART_FILE = `${NEMESIS_DIR}/timeline.svg`;
export const NEMESIS_OUTPUT_FILE = `${RESULTS_DIR}/nemesis.txt`;
/**
 * The nemesis never writes into a folder that exists: it writes here, and only a run that
 * wrote its results replaces NEMESIS_DIR with this folder. A failed run leaves the old one.
 */
export const NEMESIS_NEXT_DIR = `${NEMESIS_DIR}.new`;
const NEMESIS_PREVIOUS_DIR = `${NEMESIS_DIR}.old`;
/** Every fault on a middleware and on a database; partitions need root (else they are skipped and say so). */
export const NEMESIS_ARGS = ['--nemesis', 'kill,pause,partition'];

/** Bounds on each command; far above what they take, so only a hang reaches them. */
const TEST_FILE_TIMEOUT_MS = 20 * 60_000;
const SCENARIOS_TIMEOUT_MS = 30 * 60_000;
const BENCH_TIMEOUT_MS = 90 * 60_000;
const NEMESIS_TIMEOUT_MS = 20 * 60_000;
/** After SIGINT or SIGTERM, how long a command gets to stop its clusters before SIGKILL. */
const STOP_GRACE_MS = 30_000;
/** A document older than the command that should have written it (by more than clock jitter) is stale. */
const CLOCK_SLACK_MS = 5_000;

/** How to make each kind of evidence, for messages about a missing one. */
export const HOW_TO_PRODUCE = {
  scenarios: `run \`npm run report\` without --reuse-scenarios (or \`node dist/cli/main.js scenario ${SCENARIOS_TARGET} --out ${SCENARIOS_FILE}\`)`,
  tests: 'run `npm run report` without --reuse-tests',
  bench: `run \`npm run report\` without --reuse-bench (or \`node dist/bench/main.js --sweep report --out ${BENCH_DIR}\`, about 12 minutes)`,
  nemesis: `run \`npm run report\` without --reuse-nemesis (or \`node dist/bench/nemesis.js ${NEMESIS_ARGS.join(' ')} --out ${NEMESIS_DIR}\` with no ${NEMESIS_DIR} there, about 3 minutes; as root, or the partitions are skipped)`,
};

// ---- running a command ----

export interface CommandSpec {
  /** As shown in the report. */
  shown: string;
  executable: string;
  args: string[];
  /** Relative to the root; stdout and stderr both go here. */
  outputFile: string;
  timeoutMs: number;
}

/**
 * Runs one command in the project folder in its own process group, its output going to its
 * output file and to our stderr. On timeout, or when `signal` fires (Ctrl-C), the group gets
 * SIGINT/SIGTERM so the command can stop the clusters it started, and SIGKILL after a grace period.
 */
export function runCommand(root: string, spec: CommandSpec, signal: AbortSignal): Promise<CommandRun> {
  const outputPath = path.join(root, spec.outputFile);
  fs.mkdirSync(path.dirname(outputPath), { recursive: true });
  const output = fs.createWriteStream(outputPath);
  const startedAt = new Date();
  process.stderr.write(`\n$ ${spec.shown}\n`);
  return new Promise((resolve) => {
    const child = spawn(spec.executable, spec.args, { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let timedOut = false;
    let killTimer: NodeJS.Timeout | null = null;
    const signalGroup = (name: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, name);
      } catch {
        // The group is already gone.
      }
    };
    const stop = (name: NodeJS.Signals): void => {
      signalGroup(name);
      killTimer ??= setTimeout(() => signalGroup('SIGKILL'), STOP_GRACE_MS);
    };
    const timeout = setTimeout(() => {
      timedOut = true;
      process.stderr.write(`\n${spec.shown}: still running after ${Math.round(spec.timeoutMs / 60_000)} minutes: stopping it\n`);
      stop('SIGTERM');
    }, spec.timeoutMs);
    const onAbort = (): void => stop('SIGINT');
    signal.addEventListener('abort', onAbort, { once: true });
    const copy = (chunk: Buffer): void => {
      output.write(chunk);
      process.stderr.write(chunk);
    };
    child.stdout.on('data', copy);
    child.stderr.on('data', copy);
    let finished = false;
    // A command that cannot be started reports 'error' and may report 'close' too: finish once.
    const finish = (exitCode: number | null, endSignal: NodeJS.Signals | null, error?: Error): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timeout);
      if (killTimer !== null) clearTimeout(killTimer);
      signal.removeEventListener('abort', onAbort);
      if (error) output.write(`\n${spec.shown}: could not be started: ${error.message}\n`);
      const finishedAt = new Date();
      output.end(() => resolve({
        command: spec.shown,
        exitCode,
        signal: endSignal,
        timedOut,
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        durationMs: finishedAt.getTime() - startedAt.getTime(),
        outputFile: spec.outputFile,
      }));
    };
    child.on('error', (error) => finish(null, null, error));
    child.on('close', (exitCode, endSignal) => finish(exitCode, endSignal));
  });
}

// ---- the record of runs ----

export function readRuns(root: string): RunsDocument {
  const empty: RunsDocument = { format: RUNS_FORMAT, version: RUNS_FORMAT_VERSION };
  const file = path.join(root, RUNS_FILE);
  if (!fs.existsSync(file)) return empty;
  try {
    const document = JSON.parse(fs.readFileSync(file, 'utf8')) as RunsDocument;
    return document.format === RUNS_FORMAT && document.version === RUNS_FORMAT_VERSION ? document : empty;
  } catch {
    return empty;
  }
}

export function writeRuns(root: string, document: RunsDocument): void {
  const file = path.join(root, RUNS_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
}

// ---- the four kinds of evidence ----

export async function runTests(root: string, runs: RunsDocument, signal: AbortSignal): Promise<void> {
  runs.testsMachine = machineFacts();
  runs.tests = {};
  for (const spec of TEST_FILES) {
    if (signal.aborted) return;
    const compiled = testCompiledFile(spec.name);
    runs.tests[spec.name] = await runCommand(root, {
      shown: `npx ava ${compiled} --verbose`,
      executable: 'npx',
      args: ['ava', compiled, '--verbose'],
      outputFile: testOutputFile(spec.name),
      timeoutMs: TEST_FILE_TIMEOUT_MS,
    }, signal);
    writeRuns(root, runs);
  }
}

export async function runScenarios(root: string, runs: RunsDocument, signal: AbortSignal): Promise<void> {
  runs.scenarios = await runCommand(root, {
    shown: `node dist/cli/main.js scenario ${SCENARIOS_TARGET} --out ${SCENARIOS_FILE}`,
    executable: process.execPath,
    args: ['dist/cli/main.js', 'scenario', SCENARIOS_TARGET, '--out', SCENARIOS_FILE],
    outputFile: SCENARIOS_OUTPUT_FILE,
    timeoutMs: SCENARIOS_TIMEOUT_MS,
  }, signal);
  writeRuns(root, runs);
}

export async function runBench(root: string, runs: RunsDocument, signal: AbortSignal): Promise<void> {
  runs.bench = await runCommand(root, {
    shown: `node dist/bench/main.js --sweep report --out ${BENCH_DIR}`,
    executable: process.execPath,
    args: ['dist/bench/main.js', '--sweep', 'report', '--out', BENCH_DIR],
    outputFile: BENCH_OUTPUT_FILE,
    timeoutMs: BENCH_TIMEOUT_MS,
  }, signal);
  writeRuns(root, runs);
}

/**
 * Runs the nemesis into NEMESIS_NEXT_DIR (the nemesis refuses a folder that exists), and when it
 * wrote its results (exit 0, or 1 for a broken invariant, which is a result to show) puts that
 * folder in place of NEMESIS_DIR. Any other ending leaves NEMESIS_DIR as it was; the reading
 * then finds no new document and says so.
 */
export async function runNemesis(root: string, runs: RunsDocument, signal: AbortSignal): Promise<void> {
  const next = path.join(root, NEMESIS_NEXT_DIR);
  const previous = path.join(root, NEMESIS_PREVIOUS_DIR);
  const target = path.join(root, NEMESIS_DIR);
  // Left by a run that was itself killed: never results of this run.
  fs.rmSync(next, { recursive: true, force: true });
  fs.rmSync(previous, { recursive: true, force: true });
  runs.nemesis = await runCommand(root, {
    shown: `node dist/bench/nemesis.js ${NEMESIS_ARGS.join(' ')} --out ${NEMESIS_NEXT_DIR}`,
    executable: process.execPath,
    args: ['dist/bench/nemesis.js', ...NEMESIS_ARGS, '--out', NEMESIS_NEXT_DIR],
    outputFile: NEMESIS_OUTPUT_FILE,
    timeoutMs: NEMESIS_TIMEOUT_MS,
  }, signal);
  const wroteResults = (runs.nemesis.exitCode === 0 || runs.nemesis.exitCode === 1) && !signal.aborted && fs.existsSync(path.join(next, 'results.json'));
  if (wroteResults) {
    if (fs.existsSync(target)) fs.renameSync(target, previous);
    fs.renameSync(next, target);
    fs.rmSync(previous, { recursive: true, force: true });
  } else {
    fs.rmSync(next, { recursive: true, force: true });
  }
  writeRuns(root, runs);
}

// ---- reading the evidence back ----

function readJson(root: string, file: string): { value: unknown } | { error: string } {
  const full = path.join(root, file);
  if (!fs.existsSync(full)) return { error: `${file} does not exist` };
  try {
    return { value: JSON.parse(fs.readFileSync(full, 'utf8')) };
  } catch (error) {
    return { error: `${file} is not readable JSON: ${(error as Error).message.split('\n')[0]}` };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether a document made at `madeAt` can be the output of `run` (not one left by an earlier run). */
function madeBy(madeAt: string, run: CommandRun | null): boolean {
  return run !== null && Date.parse(madeAt) >= Date.parse(run.startedAt) - CLOCK_SLACK_MS && Date.parse(madeAt) <= Date.parse(run.finishedAt) + CLOCK_SLACK_MS;
}

/**
 * The manifest as listed in the report: the file's own text with its description (shown
 * separately) replaced by a pointer, if that leaves valid JSON; else the parsed manifest without it.
 */
export function manifestListing(text: string): string {
  const parsed = JSON.parse(text) as Record<string, unknown>;
  const replaced = text.replace(/^(\s*)"description"\s*:\s*".*",\s*$/m, '$1"description": "(the paragraph above)",');
  try {
    const check = JSON.parse(replaced) as Record<string, unknown>;
    if (replaced !== text && JSON.stringify({ ...check, description: null }) === JSON.stringify({ ...parsed, description: null })) return replaced.trimEnd();
  } catch {
    // Fall through to the parsed form.
  }
  const { description: _description, ...rest } = parsed;
  return JSON.stringify(rest, null, 2);
}

export function loadScenarioEvidence(root: string, runs: RunsDocument, reused: boolean): ScenarioEvidence {
  const run = runs.scenarios ?? null;
  const missingBecause = (reason: string): ScenarioEvidence => ({
    reused, run, document: null, manifests: {},
    missing: { what: `the scenario results (${reason})`, howToProduce: `To produce them, ${HOW_TO_PRODUCE.scenarios}.${run ? ` The last scenario command's output is in ${run.outputFile}.` : ''}` },
  });
  const read = readJson(root, SCENARIOS_FILE);
  if ('error' in read) return missingBecause(read.error);
  const document = read.value;
  if (!isRecord(document) || document.format !== RESULTS_FORMAT || document.version !== RESULTS_FORMAT_VERSION || !Array.isArray(document.runs) || !isRecord(document.machine)) {
    return missingBecause(`${SCENARIOS_FILE} is not a version ${RESULTS_FORMAT_VERSION} ${RESULTS_FORMAT} document`);
  }
  const results = document as unknown as ScenarioResults;
  const madeByRun = madeBy(results.startedAt, run);
  if (!reused && !madeByRun) return missingBecause(`the scenario command did not write a new ${SCENARIOS_FILE}; the one there is from ${results.startedAt}`);
  const manifests: Record<string, ScenarioManifestListing> = {};
  for (const scenarioRun of results.runs) {
    if (manifests[scenarioRun.scenario]) continue;
    const manifestPath = scenarioRun.manifest.endsWith(SCENARIO_FILE_NAME) ? scenarioRun.manifest : path.join(scenarioRun.manifest, SCENARIO_FILE_NAME);
    const relative = path.isAbsolute(manifestPath) ? path.relative(root, manifestPath) : manifestPath;
    try {
      manifests[scenarioRun.scenario] = { path: relative, listing: manifestListing(fs.readFileSync(path.join(root, relative), 'utf8')) };
    } catch (error) {
      manifests[scenarioRun.scenario] = { path: relative, listing: null, error: (error as Error).message };
    }
  }
  // A reused document keeps the record of the command only if that command wrote it.
  return { reused, run: madeByRun ? run : null, document: results, manifests, missing: null };
}

/** The `//` comment a test file opens with, as one paragraph. */
export function leadingComment(source: string): string {
  const lines: string[] = [];
  for (const line of source.split('\n')) {
    const match = /^\/\/ ?(.*)$/.exec(line.trim());
    if (!match) break;
    lines.push(match[1]!.trim());
  }
  return lines.join(' ').replace(/\s+/g, ' ').trim();
}

export function loadTestEvidence(root: string, runs: RunsDocument, reused: boolean): TestEvidence {
  const files: TestFileEvidence[] = TEST_FILES.map((spec) => {
    const sourceFile = testSourceFile(spec.name);
    let description = '';
    try {
      description = leadingComment(fs.readFileSync(path.join(root, sourceFile), 'utf8'));
    } catch {
      description = `(${sourceFile} could not be read)`;
    }
    const run = runs.tests?.[spec.name] ?? null;
    const base = { name: spec.name, sourceFile, compiledFile: testCompiledFile(spec.name), description, run };
    const outputPath = path.join(root, run?.outputFile ?? testOutputFile(spec.name));
    if (run === null || !fs.existsSync(outputPath)) {
      return { ...base, run: null, output: null, missing: { what: `the output of ${testCompiledFile(spec.name)}`, howToProduce: `To produce it, ${HOW_TO_PRODUCE.tests}.` } };
    }
    return { ...base, output: parseAvaOutput(fs.readFileSync(outputPath, 'utf8')), missing: null };
  });
  return { reused, machine: runs.testsMachine ?? null, files };
}

/** Throughput and restarts against skew first, then throughput against clients. */
const CHART_ORDER = [/^ycsb-throughput-vs-theta/, /^ycsb-restarts-vs-theta/, /^bank-throughput-vs-clients/, /^ycsb-theta0-throughput-vs-clients/];

export function chartTitle(svg: string, fallback: string): string {
  const match = /<title>([^<]*)<\/title>/.exec(svg);
  if (!match) return fallback;
  return match[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

function loadCharts(root: string): ChartFile[] {
  const folder = path.join(root, BENCH_DIR);
  const names = fs.existsSync(folder) ? fs.readdirSync(folder).filter((name) => name.endsWith('.svg')) : [];
  const rank = (name: string): number => {
    const index = CHART_ORDER.findIndex((pattern) => pattern.test(name));
    return index < 0 ? CHART_ORDER.length : index;
  };
  return names
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .map((fileName) => ({ fileName, title: chartTitle(fs.readFileSync(path.join(folder, fileName), 'utf8'), fileName) }));
}

export function loadBenchEvidence(root: string, runs: RunsDocument, reused: boolean): BenchEvidence {
  const run = runs.bench ?? null;
  const missingBecause = (reason: string): BenchEvidence => ({
    reused, run, document: null, charts: [],
    missing: { what: `the benchmark results (${reason})`, howToProduce: `To produce them, ${HOW_TO_PRODUCE.bench}.${run ? ` The last benchmark command's output is in ${run.outputFile}.` : ''}` },
  });
  const read = readJson(root, BENCH_FILE);
  if ('error' in read) return missingBecause(read.error);
  const document = read.value;
  if (!isRecord(document) || document.version !== 1 || !Array.isArray(document.runs) || !Array.isArray(document.summaries) || !isRecord(document.options) || !isRecord(document.machine)) {
    return missingBecause(`${BENCH_FILE} is not a version 1 benchmark result document`);
  }
  const results = document as unknown as BenchResultsDocument;
  const madeByRun = madeBy(results.machine.date, run);
  if (!reused && !madeByRun) return missingBecause(`the benchmark did not write a new ${BENCH_FILE}; the one there is from ${results.machine.date}`);
  return { reused, run: madeByRun ? run : null, document: results, charts: loadCharts(root), missing: null };
}

export function loadNemesisEvidence(root: string, runs: RunsDocument, reused: boolean): NemesisEvidence {
  const run = runs.nemesis ?? null;
  const missingBecause = (reason: string): NemesisEvidence => ({
    reused, run, document: null, chart: null,
    missing: { what: `the fault benchmark's results (${reason})`, howToProduce: `To produce them, ${HOW_TO_PRODUCE.nemesis}.${run ? ` The last nemesis command's output is in ${run.outputFile}.` : ''}` },
  });
  const read = readJson(root, NEMESIS_FILE);
  if ('error' in read) return missingBecause(read.error);
  const document = read.value;
  const faultsWellFormed = isRecord(document) && Array.isArray(document.faults)
    && document.faults.every((fault) => isRecord(fault) && typeof fault.kind === 'string' && typeof fault.target === 'string' && (fault.skipped !== undefined || isRecord(fault.checks)));
  if (!isRecord(document) || typeof document.command !== 'string' || typeof document.date !== 'string' || typeof document.invariantsHeld !== 'boolean' || !isRecord(document.options) || !faultsWellFormed) {
    return missingBecause(`${NEMESIS_FILE} is not a result document of bench/nemesis.ts`);
  }
  const results = document as unknown as NemesisResultsDocument;
  const madeByRun = madeBy(results.date, run);
  if (!reused && !madeByRun) return missingBecause(`the nemesis did not write new results; the ${NEMESIS_FILE} there is from ${results.date}`);
  const chartPath = path.join(root, NEMESIS_CHART_FILE);
  const chart = fs.existsSync(chartPath) ? { fileName: path.basename(NEMESIS_CHART_FILE), title: chartTitle(fs.readFileSync(chartPath, 'utf8'), 'Commits per second under the nemesis') } : null;
  return { reused, run: madeByRun ? run : null, document: results, chart, missing: null };
}

/** What a --reuse-* flag needs that is not there, checked before anything runs. */
export function missingForReuse(root: string, reuse: { scenarios: boolean; tests: boolean; bench: boolean; nemesis: boolean }): Missing[] {
  const missing: Missing[] = [];
  if (reuse.scenarios && !fs.existsSync(path.join(root, SCENARIOS_FILE))) {
    missing.push({ what: `${SCENARIOS_FILE} (needed by --reuse-scenarios)`, howToProduce: HOW_TO_PRODUCE.scenarios });
  }
  if (reuse.bench && !fs.existsSync(path.join(root, BENCH_FILE))) {
    missing.push({ what: `${BENCH_FILE} (needed by --reuse-bench)`, howToProduce: HOW_TO_PRODUCE.bench });
  }
  if (reuse.nemesis && !fs.existsSync(path.join(root, NEMESIS_FILE))) {
    missing.push({ what: `${NEMESIS_FILE} (needed by --reuse-nemesis)`, howToProduce: HOW_TO_PRODUCE.nemesis });
  }
  if (reuse.tests) {
    const runs = readRuns(root);
    const absent = TEST_FILES.filter((spec) => {
      const run = runs.tests?.[spec.name];
      return run === undefined || !fs.existsSync(path.join(root, run.outputFile));
    });
    if (absent.length > 0) {
      missing.push({ what: `the recorded runs of ${absent.map((spec) => testCompiledFile(spec.name)).join(', ')} (${RUNS_FILE} and their outputs, needed by --reuse-tests)`, howToProduce: HOW_TO_PRODUCE.tests });
    }
  }
  return missing;
}
