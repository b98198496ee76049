// The shapes report 2 is rendered from: what each evidence command did (command line, exit
// code, times, where its output went), and the result documents it left. evidence.ts fills
// these from real runs and files; render.ts turns them into markdown and reads nothing else.
import type { MachineInfo } from '../bench/measure.js';
import type { FaultRecord } from '../bench/nemesis-report.js';
import type { NemesisOptions } from '../bench/nemesis-run.js';
import type { BenchOptions } from '../bench/options.js';
import type { RunRecord } from '../bench/runner.js';
import type { GroupSummary } from '../bench/summary.js';
import type { MachineFacts, ScenarioResults } from '../scenario/report.js';
import type { ParsedAvaOutput } from './ava-output.js';

/** One command the generator ran, as recorded in reports/results/runs.json. */
export interface CommandRun {
  /** As a reader would type it in the project folder. */
  command: string;
  /** Null when the process was ended by a signal. */
  exitCode: number | null;
  signal: string | null;
  /** It ran past its time limit and was stopped. */
  timedOut: boolean;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Its stdout and stderr, relative to the project folder. */
  outputFile: string;
}

export const RUNS_FORMAT = 'occdb-report-runs';
export const RUNS_FORMAT_VERSION = 1;

/** reports/results/runs.json: the record of the last run of each kind of evidence. */
export interface RunsDocument {
  format: typeof RUNS_FORMAT;
  version: typeof RUNS_FORMAT_VERSION;
  scenarios?: CommandRun;
  /** The machine the test files ran on (the scenario and bench documents carry their own). */
  testsMachine?: MachineFacts;
  tests?: Record<string, CommandRun>;
  bench?: CommandRun;
  nemesis?: CommandRun;
}

/** reports/bench/results.json as bench/main.ts writes it. */
export interface BenchResultsDocument {
  version: 1;
  commandLine: string;
  options: BenchOptions;
  machine: MachineInfo;
  wallSeconds: number;
  interrupted: boolean;
  plannedRunCount: number;
  runs: RunRecord[];
  summaries: (Omit<GroupSummary, 'failedRuns'> & { failedRunIndexes: number[] })[];
}

/** reports/nemesis/results.json as bench/nemesis.ts writes it. */
export interface NemesisResultsDocument {
  /** As the nemesis was invoked. */
  command: string;
  /** Absent in documents written before the nemesis recorded it. */
  startedAt?: string;
  /** When the results were written, at the end of the run. */
  date: string;
  machine?: MachineInfo;
  /** 'loopback' or 'namespaces (…)'. */
  network: string;
  options: Omit<NemesisOptions, 'namespaces' | 'dir' | 'signal' | 'loopbackReason'>;
  bucketMs: number;
  /** The nemesis's own verdict: every fault that ran left the bank total, the acknowledged transfers and the replicas intact. */
  invariantsHeld: boolean;
  /** One per fault, in the order they ran; a skipped one says why. */
  faults: FaultRecord[];
  transfers: number;
  stopProblems: string[];
}

/** A piece of evidence that could not be had, and what to do about it. */
export interface Missing {
  what: string;
  howToProduce: string;
}

export interface ScenarioManifestListing {
  /** Relative to the project folder. */
  path: string;
  /** The manifest as JSON text without its description (shown separately), or null if it could not be read. */
  listing: string | null;
  error?: string;
}

export interface ScenarioEvidence {
  /** True when the document came from an earlier run (--reuse-scenarios). */
  reused: boolean;
  run: CommandRun | null;
  document: ScenarioResults | null;
  /** By scenario name. */
  manifests: Record<string, ScenarioManifestListing>;
  missing: Missing | null;
}

export interface TestFileEvidence {
  name: string;
  sourceFile: string;
  compiledFile: string;
  /** The comment the test file opens with: what its tests show. */
  description: string;
  run: CommandRun | null;
  output: ParsedAvaOutput | null;
  missing: Missing | null;
}

export interface TestEvidence {
  reused: boolean;
  machine: MachineFacts | null;
  files: TestFileEvidence[];
}

export interface ChartFile {
  fileName: string;
  title: string;
}

export interface BenchEvidence {
  reused: boolean;
  run: CommandRun | null;
  document: BenchResultsDocument | null;
  /** The SVG charts next to the document, in the order the report shows them. */
  charts: ChartFile[];
  missing: Missing | null;
}

export interface NemesisEvidence {
  reused: boolean;
  run: CommandRun | null;
  document: NemesisResultsDocument | null;
  /** The timeline next to the document (commits per second, faults shaded), if there. */
  chart: ChartFile | null;
  missing: Missing | null;
}

export interface ReportInput {
  /** When the markdown was rendered (ISO time). */
  generatedAt: string;
  /** How the generator was invoked, e.g. `npm run report -- --reuse-bench`. */
  generatorCommand: string;
  scenarios: ScenarioEvidence;
  tests: TestEvidence;
  bench: BenchEvidence;
  nemesis: NemesisEvidence;
}
