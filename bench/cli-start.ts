// npm run bench:cli [-- --runs N] [--baseline-dir DIR]: how long the occdb command takes from
// start to exit, as a user waits for it. Starts a local cluster (3 middlewares, 3 databases)
// in a temporary directory, runs `occdb --help`, `occdb client 1 <a two-line file>` and
// `occdb status` N times each, one after another, and prints the min, median and p90 wall
// time of each, and the median CPU time (user and system) the command's process used: the
// steadier figure on a machine that is busy with something else. With --baseline-dir, the same commands of another build (a directory holding
// bin/occdb.js and its dist/, e.g. a worktree of an older commit, built) run in alternation
// with this one's, against the same cluster. The cluster is stopped at the end, whatever happens.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUNS_DEFAULT = 20;
const RUNS_MAX = 1_000;
/** One command may take this long before the benchmark gives up on it. */
const COMMAND_TIMEOUT_MS = 60_000;
/** Starting and stopping the cluster may take this long. */
const CLUSTER_TIMEOUT_MS = 120_000;
const EXIT_USAGE = 2;

interface Build {
  label: string;
  bin: string;
}

interface Sample {
  command: string;
  build: string;
  wallMs: number[];
  cpuMs: number[];
}

/**
 * Loaded into each measured command with --require: at its exit it writes the CPU time its
 * process used, in ms, on file descriptor 3 (which the benchmark reads). Node tells a process
 * its own usage only, not a child's.
 */
const CPU_REPORTER = `process.on('exit', () => {
  const usage = process.resourceUsage();
  require('node:fs').writeSync(3, String((usage.userCPUTime + usage.systemCPUTime) / 1000));
});
`;

const USAGE = `usage: npm run bench:cli [-- --runs N] [--baseline-dir DIR]

  --runs N            runs of each command, one after another (default ${RUNS_DEFAULT}, at least 20)
  --baseline-dir DIR  also run DIR/bin/occdb.js (another build: a checkout with its dist/),
                      alternating with this build, against the same cluster
`;

function fail(message: string): never {
  process.stderr.write(`bench:cli: ${message}\n${USAGE}`);
  process.exit(EXIT_USAGE);
}

function parseOptions(): { runs: number; baselineDir?: string } {
  let values: { runs?: string; 'baseline-dir'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { runs: { type: 'string' }, 'baseline-dir': { type: 'string' }, help: { type: 'boolean' } }, strict: true }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const runs = values.runs === undefined ? RUNS_DEFAULT : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 20 || runs > RUNS_MAX) fail(`--runs must be an integer from 20 to ${RUNS_MAX}`);
  const baselineDir = values['baseline-dir'];
  if (baselineDir !== undefined && !fs.existsSync(path.join(baselineDir, 'bin', 'occdb.js'))) fail(`--baseline-dir: ${baselineDir} has no bin/occdb.js`);
  if (baselineDir !== undefined && !fs.existsSync(path.join(baselineDir, 'dist', 'cli', 'main.js'))) fail(`--baseline-dir: ${baselineDir} is not built (no dist/cli/main.js)`);
  return { runs, ...(baselineDir !== undefined ? { baselineDir: path.resolve(baselineDir) } : {}) };
}

/** Runs `node <bin> ...args` to the end; its wall and CPU time in ms, or throws with its output if it failed. */
function timed(bin: string, args: string[], expectedCodes: number[], cpuReporter: string): { wallMs: number; cpuMs: number } {
  const startMs = performance.now();
  const run = spawnSync(process.execPath, ['--require', cpuReporter, bin, ...args], { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const wallMs = performance.now() - startMs;
  if (run.status === null || !expectedCodes.includes(run.status)) {
    throw new Error(`${bin} ${args.join(' ')} exited with ${run.status ?? run.signal}: ${run.stderr || run.stdout}`);
  }
  return { wallMs, cpuMs: Number(run.output[3]) };
}

function quantile(sorted: readonly number[], fraction: number): number {
  // Nearest rank: the smallest value with at least `fraction` of the values at or below it.
  return sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)]!;
}

function occdb(args: string[], timeoutMs: number): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'occdb.js'), ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function main(): void {
  const options = parseOptions();
  const builds: Build[] = [{ label: 'this', bin: path.join(REPO_ROOT, 'bin', 'occdb.js') }];
  if (options.baselineDir !== undefined) builds.push({ label: 'baseline', bin: path.join(options.baselineDir, 'bin', 'occdb.js') });

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-bench-cli-'));
  const clusterDir = path.join(workDir, 'cluster');
  const commandFile = path.join(workDir, 'small.op');
  fs.writeFileSync(commandFile, 'ADD counter counter 1\nPRINT counter\n');
  const cpuReporter = path.join(workDir, 'cpu-reporter.cjs');
  fs.writeFileSync(cpuReporter, CPU_REPORTER);
  let clusterStarted = false;
  const stop = (): void => {
    if (!clusterStarted) return;
    clusterStarted = false;
    const stopped = occdb(['stop', '--dir', clusterDir], CLUSTER_TIMEOUT_MS);
    if (stopped.status !== 0) process.stderr.write(`bench:cli: stopping the cluster failed; stop it with: occdb stop --dir ${clusterDir}\n${stopped.stderr}`);
    else fs.rmSync(workDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    stop();
    process.exit(130);
  });

  try {
    process.stderr.write(`bench:cli: starting a local cluster (3 middlewares, 3 databases) in ${clusterDir}\n`);
    clusterStarted = true;
    const started = occdb(['startup', '3', 'localhost', 'localhost', 'localhost', '3', 'localhost', 'localhost', 'localhost', '--dir', clusterDir], CLUSTER_TIMEOUT_MS);
    if (started.status !== 0) throw new Error(`the cluster did not start: ${started.stderr}`);
    // The counter exists before the first measured client reads it.
    if (occdb(['client', '1', '-e', 'ASSIGN counter 0', '--dir', clusterDir], COMMAND_TIMEOUT_MS).status !== 0) throw new Error('the counter could not be written');

    const commands: Array<{ name: string; args: string[] }> = [
      { name: '--help', args: ['--help'] },
      { name: 'client 1 small.op', args: ['client', '1', commandFile, '--dir', clusterDir] },
      { name: 'status', args: ['status', '--dir', clusterDir] },
    ];
    const samples: Sample[] = [];
    for (const command of commands) {
      const byBuild: Sample[] = builds.map((build) => ({ command: command.name, build: build.label, wallMs: [], cpuMs: [] }));
      // One untimed run of each build first: the first start after a build reads cold files
      // (and writes the code cache of its bundle, if it has one).
      for (const build of builds) timed(build.bin, command.args, [0], cpuReporter);
      for (let run = 0; run < options.runs; run += 1) {
        // Alternating the builds spreads whatever else the machine does over both alike.
        builds.forEach((build, index) => {
          const { wallMs, cpuMs } = timed(build.bin, command.args, [0], cpuReporter);
          byBuild[index]!.wallMs.push(wallMs);
          byBuild[index]!.cpuMs.push(cpuMs);
        });
      }
      samples.push(...byBuild);
    }

    const rows = samples.map((sample) => {
      const sorted = [...sample.wallMs].sort((a, b) => a - b);
      const cpuSorted = [...sample.cpuMs].sort((a, b) => a - b);
      return [sample.command, sample.build, ...[sorted[0]!, quantile(sorted, 0.5), quantile(sorted, 0.9), quantile(cpuSorted, 0.5)].map((value) => value.toFixed(0))];
    });
    const header = ['command', 'build', 'min ms', 'median ms', 'p90 ms', 'median cpu ms'];
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
    const line = (cells: string[]): string => cells.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
    const environment = ['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS'].filter((name) => process.env[name] !== undefined);
    process.stdout.write([
      `occdb command-line start: wall time from spawn to exit, and CPU time (user + system), ${options.runs} runs of each command, one after another`,
      `Node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((value) => value.toFixed(2)).join(' ')} at the end` +
        (environment.length > 0 ? `; set in the environment (each adds to every start): ${environment.join(', ')}` : ''),
      line(header),
      ...rows.map(line),
      '',
    ].join('\n'));
  } finally {
    stop();
  }
}

main();
