// Report 2 as markdown, from the evidence documents alone: the scenario runner's results, the
// captured ava runs, the fault benchmark's results and the benchmark's results. Pure:
// ReportInput in, text out. Every number,
// listing and output comes from the input; the only prose written here says what the parts
// are and how to read them.
import type { MachineInfo } from '../bench/measure.js';
import { checksPassed, describeBack, describeRejoined, describeResume, type FaultKind, type FaultRecord } from '../bench/nemesis-report.js';
import { COLUMNS, formatSummary, markdownTable } from '../bench/report.js';
import { BANK_ACCOUNT_COUNT, BANK_BALANCE_INITIAL, BANK_TRANSFER_AMOUNT_MAX, YCSB_KEY_COUNT } from '../bench/workloads.js';
import type { ClientRun, ExpectationResult, MachineFacts, ScenarioRun, StepRun } from '../scenario/report.js';
import { allPassed, type ParsedTest } from './ava-output.js';
import { configurationLabel, readBenchmark, throughputLeaders } from './bench-reading.js';
import { PROPERTY_CLAIMS, PROPERTY_TITLES, REPORT_PROPERTIES, TEST_FILES, byScenarioOrder, propertiesOf, type ReportProperty } from './catalogue.js';
import type { BenchResultsDocument, CommandRun, NemesisResultsDocument, ReportInput, TestFileEvidence } from './input.js';

export const REPORT_FILE = 'reports/report2-tests.md';
/** Links in the report are relative to the folder it is in. */
const REPORT_FOLDER = 'reports/';

// ---- small markdown helpers ----

/** A fenced block whose fence is longer than any run of backticks inside. */
export function fence(text: string, language = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((match) => match[0].length));
  const marks = '`'.repeat(longest + 1);
  return `${marks}${language}\n${text.endsWith('\n') ? text : `${text}\n`}${marks}`;
}

/** Inline code that survives backticks inside. */
function code(text: string): string {
  if (text === '') return '(empty)';
  const marks = text.includes('`') ? '``' : '`';
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${marks}${pad}${text}${pad}${marks}`;
}

function shorten(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 3)}...`;
}

/** A value as a table shows it: JSON (so "\n" stays visible), shortened. */
function showValue(value: unknown): string {
  if (value === undefined) return '';
  return code(shorten(JSON.stringify(value) ?? String(value), 240));
}

/** A path in the project as a link from the report's folder. */
function link(projectPath: string, text = projectPath): string {
  const target = projectPath.startsWith(REPORT_FOLDER) ? projectPath.slice(REPORT_FOLDER.length) : `../${projectPath}`;
  return `[${text}](${target})`;
}

function plural(count: number, noun: string, nounPlural = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nounPlural}`;
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function formatDuration(milliseconds: number): string {
  const seconds = Math.round(milliseconds / 1000);
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/** The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens. */
export function anchorOf(heading: string): string {
  return heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-');
}

/** Sections 1 and 2 come first; the properties follow from 3. */
function propertySectionNumber(property: ReportProperty): number {
  return REPORT_PROPERTIES.indexOf(property) + 3;
}

function verdict(pass: boolean): string {
  return pass ? 'PASS' : '**FAIL**';
}

// ---- the machine ----

interface MachineLine {
  cpu: string;
  cores: number;
  memory: string;
  system: string;
  node: string;
}

function fromFacts(facts: MachineFacts): MachineLine {
  return {
    cpu: facts.cpuModel,
    cores: facts.cpuCount,
    memory: `${(facts.memoryBytes / 2 ** 30).toFixed(1)} GiB`,
    system: `${facts.platform} ${facts.arch}, kernel ${facts.release}`,
    node: facts.node,
  };
}

function fromMachineInfo(machine: MachineInfo): MachineLine {
  return { cpu: machine.cpuModel, cores: machine.cores, memory: `${(machine.memoryMiB / 1024).toFixed(1)} GiB`, system: `${machine.platform}, kernel ${machine.kernel}`, node: machine.nodeVersion };
}

function machineText(machine: MachineLine): string {
  return `${machine.cpu}, ${plural(machine.cores, 'core')}, ${machine.memory} memory, ${machine.system}, Node ${machine.node}`;
}

function machines(input: ReportInput): { evidence: string; machine: MachineLine }[] {
  const list: { evidence: string; machine: MachineLine }[] = [];
  if (input.tests.machine) list.push({ evidence: 'test files', machine: fromFacts(input.tests.machine) });
  if (input.scenarios.document) list.push({ evidence: 'scenarios', machine: fromFacts(input.scenarios.document.machine) });
  if (input.nemesis.document?.machine) list.push({ evidence: 'fault benchmark', machine: fromMachineInfo(input.nemesis.document.machine) });
  if (input.bench.document) list.push({ evidence: 'benchmark', machine: fromMachineInfo(input.bench.document.machine) });
  return list;
}

// ---- assessment: what passed, per property ----

export interface PlacedTest {
  file: TestFileEvidence;
  test: ParsedTest;
  properties: ReportProperty[];
}

/** Every test of every file that ran, with the properties it bears on. */
export function placeTests(files: readonly TestFileEvidence[]): PlacedTest[] {
  const placed: PlacedTest[] = [];
  for (const file of files) {
    const spec = TEST_FILES.find((candidate) => candidate.name === file.name);
    for (const test of file.output?.tests ?? []) placed.push({ file, test, properties: spec ? propertiesOf(spec, test.title) : [] });
  }
  return placed;
}

/** The properties a test file's rules name: a file that failed as a whole counts against each. */
function fileProperties(name: string): ReportProperty[] {
  const spec = TEST_FILES.find((candidate) => candidate.name === name);
  return spec ? REPORT_PROPERTIES.filter((property) => spec.rules.some((rule) => rule.property === property)) : [];
}

/** Why a test file's run as a whole did not pass, beyond its failed tests; null when it did. */
export function fileProblem(file: TestFileEvidence): string | null {
  if (file.missing) return `missing: ${file.missing.what}`;
  if (file.run === null || file.output === null) return 'did not run';
  const { run, output } = file;
  if (run.timedOut) return `stopped after its time limit (${formatDuration(run.durationMs)})`;
  if (output.problems.length > 0) return output.problems.join('; ');
  if (output.tests.length === 0) return `no test result in its output (exit code ${run.exitCode ?? run.signal})`;
  if (run.exitCode !== 0 && output.tests.every((test) => test.status === 'passed')) return `ava exited with ${run.exitCode ?? run.signal} although every test it listed passed`;
  return null;
}

export interface PropertyAssessment {
  property: ReportProperty;
  scenarioNames: string[];
  scenarioRuns: number;
  scenarioRunsFailed: number;
  testFiles: string[];
  tests: number;
  testsFailed: number;
  /** Test files that failed as a whole (crash, timeout, missing). */
  fileProblems: string[];
  benchRuns: number;
  benchRunsFailed: number;
  /** Faults the nemesis injected (skipped ones not counted), those after which a check failed, and those it skipped. */
  faults: number;
  faultsFailed: number;
  faultsSkipped: number;
  /** Evidence that was not there. */
  missing: string[];
  /** Nothing at all bore on the property: not demonstrated, so not passed. */
  noEvidence: boolean;
  passed: boolean;
}

export function assess(input: ReportInput): PropertyAssessment[] {
  const placed = placeTests(input.tests.files);
  return REPORT_PROPERTIES.map((property) => {
    const runs = property === 'performance' || property === 'failures' ? [] : (input.scenarios.document?.runs ?? []).filter((run) => run.property === property);
    const tests = placed.filter((entry) => entry.properties.includes(property));
    const files = input.tests.files.filter((file) => fileProperties(file.name).includes(property));
    const fileProblems = files.flatMap((file) => {
      const problem = fileProblem(file);
      return problem === null ? [] : [`${file.name}: ${problem}`];
    });
    const missing: string[] = [];
    if (property !== 'performance' && property !== 'failures' && input.scenarios.missing) missing.push(input.scenarios.missing.what);
    if (property === 'performance' && input.bench.missing) missing.push(input.bench.missing.what);
    if (property === 'failures' && input.nemesis.missing) missing.push(input.nemesis.missing.what);
    const faultRecords = property === 'failures' ? input.nemesis.document?.faults ?? [] : [];
    const faultsRun = faultRecords.filter((record) => record.skipped === undefined);
    const faultsFailed = faultsRun.filter((record) => faultVerdict(record).kind === 'fail').length;
    const benchRuns = property === 'performance' ? input.bench.document?.runs ?? [] : [];
    const benchRunsFailed = benchRuns.filter((run) => run.status === 'failed').length;
    const interrupted = property === 'performance' && input.bench.document?.interrupted === true;
    const scenarioRunsFailed = runs.filter((run) => !run.passed).length;
    const testsFailed = tests.filter((entry) => entry.test.status !== 'passed').length;
    const noEvidence = runs.length === 0 && tests.length === 0 && benchRuns.length === 0 && faultsRun.length === 0 && fileProblems.length === 0 && missing.length === 0;
    return {
      property,
      scenarioNames: [...new Set(runs.map((run) => run.scenario))].sort(byScenarioOrder),
      scenarioRuns: runs.length,
      scenarioRunsFailed,
      testFiles: [...new Set(tests.map((entry) => entry.file.name))],
      tests: tests.length,
      testsFailed,
      fileProblems,
      benchRuns: benchRuns.length,
      benchRunsFailed,
      faults: faultsRun.length,
      faultsFailed,
      faultsSkipped: faultRecords.length - faultsRun.length,
      missing,
      noEvidence,
      passed: !noEvidence && scenarioRunsFailed === 0 && testsFailed === 0 && fileProblems.length === 0 && benchRunsFailed === 0 && faultsFailed === 0 && !interrupted && missing.length === 0,
    };
  });
}

// ---- the header and how the report was made ----

const DEFAULT_COMMANDS = {
  scenarios: 'node dist/cli/main.js scenario test-scenarios --out reports/results/scenarios.json',
  bench: 'node dist/bench/main.js --sweep report --out reports/bench',
  nemesis: 'node dist/bench/nemesis.js --nemesis kill,pause,partition --out reports/nemesis',
  test: (name: string): string => `npx ava dist/test/${name}.test.js --verbose`,
};

function runCell(run: CommandRun | null): string {
  if (run === null) return 'not recorded';
  const ending = run.timedOut ? `stopped after its time limit` : run.exitCode === null ? `ended by ${run.signal}` : `exit ${run.exitCode}`;
  return ending;
}

function header(input: ReportInput, assessments: readonly PropertyAssessment[]): string[] {
  const out: string[] = [];
  const scenarioRuns = input.scenarios.document?.runs ?? [];
  const placed = placeTests(input.tests.files);
  const benchRuns = input.bench.document?.runs ?? [];
  const allGood = assessments.every((assessment) => assessment.passed);
  const faultsRun = (input.nemesis.document?.faults ?? []).filter((record) => record.skipped === undefined);
  const counts = `${plural(scenarioRuns.length, 'scenario run')}, ${plural(placed.length, 'test')} in ${plural(input.tests.files.length, 'test file')}, ${plural(faultsRun.length, 'fault')} injected, ${plural(benchRuns.length, 'benchmark run')}`;
  const failedProperties = assessments.filter((assessment) => !assessment.passed).map((assessment) => PROPERTY_TITLES[assessment.property]);
  const machineList = machines(input);
  out.push('# Report 2: the tests of occdb and their results');
  out.push('');
  out.push('**Consistent updates of a distributed database. Report 2 of 2: what was tested, how, and what came out.**');
  out.push('');
  out.push(markdownTable(['', ''], [
    ['System', 'occdb, a replicated transactional key-value database: a layer of middlewares over plain LevelDB replicas that makes them look like one serializable database'],
    ['Report', `2 of 2. Report 1, ${link('reports/report1-strategies.md', 'the two strategies and the choice')}, describes the strategies; this one shows the tests`],
    ['Produced', `${formatTime(input.generatedAt)} by ${code(input.generatorCommand)}, from the result files of real runs (section 1); nothing in it is typed by hand`],
    ['Machine', machineList.length > 0 ? machineText(machineList[0]!.machine) + (machineList.some((entry) => machineText(entry.machine) !== machineText(machineList[0]!.machine)) ? ' (the evidence ran on more than one machine: see section 1)' : '') : 'unknown: no result document'],
    ['Result', allGood ? `every check passed: ${counts}` : `**NOT ALL PASSED** (${failedProperties.join(', ')}): ${counts}; see "What did not pass" below`],
  ]));
  out.push('');
  return out;
}

/** Everything that failed or is missing, listed before anything else. */
function failures(input: ReportInput): string[] {
  const lines: string[] = [];
  for (const missing of [input.scenarios.missing, input.nemesis.missing, input.bench.missing, ...input.tests.files.map((file) => file.missing)]) {
    if (missing) lines.push(`- MISSING: ${missing.what}. ${missing.howToProduce}`);
  }
  for (const run of input.scenarios.document?.runs ?? []) {
    if (run.passed) continue;
    const failed = run.expectations.filter((expectation) => !expectation.pass);
    lines.push(`- FAILED scenario ${code(run.scenario)} under ${run.strategy}: ${failed.map((expectation) => expectation.description).join('; ')}${run.error ? `; stopped early: ${run.error}` : ''}`);
  }
  if (input.scenarios.document?.interrupted) lines.push('- The scenario run was INTERRUPTED: the scenarios after the last one shown did not run.');
  for (const skipped of input.scenarios.document?.skipped ?? []) lines.push(`- Not run: scenario ${code(skipped.scenario)} under ${skipped.strategy}: ${skipped.reason}`);
  for (const file of input.tests.files) {
    const problem = fileProblem(file);
    if (problem !== null && !file.missing) lines.push(`- FAILED test file ${code(file.compiledFile)}: ${problem} (output: ${link(file.run?.outputFile ?? '')})`);
    for (const test of file.output?.tests ?? []) {
      if (test.status !== 'passed') lines.push(`- ${test.status === 'failed' ? 'FAILED' : test.status.toUpperCase()} test ${code(file.name)} › ${test.title}${test.message ? `: ${test.message}` : ''}`);
    }
  }
  input.nemesis.document?.faults.forEach((record, index) => {
    const faultVerdictNow = faultVerdict(record);
    if (faultVerdictNow.kind === 'fail') lines.push(`- FAILED fault ${index + 1}, ${record.kind} ${record.target}: ${faultVerdictNow.reasons.join('; ')}`);
    if (faultVerdictNow.kind === 'skipped') lines.push(`- Not run: fault ${index + 1}, ${record.kind} ${record.target}: ${record.skipped}`);
  });
  const bench = input.bench.document;
  if (bench) {
    for (const run of bench.runs.filter((record) => record.status === 'failed')) {
      lines.push(`- FAILED benchmark run ${run.index + 1} (${run.strategy}, ${run.configurationKey}, repetition ${run.repetition + 1}): ${run.failure?.kind}: ${shorten(run.failure?.message.split('\n')[0] ?? '', 300)}`);
    }
    if (bench.interrupted) lines.push(`- The benchmark was INTERRUPTED after ${bench.runs.length} of ${bench.plannedRunCount} runs.`);
  }
  if (lines.length === 0) return [];
  return ['## What did not pass', '', 'Each is shown again, with its evidence, in its section below.', '', ...lines, ''];
}

function howProduced(input: ReportInput): string[] {
  const out: string[] = ['## 1. How this report was produced', ''];
  const parts = [
    { reused: input.tests.reused, ms: input.tests.files.reduce((sum, file) => sum + (file.run?.durationMs ?? 0), 0) },
    { reused: input.scenarios.reused, ms: input.scenarios.run?.durationMs ?? 0 },
    { reused: input.nemesis.reused, ms: input.nemesis.run?.durationMs ?? (input.nemesis.document ? nemesisDurationMs(input.nemesis.document) ?? 0 : 0) },
    { reused: input.bench.reused, ms: input.bench.run?.durationMs ?? (input.bench.document ? input.bench.document.wallSeconds * 1000 : 0) },
  ];
  const freshMs = parts.filter((part) => !part.reused).reduce((sum, part) => sum + part.ms, 0);
  const anyReused = parts.some((part) => part.reused);
  const timing = parts.every((part) => part.reused)
    ? 'this time nothing was run: every part was reused, as the table shows'
    : anyReused
    ? `the parts run this time took ${formatDuration(freshMs)}; the reused parts are marked in the table`
    : `running them took ${formatDuration(freshMs)} on this machine, plus the build`;
  out.push(`This file is written by ${code('npm run report')} (${link('report/main.ts')}): it builds the project, runs the test files, the scenarios, the fault benchmark and the benchmark below, `
    + `keeps their output under ${link('reports/results/')}, ${link('reports/nemesis/')} and ${link('reports/bench/')}, and renders this report from those files alone. `
    + `To reproduce it, run ${code('npm run report')} in the project folder (${timing}). `
    + `${code('npm run report -- --reuse-bench')} (likewise ${code('--reuse-scenarios')}, ${code('--reuse-tests')}, ${code('--reuse-nemesis')}) renders again from the result files already there instead of running that part again; the table says which parts were reused.`);
  out.push('');
  const rows: string[][] = [];
  const fresh = (reused: boolean): string => (reused ? 'reused: an earlier run' : 'this run');
  for (const file of input.tests.files) {
    rows.push([`tests: ${file.name}`, code(file.run?.command ?? DEFAULT_COMMANDS.test(file.name)), fresh(input.tests.reused), file.run ? formatTime(file.run.startedAt) : '-', file.run ? formatDuration(file.run.durationMs) : '-', runCell(file.run), file.run ? link(file.run.outputFile) : 'missing']);
  }
  const scenarios = input.scenarios;
  rows.push(['scenarios', code(scenarios.run?.command ?? DEFAULT_COMMANDS.scenarios), fresh(scenarios.reused),
    scenarios.document ? formatTime(scenarios.document.startedAt) : '-',
    scenarios.document ? formatDuration(Date.parse(scenarios.document.finishedAt) - Date.parse(scenarios.document.startedAt)) : '-',
    runCell(scenarios.run), scenarios.document ? `${link('reports/results/scenarios.json')}${scenarios.run ? `, ${link(scenarios.run.outputFile, 'text')}` : ''}` : 'missing']);
  const nemesis = input.nemesis;
  const nemesisMs = nemesis.run?.durationMs ?? (nemesis.document ? nemesisDurationMs(nemesis.document) : null);
  rows.push(['fault benchmark', code(nemesis.run?.command ?? nemesis.document?.command ?? DEFAULT_COMMANDS.nemesis), fresh(nemesis.reused),
    nemesis.run ? formatTime(nemesis.run.startedAt) : nemesis.document?.startedAt ? formatTime(nemesis.document.startedAt) : '-',
    nemesisMs !== null && nemesisMs !== undefined ? formatDuration(nemesisMs) : '-',
    runCell(nemesis.run), nemesis.document ? `${link('reports/nemesis/results.json')}, ${link('reports/nemesis/results.md')}, ${link('reports/nemesis/timeline.svg')}${nemesis.run ? `, ${link(nemesis.run.outputFile, 'text')}` : ''}` : 'missing']);
  const bench = input.bench;
  rows.push(['benchmark', code(bench.run?.command ?? bench.document?.commandLine ?? DEFAULT_COMMANDS.bench), fresh(bench.reused),
    bench.document ? formatTime(bench.document.machine.date) : '-',
    bench.document ? formatDuration(bench.document.wallSeconds * 1000) : '-',
    runCell(bench.run), bench.document ? `${link('reports/bench/results.json')}, ${link('reports/bench/results.md')}` : 'missing']);
  out.push(markdownTable(['evidence', 'command', 'source', 'started', 'took', 'ended', 'result files'], rows));
  out.push('');
  const machineList = machines(input);
  if (machineList.length > 0) {
    out.push('The machine, as each result document records it:');
    out.push('');
    out.push(markdownTable(['evidence', 'CPU', 'cores', 'memory', 'system', 'Node'], machineList.map(({ evidence, machine }) => [evidence, machine.cpu, String(machine.cores), machine.memory, machine.system, machine.node])));
    out.push('');
  }
  const namespaces = nemesis.document?.network.startsWith('namespaces') === true;
  out.push(`Every process of a cluster (3 middlewares, 3 databases) runs on this one machine and talks over 127.0.0.1${namespaces ? ', except the fault benchmark\'s, whose processes each run in a network namespace of their own, joined by a bridge, so that one can be cut off' : ''}. The commands, in the order they ran:`);
  out.push('');
  const commands = [
    'npm run build',
    ...input.tests.files.map((file) => file.run?.command ?? DEFAULT_COMMANDS.test(file.name)),
    scenarios.run?.command ?? DEFAULT_COMMANDS.scenarios,
    ...nemesisCommands(nemesis.run?.command ?? nemesis.document?.command ?? DEFAULT_COMMANDS.nemesis),
    bench.run?.command ?? bench.document?.commandLine ?? DEFAULT_COMMANDS.bench,
  ];
  out.push(fence(commands.join('\n'), 'sh'));
  out.push('');
  return out;
}

function strategySection(): string[] {
  return [
    '## 2. The strategy implemented',
    '',
    'occdb implements **optimistic concurrency control with private workspaces and Lamport-timestamp validation** (strategy A of report 1). '
      + 'A client sends its whole command block to one middleware, the coordinator, which runs it in a private workspace: each read comes from one database replica and is recorded with the version it read; writes stay in the workspace, so nothing of the transaction is visible yet. '
      + 'When the block is done, the coordinator ticks its Lamport clock, stamps the transaction with the timestamp (counter, middleware id), and asks every other middleware to validate it. '
      + 'Every middleware, the coordinator included, votes NO when one of its own transactions with a smaller timestamp wrote a key that the request read at an older version: one that has finished, or one still in flight, in which case it first waits for that transaction to end (always a wait for a smaller timestamp). '
      + 'It answers CHECK instead of YES for a read it cannot vouch for (after a restart, or for a write it no longer remembers), and YES otherwise. '
      + 'When every vote is in and none is NO (after a CHECK, the coordinator re-reads the versions read from a replica and aborts if one changed), the transaction commits: the coordinator sends the writes with the timestamp to every database replica, each replica applies them as one atomic batch synced to disk under the Thomas write rule, and only when every replica has acknowledged does the client get its answer. '
      + 'A transaction that loses validation leaves nothing behind, and its middleware runs the block again from the start with fresh reads. '
      + 'No transaction takes a lock, so none can wait in a cycle. '
      + 'Strict two-phase locking is built as the baseline (strategy B: shared and exclusive locks at each key\'s home middleware, wait-die; and a no-wait variant): every scenario below runs under `occ`, `2pl` and `2pl-nowait`, and the benchmark compares the three.',
    '',
    `Report 1 (${link('reports/report1-strategies.md')}) describes both strategies in full, the argument why the optimistic one is serializable (section 2.2), every situation in which one transaction blocks another (section 3), and why this strategy was chosen (section 5).`,
    '',
  ];
}

// ---- scenarios ----

function clientRows(run: ScenarioRun): string[][] {
  const seconds = (ms: number): string => (ms / 1000).toFixed(2);
  const clientRow = (client: ClientRun, label: string): string[] => {
    const outcomes = client.transactions.map((transaction) => `${transaction.outcome.replace('_', ' ')}${transaction.retries > 0 ? ` after ${plural(transaction.retries, 'retry', 'retries')}` : ''}`);
    const summary = [...outcomes, ...(client.error ? [`${client.error.code}: ${client.error.message}`] : [])].join(', ') || 'no transaction';
    return [label, `MIDDLEWARE${client.middleware}`, code(client.file), `${seconds(client.startedMs)}-${seconds(client.finishedMs)}`, String(client.exitCode), summary];
  };
  const rows: string[][] = [];
  if (run.setup) rows.push(clientRow(run.setup, 'setup'));
  run.steps.forEach((step: StepRun, index) => {
    if (step.kind === 'clients') {
      for (const client of step.clients) rows.push(clientRow(client, `step ${index + 1}: ${client.name}`));
    } else {
      rows.push([`step ${index + 1}: ${step.action}`, `DATABASE${step.database}`, '', `${seconds(step.startedMs)}-${seconds(step.finishedMs)}`, step.ok ? 'ok' : '**failed**', step.detail]);
    }
  });
  return rows;
}

function finalStateTable(run: ScenarioRun): string {
  const keys = run.final.keys;
  const show = (value: number | null | undefined): string => (value === null ? '(none)' : value === undefined ? '?' : String(value));
  const rows = Object.entries(run.final.byMiddleware).map(([middleware, reading]) => ('state' in reading ? [middleware, ...keys.map((key) => show(reading.state[key]))] : [middleware, `could not read: ${reading.error}`, ...keys.slice(1).map(() => '')]));
  return markdownTable(['read through', ...keys], rows);
}

function expectationRows(expectations: readonly ExpectationResult[]): string[][] {
  return expectations.map((expectation) => [verdict(expectation.pass), expectation.description, showValue(expectation.seen), showValue(expectation.expected), expectation.detail ?? '']);
}

function scenarioRunSection(run: ScenarioRun, sectionNumber: string): string[] {
  const out: string[] = [];
  const failedCount = run.expectations.filter((expectation) => !expectation.pass).length;
  out.push(`#### ${sectionNumber} ${code(run.scenario)} under ${run.strategy}: ${run.passed ? 'PASS' : 'FAIL'}`);
  out.push('');
  out.push(`Ran ${formatTime(run.startedAt)} for ${formatDuration(run.durationMs)} on ${run.cluster.startedHere ? 'a local cluster the scenario command started' : 'a running cluster'} (middlewares ${run.cluster.middlewares.join(', ')}, databases ${run.cluster.databases.join(', ')}, strategy ${run.strategy}); every entry name ran as ${code(`${run.keyPrefix}<name>`)}, so no run sees another's entries (outputs and expectations below use the names as written). ${run.passed ? `All ${plural(run.expectations.length, 'expectation')} passed.` : `**${failedCount} of ${run.expectations.length} expectations failed.**`}`);
  if (run.error) out.push('', `**The run stopped early:** ${run.error}`);
  out.push('');
  out.push('Clients and actions (times in seconds since the run started; a transaction\'s retries are the re-runs its middleware made after losing validation or a lock):');
  out.push('');
  out.push(markdownTable(['who', 'where', 'file', 'time (s)', 'exit', 'transactions'], clientRows(run)));
  out.push('');
  const clients = run.steps.flatMap((step) => (step.kind === 'clients' ? step.clients : []));
  for (const client of clients) {
    out.push(`Output of ${code(client.name)} (${code(client.file)} on MIDDLEWARE${client.middleware}, exit code ${client.exitCode}):${client.output === '' ? ' nothing (the file prints nothing).' : ''}`);
    out.push('');
    if (client.output !== '') {
      out.push(fence(client.output));
      out.push('');
    }
  }
  out.push('Final state, read through every middleware in one read-only transaction each ("(none)": the entry does not exist):');
  out.push('');
  out.push(finalStateTable(run));
  out.push('');
  if (run.replicas) {
    out.push('agree' in run.replicas && 'keys' in run.replicas
      ? `Replicas (${code('occdb verify')}, every key of the cluster, not only this run's): ${run.replicas.agree ? `the ${run.replicas.replicas} replicas agree on all ${plural(run.replicas.keys, 'key')}, versions and values alike` : `**${run.replicas.differenceCount} differences** among ${run.replicas.replicas} replicas`}.`
      : `Replicas (${code('occdb verify')}): **could not compare**: ${'error' in run.replicas ? run.replicas.error : ''}.`);
    out.push('');
  }
  out.push('Expectations:');
  out.push('');
  out.push(markdownTable(['result', 'expectation', 'seen', 'expected', 'detail'], expectationRows(run.expectations)));
  out.push('');
  return out;
}

function scenarioSection(name: string, runs: readonly ScenarioRun[], input: ReportInput, sectionNumber: string): string[] {
  const out: string[] = [];
  const first = runs[0]!;
  const passedCount = runs.filter((run) => run.passed).length;
  out.push(`### ${sectionNumber} Scenario ${code(name)}: ${passedCount === runs.length ? `passed under ${runs.map((run) => run.strategy).join(', ')}` : `**FAILED under ${runs.filter((run) => !run.passed).map((run) => run.strategy).join(', ')}**`}`);
  out.push('');
  out.push(`**What it shows.** ${first.description}`);
  out.push('');
  const manifest = input.scenarios.manifests[name];
  const folder = first.manifest.replace(/\/?scenario\.json$/, '') || '.';
  out.push(`**The command files** (${link(`${folder}/`, `${folder}/`)}):`);
  out.push('');
  for (const [file, text] of Object.entries(first.files)) {
    out.push(`${code(file)}:`);
    out.push('');
    out.push(fence(text));
    out.push('');
  }
  out.push(`**The manifest** (${link(manifest?.path ?? first.manifest)}; its description is the paragraph above): which client runs which file on which middleware and when, and what must come out.`);
  out.push('');
  if (manifest?.listing) out.push(fence(manifest.listing, 'json'));
  else out.push(`*Could not be read now${manifest?.error ? `: ${manifest.error}` : ''}.*`);
  out.push('');
  out.push(markdownTable(['strategy', 'result', 'expectations passed', 'took'], runs.map((run) => [run.strategy, verdict(run.passed), `${run.expectations.filter((expectation) => expectation.pass).length} of ${run.expectations.length}`, formatDuration(run.durationMs)])));
  out.push('');
  runs.forEach((run, index) => out.push(...scenarioRunSection(run, `${sectionNumber}.${index + 1}`)));
  return out;
}

// ---- tests ----

function testResultCell(test: ParsedTest): string {
  if (test.status === 'passed') return 'PASS';
  if (test.status === 'failed') return `**FAIL**${test.message ? `: ${test.message}` : ''}`;
  return `**${test.status.toUpperCase()}**`;
}

function testsSection(property: ReportProperty, input: ReportInput, sectionNumber: string): string[] {
  const placed = placeTests(input.tests.files).filter((entry) => entry.properties.includes(property));
  const files = input.tests.files.filter((file) => fileProperties(file.name).includes(property));
  if (files.length === 0) return [];
  const out: string[] = [];
  out.push(`### ${sectionNumber} Tests`);
  out.push('');
  out.push('The test files, what they show (each file\'s opening comment), and how their run ended:');
  out.push('');
  for (const file of files) {
    const problem = fileProblem(file);
    const count = file.output ? `${plural(file.output.tests.length, 'test')}, ${allPassed(file.output, file.run?.exitCode ?? null) ? 'all passed' : 'NOT all passed'}` : 'no output';
    out.push(`- ${link(file.sourceFile)}: ${file.description} *Ran ${code(file.run?.command ?? DEFAULT_COMMANDS.test(file.name))}: ${runCell(file.run)}, ${count}${file.run ? `, ${formatDuration(file.run.durationMs)}; output in ${link(file.run.outputFile)}` : ''}.*${problem !== null ? ` **The run failed: ${problem}.**` : ''}`);
  }
  out.push('');
  if (placed.length > 0) {
    out.push(`The tests that bear on ${PROPERTY_TITLES[property].toLowerCase()} (a test's title says what it shows):`);
    out.push('');
    out.push(markdownTable(['file', 'test', 'result'], placed.map((entry) => [entry.file.name, entry.test.title, testResultCell(entry.test)])));
    out.push('');
  }
  // A test's output is shown once, in the section of its first property; the others point there.
  const withLogs = placed.filter((entry) => entry.test.logs.length > 0 && entry.properties[0] === property);
  const shownElsewhere = placed.filter((entry) => entry.test.logs.length > 0 && entry.properties[0] !== property);
  if (withLogs.length > 0) {
    out.push('What these tests printed (their `t.log` lines, as captured in the output files):');
    out.push('');
    for (const entry of withLogs) {
      out.push(`${code(entry.file.name)} › ${entry.test.title}:`);
      out.push('');
      out.push(fence(entry.test.logs.join('\n')));
      out.push('');
    }
  }
  for (const entry of shownElsewhere) {
    const primary = entry.properties[0]!;
    out.push(`What ${code(entry.file.name)} › ${entry.test.title} printed is shown in section ${propertySectionNumber(primary)} (${PROPERTY_TITLES[primary]}).`);
    out.push('');
  }
  for (const entry of placed.filter((candidate) => candidate.test.details && candidate.properties[0] === property)) {
    out.push(`How ${code(entry.file.name)} › ${entry.test.title} failed (from ava):`);
    out.push('');
    out.push(fence(shorten(entry.test.details!, 6000)));
    out.push('');
  }
  return out;
}

// ---- performance ----

const BENCH_COLUMNS = COLUMNS;

function benchTable(document: BenchResultsDocument, kind: 'bank' | 'ycsb'): string {
  const groups = document.summaries.filter((group) => group.configuration.workload.kind === kind);
  const rows = groups.map((group) => {
    const runs = `${group.okRuns}/${group.okRuns + group.failedRunIndexes.length}`;
    const where = kind === 'bank' ? String(group.configuration.clients) : `${group.configuration.workload.kind === 'ycsb' ? group.configuration.workload.theta : ''}`;
    const head = kind === 'bank' ? [where, group.strategy, runs] : [where, String(group.configuration.clients), group.strategy, runs];
    if (group.okRuns === 0) return [...head, '**no run passed its checks**', ...BENCH_COLUMNS.slice(1).map(() => '')];
    return [...head, ...BENCH_COLUMNS.map((column) => formatSummary(group.metrics[column.metric], column.decimals))];
  });
  const headTitles = kind === 'bank' ? ['clients', 'strategy', 'runs ok'] : ['theta', 'clients', 'strategy', 'runs ok'];
  return markdownTable([...headTitles, ...BENCH_COLUMNS.map((column) => column.title)], rows);
}

function sweepParameters(document: BenchResultsDocument): string[] {
  const { options } = document;
  const configurations = [...new Map(document.summaries.map((group) => [group.configuration.key, configurationLabel(group)])).values()];
  return [
    `- Configurations (${configurations.length}): ${configurations.join('; ')}${options.sweep ? ` (the ${code(`--sweep ${options.sweep}`)} preset)` : ''}.`,
    `- Strategies: ${options.strategies.join(', ')}; ${options.repetitions} repetitions of every configuration under every strategy, interleaved (each repetition runs every configuration under every strategy, the strategies taking turns to go first); ${document.plannedRunCount} runs planned, ${document.runs.length} ran.`,
    `- Each run: ${options.warmupSeconds} s warm-up, then ${options.durationSeconds} s measured; closed-loop clients (the next transaction is sent when the last one's result arrives), spread round-robin over the middlewares; client random seed ${options.seed}.`,
    `- Cluster: ${options.middlewares} middlewares and ${options.databases} databases on this machine, one cluster per strategy; the data is re-created before every run, and read back and checked after it (bank: the total is unchanged; ycsb: the keys sum to the committed increments), and the replicas are compared key by key. A run that fails a check is a FAILED run and is left out of the medians.`,
    `- Workloads: bank: ${BANK_ACCOUNT_COUNT} accounts of ${BANK_BALANCE_INITIAL}, each transaction moves 1 to ${BANK_TRANSFER_AMOUNT_MAX} between two distinct accounts (two read-modify-writes); ycsb: ${YCSB_KEY_COUNT} keys, ${options.operationsPerTransaction} distinct keys per transaction drawn from a Zipfian distribution of skew theta (0 = uniform; 0.99 = a few keys get most operations), each read with probability ${options.readFraction}, else incremented.`,
  ];
}

function performanceBody(input: ReportInput, sectionNumber: string): string[] {
  const out: string[] = [];
  const { document } = input.bench;
  if (document === null) {
    out.push(`**MISSING: ${input.bench.missing?.what ?? 'the benchmark results'}.** ${input.bench.missing?.howToProduce ?? ''}`);
    out.push('');
    return out;
  }
  out.push(`The benchmark (${link('bench/main.ts')}) ${input.bench.reused ? `was **not** run again for this report (${code('--reuse-bench')}): these numbers are from` : 'ran for this report:'} ${code(document.commandLine)}, started ${formatTime(document.machine.date)}, ${formatDuration(document.wallSeconds * 1000)}, on ${machineText(fromMachineInfo(document.machine))}. Its own write-up is ${link('reports/bench/results.md')}; every run's raw numbers are in ${link('reports/bench/results.json')}.`);
  out.push('');
  const failed = document.runs.filter((run) => run.status === 'failed');
  if (failed.length > 0 || document.interrupted) {
    out.push(`**${failed.length > 0 ? `${plural(failed.length, 'RUN')} FAILED ITS CHECKS` : ''}${failed.length > 0 && document.interrupted ? '; ' : ''}${document.interrupted ? `THE SWEEP WAS INTERRUPTED after ${document.runs.length} of ${document.plannedRunCount} runs` : ''}.** A failed run is left out of every median and figure below.`);
    out.push('');
    if (failed.length > 0) {
      out.push(markdownTable(['run', 'strategy', 'configuration', 'repetition', 'kind', 'reason'], failed.map((run) => [String(run.index + 1), run.strategy, run.configurationKey, String(run.repetition + 1), run.failure?.kind ?? '', shorten(run.failure?.message ?? '', 400)])));
      out.push('');
    }
  } else {
    out.push(`All ${document.runs.length} runs passed their checks (data invariant and replica agreement after the run).`);
    out.push('');
  }
  out.push(`### ${sectionNumber}.1 The sweep`);
  out.push('');
  out.push(...sweepParameters(document));
  out.push('');
  out.push('How to read the tables: each cell is the median over the repetitions that passed their checks, with [min-max] over those repetitions. '
    + 'txn/s counts transactions committed in the measured window. restarts/commit is the number of times the middlewares re-ran a transaction (lost validation under occ; died or was refused a lock under 2pl) per committed transaction. '
    + 'Latency (p50, p95, p99) is measured by the client from sending a transaction to its result, re-runs included. '
    + 'msgs/commit counts the requests the middlewares sent (to peers and databases) per commit. '
    + `CPU% is user+system time over the window, summed over the processes of a role (100% = one core; the machine has ${document.machine.cores * 100}%); "client" is the benchmark process that runs every client. `
    + 'failed txns counts transactions that ended without committing (retry budget exhausted, refused).');
  out.push('');
  for (const kind of ['bank', 'ycsb'] as const) {
    if (!document.summaries.some((group) => group.configuration.workload.kind === kind)) continue;
    out.push(`### ${sectionNumber}.${kind === 'bank' ? 2 : 3} ${kind === 'bank' ? 'Bank transfers' : 'YCSB-style read-modify-write'}`);
    out.push('');
    out.push(benchTable(document, kind));
    out.push('');
  }
  out.push(`### ${sectionNumber}.4 Figures`);
  out.push('');
  if (input.bench.charts.length === 0) out.push('No figure was found next to the results.');
  for (const chart of input.bench.charts) {
    out.push(`![${chart.title}](bench/${chart.fileName})`);
    out.push('');
  }
  out.push(`Each point is the median over the repetitions; the bars span min-max. Files: ${input.bench.charts.map((chart) => link(`reports/bench/${chart.fileName}`, chart.fileName)).join(', ')}.`);
  out.push('');
  out.push(`### ${sectionNumber}.5 What the numbers say`);
  out.push('');
  out.push('Computed from the medians above by the report generator, not written by hand:');
  out.push('');
  for (const sentence of readBenchmark(document)) out.push(`- ${sentence}`);
  out.push('');
  const leaders = throughputLeaders(document.summaries);
  if (leaders.length > 0) {
    out.push(markdownTable(['configuration', 'highest median txn/s', 'next', 'ratio', 'separated by the spread?'], leaders.map((leader) => [
      leader.configuration,
      `${leader.leader} ${leader.leaderMedian.toFixed(0)}`,
      leader.runnerUp === null ? '-' : `${leader.runnerUp} ${leader.runnerUpMedian!.toFixed(0)}`,
      leader.runnerUpMedian ? `${(leader.leaderMedian / leader.runnerUpMedian).toFixed(2)}x` : '-',
      leader.separated ? 'yes' : 'no: ranges overlap',
    ])));
    out.push('');
  }
  return out;
}

// ---- failures: the nemesis ----

/** Where the fault benchmark writes when the report runs it; the report then moves it to reports/nemesis. */
const NEMESIS_NEXT_OUT = '--out reports/nemesis.new';

function nemesisCommands(command: string): string[] {
  return command.endsWith(NEMESIS_NEXT_OUT) ? [command, 'rm -rf reports/nemesis && mv reports/nemesis.new reports/nemesis'] : [command];
}

function nemesisDurationMs(document: NemesisResultsDocument): number | null {
  return document.startedAt === undefined ? null : Date.parse(document.date) - Date.parse(document.startedAt);
}

export type FaultVerdict = { kind: 'pass' } | { kind: 'fail'; reasons: string[] } | { kind: 'skipped' };

/**
 * One fault's verdict, from its record: it passed when every invariant held after it (the
 * nemesis's own check), the commits resumed while it lasted or after it, and the process
 * answered again after the heal. How long the process took to be back in sync is shown, not judged.
 */
export function faultVerdict(record: FaultRecord): FaultVerdict {
  if (record.skipped !== undefined) return { kind: 'skipped' };
  const reasons: string[] = [];
  const { checks } = record;
  if (checks.totalRead === null) reasons.push('the bank total could not be read');
  else if (checks.totalRead !== checks.totalExpected) reasons.push(`the bank total is ${checks.totalRead}, not ${checks.totalExpected}`);
  if (checks.lostAcknowledged > 0) reasons.push(`${plural(checks.lostAcknowledged, 'acknowledged transfer')} missing from a replica`);
  const otherBankProblems = checks.bankProblems.length - (checks.lostAcknowledged > 0 ? 1 : 0) - (checks.totalRead !== checks.totalExpected ? 1 : 0);
  if (!checksPassed(checks) && checks.bankProblems.length > 0 && otherBankProblems > 0) reasons.push(`bank check: ${shorten(checks.bankProblems.join('; '), 300)}`);
  if (!checks.replicasIdentical) reasons.push(`the replicas differ (${checks.verifyDifferences.length > 0 ? shorten(checks.verifyDifferences.join('; '), 300) : 'occdb verify found differences'})`);
  if (record.recovery !== null && record.recovery.resumedAfterMs === null) reasons.push(`the commits ${describeResume(record)}`);
  if (record.kind !== 'none' && record.backAfterHealMs === null) reasons.push(`the process was ${describeBack(record)}`);
  // The nemesis's own verdict is the bank check and verify; a problem it saw that none of the above names still fails the fault.
  if (reasons.length === 0 && !checksPassed(checks)) reasons.push(shorten([...checks.bankProblems, ...checks.verifyDifferences].join('; ') || 'an invariant check failed', 300));
  return reasons.length === 0 ? { kind: 'pass' } : { kind: 'fail', reasons };
}

const FAULT_DESCRIPTIONS: Record<FaultKind, string> = {
  kill: '`kill` sends the process SIGKILL (`kill -9`), and the heal starts it again on its ports and directory, as `occdb start` does',
  pause: '`pause` stops the process with SIGSTOP, and the heal continues it with SIGCONT',
  partition: '`partition` takes the process\'s network link down, cutting it off from every other process and the clients in both directions, and the heal brings the link up',
  none: '`none` injects nothing: the same window on a healthy cluster, as a baseline',
};

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function faultRow(record: FaultRecord, index: number): string[] {
  const head = [String(index + 1), record.kind, record.target];
  if (record.skipped !== undefined) return [...head, ...Array<string>(9).fill('-'), `SKIPPED: ${record.skipped}`];
  const { checks } = record;
  const verdictNow = faultVerdict(record);
  return [
    ...head,
    seconds(record.healMs - record.injectMs),
    describeResume(record),
    describeBack(record),
    describeRejoined(record),
    String(record.unknown),
    String(record.aborted),
    checks.totalRead === null ? '**not read**' : checks.totalRead === checks.totalExpected ? `${checks.totalRead} of ${checks.totalExpected}` : `**${checks.totalRead}** of ${checks.totalExpected}`,
    checks.lostAcknowledged === 0 ? '0' : `**${checks.lostAcknowledged}**`,
    checks.replicasIdentical ? 'identical' : `**differ** (${plural(checks.verifyDifferences.length, 'difference')} shown)`,
    verdictNow.kind === 'pass' ? 'PASS' : `**FAIL**: ${verdictNow.kind === 'fail' ? verdictNow.reasons.join('; ') : ''}`,
  ];
}

function kindsList(kinds: readonly string[]): string {
  if (kinds.length <= 1) return kinds.join('');
  return `${kinds.slice(0, -1).join(', ')} and ${kinds[kinds.length - 1]}`;
}

function failuresBody(input: ReportInput): string[] {
  const out: string[] = [];
  const { document } = input.nemesis;
  if (document === null) {
    out.push(`**MISSING: ${input.nemesis.missing?.what ?? 'the fault benchmark\'s results'}.** ${input.nemesis.missing?.howToProduce ?? ''}`);
    out.push('');
    return out;
  }
  const { options } = document;
  const durationMs = input.nemesis.run?.durationMs ?? nemesisDurationMs(document);
  const started = input.nemesis.run?.startedAt ?? document.startedAt;
  const shownCommand = input.nemesis.run?.command ?? document.command;
  out.push(`The fault benchmark (${link('bench/nemesis.ts')}) ${input.nemesis.reused ? `was **not** run again for this report (${code('--reuse-nemesis')}): these results are from` : 'ran for this report:'} ${code(shownCommand)}`
    + `${started !== undefined ? `, started ${formatTime(started)}` : `, finished ${formatTime(document.date)}`}${durationMs !== null && durationMs !== undefined ? `, ${formatDuration(durationMs)}` : ''}`
    + `, on ${document.machine ? machineText(fromMachineInfo(document.machine)) : 'a machine its results do not record'}.`
    + `${nemesisCommands(shownCommand).length > 1 ? ' Its output folder then replaced reports/nemesis/ (the nemesis never writes into a folder that exists).' : ''}`
    + ` Its own write-up is ${link('reports/nemesis/results.md')}; every number is in ${link('reports/nemesis/results.json')}${input.nemesis.run ? `, and what it printed in ${link(input.nemesis.run.outputFile)}` : ''}.`);
  out.push('');
  const kinds = [...new Set(options.steps.map((step) => step.kind))];
  const targets = [...new Set(options.steps.map((step) => step.target))];
  const network = document.network.startsWith('namespaces')
    ? 'each process in a network namespace of its own, joined to the others by a bridge (so that a partition is a real one)'
    : `on loopback (${document.network}), where no process can be cut off the network`;
  out.push(`**What it does.** It starts a local cluster of ${options.middlewares} middlewares and ${options.databases} databases under ${options.strategy}, ${network}, `
    + `and runs the bank workload on it: ${options.clients} closed-loop clients spread over the middlewares, each transaction a transfer between two of ${options.accounts} accounts that also writes a marker key of its own, so that afterwards every acknowledged transfer can be looked for on every replica. `
    + `After a ${options.warmupMs / 1000} s warm-up it injects ${plural(options.steps.length, 'fault')}, one at a time: ${kindsList(kinds.map((kind) => `\`${kind}\``))} on each of ${kindsList(targets)}. `
    + `${kinds.map((kind) => FAULT_DESCRIPTIONS[kind]).join('; ')}. `
    + `Each fault is held ${options.holdMs / 1000} s and healed; the run then waits (at most ${options.recoveryMs / 1000} s) until the process answers again and the commits resume, lets the load run ${options.settleMs / 1000} s more, stops it and checks before the next fault: `
    + 'the bank total read through another middleware; on each replica every acknowledged transfer\'s marker, no marker of a transfer the client was told did not commit, no stray marker, and each balance equal to its initial balance plus the transfers whose markers are there; and `occdb verify`, comparing the replicas key by key.');
  out.push('');
  const faultsRun = document.faults.filter((record) => record.skipped === undefined);
  const failed = faultsRun.filter((record) => faultVerdict(record).kind === 'fail');
  const skipped = document.faults.filter((record) => record.skipped !== undefined);
  const invariantsBroken = faultsRun.filter((record) => !checksPassed(record.checks));
  const held = faultsRun.length === 0
    ? '**No fault ran**, so this run shows nothing'
    : invariantsBroken.length === 0
    ? `Every invariant held after every fault that ran (${faultsRun.length} of ${document.faults.length})`
    : `**An invariant was broken** after ${kindsList(invariantsBroken.map((record) => `${record.kind} ${record.target}`))}`;
  const recovered = failed.length === invariantsBroken.length ? '' : `; ${plural(failed.length - invariantsBroken.length, 'fault')} failed for want of recovery (see the table)`;
  const skippedText = skipped.length === 0 ? '' : `; ${plural(skipped.length, 'fault')} did not run: ${skipped.map((record) => `${record.kind} ${record.target} (${record.skipped})`).join('; ')}`;
  const agreement = (invariantsBroken.length === 0) === document.invariantsHeld ? '' : ` **The nemesis's own verdict disagrees** (it recorded invariantsHeld: ${document.invariantsHeld}).`;
  if (input.nemesis.chart) {
    out.push(`![${input.nemesis.chart.title}](nemesis/${input.nemesis.chart.fileName})`);
    out.push('');
    out.push(`Commits per second over the whole run, in ${document.bucketMs} ms buckets; each fault is shaded from injection to heal and labelled, and the checks (load stopped) are grey. File: ${link(`reports/nemesis/${input.nemesis.chart.fileName}`, input.nemesis.chart.fileName)}.`);
  } else {
    out.push('No timeline (timeline.svg) was found next to the results.');
  }
  out.push('');
  out.push(markdownTable(
    ['#', 'fault', 'target', 'held', 'commits resumed after injection', 'process back after heal', 'back in sync after heal', 'unknown outcomes', 'aborts', 'bank total', 'acknowledged transfers lost', 'replicas (occdb verify)', 'result'],
    document.faults.map(faultRow),
  ));
  out.push('');
  out.push(`How to read the table: commits resumed is the time from the injection to the first commit after the first stretch of at least ${document.bucketMs} ms without one ("never stopped" when there was none). `
    + 'Process back is from the heal (for a kill, the restart) until the process answers status as itself; back in sync is until `occdb status --json` shows it where the newest view puts it with nothing wrong: a middleware a member again, a database a replica again (removed while it was away, it rejoins, is brought up to date by state transfer and is promoted). '
    + 'Unknown outcomes are transfers whose client was told TXN_OUTCOME_UNKNOWN or got no answer; aborts, transfers told they did not commit; both counted from the injection to the checks, and neither breaks an invariant (only a transfer acknowledged as committed must be there). '
    + 'A fault passes when every check held after it, the commits resumed, and the process answered again after the heal; the time back in sync is measured, not judged.');
  out.push('');
  out.push(`**Invariants.** ${held}${recovered}${skippedText}.${agreement}`);
  out.push('');
  const activity = faultsRun.map((record) => [String(document.faults.indexOf(record) + 1), `${record.kind} ${record.target}`, String(record.committed), String(record.suspicions), String(record.viewsInstalled), String(record.transactionsRecovered)]);
  if (activity.length > 0) {
    out.push('What the cluster did meanwhile, from the injection to the checks (transfers committed; suspicions, view installations and transactions recovered, as the middlewares logged them):');
    out.push('');
    out.push(markdownTable(['#', 'fault', 'committed', 'suspicions', 'view installations', 'transactions recovered'], activity));
    out.push('');
  }
  const notes = document.faults.flatMap((record, index) => [...record.notes, ...record.checks.bankProblems, ...record.checks.verifyDifferences].map((note) => `- ${index + 1}, ${record.kind} ${record.target}: ${note}`));
  const problems = document.stopProblems.map((problem) => `- stopping the cluster: ${problem}`);
  if (notes.length > 0 || problems.length > 0) {
    out.push('Notes the run recorded:');
    out.push('');
    out.push(...notes, ...problems);
    out.push('');
  }
  out.push(`In all, ${plural(document.transfers, 'transfer')} ran over the whole run.`);
  out.push('');
  return out;
}

// ---- the property sections ----

function propertySection(property: ReportProperty, input: ReportInput, assessment: PropertyAssessment): string[] {
  const number = String(propertySectionNumber(property));
  const out: string[] = [];
  out.push(`## ${number}. ${PROPERTY_TITLES[property]}`);
  out.push('');
  out.push(`**The property.** ${PROPERTY_CLAIMS[property]}`);
  out.push('');
  out.push(`**Result.** ${resultText(assessment)}`);
  out.push('');
  if (property === 'performance') return [...out, ...performanceBody(input, number)];
  if (property === 'failures') return [...out, ...failuresBody(input)];
  if (input.scenarios.missing) {
    out.push(`**MISSING: ${input.scenarios.missing.what}.** ${input.scenarios.missing.howToProduce}`);
    out.push('');
  }
  const runs = (input.scenarios.document?.runs ?? []).filter((run) => run.property === property);
  const names = [...new Set(runs.map((run) => run.scenario))].sort(byScenarioOrder);
  let subsection = 1;
  for (const name of names) {
    out.push(...scenarioSection(name, runs.filter((run) => run.scenario === name), input, `${number}.${subsection}`));
    subsection += 1;
  }
  out.push(...testsSection(property, input, `${number}.${subsection}`));
  return out;
}

function resultText(assessment: PropertyAssessment): string {
  const parts: string[] = [];
  if (assessment.scenarioRuns > 0) parts.push(`${assessment.scenarioRuns - assessment.scenarioRunsFailed} of ${plural(assessment.scenarioRuns, 'scenario run')} passed (${assessment.scenarioNames.map(code).join(', ')})`);
  if (assessment.tests > 0) parts.push(`${assessment.tests - assessment.testsFailed} of ${plural(assessment.tests, 'test')} passed (${assessment.testFiles.map(code).join(', ')})`);
  if (assessment.benchRuns > 0) parts.push(`${assessment.benchRuns - assessment.benchRunsFailed} of ${plural(assessment.benchRuns, 'benchmark run')} passed their checks`);
  if (assessment.faults > 0) parts.push(`${assessment.faults - assessment.faultsFailed} of ${plural(assessment.faults, 'fault')} injected passed`);
  if (assessment.faultsSkipped > 0) parts.push(`${plural(assessment.faultsSkipped, 'fault')} skipped`);
  for (const problem of assessment.fileProblems) parts.push(`test file ${problem}`);
  for (const missing of assessment.missing) parts.push(`MISSING: ${missing}`);
  const text = parts.join('; ') || 'NO EVIDENCE: nothing that ran bears on this property';
  return assessment.passed ? `${text}.` : `**Not all passed.** ${text}.`;
}

function summarySection(assessments: readonly PropertyAssessment[], number: number): string[] {
  const rows = assessments.map((assessment) => {
    const evidence: string[] = [];
    if (assessment.scenarioNames.length > 0) evidence.push(`scenarios ${assessment.scenarioNames.map(code).join(', ')}`);
    if (assessment.testFiles.length > 0) evidence.push(`tests in ${assessment.testFiles.map(code).join(', ')}`);
    if (assessment.property === 'performance' && assessment.benchRuns > 0) evidence.push(`the benchmark (${assessment.benchRuns} runs)`);
    if (assessment.faults + assessment.faultsSkipped > 0) evidence.push(`the fault benchmark (${plural(assessment.faults + assessment.faultsSkipped, 'fault')})`);
    const counts = [
      ...(assessment.scenarioRuns > 0 ? [`${assessment.scenarioRuns - assessment.scenarioRunsFailed} of ${plural(assessment.scenarioRuns, 'scenario run')}`] : []),
      ...(assessment.tests > 0 ? [`${assessment.tests - assessment.testsFailed} of ${plural(assessment.tests, 'test')}`] : []),
      ...(assessment.benchRuns > 0 ? [`${assessment.benchRuns - assessment.benchRunsFailed} of ${plural(assessment.benchRuns, 'benchmark run')}`] : []),
      ...(assessment.faults > 0 ? [`${assessment.faults - assessment.faultsFailed} of ${plural(assessment.faults, 'fault')}`] : []),
    ];
    const problems = [...(assessment.faultsSkipped > 0 ? [`${plural(assessment.faultsSkipped, 'fault')} skipped`] : []), ...assessment.fileProblems.map((problem) => `test file ${problem}`), ...assessment.missing.map((missing) => `MISSING: ${missing}`)];
    const result = assessment.noEvidence
      ? '**NO EVIDENCE**'
      : `${assessment.passed ? 'PASS' : '**FAIL**'}: ${counts.length > 0 ? `${counts.join(', ')} passed` : 'nothing ran'}${problems.length > 0 ? `; ${problems.join('; ')}` : ''}`;
    return [PROPERTY_TITLES[assessment.property], evidence.join('; ') || 'none', result];
  });
  return [`## ${number}. Summary`, '', markdownTable(['property', 'evidence', 'result'], rows), ''];
}

function otherTestsSection(input: ReportInput, number: number): string[] {
  const other = placeTests(input.tests.files).filter((entry) => entry.properties.length === 0);
  if (other.length === 0) return [];
  return [
    `## ${number}. Other tests in the files run`,
    '',
    'These tests ran in the same files but bear on none of the properties above (robustness, membership, the client library); they are listed so that nothing that ran is left out.',
    '',
    markdownTable(['file', 'test', 'result'], other.map((entry) => [entry.file.name, entry.test.title, testResultCell(entry.test)])),
    '',
  ];
}

function contents(assessments: readonly PropertyAssessment[], hasOtherTests: boolean): string[] {
  const summaryNumber = REPORT_PROPERTIES.length + 3;
  const headings = [
    '1. How this report was produced',
    '2. The strategy implemented',
    ...REPORT_PROPERTIES.map((property) => `${propertySectionNumber(property)}. ${PROPERTY_TITLES[property]}`),
    `${summaryNumber}. Summary`,
    ...(hasOtherTests ? [`${summaryNumber + 1}. Other tests in the files run`] : []),
  ];
  const mark = (heading: string): string => {
    const assessment = assessments.find((candidate) => heading.endsWith(`. ${PROPERTY_TITLES[candidate.property]}`));
    return assessment === undefined ? '' : assessment.passed ? ' (passed)' : ' (**FAILED**)';
  };
  return ['Contents:', '', ...headings.map((heading) => `- [${heading}](#${anchorOf(heading)})${mark(heading)}`), ''];
}

export function renderReport(input: ReportInput): string {
  const assessments = assess(input);
  const out: string[] = [];
  out.push(...header(input, assessments));
  out.push(...failures(input));
  out.push(...contents(assessments, placeTests(input.tests.files).some((entry) => entry.properties.length === 0)));
  out.push(...howProduced(input));
  out.push(...strategySection());
  REPORT_PROPERTIES.forEach((property, index) => out.push(...propertySection(property, input, assessments[index]!)));
  const summaryNumber = REPORT_PROPERTIES.length + 3;
  out.push(...summarySection(assessments, summaryNumber));
  out.push(...otherTestsSection(input, summaryNumber + 1));
  return `${out.join('\n').trimEnd()}\n`;
}
