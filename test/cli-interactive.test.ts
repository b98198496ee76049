// One-shot and interactive use against a real local cluster (1 middleware, 1 database):
// `occdb client -e`, a command file read from standard input (`-`), `occdb shell` driven
// through a pipe and through a pseudo-terminal, and `occdb bench` on the running cluster. A
// bad line is refused with its line named and runs nothing (the value it would have changed
// is read back), and a BEGIN ... COMMIT block's writes become visible together.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { OCCDB_BIN, REPO_ROOT, killProcess, runCli } from './helpers/processes.js';
import { clusterDir, removeClusterDirs, runOccdb } from './helpers/startup-cluster.js';

/** Bounds each wait for the shell's output. */
const OUTPUT_WAIT_MS = 15_000;

let dir = '';
let workDir = '';
test.before(async () => {
  dir = clusterDir('cli-interactive');
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-cli-interactive-'));
  const started = await runOccdb(['startup', '1', 'localhost', '1', 'localhost', '--dir', dir]);
  if (started.code !== 0) throw new Error(`startup failed: ${started.stderr}`);
});
test.after.always(async () => {
  await removeClusterDirs();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

/** `occdb <args>` against the test cluster, run in the work directory. */
function occdb(args: string[], timeoutMs?: number): ReturnType<typeof runCli> {
  return runCli([...args, '--dir', dir], workDir, timeoutMs);
}

/** The value of an entry, read back with a one-line client. */
async function valueOf(key: string): Promise<string> {
  const run = await occdb(['client', '1', '-e', `PRINT ${key}`]);
  return run.stdout.trim();
}

/** Starts `occdb <args>` with its standard input a pipe the test writes to. */
function spawnWithInput(args: string[]): { child: ChildProcessWithoutNullStreams; output: { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, [OCCDB_BIN, ...args, '--dir', dir], { cwd: workDir, stdio: 'pipe' });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString('utf8')));
  return { child, output };
}

function exitOf(child: ChildProcessWithoutNullStreams, timeoutMs = OUTPUT_WAIT_MS): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => reject(new Error(`the process did not end within ${timeoutMs} ms`)), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Waits (bounded) until `read()` holds `text`. */
async function waitFor(read: () => string, text: string, timeoutMs = OUTPUT_WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!read().includes(text)) {
    if (Date.now() > deadline) throw new Error(`no '${text}' within ${timeoutMs} ms; got: ${JSON.stringify(read())}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test.serial('-e runs its commands as a file would: ; and several -e separate commands, one transaction', async (t) => {
  const run = await occdb(['client', '1', '-e', 'ASSIGN e_x 5; ADD e_x e_x 1', '-e', 'PRINT e_x']);
  t.is(run.exitCode, 0, run.stderr);
  t.is(run.stdout, '6\n');
  t.is(run.stderr, '');
});

test.serial('-e with a bad command is refused with its place named, and nothing of it runs', async (t) => {
  const run = await occdb(['client', '1', '-e', 'ASSIGN e_x 100; FROB e_x']);
  t.is(run.exitCode, 2);
  t.is(run.stdout, '');
  t.regex(run.stderr, /^occdb: -e:2: unknown command 'FROB'/);
  t.false(run.stderr.includes('    at '), 'no stack trace');
  t.is(await valueOf('e_x'), '6', 'the good command before the bad one did not run');
});

test.serial('reading a missing entry names the entry in the error', async (t) => {
  const run = await occdb(['client', '1', '-e', 'PRINT nosuch']);
  t.is(run.exitCode, 1);
  t.is(run.stdout, 'ERROR in line 1: nonexistent: arg1 (nosuch)\n');
});

test.serial('a command file of - is read from standard input; a bad one runs nothing', async (t) => {
  const good = spawnWithInput(['client', '1', '-']);
  try {
    good.child.stdin.end('ADD e_x e_x 1\nPRINT e_x\n');
    t.is(await exitOf(good.child), 0, good.output.stderr);
    t.is(good.output.stdout, '7\n');
  } finally {
    await killProcess(good.child, 'SIGKILL');
  }
  const bad = spawnWithInput(['client', '1', '-']);
  try {
    bad.child.stdin.end('ASSIGN e_x 0\nFROB\n');
    t.is(await exitOf(bad.child), 2);
    t.regex(bad.output.stderr, /^occdb: <stdin>:2: unknown command 'FROB'/);
  } finally {
    await killProcess(bad.child, 'SIGKILL');
  }
  t.is(await valueOf('e_x'), '7');
});

test.serial('the shell from a pipe: a line is a transaction, a bad line runs nothing, a block with a bad line runs nothing, \\status prints the table, \\q ends it', async (t) => {
  const script = [
    'ASSIGN s_a 1; ASSIGN s_b 1',
    'PRINT s_a',
    'FROB s_a',
    'ASSIGN s_a 50; FROB',
    'PRINT s_a',
    'BEGIN',
    'ADD s_a s_a 10',
    'ADD s_b s_b 10',
    'COMMIT',
    'PRINT s_a; PRINT s_b',
    'BEGIN',
    'ASSIGN s_a 99',
    'BAD',
    'COMMIT',
    'PRINT s_a',
    '\\status',
    '\\q',
    'ASSIGN s_a 1000',
  ];
  const shell = spawnWithInput(['shell']);
  try {
    shell.child.stdin.end(script.map((line) => `${line}\n`).join(''));
    t.is(await exitOf(shell.child), 1, 'refused lines make the exit code 1');
    const stdoutLines = shell.output.stdout.split('\n');
    t.deepEqual(stdoutLines.filter((line) => /^\d+$/.test(line)), ['1', '1', '11', '11', '11']);
    t.true(stdoutLines.some((line) => /^MIDDLEWARE1 .* up /.test(line)), shell.output.stdout);
    t.true(stdoutLines.some((line) => /^DATABASE1 .* up /.test(line)), shell.output.stdout);
    t.false(shell.output.stdout.includes('> '), 'no prompt when the input is not a terminal');
    t.true(shell.output.stderr.includes("occdb: line 3: unknown command 'FROB'"), shell.output.stderr);
    t.true(shell.output.stderr.includes("occdb: line 4, command 2: unknown command 'FROB'"), shell.output.stderr);
    t.true(shell.output.stderr.includes("occdb: line 13: unknown command 'BAD'"), shell.output.stderr);
    t.true(shell.output.stderr.includes('occdb: line 14: the block begun at line 11 has a bad line (13); nothing of it ran'), shell.output.stderr);
    t.false(shell.output.stderr.includes('    at '), 'no stack trace');
  } finally {
    await killProcess(shell.child, 'SIGKILL');
  }
  t.is(await valueOf('s_a'), '11', 'nothing after \\q ran');
});

test.serial('a shell block is one transaction: its writes are invisible until COMMIT, then visible together', async (t) => {
  t.is((await occdb(['client', '1', '-e', 'ASSIGN v_a 0; ASSIGN v_b 0'])).exitCode, 0);
  const shell = spawnWithInput(['shell', '1']);
  try {
    shell.child.stdin.write('BEGIN\nASSIGN v_a 1\nASSIGN v_b 1\nPRINT v_a\n');
    // Nothing runs before COMMIT: another client still reads the old values.
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.is(shell.output.stdout, '', 'the block printed nothing before COMMIT');
    t.is((await occdb(['client', '1', '-e', 'PRINT v_a; PRINT v_b'])).stdout, '0\n0\n');
    shell.child.stdin.write('COMMIT\n');
    await waitFor(() => shell.output.stdout, '1\n');
    t.is((await occdb(['client', '1', '-e', 'PRINT v_a; PRINT v_b'])).stdout, '1\n1\n');
    shell.child.stdin.end();
    t.is(await exitOf(shell.child), 0, shell.output.stderr);
  } finally {
    await killProcess(shell.child, 'SIGKILL');
  }
});

test.serial('the shell on a terminal (script(1) gives it one): a prompt, results, and the line kept in the history file', async (t) => {
  const historyFile = path.join(workDir, 'history');
  const command = [process.execPath, OCCDB_BIN, 'shell', '--dir', dir].map((word) => `'${word}'`).join(' ');
  const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: workDir, env: { ...process.env, OCCDB_HISTORY: historyFile }, stdio: 'pipe' });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  try {
    await waitFor(() => output, 'MIDDLEWARE1> ');
    child.stdin.write('PRINT s_b\r');
    await waitFor(() => output, '11\r\n');
    child.stdin.write('\\q\r');
    t.is(await exitOf(child as ChildProcessWithoutNullStreams), 0, output);
    t.is(fs.readFileSync(historyFile, 'utf8'), 'PRINT s_b\n\\q\n');
  } finally {
    await killProcess(child, 'SIGKILL');
  }
});

test.serial('occdb bench on the running cluster writes its results where it says, under bench-results/ of the working directory, not reports/', async (t) => {
  const reportsBench = path.join(REPO_ROOT, 'reports', 'bench', 'results.json');
  const reportsBefore = fs.existsSync(reportsBench) ? fs.statSync(reportsBench).mtimeMs : null;
  const run = await occdb(['bench', '--workloads', 'bank', '--clients', '2', '--duration-seconds', '0.5', '--warmup-seconds', '0', '--repetitions', '3'], 90_000);
  t.is(run.exitCode, 0, run.stderr);
  const written = /wrote results\.md, results\.json and \d+ charts to (.+)\n/.exec(run.stdout);
  t.truthy(written, run.stdout);
  const out = written![1]!;
  t.is(path.dirname(out), path.join(fs.realpathSync(workDir), 'bench-results'));
  const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as { runs: Array<{ status: string; strategy: string }>; options: { clusterFile: string } };
  t.is(results.runs.length, 3);
  t.true(results.runs.every((record) => record.status === 'ok' && record.strategy === 'occ'), JSON.stringify(results.runs));
  t.is(results.options.clusterFile, path.join(fs.realpathSync(dir), 'cluster.json'));
  t.true(run.stderr.includes(`measuring the running cluster of ${path.join(fs.realpathSync(dir), 'cluster.json')}`), run.stderr);
  t.is(fs.existsSync(reportsBench) ? fs.statSync(reportsBench).mtimeMs : null, reportsBefore, 'reports/bench is untouched');
  // The cluster is left running.
  t.is((await occdb(['client', '1', '-e', 'PRINT s_b'])).stdout, '11\n');
});
