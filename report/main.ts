// npm run report [-- --reuse-bench --reuse-scenarios --reuse-tests --reuse-nemesis]: runs the
// evidence (selected test files, every scenario under every strategy, the fault benchmark, the
// benchmark's report sweep), keeps what they print and write under reports/results/,
// reports/nemesis/ and reports/bench/, and generates
// reports/report2-tests.md from those files. Exits 0 when every piece of evidence passed, 1
// when the report was written but shows a failure or a missing part, 2 when an input a
// --reuse flag needs is missing (nothing is run then) or the command line is wrong, 130 when
// interrupted (the report is not written).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../errors/exit-codes.js';
import { PROPERTY_TITLES, TEST_FILES, testCompiledFile } from './catalogue.js';
import {
  loadBenchEvidence,
  loadNemesisEvidence,
  loadScenarioEvidence,
  loadTestEvidence,
  missingForReuse,
  readRuns,
  runBench,
  runNemesis,
  runScenarios,
  runTests,
} from './evidence.js';
import { REPORT_FILE, assess, formatDuration, renderReport } from './render.js';

const EXIT_INTERRUPTED = 130;

interface ReportOptions {
  root?: string;
  reuseBench?: boolean;
  reuseScenarios?: boolean;
  reuseTests?: boolean;
  reuseNemesis?: boolean;
}

/** The project folder: dist/report/main.js lives two levels below it. */
function projectRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

function generatorCommand(): string {
  const words = process.argv.slice(2).join(' ');
  return process.env.npm_lifecycle_event === 'report' ? `npm run report${words ? ` -- ${words}` : ''}` : `node dist/report/main.js${words ? ` ${words}` : ''}`;
}

function buildProgram(): Command {
  return new Command()
    .name('npm run report --')
    .description('Run the evidence (test files, scenarios, fault benchmark, benchmark) and generate reports/report2-tests.md from its result files.')
    .option('--reuse-bench', 'do not run the benchmark (about 12 minutes); use reports/bench/results.json as it is')
    .option('--reuse-scenarios', 'do not run the scenarios; use reports/results/scenarios.json as it is')
    .option('--reuse-tests', 'do not run the test files; use their outputs recorded under reports/results/')
    .option('--reuse-nemesis', 'do not run the fault benchmark (about 3 minutes); use reports/nemesis/results.json as it is')
    .option('--root <dir>', 'the project folder (default: the one this program was built in)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
}

/** The compiled programs the evidence runs; absent ones mean the build has not run. */
function missingPrograms(root: string, options: ReportOptions): string[] {
  const needed = [
    ...(options.reuseTests ? [] : TEST_FILES.map((spec) => testCompiledFile(spec.name))),
    ...(options.reuseScenarios ? [] : ['dist/cli/main.js']),
    ...(options.reuseNemesis ? [] : ['dist/bench/nemesis.js']),
    ...(options.reuseBench ? [] : ['dist/bench/main.js']),
  ];
  return needed.filter((file) => !fs.existsSync(path.join(root, file)));
}

async function main(): Promise<number> {
  const program = buildProgram();
  program.parse(process.argv);
  const options = program.opts<ReportOptions>();
  const root = options.root !== undefined ? path.resolve(options.root) : projectRoot();
  const reuse = { scenarios: options.reuseScenarios === true, tests: options.reuseTests === true, bench: options.reuseBench === true, nemesis: options.reuseNemesis === true };

  const missing = missingForReuse(root, reuse);
  if (missing.length > 0) {
    for (const entry of missing) process.stderr.write(`occdb report: missing ${entry.what}: ${entry.howToProduce}.\n`);
    return EXIT_USAGE;
  }
  // A reused input that is there but cannot be read is as missing as an absent one; found
  // before anything runs.
  const runs = readRuns(root);
  const reused = {
    tests: reuse.tests ? loadTestEvidence(root, runs, true) : null,
    scenarios: reuse.scenarios ? loadScenarioEvidence(root, runs, true) : null,
    bench: reuse.bench ? loadBenchEvidence(root, runs, true) : null,
    nemesis: reuse.nemesis ? loadNemesisEvidence(root, runs, true) : null,
  };
  const unreadable = [reused.scenarios?.missing, reused.nemesis?.missing, reused.bench?.missing, ...(reused.tests?.files.map((file) => file.missing) ?? [])].filter((entry) => entry != null);
  if (unreadable.length > 0) {
    for (const entry of unreadable) process.stderr.write(`occdb report: ${entry.what}. ${entry.howToProduce}\n`);
    return EXIT_USAGE;
  }
  const absentPrograms = missingPrograms(root, options);
  if (absentPrograms.length > 0) {
    process.stderr.write(`occdb report: missing ${absentPrograms.join(', ')}: run \`npm run build\` first (\`npm run report\` does).\n`);
    return EXIT_USAGE;
  }

  // Ctrl-C: the running command gets SIGINT (it stops its clusters), nothing else starts, and
  // no report is written from half the evidence.
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!abort.signal.aborted) process.stderr.write(`\noccdb report: ${signal}: stopping the running command; the report will not be written\n`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const startedMs = Date.now();
  try {
    if (!reuse.tests) await runTests(root, runs, abort.signal);
    if (!reuse.scenarios && !abort.signal.aborted) await runScenarios(root, runs, abort.signal);
    if (!reuse.nemesis && !abort.signal.aborted) await runNemesis(root, runs, abort.signal);
    if (!reuse.bench && !abort.signal.aborted) await runBench(root, runs, abort.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (abort.signal.aborted) return EXIT_INTERRUPTED;

  const input = {
    generatedAt: new Date().toISOString(),
    generatorCommand: generatorCommand(),
    tests: reused.tests ?? loadTestEvidence(root, runs, false),
    scenarios: reused.scenarios ?? loadScenarioEvidence(root, runs, false),
    bench: reused.bench ?? loadBenchEvidence(root, runs, false),
    nemesis: reused.nemesis ?? loadNemesisEvidence(root, runs, false),
  };
  const markdown = renderReport(input);
  fs.writeFileSync(path.join(root, REPORT_FILE), markdown);

  const assessments = assess(input);
  process.stderr.write(`\noccdb report: wrote ${REPORT_FILE} in ${formatDuration(Date.now() - startedMs)}\n`);
  for (const assessment of assessments) process.stderr.write(`  ${assessment.passed ? 'PASS' : 'FAIL'}  ${PROPERTY_TITLES[assessment.property]}\n`);
  for (const entry of [input.scenarios.missing, input.nemesis.missing, input.bench.missing, ...input.tests.files.map((file) => file.missing)]) {
    if (entry) process.stderr.write(`  missing: ${entry.what}. ${entry.howToProduce}\n`);
  }
  return assessments.every((assessment) => assessment.passed) ? EXIT_OK : EXIT_FAILED;
}

try {
  process.exitCode = await main();
} catch (error) {
  if (error instanceof CommanderError) {
    // commander already printed the message (or the help text).
    process.exitCode = error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  } else {
    process.stderr.write(`occdb report: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 70;
  }
}
