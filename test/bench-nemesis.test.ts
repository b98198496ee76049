// The nemesis benchmark end to end, very short: kill and pause of one middleware on a loopback
// cluster (run as `occdb bench --nemesis`), then (only where network namespaces can be made: root with
// iproute2's ip) a partition of one middleware. Each run must write its chart, table and JSON,
// see the commits resume after each fault, and find every invariant held (exit code 0). The
// nemesis and every cluster process are ended by pid, and the namespaces it recorded removed,
// whatever happens.
import test from 'ava';
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { probeNamespaces } from '../bench/namespaces.js';
import { NETWORK_FILE_NAME } from '../bench/nemesis-cluster.js';
import type { FaultRecord } from '../bench/nemesis-report.js';
import { readClusterFile } from '../cluster/cluster-file.js';
import { killProcess, REPO_ROOT, waitForExit } from './helpers/processes.js';

const execFileAsync = promisify(execFile);
/** The two ways to run it: npm run bench:nemesis's script, and the occdb command. */
const NEMESIS = [path.join(REPO_ROOT, 'dist', 'bench', 'nemesis.js')];
const OCCDB_BENCH = [path.join(REPO_ROOT, 'bin', 'occdb.js'), 'bench'];
const RUN_TIMEOUT_MS = 150_000;
const OUTPUT_CHARS_MAX = 64 * 1024;

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-nemesis-test-'));
const nemesisPids: number[] = [];
const clusterDirs: string[] = [];
const namespacesUnavailable = await probeNamespaces();

test.after.always(async () => {
  for (const pid of nemesisPids) await killProcess(pid, 'SIGKILL', 5_000).catch(() => undefined);
  for (const dir of clusterDirs) {
    try {
      const cluster = readClusterFile(path.join(dir, 'cluster.json'));
      for (const entry of [...cluster.middlewares, ...cluster.databases]) if (entry.pid !== undefined) await killProcess(entry.pid, 'SIGKILL', 5_000).catch(() => undefined);
    } catch {
      // No cluster file: the nemesis started no process there.
    }
    // The nemesis removes its namespaces itself; if it was killed, the file it left names them.
    const networkFile = path.join(dir, NETWORK_FILE_NAME);
    if (fs.existsSync(networkFile)) {
      const network = JSON.parse(fs.readFileSync(networkFile, 'utf8')) as { bridge: string; namespaces: string[] };
      for (const namespace of network.namespaces) await execFileAsync('ip', ['netns', 'del', namespace], { timeout: 10_000 }).catch(() => undefined);
      await execFileAsync('ip', ['link', 'del', network.bridge], { timeout: 10_000 }).catch(() => undefined);
    }
  }
  fs.rmSync(root, { recursive: true, force: true });
});

/** Runs the nemesis with `args` to the end (at most RUN_TIMEOUT_MS); its exit code, output and results. */
async function runNemesis(name: string, args: string[], entry: string[] = NEMESIS): Promise<{ code: number | null; stdout: string; stderr: string; out: string; records: FaultRecord[]; command?: string }> {
  const out = path.join(root, `${name}-results`);
  const dir = path.join(root, `${name}-cluster`);
  clusterDirs.push(dir);
  const child = spawn(process.execPath, [...entry, ...args, '--out', out, '--dir', dir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) nemesisPids.push(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout = (stdout + chunk.toString()).slice(-OUTPUT_CHARS_MAX); });
  child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-OUTPUT_CHARS_MAX); });
  const exit = await waitForExit(child, RUN_TIMEOUT_MS);
  if (exit === null) {
    await killProcess(child, 'SIGINT', 30_000);
    throw new Error(`the nemesis did not end within ${RUN_TIMEOUT_MS} ms:\n${stderr}`);
  }
  const resultsFile = path.join(out, 'results.json');
  const results = fs.existsSync(resultsFile) ? (JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as { faults: FaultRecord[]; command: string }) : undefined;
  return { code: exit.code, stdout, stderr, out, records: results?.faults ?? [], ...(results ? { command: results.command } : {}) };
}

const SHORT = ['--targets', 'MIDDLEWARE2', '--clients', '8', '--warmup', '2', '--hold', '2', '--recovery', '15', '--settle', '1'];

test.serial('occdb bench --nemesis: kill and pause of a middleware: chart, table and JSON written, commits resume, every invariant holds', async (t) => {
  const run = await runNemesis('kill-pause', ['--nemesis', 'kill,pause', '--network', 'loopback', ...SHORT], OCCDB_BENCH);
  t.log(run.stdout.trim());
  t.is(run.code, 0, `exit code ${run.code}:\n${run.stderr}`);
  t.regex(run.command ?? '', /^occdb bench --nemesis kill,pause /, 'the results name the command that ran');
  for (const file of ['timeline.svg', 'results.md', 'results.json']) t.true(fs.existsSync(path.join(run.out, file)), `${file} is written`);
  const svg = fs.readFileSync(path.join(run.out, 'timeline.svg'), 'utf8');
  t.true(svg.includes('kill MIDDLEWARE2') && svg.includes('pause MIDDLEWARE2'), 'the chart labels both faults');
  const markdown = fs.readFileSync(path.join(run.out, 'results.md'), 'utf8');
  t.regex(markdown, /\| 1 \| kill \| MIDDLEWARE2 \|/);
  t.regex(markdown, /\| 2 \| pause \| MIDDLEWARE2 \|/);
  t.deepEqual(run.records.map((record) => `${record.kind} ${record.target}`), ['kill MIDDLEWARE2', 'pause MIDDLEWARE2']);
  for (const record of run.records) {
    t.is(record.skipped, undefined);
    t.not(record.recovery?.resumedAfterMs ?? null, null, `commits resumed after ${record.kind}`);
    t.not(record.backAfterHealMs, null, `MIDDLEWARE2 answered again after ${record.kind}`);
    t.deepEqual(record.checks.bankProblems, [], `the bank is sound after ${record.kind}`);
    t.is(record.checks.totalRead, record.checks.totalExpected);
    t.is(record.checks.lostAcknowledged, 0);
    t.true(record.checks.replicasIdentical, `the replicas are identical after ${record.kind}`);
  }
  t.regex(run.stdout, /^kill MIDDLEWARE2 at .*invariants hold$/m);
  t.regex(run.stdout, /^pause MIDDLEWARE2 at .*invariants hold$/m);
});

const partitionTitle = 'partition of a middleware in network namespaces: cut off, healed, commits resume, invariants hold, namespaces removed';
if (namespacesUnavailable !== null) {
  // Where namespaces cannot be made (not root, no ip), what is tested is that the nemesis says so
  // loudly and marks the partition skipped. CI runs as root with ip: there the partition runs.
  test.serial(`without network namespaces (${namespacesUnavailable}), a partition is skipped loudly, never silently`, async (t) => {
    t.not(process.env.CI, 'true', `CI must run the partition itself: ${namespacesUnavailable}`);
    const run = await runNemesis('partition-unavailable', ['--nemesis', 'partition', ...SHORT]);
    t.regex(run.stdout + run.stderr, /PARTITIONS WILL BE SKIPPED/);
    t.truthy(run.records[0]?.skipped, 'the partition row says it was skipped, and why');
  });
} else {
  test.serial(partitionTitle, async (t) => {
    const run = await runNemesis('partition', ['--nemesis', 'partition', '--network', 'namespaces', ...SHORT]);
    t.log(run.stdout.trim());
    t.is(run.code, 0, `exit code ${run.code}:\n${run.stderr}`);
    const [record] = run.records;
    t.is(record?.kind, 'partition');
    t.is(record?.skipped, undefined, `the partition ran: ${record?.skipped}`);
    t.not(record?.recovery?.resumedAfterMs ?? null, null, 'commits resumed after the partition');
    t.true(record?.standingSeen.some((standing) => standing.includes('not answering')) ?? false, `status saw MIDDLEWARE2 cut off: ${record?.standingSeen.join('; ')}`);
    t.deepEqual(record?.checks.bankProblems, []);
    t.true(record?.checks.replicasIdentical);
    t.false(fs.existsSync(path.join(root, 'partition-cluster', NETWORK_FILE_NAME)), 'the nemesis removed its namespaces');
  });
}
