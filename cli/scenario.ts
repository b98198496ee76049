// `occdb scenario <dir|manifest>`: runs multi-client scenarios (test-scenarios/) against a
// running cluster, or against local clusters it starts and stops itself, and reports every
// expectation with PASS or FAIL, what was seen and what was expected.
import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { STRATEGIES, clusterFilePath, type Strategy } from '../cluster/names.js';
import { OccdbError } from '../errors/catalogue.js';
import type { ScenarioResults } from '../scenario/report.js';
import { EXIT_FAILED, EXIT_OK } from '../errors/exit-codes.js';

/** As a shell reports a command ended by SIGINT. */
const EXIT_INTERRUPTED = 130;

interface ScenarioOptions {
  cluster?: string;
  dir?: string;
  strategy?: Strategy;
  json?: boolean;
  out?: string;
  keepDir?: boolean;
}

export function registerScenarioCommand(program: Command): void {
  program
    .command('scenario')
    .description(
      'Run multi-client scenarios and check their expectations (final values, client outputs and exit codes, invariants, ' +
      'replica agreement). Without --cluster or --dir, starts a local cluster (3 middlewares, 3 databases) in a temporary ' +
      'directory for each strategy the scenarios list, and stops it at the end.',
    )
    .argument('<path>', 'a scenario folder (holding scenario.json), a manifest file, or a folder of scenario folders')
    .addOption(new Option('--cluster <file>', 'run on the running cluster of this cluster file'))
    .addOption(new Option('--dir <dir>', 'run on the running cluster of this directory (<dir>/cluster.json)').conflicts('cluster'))
    .addOption(new Option('--strategy <strategy>', 'run only under this strategy').choices([...STRATEGIES]))
    .option('--json', 'print the result document (JSON) instead of the text report')
    .addOption(new Option('--out <file>', 'also write the result document (JSON) to this file'))
    .option('--keep-dir', 'keep the directory (logs, data) of each local cluster the command starts')
    .addHelpText('after', [
      '',
      'Examples:',
      '  $ occdb scenario test-scenarios                      # every scenario, every strategy, local clusters',
      '  $ occdb scenario test-scenarios/lost-update --strategy 2pl',
      '  $ occdb scenario test-scenarios --dir ./demo --out results.json',
      '',
      'Exit codes:',
      '  0  every expectation of every run passed',
      '  1  an expectation failed (or a run could not finish)',
      '  2  a manifest or command file is malformed, or the command line is wrong',
      '  3  the given cluster is unreachable',
      '  130  interrupted (Ctrl-C once: the current step finishes, then the local cluster is stopped)',
    ].join('\n'))
    .action(async (target: string, options: ScenarioOptions) => {
      await runScenarioCommand(target, options);
    });
}

async function runScenarioCommand(target: string, options: ScenarioOptions): Promise<void> {
  // Loaded here, not at the top: the rest of the command line does not pay for them.
  const [{ findScenarios }, { formatRun, formatSummary }, { runScenarios }] = await Promise.all([
    import('../scenario/manifest.js'),
    import('../scenario/report.js'),
    import('../scenario/runner.js'),
  ]);
  // Every manifest is checked before anything starts: a mistake costs no cluster.
  const scenarios = findScenarios(target);
  const clusterFile = options.cluster !== undefined ? path.resolve(options.cluster) : options.dir !== undefined ? clusterFilePath(options.dir) : undefined;
  const json = options.json === true;
  // With --json, stdout carries the document alone; progress goes to stderr.
  const say = (text: string): void => {
    (json ? process.stderr : process.stdout).write(`${text}\n`);
  };

  // The first interrupt lets the current step finish and then stops the local cluster; a
  // second one stops the cluster at once. Either way nothing the command started is left.
  const controller = new AbortController();
  let stopLocalCluster: (() => Promise<string[]>) | null = null;
  const onInterrupt = (signal: NodeJS.Signals): void => {
    if (!controller.signal.aborted) {
      process.stderr.write(`occdb: ${signal}: stopping after the current step (again to stop at once)\n`);
      controller.abort();
      return;
    }
    process.stderr.write(`occdb: ${signal}: stopping the local cluster now\n`);
    const stop = stopLocalCluster ?? (async (): Promise<string[]> => []);
    void stop().finally(() => process.exit(EXIT_INTERRUPTED));
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);

  let results: ScenarioResults;
  try {
    results = await runScenarios(scenarios, {
      target,
      ...(clusterFile !== undefined ? { clusterFile } : {}),
      ...(options.strategy !== undefined ? { strategy: options.strategy } : {}),
      keepDir: options.keepDir === true,
      onNote: (text) => say(text),
      onRun: (run) => {
        for (const line of formatRun(run)) say(line);
        say('');
      },
      onLocalCluster: (stop) => {
        stopLocalCluster = stop;
      },
      signal: controller.signal,
    });
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }

  for (const line of formatSummary(results)) say(line);
  const document = `${JSON.stringify(results, null, 2)}\n`;
  if (options.out !== undefined) writeDocument(options.out, document);
  if (json) process.stdout.write(document);
  process.exitCode = results.interrupted ? EXIT_INTERRUPTED : results.passed ? EXIT_OK : EXIT_FAILED;
}

function writeDocument(file: string, document: string): void {
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, document);
  } catch (error) {
    throw new OccdbError('USAGE', `cannot write the result document to ${file}: ${(error as Error).message}`);
  }
}
