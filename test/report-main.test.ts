// `npm run report`'s command line on a scratch project folder: a missing or unreadable input
// that a --reuse flag needs gives exit code 2 with what is missing and how to produce it,
// and runs nothing; with every input there, the report is written from the files alone.
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { resolveBenchOptions } from '../bench/options.js';
import { configurations, planRuns } from '../bench/plan.js';
import { type RunRecord, failedRecord } from '../bench/runner.js';
import { summarizeRuns } from '../bench/summary.js';
import { TEST_FILES } from '../report/catalogue.js';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'report', 'main.js');
const RUN_TIMEOUT_MS = 60_000;

async function runReport(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  try {
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const code = await Promise.race([exited, delay(RUN_TIMEOUT_MS).then(() => 'timeout' as const)]);
    if (code === 'timeout') throw new Error(`report/main.js did not finish in ${RUN_TIMEOUT_MS} ms: ${stderr}`);
    return { code, stderr };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

function scratchRoot(t: { teardown: (fn: () => void) => void }): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-report-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  return root;
}

function write(root: string, file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  fs.writeFileSync(path.join(root, file), text);
}

const ALL_REUSED = ['--reuse-bench', '--reuse-scenarios', '--reuse-tests', '--reuse-nemesis'];

test('absent inputs for --reuse flags: exit 2, each named with how to produce it, nothing run or written', async (t) => {
  const root = scratchRoot(t);
  const { code, stderr } = await runReport(['--root', root, ...ALL_REUSED]);
  t.is(code, 2);
  t.regex(stderr, /missing reports\/results\/scenarios\.json \(needed by --reuse-scenarios\): run `npm run report` without --reuse-scenarios/);
  t.regex(stderr, /missing reports\/bench\/results\.json \(needed by --reuse-bench\): run `npm run report` without --reuse-bench/);
  t.regex(stderr, /needed by --reuse-tests\): run `npm run report` without --reuse-tests/);
  t.regex(stderr, /missing reports\/nemesis\/results\.json \(needed by --reuse-nemesis\): run `npm run report` without --reuse-nemesis/);
  t.notRegex(stderr, /\n\s+at /, 'no stack trace');
  t.false(fs.existsSync(path.join(root, 'reports/report2-tests.md')));
});

test('an unreadable input for a --reuse flag is missing too: exit 2', async (t) => {
  const root = scratchRoot(t);
  write(root, 'reports/results/scenarios.json', '{"format": "something else"}\n');
  write(root, 'reports/bench/results.json', 'not json\n');
  const { code, stderr } = await runReport(['--root', root, '--reuse-bench', '--reuse-scenarios']);
  t.is(code, 2);
  t.regex(stderr, /reports\/results\/scenarios\.json is not a version 1 occdb-scenario-results document/);
  t.regex(stderr, /reports\/bench\/results\.json is not readable JSON/);
});

test('without the built programs, it says to build first: exit 2', async (t) => {
  const root = scratchRoot(t);
  const { code, stderr } = await runReport(['--root', root]);
  t.is(code, 2);
  t.regex(stderr, /missing dist\/test\/.*run `npm run build` first/);
});

test('with every input reused, the report is written from the files alone', async (t) => {
  const root = scratchRoot(t);
  const machine = { hostname: 'h', platform: 'linux', release: '6.1.0', arch: 'x64', cpuModel: 'Test CPU', cpuCount: 2, memoryBytes: 2 ** 31, node: 'v20.0.0' };
  const run = (property: string, scenario: string) => ({
    scenario, property, description: `The ${scenario} scenario.`, manifest: `test-scenarios/${scenario}/scenario.json`, strategy: 'occ',
    cluster: { file: 'c.json', startedHere: true, middlewares: [1], databases: [1] }, keyPrefix: 'r_',
    startedAt: '2026-01-01T10:00:00.000Z', finishedAt: '2026-01-01T10:00:01.000Z', durationMs: 1000,
    files: { 'a.op': 'PRINT 1\n' }, setup: null,
    steps: [{ kind: 'clients', startedMs: 0, finishedMs: 5, clients: [{ name: 'A', middleware: 1, file: 'a.op', startAfterMs: 0, startedMs: 0, finishedMs: 5, output: '1\n', exitCode: 0, transactions: [{ outcome: 'committed', retries: 0, results: [], middlewareId: 1 }] }] }],
    final: { keys: [], state: {}, byMiddleware: { MIDDLEWARE1: { state: {} } } }, replicas: null,
    expectations: [{ id: 'exitCode.A', description: 'exit code of A', pass: true, expected: 0, seen: 0 }], passed: true,
  });
  const scenarios = ['atomicity', 'consistency', 'isolation', 'durability', 'deadlock-freedom'].map((property) => run(property, `s-${property}`));
  write(root, 'reports/results/scenarios.json', JSON.stringify({
    format: 'occdb-scenario-results', version: 1, startedAt: '2026-01-01T10:00:00.000Z', finishedAt: '2026-01-01T10:00:10.000Z',
    machine, target: 'test-scenarios', cluster: 'local', passed: true, interrupted: false, runs: scenarios, skipped: [],
  }));
  for (const scenario of scenarios) write(root, scenario.manifest, `{\n  "name": "${scenario.scenario}",\n  "description": "The scenario.",\n  "expect": { "exitCodes": { "A": 0 } }\n}\n`);

  const tests: Record<string, unknown> = {};
  for (const spec of TEST_FILES) {
    const outputFile = `reports/results/tests-${spec.name}.txt`;
    write(root, outputFile, `\n  ✔ a test of ${spec.name}\n    ℹ logged by ${spec.name}\n  ─\n\n  1 test passed\n`);
    write(root, `test/${spec.name}.test.ts`, `// What ${spec.name} shows.\nimport test from 'ava';\n`);
    tests[spec.name] = { command: `npx ava dist/test/${spec.name}.test.js --verbose`, exitCode: 0, signal: null, timedOut: false, startedAt: '2026-01-01T09:00:00.000Z', finishedAt: '2026-01-01T09:00:01.000Z', durationMs: 1000, outputFile };
  }
  write(root, 'reports/results/runs.json', JSON.stringify({ format: 'occdb-report-runs', version: 1, testsMachine: machine, tests }));

  const options = resolveBenchOptions({ quick: true, out: path.join(root, 'reports/bench') });
  const records: RunRecord[] = planRuns(options).map((planned) => {
    const base = failedRecord(planned, 'error', 'placeholder');
    delete base.failure;
    return { ...base, status: 'ok', throughputPerSecond: planned.strategy === 'occ' ? 200 : 100, restartsPerCommit: 0.1, latencyMs: { p50: 1, p95: 2, p99: 3, mean: 1, max: 4 } };
  });
  const groups = summarizeRuns(records, configurations(options), options.strategies);
  write(root, 'reports/bench/results.json', JSON.stringify({
    version: 1, commandLine: 'npm run bench -- --quick', options,
    machine: { cpuModel: 'Test CPU', cores: 2, memoryMiB: 2048, platform: 'linux x64', kernel: '6.1.0', nodeVersion: 'v20.0.0', date: '2026-01-01T08:00:00.000Z', clockTicks: { perSecond: 100, assumed: false } },
    wallSeconds: 60, interrupted: false, plannedRunCount: records.length, runs: records,
    summaries: groups.map(({ failedRuns, ...group }) => ({ ...group, failedRunIndexes: failedRuns.map((record) => record.index) })),
  }));
  write(root, 'reports/bench/ycsb-throughput-vs-theta-c16.svg', '<svg><title>Throughput &amp; skew</title></svg>');
  const checks = { totalRead: 100, totalExpected: 100, lostAcknowledged: 0, bankProblems: [], replicasIdentical: true, verifyDifferences: [] };
  write(root, 'reports/nemesis/results.json', JSON.stringify({
    command: 'npm run bench:nemesis -- --nemesis kill', startedAt: '2026-01-01T07:00:00.000Z', date: '2026-01-01T07:01:00.000Z', network: 'loopback',
    options: { steps: [{ kind: 'kill', target: 'DATABASE2' }], strategy: 'occ', middlewares: 3, databases: 3, clients: 4, accounts: 10, warmupMs: 1000, holdMs: 1000, recoveryMs: 5000, settleMs: 500, gapMs: 250, seed: 1, transferTimeoutMs: 10000 },
    bucketMs: 250, invariantsHeld: true, transfers: 50, stopProblems: [],
    faults: [{ kind: 'kill', target: 'DATABASE2', injectMs: 1000, healMs: 2000, windowEndMs: 4000, checksEndMs: 4500, recovery: { resumedAfterMs: 0, longestGapMs: 100, rateBeforePerSecond: 10, halfRateAfterMs: 0, rateEndPerSecond: 10 }, backAfterHealMs: 300, rejoined: { afterHealMs: 900 }, standingSeen: [], committed: 20, unknown: 0, aborted: 0, abortCodes: {}, suspicions: 1, viewsInstalled: 2, transactionsRecovered: 0, checks, notes: [] }],
  }));
  write(root, 'reports/nemesis/timeline.svg', '<svg><title>Commits under faults</title></svg>');

  const { code, stderr } = await runReport(['--root', root, ...ALL_REUSED]);
  t.is(code, 0, stderr);
  const report = fs.readFileSync(path.join(root, 'reports/report2-tests.md'), 'utf8');
  t.true(report.includes(`| Result | every check passed: 5 scenario runs, ${TEST_FILES.length} tests in ${TEST_FILES.length} test files, 1 fault injected, 27 benchmark runs |`));
  t.regex(report, /\| benchmark \| `npm run bench -- --quick` \| reused: an earlier run \|/);
  t.true(report.includes('![Throughput & skew](bench/ycsb-throughput-vs-theta-c16.svg)'));
  t.true(report.includes('![Commits under faults](nemesis/timeline.svg)'));
  t.regex(report, /\| 1 \| kill \| DATABASE2 \| 1\.00 s \| never stopped \| 0\.30 s \| 0\.90 s \| 0 \| 0 \| 100 of 100 \| 0 \| identical \| PASS \|/);
  t.true(report.includes('"description": "(the paragraph above)"'), 'the manifest is listed without its description');
  t.true(report.includes('What occ-core shows.'), 'a test file is described by its opening comment');
  t.true(report.includes('```\nlogged by simulation\n```'));
});
