// Every scenario of test-scenarios/ runs under every strategy it lists, on a real local
// cluster (3 middlewares, 3 databases) started by the scenario runner itself: one cluster per
// strategy, reused by that strategy's scenarios (each run uses entries of its own). Before
// them: the runner's expectation checks and manifest validation, without a cluster. After
// them: the runner reports a deliberately wrong expectation as FAIL (with what it saw and what
// was expected) and a malformed manifest with exit code 2 and the field at fault.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { parseCommandFile } from '../client/parser.js';
import { STRATEGIES, type Strategy } from '../cluster/cluster-file.js';
import { evaluate, type Observation } from '../scenario/expectations.js';
import { ManifestError, findScenarios, loadScenario, type Expect } from '../scenario/manifest.js';
import { formatRun, type ScenarioResults } from '../scenario/report.js';
import { LocalCluster, runScenario, withKeyPrefix, withoutKeyPrefix } from '../scenario/runner.js';
import { localLauncher } from '../startup/launcher.js';
import { REPO_ROOT, capturedOutput, killProcess, spawnOccdb, waitForExit } from './helpers/processes.js';

const SCENARIOS_DIR = path.join(REPO_ROOT, 'test-scenarios');
const WRONG_EXPECTATION_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'scenarios', 'wrong-expectation');
const MALFORMED_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'scenario-malformed');
const CLI_TIMEOUT_MS = 120_000;

// ---- the expectation checks, on made-up observations ----

function observation(clients: Record<string, string>, states: Array<Record<string, number | null>>): Observation {
  return {
    clients: new Map(Object.entries(clients).map(([name, output]) => [name, { output, exitCode: 0 }])),
    finalByMiddleware: Object.fromEntries(states.map((state, index) => [`MIDDLEWARE${index + 1}`, { state }])),
    replicas: null,
  };
}

test('oneOf matches a whole outcome: outputs from two different serial orders do not pass', (t) => {
  const expect: Expect = {
    oneOf: [
      { label: 'A then B', outputs: { A: '0\n1\n', B: '1\n11\n' }, final: { x: 11 } },
      { label: 'B then A', outputs: { A: '10\n11\n', B: '0\n10\n' }, final: { x: 11 } },
    ],
  };
  const [serial] = evaluate(expect, observation({ A: '10\n11\n', B: '0\n10\n' }, [{ x: 11 }]));
  t.true(serial!.pass);
  t.is(serial!.detail, 'matched B then A');
  // Both read 0: each output belongs to some serial order, but not to the same one.
  const [lost] = evaluate(expect, observation({ A: '0\n1\n', B: '0\n10\n' }, [{ x: 11 }]));
  t.false(lost!.pass);
  t.regex(lost!.detail!, /not A then B: B printed "0\\n10\\n"; not B then A: A printed "0\\n1\\n"/);
});

test('a final value must be read alike through every middleware', (t) => {
  const [agreeing] = evaluate({ final: { x: 5 } }, observation({}, [{ x: 5 }, { x: 5 }, { x: 5 }]));
  t.true(agreeing!.pass);
  const [split] = evaluate({ final: { x: 5 } }, observation({}, [{ x: 5 }, { x: 4 }, { x: 5 }]));
  t.false(split!.pass);
  t.deepEqual(split!.seen, { MIDDLEWARE1: 5, MIDDLEWARE2: 4, MIDDLEWARE3: 5 });
  const [absent] = evaluate({ final: { w: null } }, observation({}, [{ w: null }]));
  t.true(absent!.pass, 'null means the entry does not exist');
});

test('groupSums catches a snapshot that saw half of a transfer; lines checks each line against its pattern', (t) => {
  const expect: Expect = { outputs: { audit: { groupSums: { groupSize: 2, equals: 100 } }, other: { lines: ['\\d+', 'ERROR in line \\d+: .*'] } } };
  const [good, lines] = evaluate(expect, observation({ audit: '50\n50\n40\n60\n', other: '7\nERROR in line 3: nonexistent: arg1\n' }, []));
  t.true(good!.pass);
  t.true(lines!.pass);
  const [torn] = evaluate(expect, observation({ audit: '50\n50\n40\n50\n', other: '' }, []));
  t.false(torn!.pass);
  t.is(torn!.detail, 'lines 3-4 (40 + 50) sum to 90');
});

test('an invariant holds only if it holds through every middleware, and a missing entry breaks it', (t) => {
  const expect: Expect = { invariants: [{ sum: ['x', 'y'], equals: 5 }] };
  t.true(evaluate(expect, observation({}, [{ x: 2, y: 3 }, { x: 2, y: 3 }]))[0]!.pass);
  t.false(evaluate(expect, observation({}, [{ x: 2, y: 2 }]))[0]!.pass);
  t.false(evaluate(expect, observation({}, [{ x: 5, y: null }]))[0]!.pass);
});

test('entry names run under the prefix; literals, lines and other commands are unchanged', (t) => {
  const [block] = withKeyPrefix(parseCommandFile('ASSIGN x 1\nADD y x -2\nPRINT 7\nDELETE y\nSLEEP 0.5\n', 'f.op'), 'r1_');
  t.deepEqual(block!.commands, [
    { line: 1, op: 'ASSIGN', target: 'r1_x', source: 1 },
    { line: 2, op: 'ADD', target: 'r1_y', left: 'r1_x', right: -2 },
    { line: 3, op: 'PRINT', source: 7 },
    { line: 4, op: 'DELETE', target: 'r1_y' },
    { line: 5, op: 'SLEEP', seconds: 0.5 },
  ]);
});

test('a client output names entries as the scenario does: the run prefix is taken off error messages', (t) => {
  t.is(withoutKeyPrefix('5\nERROR in line 2: nonexistent: arg1 (r1_x)\n', 'r1_'), '5\nERROR in line 2: nonexistent: arg1 (x)\n');
});

// ---- manifest validation ----

/** Writes a scenario folder with `manifest` and the files given; returns its scenario.json path. */
function scenarioFolder(t: { teardown(fn: () => void): void }, manifest: unknown, files: Record<string, string> = { 'a.op': 'PRINT 1\n' }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-manifest-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const file = path.join(dir, 'scenario.json');
  fs.writeFileSync(file, JSON.stringify(manifest));
  return file;
}

const validManifest = {
  name: 'valid',
  property: 'isolation',
  description: 'A small valid manifest that each case below breaks in one place.',
  steps: [{ clients: [{ name: 'A', middleware: 1, file: 'a.op' }] }],
  expect: { exitCodes: { A: 0 } },
};

const manifestMistakes: Array<{ title: string; manifest: unknown; files?: Record<string, string>; problem: RegExp }> = [
  { title: 'an unknown field', manifest: { ...validManifest, expected: {} }, problem: /: expected: unknown field/ },
  { title: 'a misspelt client field', manifest: { ...validManifest, steps: [{ clients: [{ name: 'A', middleware: 1, file: 'a.op', startAfter: 5 }] }] }, problem: /steps\.0\.clients\.0\.startAfter: unknown field/ },
  { title: 'a missing command file', manifest: { ...validManifest, steps: [{ clients: [{ name: 'A', middleware: 1, file: 'b.op' }] }] }, problem: /steps\.0\.clients\.0\.file: no command file b\.op/ },
  { title: 'a command file that does not parse', manifest: validManifest, files: { 'a.op': 'PRINT\n' }, problem: /steps\.0\.clients\.0\.file: a\.op does not parse: a\.op:1:/ },
  { title: 'an expectation about a client that does not exist', manifest: { ...validManifest, expect: { exitCodes: { B: 0 } } }, problem: /expect\.exitCodes\.B: no client is named 'B'/ },
  { title: 'a restart of a database never killed', manifest: { ...validManifest, steps: [...validManifest.steps, { action: 'restart-database', database: 2 }] }, problem: /steps\.1\.database: DATABASE2 is restarted but no earlier step kills it/ },
  { title: 'a misspelt action', manifest: { ...validManifest, steps: [{ action: 'kill-databse', database: 2 }] }, problem: /steps\.0\.action: / },
  { title: 'an output expectation of two kinds at once', manifest: { ...validManifest, expect: { outputs: { A: { exact: '1\n', oneOf: ['1\n'] } } } }, problem: /expect\.outputs\.A: give exactly one of exact, oneOf, lines, groupSums \(got exact, oneOf\)/ },
  { title: 'an unknown property', manifest: { ...validManifest, property: 'speed' }, problem: /property: Invalid option/ },
  { title: 'QUIT in a command file', manifest: validManifest, files: { 'a.op': 'QUIT\n' }, problem: /a\.op:1: QUIT is not allowed in a scenario/ },
];

for (const { title, manifest, files, problem } of manifestMistakes) {
  test(`a manifest with ${title} is refused, naming the field at fault`, (t) => {
    const file = scenarioFolder(t, manifest, files);
    const error = t.throws(() => loadScenario(file), { instanceOf: ManifestError });
    t.regex(error!.message, problem);
    t.true(error!.message.startsWith(file), 'the message names the manifest');
  });
}

// ---- every scenario under every strategy ----

const scenarios = findScenarios(SCENARIOS_DIR);
const clusters = new Map<Strategy, LocalCluster>();
const clusterFailures = new Map<Strategy, string>();
/** Every pid a cluster of this file ever recorded, so that none can outlive the file. */
const startedPids = new Set<number>();

/** The running cluster of `strategy`; any other strategy's cluster is stopped first, so one runs at a time. */
async function clusterFor(strategy: Strategy): Promise<LocalCluster> {
  for (const [other, cluster] of clusters) {
    if (other === strategy) continue;
    clusters.delete(other);
    await cluster.stop();
  }
  const failure = clusterFailures.get(strategy);
  if (failure !== undefined) throw new Error(failure);
  let cluster = clusters.get(strategy);
  if (cluster !== undefined && (await cluster.problem()) !== null) {
    clusters.delete(strategy);
    await cluster.stop();
    cluster = undefined;
  }
  if (cluster === undefined) {
    try {
      cluster = await LocalCluster.start(strategy);
    } catch (error) {
      clusterFailures.set(strategy, (error as Error).message);
      throw error;
    }
    clusters.set(strategy, cluster);
  }
  for (const pid of cluster.pids()) startedPids.add(pid);
  return cluster;
}

async function stopClusters(): Promise<void> {
  for (const cluster of clusters.values()) await cluster.stop();
  clusters.clear();
}

test.after.always(async () => {
  await stopClusters();
  // Whatever stop could not end: only pids that are still occdb processes are signalled.
  for (const pid of startedPids) await localLauncher.signal(pid, 'SIGKILL');
});

for (const strategy of STRATEGIES) {
  for (const scenario of scenarios.filter((candidate) => candidate.manifest.strategies.includes(strategy))) {
    test.serial(`scenario ${scenario.manifest.name} (${scenario.manifest.property}) passes under ${strategy}`, async (t) => {
      const cluster = await clusterFor(strategy);
      const run = await runScenario(scenario, cluster.clusterFile, { strategy, startedHere: true });
      for (const pid of cluster.pids()) startedPids.add(pid);
      t.log(formatRun(run).join('\n'));
      t.is(run.error, undefined);
      t.true(run.expectations.length > 0);
      for (const expectation of run.expectations) t.true(expectation.pass, `${expectation.id}: seen ${JSON.stringify(expectation.seen)}, expected ${JSON.stringify(expectation.expected)}`);
      t.true(run.passed);
    });
  }
}

// ---- the runner can fail ----

/** Pids of processes whose command line names `text` (the unique directory of a cluster a child started). */
function pidsMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // Gone in between.
    }
  }
  return pids;
}

test.serial('a wrong expectation is reported as FAIL with what was seen and what was expected, and the command exits 1', async (t) => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-scenario-out-'));
  t.teardown(() => fs.rmSync(outDir, { recursive: true, force: true }));
  const outFile = path.join(outDir, 'results.json');
  // The command starts its own local cluster (which also shows that it stops what it
  // started); the shared ones are no longer needed.
  await stopClusters();
  const child = spawnOccdb(['scenario', WRONG_EXPECTATION_DIR, '--strategy', 'occ', '--out', outFile]);
  let clusterDir: string | undefined;
  try {
    const exit = await waitForExit(child, CLI_TIMEOUT_MS);
    const { stdout, stderr } = capturedOutput(child);
    t.log(stdout);
    t.is(exit?.code, 1, stderr);
    t.regex(stdout, /^ {2}FAIL {2}output of A: seen "11\\n", expected "12\\n"$/m);
    t.regex(stdout, /^ {2}FAIL {2}final x through every middleware: seen 11, expected 12$/m);
    t.regex(stdout, /^ {2}PASS {2}exit code of A: seen 0$/m);
    t.regex(stdout, /^ {2}FAIL {2}wrong-expectation +occ +2 of 4 expectations failed$/m);

    const results = JSON.parse(fs.readFileSync(outFile, 'utf8')) as ScenarioResults;
    t.is(results.format, 'occdb-scenario-results');
    t.false(results.passed);
    const [run] = results.runs;
    clusterDir = path.dirname(run!.cluster.file);
    t.deepEqual(
      run!.expectations.map(({ id, pass, seen, expected }) => ({ id, pass, seen, expected })),
      [
        { id: 'exitCode.A', pass: true, seen: 0, expected: 0 },
        { id: 'output.A', pass: false, seen: '11\n', expected: '12\n' },
        { id: 'final.x', pass: false, seen: 11, expected: 12 },
        { id: 'replicasAgree', pass: true, seen: '3 replicas agree on 1 key', expected: true },
      ],
    );
    t.is(run!.files['increment.op'], fs.readFileSync(path.join(WRONG_EXPECTATION_DIR, 'increment.op'), 'utf8'));
    t.false(fs.existsSync(clusterDir), 'the cluster directory is removed once every process has stopped');
    t.deepEqual(pidsMentioning(clusterDir), [], 'no process of the cluster is left');
  } finally {
    await killProcess(child, 'SIGKILL');
    if (clusterDir !== undefined) for (const pid of pidsMentioning(clusterDir)) await localLauncher.signal(pid, 'SIGKILL');
  }
});

test.serial('a malformed manifest exits 2 naming the field at fault, and nothing is started', async (t) => {
  const child = spawnOccdb(['scenario', MALFORMED_DIR]);
  try {
    const exit = await waitForExit(child, CLI_TIMEOUT_MS);
    const { stdout, stderr } = capturedOutput(child);
    t.is(exit?.code, 2);
    t.regex(stderr, /scenario-malformed\/scenario\.json: steps\.0\.clients\.0\.middleware: Invalid input: expected number, received string/);
    t.false(stderr.includes('    at '), 'no stack trace');
    t.is(stdout, '', 'no cluster was started');
  } finally {
    await killProcess(child, 'SIGKILL');
  }
});
