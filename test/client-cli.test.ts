// `occdb client` as a user runs it: a bad, missing or unparsable file is refused with
// exit 2 before anything is sent; a middleware nobody runs gives exit 3; against a stand-in
// middleware, the classic output, the exit codes 0 and 1, and the --json document.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { TxnResult } from '../protocol/schemas.js';
import { freePort } from './helpers/ports.js';
import { standInMiddleware } from './helpers/stand-in-middleware.js';
import { runCli as runCliIn, type CliRun } from './helpers/processes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BASIC = path.join(ROOT, 'test-scenarios', 'basic.op');

let tmpDir = '';
test.before(() => {
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-client-cli-'));
});
test.after.always(() => {
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
});

function writeFile(name: string, lines: string[]): string {
  const file = path.join(tmpDir, name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** Runs `occdb <args>` in this file's temporary directory. */
function runCli(args: string[]): Promise<CliRun> {
  return runCliIn(args, tmpDir);
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */


test('a file that does not parse gives exit 2 and every mistake with its line, and nothing is sent', async (t) => {
  const { server, requests } = await standInMiddleware(() => { throw new Error('nothing must be sent'); });
  try {
    const file = writeFile('bad.op', ['ASSIGN A 10', 'ASSIGN 5 A', '# fine', 'FROB']);
    const run = await runCli(['client', `127.0.0.1:${server.port}`, file]);
    t.is(run.exitCode, 2);
    t.is(run.stdout, '');
    t.true(run.stderr.includes(`${file}:2: ASSIGN argument 1 (target) must be an entry name`), run.stderr);
    t.true(run.stderr.includes(`${file}:4: unknown command 'FROB'`), run.stderr);
    t.false(run.stderr.includes('    at '), 'no stack trace');
    t.deepEqual(requests, []);
  } finally {
    await server.close();
  }
});

test('a missing file gives exit 2 and a one-line message naming it', async (t) => {
  const missing = path.join(tmpDir, 'missing.op');
  const run = await runCli(['client', '127.0.0.1:1', missing]);
  t.is(run.exitCode, 2);
  t.is(run.stderr, `occdb: cannot read the command file ${missing}: no such file\n`);
});

test('a middleware name the cluster file cannot resolve gives exit 2', async (t) => {
  const run = await runCli(['client', '--dir', tmpDir, 'MIDDLEWARE1', BASIC]);
  t.is(run.exitCode, 2);
  t.regex(run.stderr, /^occdb: no cluster file at .*cluster\.json/);
  const badName = await runCli(['client', 'DATABASE1', BASIC]);
  t.is(badName.exitCode, 2);
  t.regex(badName.stderr, /^occdb: 'DATABASE1' names no middleware/);
});

test('a good file against a port nothing listens on gives exit 3, naming the address', async (t) => {
  const port = await freePort();
  const run = await runCli(['client', `127.0.0.1:${port}`, BASIC]);
  t.is(run.exitCode, 3);
  t.is(run.stdout, '');
  t.is(run.stderr.trim().split('\n').length, 1, run.stderr);
  t.true(run.stderr.includes(`127.0.0.1:${port}`), run.stderr);
});

test('the classic example prints 10 and 20 and exits 0; the middleware gets one commit transaction', async (t) => {
  const { server, requests } = await standInMiddleware(() => ({
    outcome: 'committed',
    ts: [1, 1],
    retries: 0,
    results: [{ line: 4, kind: 'print', value: '10' }, { line: 5, kind: 'print', value: '20' }],
    middlewareId: 1,
  }));
  try {
    const run = await runCli(['client', `127.0.0.1:${server.port}`, BASIC]);
    t.is(run.exitCode, 0, run.stderr);
    t.is(run.stdout, '10\n20\n');
    t.is(run.stderr, '');
    t.is(requests.length, 1);
    const request = requests[0]!;
    t.is(request.end, 'commit');
    t.deepEqual(request.commands.map((command) => command.op), ['ASSIGN', 'ADD', 'PRINT', 'PRINT']);
  } finally {
    await server.close();
  }
});

test('a rolled-back block gives exit 1, and --json prints one document of every transaction', async (t) => {
  const { server } = await standInMiddleware((request) => (request.end === 'rollback'
    ? { outcome: 'rolled_back', retries: 0, results: [], middlewareId: 2 }
    : { outcome: 'committed', ts: [3, 2], retries: 0, results: [], middlewareId: 2 }));
  try {
    const file = writeFile('blocks.op', ['BEGIN', 'ASSIGN a 1', 'COMMIT', 'BEGIN', 'ASSIGN a 2', 'ROLLBACK']);
    const classic = await runCli(['client', `127.0.0.1:${server.port}`, file]);
    t.is(classic.exitCode, 1);
    t.is(classic.stdout, '');

    const json = await runCli(['client', '--json', `127.0.0.1:${server.port}`, file]);
    t.is(json.exitCode, 1);
    const document = JSON.parse(json.stdout) as { file: string; middleware: string; transactions: TxnResult[]; exitCode: number };
    t.is(document.file, file);
    t.is(document.middleware, `127.0.0.1:${server.port}`);
    t.is(document.exitCode, 1);
    t.deepEqual(document.transactions.map((transaction) => transaction.outcome), ['committed', 'rolled_back']);
  } finally {
    await server.close();
  }
});

test('--json on a file that does not parse still prints one document, with the error code', async (t) => {
  const file = writeFile('bad-json.op', ['PRINT 3x']);
  const run = await runCli(['client', '--json', '127.0.0.1:1', file]);
  t.is(run.exitCode, 2);
  const document = JSON.parse(run.stdout) as { exitCode: number; transactions: unknown[]; error: { code: string } };
  t.is(document.exitCode, 2);
  t.deepEqual(document.transactions, []);
  t.is(document.error.code, 'BAD_COMMAND_FILE');
});
