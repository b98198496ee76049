// occdb bench --nemesis kill,pause,partition [options] (or npm run bench:nemesis -- …): the bank
// workload on a local cluster while a nemesis kills, pauses and cuts off processes, middlewares
// and databases, one fault at a time, and heals each; then a chart of commits per second with
// every fault shaded, and a table of how long the commits stopped, when the process was back,
// what the clients were told, and whether the invariants held after every heal. See README.md, "Faults: the nemesis".
//
// Exit code: 0 when every invariant held after every fault, 1 when one did not, 2 for a usage
// error, 3 when the run itself failed (the cluster did not start, …).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { STRATEGIES, type Strategy } from '../cluster/cluster-file.js';
import { clockTicks, machineInfo } from './measure.js';
import { probeNamespaces } from './namespaces.js';
import { checksPassed, FAULT_KINDS, faultSummaryLine, faultTableMarkdown, timelineSvg, type FaultKind, type FaultRecord } from './nemesis-report.js';
import { runNemesis, type FaultStep, type NemesisOptions, type NemesisResult } from './nemesis-run.js';

/** The usage text; `invocation` is how the user ran it (occdb bench, or npm run bench:nemesis --). */
function help(invocation: string): string {
  return `usage: ${invocation} [options]

  --nemesis <kinds>     faults to inject, comma-separated: kill, pause, partition, none (default kill,pause,partition)
  --targets <names>     processes to hit, each with every kind (default MIDDLEWARE2,DATABASE2)
  --clients <n>         closed-loop bank clients (default 16)
  --accounts <n>        bank accounts (default 100)
  --warmup <s>          load before the first fault (default 5)
  --hold <s>            how long each fault is held before it is healed (default 4)
  --recovery <s>        the most to wait after a heal for the process and the commits (default 20)
  --settle <s>          load kept after the recovery before the checks, and after the checks before the next fault (default 2)
  --bucket-ms <ms>      the chart's bucket, and the shortest stretch without a commit that counts as a gap (default 250)
  --network <kind>      auto, loopback or namespaces (default auto: namespaces when a partition is asked for and they work)
  --strategy <s>        ${STRATEGIES.join(', ')} (default occ)
  --out <dir>           results (default reports/results/nemesis-<time>; never an existing folder)
  --dir <dir>           the cluster's folder, kept afterwards (default a temporary one, removed)
  --seed <n>            the workload's seed (default 1)

Faults run target by target, each kind in turn: inject, hold, heal, wait for recovery, check.
A partition needs the cluster in network namespaces (root and iproute2's ip); where they cannot
be made, every partition is SKIPPED and the table says why.`;
}

class UsageError extends Error {}

interface CliOptions {
  run: Omit<NemesisOptions, 'namespaces' | 'dir'>;
  network: 'auto' | 'loopback' | 'namespaces';
  bucketMs: number;
  out: string;
  dir: string | undefined;
}

function parseOptions(argv: string[]): CliOptions | 'help' {
  // Before parsing: `--nemesis --help` asks for the help, not for a fault named --help.
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const { values } = parseArgs({
    args: argv,
    options: {
      nemesis: { type: 'string', default: 'kill,pause,partition' },
      targets: { type: 'string', default: 'MIDDLEWARE2,DATABASE2' },
      clients: { type: 'string', default: '16' },
      accounts: { type: 'string', default: '100' },
      warmup: { type: 'string', default: '5' },
      hold: { type: 'string', default: '4' },
      recovery: { type: 'string', default: '20' },
      settle: { type: 'string', default: '2' },
      'bucket-ms': { type: 'string', default: '250' },
      network: { type: 'string', default: 'auto' },
      strategy: { type: 'string', default: 'occ' },
      out: { type: 'string' },
      dir: { type: 'string' },
      seed: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const number = (name: string, text: string, minimum: number, maximum: number): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < minimum || value > maximum) throw new UsageError(`--${name} must be a number from ${minimum} to ${maximum}, not '${text}'`);
    return value;
  };
  const kinds = values.nemesis.split(',').map((kind) => kind.trim()).filter((kind) => kind !== '');
  for (const kind of kinds) if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new UsageError(`--nemesis takes ${FAULT_KINDS.join(', ')}, not '${kind}'`);
  if (kinds.length === 0) throw new UsageError('--nemesis names no fault');
  const targets = values.targets.split(',').map((target) => target.trim().toUpperCase()).filter((target) => target !== '');
  for (const target of targets) if (!/^(MIDDLEWARE|DATABASE)[1-3]$/.test(target)) throw new UsageError(`--targets takes MIDDLEWARE1-3 and DATABASE1-3 (the cluster is 3x3), not '${target}'`);
  if (targets.length === 0) throw new UsageError('--targets names no process');
  if (!(STRATEGIES as readonly string[]).includes(values.strategy)) throw new UsageError(`--strategy is one of ${STRATEGIES.join(', ')}, not '${values.strategy}'`);
  if (!['auto', 'loopback', 'namespaces'].includes(values.network)) throw new UsageError(`--network is auto, loopback or namespaces, not '${values.network}'`);
  const steps: FaultStep[] = targets.flatMap((target) => kinds.map((kind) => ({ kind: kind as FaultKind, target })));
  const bucketMs = number('bucket-ms', values['bucket-ms'], 50, 10_000);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return {
    run: {
      steps,
      strategy: values.strategy as Strategy,
      middlewares: 3,
      databases: 3,
      clients: number('clients', values.clients, 1, 256),
      accounts: number('accounts', values.accounts, 2, 10_000),
      warmupMs: number('warmup', values.warmup, 0, 600) * 1000,
      holdMs: number('hold', values.hold, 0, 600) * 1000,
      recoveryMs: number('recovery', values.recovery, 1, 600) * 1000,
      settleMs: number('settle', values.settle, 0, 600) * 1000,
      gapMs: bucketMs,
      seed: number('seed', values.seed, 0, 2 ** 31),
      transferTimeoutMs: 10_000,
    },
    network: values.network as CliOptions['network'],
    bucketMs,
    out: path.resolve(values.out ?? path.join('reports', 'results', `nemesis-${stamp}`)),
    dir: values.dir === undefined ? undefined : path.resolve(values.dir),
  };
}

/** Whether to run in namespaces, or why not. */
async function chooseNetwork(options: CliOptions, say: (line: string) => void): Promise<{ namespaces: true } | { namespaces: false; reason: string }> {
  const wantsPartition = options.run.steps.some((step) => step.kind === 'partition');
  if (options.network === 'loopback') {
    if (wantsPartition) say('PARTITIONS WILL BE SKIPPED: --network loopback was asked for');
    return { namespaces: false, reason: '--network loopback was asked for' };
  }
  if (options.network === 'auto' && !wantsPartition) return { namespaces: false, reason: 'no partition was asked for' };
  const unavailable = await probeNamespaces();
  if (unavailable === null) return { namespaces: true };
  if (options.network === 'namespaces') throw new UsageError(`--network namespaces: ${unavailable}`);
  say(`PARTITIONS WILL BE SKIPPED: ${unavailable}`);
  return { namespaces: false, reason: unavailable };
}

function writeResults(options: CliOptions, result: NemesisResult, command: string, startedAt: Date): string[] {
  fs.mkdirSync(options.out, { recursive: true });
  const passed = result.records.every((record) => record.skipped !== undefined || checksPassed(record.checks));
  const subtitle = [
    `${options.run.clients} bank clients, ${options.run.middlewares} middlewares x ${options.run.databases} databases, ${options.run.strategy}, ${result.network}`,
    `faults held ${options.run.holdMs / 1000} s (shaded); grey: load stopped for the invariant checks`,
  ];
  const svg = timelineSvg({ title: 'Commits per second under the nemesis', subtitle, commitTimesMs: result.commitTimesMs, bucketMs: options.bucketMs, endMs: result.endMs, records: result.records });
  fs.writeFileSync(path.join(options.out, 'timeline.svg'), svg);
  const json = {
    command,
    startedAt: startedAt.toISOString(),
    date: new Date().toISOString(),
    // What it ran on, as the benchmark records it: report 2 shows it beside the table.
    machine: machineInfo(clockTicks()),
    network: result.network,
    options: options.run,
    bucketMs: options.bucketMs,
    invariantsHeld: passed,
    faults: result.records,
    transfers: result.transferCount,
    stopProblems: result.stopProblems,
  };
  fs.writeFileSync(path.join(options.out, 'results.json'), JSON.stringify(json, null, 2) + '\n');
  const notes = result.records.flatMap((record, index) => {
    if (record.skipped !== undefined) return [`${index + 1}. ${record.kind} ${record.target}: skipped: ${record.skipped}.`];
    const lines = [
      `${index + 1}. ${record.kind} ${record.target}: ${record.committed} committed, ${record.unknown} unknown, ${record.aborted} aborted from the injection to the checks${Object.keys(record.abortCodes).length > 0 ? ` (${Object.entries(record.abortCodes).map(([code, count]) => `${code} ${count}`).join(', ')})` : ''};`,
      `   logged ${record.suspicions} suspicions, ${record.viewsInstalled} view installations, ${record.transactionsRecovered} transactions recovered;`,
      `   status standing seen: ${record.standingSeen.length > 0 ? record.standingSeen.join('; ') : 'none reported'}.`,
      ...[...record.notes, ...record.checks.bankProblems, ...record.checks.verifyDifferences].map((note) => `   - ${note}`),
    ];
    return lines;
  });
  const markdown = [
    '# Nemesis run',
    '',
    `\`${json.command}\` on ${json.date}: ${subtitle[0]}.`,
    '',
    '![commits per second](timeline.svg)',
    '',
    faultTableMarkdown(result.records),
    'Commits resumed: from the injection to the first commit after the first stretch of at least',
    `${options.bucketMs} ms without one ("never stopped" if there was none). Process back: from the heal`,
    '(for a kill, the restart) until it answers status as itself. Rejoined: until `occdb status --json`',
    'shows it where the newest view puts it with nothing wrong (a middleware a member; a database a',
    'replica again: removed while away, it rejoins, is brought up to date by state transfer and is',
    'promoted; the notes list the standings status showed on the way). Unknown:',
    'transfers told TXN_OUTCOME_UNKNOWN or not answered; aborts: told they did not commit; both from',
    'the injection to the checks. The checks run with the load stopped.',
    '',
    '## Notes',
    '',
    ...notes,
    '',
    passed ? 'Every invariant held after every fault.' : '**An invariant was broken** (see the notes).',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(options.out, 'results.md'), markdown);
  return ['timeline.svg', 'results.md', 'results.json'].map((name) => path.join(options.out, name));
}

/**
 * Runs the nemesis as `invocation argv…` asked (`invocation`: occdb bench, or npm run
 * bench:nemesis --, as the user typed it: the usage text and the results name it). Resolves
 * with the exit code: 0 every invariant held, 1 one did not, 2 a usage error, 3 the run failed.
 */
export async function runNemesisCommand(argv: string[], invocation: string): Promise<number> {
  const startedAt = new Date();
  const label = invocation.startsWith('occdb') ? 'occdb bench' : 'bench:nemesis';
  let options: CliOptions | 'help';
  try {
    options = parseOptions(argv);
  } catch (error) {
    process.stderr.write(`${label}: ${(error as Error).message}\n${help(invocation)}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${help(invocation)}\n`);
    return 0;
  }
  if (fs.existsSync(options.out)) {
    process.stderr.write(`${label}: ${options.out} exists; results never overwrite a folder (give another --out)\n`);
    return 2;
  }
  try {
    // Made now, so that a folder that cannot be written stops the run before it starts.
    fs.mkdirSync(options.out, { recursive: true });
  } catch (error) {
    process.stderr.write(`${label}: cannot make ${options.out}: ${(error as Error).message}\n`);
    return 2;
  }
  const say = (line: string): void => {
    process.stderr.write(`nemesis: ${line}\n`);
  };
  let network: Awaited<ReturnType<typeof chooseNetwork>>;
  try {
    network = await chooseNetwork(options, say);
  } catch (error) {
    process.stderr.write(`${label}: ${(error as Error).message}\n`);
    return 2;
  }
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-nemesis-'));
  const abort = new AbortController();
  // Kept for the whole run: a second Ctrl-C must not kill the nemesis half-way through stopping
  // the cluster and removing the namespaces (which is bounded).
  const onSignal = (signal: string): void => {
    if (abort.signal.aborted) {
      say(`${signal}: already stopping the cluster, wait`);
      return;
    }
    say(`${signal}: ending the run, stopping the cluster${network.namespaces ? ' and removing the namespaces' : ''}`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let result: NemesisResult;
  try {
    result = await runNemesis({ ...options.run, namespaces: network.namespaces, ...(network.namespaces ? {} : { loopbackReason: network.reason }), dir, signal: abort.signal }, say);
  } catch (error) {
    const why = abort.signal.aborted ? 'interrupted; the cluster is stopped, no results are written' : `the run failed: ${(error as Error).message}`;
    process.stderr.write(`${label}: ${why}\n(the cluster's logs are in ${dir})\n`);
    // The results folder was made empty at the start: leave no empty one behind.
    try {
      fs.rmdirSync(options.out);
    } catch {
      // Not empty after all, or gone: leave it.
    }
    return 3;
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (options.dir === undefined && result.stopProblems.length === 0) fs.rmSync(dir, { recursive: true, force: true });
  const files = writeResults(options, result, `${invocation} ${argv.join(' ')}`.trim(), startedAt);
  for (const record of result.records) process.stdout.write(`${faultSummaryLine(record)}\n`);
  process.stdout.write(`wrote ${files.join(', ')}\n`);
  const broken = result.records.filter((record: FaultRecord) => record.skipped === undefined && !checksPassed(record.checks));
  if (broken.length > 0) {
    process.stdout.write(`INVARIANTS BROKEN after ${broken.map((record) => `${record.kind} ${record.target}`).join(', ')}\n`);
    return 1;
  }
  return 0;
}

