// Report 2's rendering, from small fixture documents: one section per property with the
// scenario's listings (command files, manifest), each client's output, the final state and
// every expectation per strategy; the tests that bear on the property with their output; the
// fault benchmark's chart and a row per fault with its verdict; the benchmark's tables,
// figures and computed reading; a closing summary. A failed expectation,
// test or benchmark run is shown as failed, up front and in its section, and a missing input
// says what is missing and how to produce it.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveBenchOptions } from '../bench/options.js';
import { configurations, planRuns } from '../bench/plan.js';
import { type RunRecord, failedRecord } from '../bench/runner.js';
import { summarizeRuns } from '../bench/summary.js';
import type { FaultRecord } from '../bench/nemesis-report.js';
import type { ScenarioResults, ScenarioRun } from '../scenario/report.js';
import { parseAvaOutput } from '../report/ava-output.js';
import { loadNemesisEvidence } from '../report/evidence.js';
import type { BenchResultsDocument, CommandRun, NemesisResultsDocument, ReportInput, TestFileEvidence } from '../report/input.js';
import { anchorOf, assess, faultVerdict, fence, renderReport } from '../report/render.js';

const MACHINE = { hostname: 'host', platform: 'linux', release: '6.1.0', arch: 'x64', cpuModel: 'Test CPU 3000', cpuCount: 2, memoryBytes: 4 * 2 ** 30, node: 'v20.0.0' };

function scenarioRun(strategy: 'occ' | '2pl', passed: boolean, scenario = 'atomicity', property: ScenarioRun['property'] = 'atomicity'): ScenarioRun {
  return {
    scenario,
    property,
    description: 'A failing transaction rolls back every earlier write.',
    manifest: 'test-scenarios/atomicity/scenario.json',
    strategy,
    cluster: { file: '/tmp/c/cluster.json', startedHere: true, middlewares: [1, 2], databases: [1, 2] },
    keyPrefix: 'r1_',
    startedAt: '2026-01-01T10:00:00.000Z',
    finishedAt: '2026-01-01T10:00:01.000Z',
    durationMs: 1000,
    files: { 'writer.op': 'ASSIGN x 1\nPRINT never_written\n' },
    setup: null,
    steps: [
      {
        kind: 'clients', startedMs: 0, finishedMs: 900,
        clients: [{
          name: 'writer', middleware: 1, file: 'writer.op', startAfterMs: 0, startedMs: 10, finishedMs: 900,
          output: 'ERROR in line 2: nonexistent: arg1\n', exitCode: 1,
          transactions: [{ outcome: 'rolled_back', retries: 2, results: [], middlewareId: 1 }],
        }],
      },
      { kind: 'action', action: 'kill-database', database: 2, pid: 4242, startedMs: 900, finishedMs: 950, ok: true, detail: 'killed pid 4242 with SIGKILL' },
    ],
    final: {
      keys: ['x'],
      state: { x: passed ? null : 1 },
      byMiddleware: { MIDDLEWARE1: { state: { x: passed ? null : 1 } }, MIDDLEWARE2: { state: { x: passed ? null : 1 } } },
    },
    replicas: { agree: true, keys: 1, replicas: 2, differenceCount: 0, differences: [] },
    expectations: [
      { id: 'exitCode.writer', description: 'exit code of writer', pass: true, expected: 1, seen: 1 },
      { id: 'final.x', description: 'final x through every middleware', pass: passed, expected: null, seen: passed ? null : 1 },
    ],
    passed,
  };
}

function scenarios(allPass: boolean): ScenarioResults {
  return {
    format: 'occdb-scenario-results', version: 1,
    startedAt: '2026-01-01T10:00:00.000Z', finishedAt: '2026-01-01T10:00:05.000Z',
    machine: MACHINE, target: 'test-scenarios', cluster: 'local', passed: allPass, interrupted: false,
    runs: [scenarioRun('occ', true), scenarioRun('2pl', allPass), scenarioRun('occ', true, 'durability', 'durability'), scenarioRun('occ', true, 'deadlock', 'deadlock-freedom')],
    skipped: [],
  };
}

function commandRun(command: string, exitCode: number, outputFile: string): CommandRun {
  return { command, exitCode, signal: null, timedOut: false, startedAt: '2026-01-01T09:59:00.000Z', finishedAt: '2026-01-01T09:59:10.000Z', durationMs: 10_000, outputFile };
}

function testFile(name: string, output: string, exitCode: number): TestFileEvidence {
  return {
    name,
    sourceFile: `test/${name}.test.ts`,
    compiledFile: `dist/test/${name}.test.js`,
    description: `What ${name} shows.`,
    run: commandRun(`npx ava dist/test/${name}.test.js --verbose`, exitCode, `reports/results/tests-${name}.txt`),
    output: parseAvaOutput(output),
    missing: null,
  };
}

const SIMULATION_OUTPUT = '\n  ✔ simulation (3 middlewares): every history is serializable and replicas converge (2s)\n    ℹ seed 1: 1500 committed, 3834 aborted, 0 gave up\n  ─\n\n  1 test passed\n';
const OCC_CORE_FAILING = '\n  ✔ case 1: W is stamped after T\n  ✘ [fail]: case 2: the coordinator votes NO expected NO, got YES\n  ─\n\n  case 2: the coordinator votes NO\n  occ-core.test.ts:60\n\n  expected NO, got YES\n\n  ─\n\n  1 test failed\n';

function benchDocument(failOne: boolean): BenchResultsDocument {
  const options = resolveBenchOptions({ quick: true });
  const runs = planRuns(options);
  const records: RunRecord[] = runs.map((run) => {
    if (failOne && run.index === 0) return failedRecord(run, 'invariant', 'the bank total is 99990, not 100000');
    const base = failedRecord(run, 'error', 'placeholder');
    delete base.failure;
    const throughput = (run.strategy === 'occ' ? 1500 : 1000) + run.repetition * 10;
    return {
      ...base, status: 'ok', windowMs: 2500, committed: throughput * 2.5, throughputPerSecond: throughput,
      restartsPerCommit: run.configuration.workload.kind === 'ycsb' ? run.configuration.workload.theta : 0.2,
      latencyMs: { p50: 5, p95: 10, p99: 20, mean: 6, max: 30 }, messagesPerCommit: 7, cpuPercent: { middleware: 60, database: 90, client: 10 },
    };
  });
  const groups = summarizeRuns(records, configurations(options), options.strategies);
  return {
    version: 1, commandLine: 'node dist/bench/main.js --quick', options,
    machine: { cpuModel: 'Test CPU 3000', cores: 2, memoryMiB: 4096, platform: 'linux x64', kernel: '6.1.0', nodeVersion: 'v20.0.0', date: '2026-01-01T11:00:00.000Z', clockTicks: { perSecond: 100, assumed: false } },
    wallSeconds: 100, interrupted: false, plannedRunCount: runs.length, runs: records,
    summaries: groups.map(({ failedRuns, ...group }) => ({ ...group, failedRunIndexes: failedRuns.map((record) => record.index) })),
  };
}

const NEMESIS_MACHINE = { cpuModel: 'Test CPU 3000', cores: 2, memoryMiB: 4096, platform: 'linux x64', kernel: '6.1.0', nodeVersion: 'v20.0.0', date: '2026-01-01T10:30:00.000Z', clockTicks: { perSecond: 100, assumed: false } };

/** A fault that ran; `checks` and the rest as given. */
function fault(kind: FaultRecord['kind'], target: string, injectMs: number, change: Partial<FaultRecord> = {}): FaultRecord {
  return {
    kind, target, injectMs, healMs: injectMs + 4_000, windowEndMs: injectMs + 9_000, checksEndMs: injectMs + 9_500,
    recovery: { resumedAfterMs: 1_070, longestGapMs: 1_050, rateBeforePerSecond: 260, halfRateAfterMs: 1_070, rateEndPerSecond: 340 },
    backAfterHealMs: 3_200, rejoined: { afterHealMs: 3_240 }, standingSeen: ['member: not answering'],
    committed: 2_396, unknown: 5, aborted: 0, abortCodes: {}, suspicions: 2, viewsInstalled: 3, transactionsRecovered: 8,
    checks: { totalRead: 100_000, totalExpected: 100_000, lostAcknowledged: 0, bankProblems: [], replicasIdentical: true, verifyDifferences: [] },
    notes: [],
    ...change,
  };
}

function skippedFault(kind: FaultRecord['kind'], target: string, why: string): FaultRecord {
  return { ...fault(kind, target, 20_000), skipped: why, recovery: null, backAfterHealMs: null, rejoined: { notKnown: 'skipped' }, committed: 0, unknown: 0 };
}

function nemesisDocument(faults: FaultRecord[]): NemesisResultsDocument {
  return {
    command: 'npm run bench:nemesis -- --nemesis kill,pause,partition --out reports/nemesis.new',
    startedAt: '2026-01-01T10:28:30.000Z', date: '2026-01-01T10:30:00.000Z', machine: NEMESIS_MACHINE,
    network: 'namespaces (bridge b1, 10.0.0.2, 10.0.0.3)',
    options: {
      steps: faults.map((record) => ({ kind: record.kind, target: record.target })), strategy: 'occ', middlewares: 3, databases: 3, clients: 16, accounts: 100,
      warmupMs: 5_000, holdMs: 4_000, recoveryMs: 20_000, settleMs: 2_000, gapMs: 250, seed: 1, transferTimeoutMs: 10_000,
    },
    bucketMs: 250,
    invariantsHeld: faults.every((record) => record.skipped !== undefined || (record.checks.bankProblems.length === 0 && record.checks.replicasIdentical)),
    faults, transfers: 20_130, stopProblems: [],
  };
}

function input(allPass: boolean): ReportInput {
  return {
    generatedAt: '2026-01-01T12:00:00.000Z',
    generatorCommand: 'npm run report',
    scenarios: {
      reused: false, run: commandRun('node dist/cli/main.js scenario test-scenarios --out reports/results/scenarios.json', allPass ? 0 : 1, 'reports/results/scenarios.txt'),
      document: scenarios(allPass),
      manifests: { atomicity: { path: 'test-scenarios/atomicity/scenario.json', listing: '{\n  "name": "atomicity",\n  "expect": { "final": { "x": null } }\n}' } },
      missing: null,
    },
    tests: {
      reused: false, machine: MACHINE,
      files: [
        testFile('simulation', SIMULATION_OUTPUT, 0),
        testFile('occ-core', allPass ? '\n  ✔ case 1: W is stamped after T\n  ─\n\n  1 test passed\n' : OCC_CORE_FAILING, allPass ? 0 : 1),
      ],
    },
    bench: {
      reused: false, run: commandRun('node dist/bench/main.js --sweep report --out reports/bench', allPass ? 0 : 1, 'reports/results/bench.txt'),
      document: benchDocument(!allPass),
      charts: [{ fileName: 'ycsb-throughput-vs-theta-c16.svg', title: 'Throughput against key skew (16 clients)' }],
      missing: null,
    },
    nemesis: {
      reused: false, run: commandRun('node dist/bench/nemesis.js --nemesis kill,pause,partition --out reports/nemesis.new', 0, 'reports/results/nemesis.txt'),
      document: nemesisDocument([fault('kill', 'MIDDLEWARE2', 5_000), fault('pause', 'DATABASE2', 17_000)]),
      chart: { fileName: 'timeline.svg', title: 'Commits per second under the nemesis' },
      missing: null,
    },
  };
}

test('every property has its section, in order, with the summary after them', (t) => {
  const markdown = renderReport(input(true));
  const headings = [...markdown.matchAll(/^## (.*)$/gm)].map((match) => match[1]);
  t.deepEqual(headings, [
    '1. How this report was produced', '2. The strategy implemented', '3. Atomicity', '4. Consistency', '5. Isolation',
    '6. Durability', '7. Absence of deadlocks', '8. Failures', '9. Performance', '10. Summary',
  ]);
  t.true(markdown.includes(`[3. Atomicity](#${anchorOf('3. Atomicity')})`), 'the contents link to the sections');
  t.regex(markdown, /\| Result \| every check passed: 4 scenario runs, 2 tests in 2 test files, 2 faults injected, 27 benchmark runs \|/);
  t.regex(markdown, /Test CPU 3000, 2 cores, 4\.0 GiB memory, linux x64, kernel 6\.1\.0, Node v20\.0\.0/);
  t.true(markdown.includes('](report1-strategies.md)'), 'report 1 is linked');
  t.notRegex(markdown, /## What did not pass/);
});

test('a scenario shows its command files, its manifest, each client\'s output, the final state and each expectation per strategy', (t) => {
  const markdown = renderReport(input(true));
  t.true(markdown.includes('**What it shows.** A failing transaction rolls back every earlier write.'));
  t.true(markdown.includes('`writer.op`:\n\n```\nASSIGN x 1\nPRINT never_written\n```'));
  t.true(markdown.includes('```json\n{\n  "name": "atomicity",'));
  t.regex(markdown, /#### 3\.1\.1 `atomicity` under occ: PASS/);
  t.regex(markdown, /#### 3\.1\.2 `atomicity` under 2pl: PASS/);
  t.true(markdown.includes('Output of `writer` (`writer.op` on MIDDLEWARE1, exit code 1):\n\n```\nERROR in line 2: nonexistent: arg1\n```'));
  t.regex(markdown, /\| step 1: writer \| MIDDLEWARE1 \| `writer\.op` \| 0\.01-0\.90 \| 1 \| rolled back after 2 retries \|/);
  t.regex(markdown, /\| step 2: kill-database \| DATABASE2 \|.*killed pid 4242 with SIGKILL \|/);
  t.regex(markdown, /\| read through \| x \|\n\| --- \| --- \|\n\| MIDDLEWARE1 \| \(none\) \|\n\| MIDDLEWARE2 \| \(none\) \|/);
  t.regex(markdown, /\| PASS \| final x through every middleware \| `null` \| `null` \|/);
});

test('tests appear under their property with their result and their logged output, once', (t) => {
  const markdown = renderReport(input(true));
  const isolation = markdown.slice(markdown.indexOf('## 5. Isolation'), markdown.indexOf('## 6. Durability'));
  t.regex(isolation, /\| simulation \| simulation \(3 middlewares\): every history is serializable and replicas converge \| PASS \|/);
  t.true(isolation.includes('```\nseed 1: 1500 committed, 3834 aborted, 0 gave up\n```'));
  const consistency = markdown.slice(markdown.indexOf('## 4. Consistency'), markdown.indexOf('## 5. Isolation'));
  t.regex(consistency, /\| simulation \| simulation \(3 middlewares\).* \| PASS \|/);
  t.regex(consistency, /printed is shown in section 5 \(Isolation\)/);
  t.false(consistency.includes('seed 1: 1500 committed'));
});

test('the performance section has the sweep, the tables as median [min-max], the figures and a computed reading', (t) => {
  const markdown = renderReport(input(true));
  const performance = markdown.slice(markdown.indexOf('## 9. Performance'), markdown.indexOf('## 10. Summary'));
  t.regex(performance, /All 27 runs passed their checks/);
  t.regex(performance, /\| 16 \| occ \| 3\/3 \| 1510 \[1500-1520\] \| 0\.20 \[0\.20-0\.20\] \|/);
  t.regex(performance, /\| 0\.9 \| 16 \| 2pl \| 3\/3 \| 1010 \[1000-1020\] \| 0\.90 \[0\.90-0\.90\] \|/);
  t.true(performance.includes('![Throughput against key skew (16 clients)](bench/ycsb-throughput-vs-theta-c16.svg)'));
  t.regex(performance, /Highest median throughput, of 3 configurations: \*\*occ\*\* in 3/);
  t.regex(performance, /Restarts per commit \(median\) against theta 0, 0\.9 at 16 clients: occ 0\.00 → 0\.90 \(grows at every step\)/);
  t.regex(performance, /\| bank, 16 clients \| occ 1510 \| 2pl 1010 \| 1\.50x \| yes \|/);
});

test('failures are shown as failed: up front, in their section and in the summary', (t) => {
  const failing = input(false);
  const markdown = renderReport(failing);
  t.regex(markdown, /\| Result \| \*\*NOT ALL PASSED\*\* \(Atomicity, Isolation, Performance\)/);
  t.regex(markdown, /## What did not pass\n/);
  t.regex(markdown, /- FAILED scenario `atomicity` under 2pl: final x through every middleware/);
  t.regex(markdown, /- FAILED test `occ-core` › case 2: the coordinator votes NO: expected NO, got YES/);
  t.regex(markdown, /- FAILED benchmark run 1 \(occ, bank\/c16, repetition 1\): invariant: the bank total is 99990, not 100000/);
  t.regex(markdown, /#### 3\.1\.2 `atomicity` under 2pl: FAIL/);
  t.regex(markdown, /\| \*\*FAIL\*\* \| final x through every middleware \| `1` \| `null` \|/);
  t.regex(markdown, /\| occ-core \| case 2: the coordinator votes NO \| \*\*FAIL\*\*: expected NO, got YES \|/);
  t.true(markdown.includes('occ-core.test.ts:60\n\nexpected NO, got YES'), 'ava\'s details of the failure are shown');
  t.regex(markdown, /\*\*1 RUN FAILED ITS CHECKS\.\*\*/);
  t.regex(markdown, /\| Atomicity \| .* \| \*\*FAIL\*\*: 1 of 2 scenario runs passed \|/);
  t.regex(markdown, /\| Isolation \| .* \| \*\*FAIL\*\*: 2 of 3 tests passed \|/);
  t.deepEqual(assess(failing).filter((assessment) => !assessment.passed).map((assessment) => assessment.property), ['atomicity', 'isolation', 'performance']);
});

test('a test file that crashed outside any test fails every property it bears on', (t) => {
  const crashed = input(true);
  crashed.tests.files[0] = testFile('simulation', '\n  Uncaught exception in simulation.test.js\n\n  ✘ simulation.test.js exited with a non-zero exit code: 1\n  ─\n\n  1 uncaught exception\n', 1);
  const markdown = renderReport(crashed);
  t.regex(markdown, /- FAILED test file `dist\/test\/simulation\.test\.js`: Uncaught exception in simulation\.test\.js/);
  t.deepEqual(assess(crashed).filter((assessment) => !assessment.passed).map((assessment) => assessment.property), ['consistency', 'isolation']);
});

test('a property nothing bears on is not shown as passed', (t) => {
  const bare = input(true);
  bare.scenarios.document!.runs = bare.scenarios.document!.runs.filter((run) => run.property !== 'durability');
  const markdown = renderReport(bare);
  t.regex(markdown, /\| Durability \| none \| \*\*NO EVIDENCE\*\* \|/);
  t.regex(markdown, /\| Result \| \*\*NOT ALL PASSED\*\* \(Durability\)/);
});

test('missing evidence says what is missing and how to produce it', (t) => {
  const missing = input(true);
  missing.bench = { reused: true, run: null, document: null, charts: [], missing: { what: 'the benchmark results (reports/bench/results.json does not exist)', howToProduce: 'To produce them, run `npm run report` without --reuse-bench.' } };
  const markdown = renderReport(missing);
  t.regex(markdown, /- MISSING: the benchmark results \(reports\/bench\/results\.json does not exist\)\. To produce them, run `npm run report` without --reuse-bench\./);
  t.regex(markdown, /## 9\. Performance[\s\S]*\*\*MISSING: the benchmark results/);
  t.regex(markdown, /\| Performance \| none \| \*\*FAIL\*\*: nothing ran; MISSING: the benchmark results/);
  missing.nemesis = { reused: true, run: null, document: null, chart: null, missing: { what: 'the fault benchmark\'s results (reports/nemesis/results.json does not exist)', howToProduce: 'To produce them, run `npm run report` without --reuse-nemesis.' } };
  const withoutFaults = renderReport(missing);
  t.regex(withoutFaults, /## 8\. Failures[\s\S]*\*\*MISSING: the fault benchmark's results \(reports\/nemesis\/results\.json does not exist\)\.\*\* To produce them/);
  t.regex(withoutFaults, /\| Failures \| none \| \*\*FAIL\*\*: nothing ran; MISSING: the fault benchmark's results/);
});

test('the failures section shows the chart and a row per fault from results.json: passed, skipped and failed, each said as such', (t) => {
  // A hand-made results.json, read back as the report reads it: a fault that passed, a
  // partition skipped for want of root, and a kill after which a transfer was lost.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-report-nemesis-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const lost = fault('kill', 'DATABASE2', 30_000, {
    unknown: 0, aborted: 3,
    checks: { totalRead: 99_990, totalExpected: 100_000, lostAcknowledged: 1, bankProblems: ['the total is 99990, not 100000', 'DATABASE2 lacks the marker of acknowledged transfer 812'], replicasIdentical: false, verifyDifferences: ['b_17: DATABASE2 has version 5, the others 6'] },
  });
  const faults = [fault('pause', 'MIDDLEWARE2', 5_000), skippedFault('partition', 'MIDDLEWARE2', 'network namespaces need root (this process runs as uid 1000)'), lost];
  fs.mkdirSync(path.join(root, 'reports/nemesis'), { recursive: true });
  fs.writeFileSync(path.join(root, 'reports/nemesis/results.json'), JSON.stringify(nemesisDocument(faults)));
  fs.writeFileSync(path.join(root, 'reports/nemesis/timeline.svg'), '<svg><title>Commits per second under the nemesis</title></svg>');
  const nemesis = loadNemesisEvidence(root, { format: 'occdb-report-runs', version: 1 }, true);
  t.is(nemesis.missing, null);

  const report = { ...input(true), nemesis };
  const markdown = renderReport(report);
  const section = markdown.slice(markdown.indexOf('## 8. Failures'), markdown.indexOf('## 9. Performance'));
  t.true(section.includes('![Commits per second under the nemesis](nemesis/timeline.svg)'));
  t.regex(section, /was \*\*not\*\* run again for this report \(`--reuse-nemesis`\): these results are from `npm run bench:nemesis -- --nemesis kill,pause,partition --out reports\/nemesis\.new`, started 2026-01-01 10:28:30 UTC, 1 min 30 s, on Test CPU 3000, 2 cores/);
  t.regex(section, /injects 3 faults, one at a time: `pause`, `partition` and `kill` on each of MIDDLEWARE2 and DATABASE2/);
  t.regex(section, /\| 1 \| pause \| MIDDLEWARE2 \| 4\.00 s \| 1\.07 s \| 3\.20 s \| 3\.24 s \| 5 \| 0 \| 100000 of 100000 \| 0 \| identical \| PASS \|/);
  t.regex(section, /\| 2 \| partition \| MIDDLEWARE2 \| (- \| ){9}SKIPPED: network namespaces need root \(this process runs as uid 1000\) \|/);
  t.regex(section, /\| 3 \| kill \| DATABASE2 \| .* \| \*\*99990\*\* of 100000 \| \*\*1\*\* \| \*\*differ\*\* \(1 difference shown\) \| \*\*FAIL\*\*: the bank total is 99990, not 100000; 1 acknowledged transfer missing from a replica; .*the replicas differ/);
  t.regex(section, /\*\*Invariants\.\*\* \*\*An invariant was broken\*\* after kill DATABASE2; 1 fault did not run: partition MIDDLEWARE2 \(network namespaces need root/);
  t.regex(section, /- 3, kill DATABASE2: DATABASE2 lacks the marker of acknowledged transfer 812/);
  t.regex(section, /\*\*Result\.\*\* \*\*Not all passed\.\*\* 1 of 2 faults injected passed; 1 fault skipped\./);

  t.regex(markdown, /- FAILED fault 3, kill DATABASE2: the bank total is 99990/);
  t.regex(markdown, /- Not run: fault 2, partition MIDDLEWARE2: network namespaces need root/);
  t.regex(markdown, /\| Failures \| the fault benchmark \(3 faults\) \| \*\*FAIL\*\*: 1 of 2 faults passed; 1 fault skipped \|/);
  t.regex(markdown, /\| fault benchmark \| `npm run bench:nemesis -- .*` \| reused: an earlier run \| 2026-01-01 10:28:30 UTC \| 1 min 30 s \| not recorded \|/);
  t.deepEqual(assess(report).filter((assessment) => !assessment.passed).map((assessment) => assessment.property), ['failures']);
});

test('a fault whose invariants held but whose commits never resumed, or whose process never came back, fails', (t) => {
  t.deepEqual(faultVerdict(fault('kill', 'MIDDLEWARE2', 5_000)), { kind: 'pass' });
  const stalled = fault('partition', 'DATABASE2', 5_000, { recovery: { resumedAfterMs: null, longestGapMs: 9_000, rateBeforePerSecond: 260, halfRateAfterMs: null, rateEndPerSecond: 0 } });
  t.deepEqual(faultVerdict(stalled), { kind: 'fail', reasons: ['the commits did not resume within 9.0 s'] });
  const gone = fault('kill', 'DATABASE2', 5_000, { backAfterHealMs: null });
  t.deepEqual(faultVerdict(gone), { kind: 'fail', reasons: ['the process was not back within 5.0 s of the heal'] });
  t.deepEqual(faultVerdict(skippedFault('partition', 'DATABASE2', 'not root')), { kind: 'skipped' });
});

test('a fence is longer than any run of backticks inside it', (t) => {
  t.is(fence('a ``` b'), '````\na ``` b\n````');
  t.is(fence('plain\n', 'sh'), '```sh\nplain\n```');
});
