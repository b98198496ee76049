// The package as another project sees it: the client library imported by package name
// ('occdb/client', and 'occdb' itself) from a directory outside the repository, at run time
// and with its types; and the occdb command in a checkout that was never built says so in
// one line instead of a stack trace.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { REPO_ROOT } from './helpers/processes.js';

const TSC = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const RUN_TIMEOUT_MS = 60_000;

let projectDir = '';
test.before(() => {
  // A project of its own whose node_modules/occdb is this repository, as npm link makes it.
  projectDir = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-package-'));
  fs.mkdirSync(path.join(projectDir, 'node_modules'));
  fs.symlinkSync(REPO_ROOT, path.join(projectDir, 'node_modules', 'occdb'), 'dir');
  fs.writeFileSync(path.join(projectDir, 'package.json'), JSON.stringify({ name: 'uses-occdb', private: true, type: 'module' }));
});
test.after.always(() => {
  if (projectDir) fs.rmSync(projectDir, { recursive: true, force: true });
});

test('the client library is importable by package name, as occdb/client and as occdb', (t) => {
  const program = [
    "import { OccdbClient, resolveRoute } from 'occdb/client';",
    "import * as root from 'occdb';",
    "console.log(typeof OccdbClient.connect, typeof resolveRoute, root.OccdbClient === OccdbClient);",
  ].join('\n');
  fs.writeFileSync(path.join(projectDir, 'uses.mjs'), program);
  const run = spawnSync(process.execPath, ['uses.mjs'], { cwd: projectDir, encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  t.is(run.status, 0, run.stderr);
  t.is(run.stdout, 'function function true\n');
});

test('the package name brings the types: a wrong use of the client does not compile, a right one does', (t) => {
  fs.writeFileSync(path.join(projectDir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] },
    files: ['uses.ts'],
  }));
  const right = [
    "import { OccdbClient, type MiddlewareMove } from 'occdb/client';",
    "const client: OccdbClient = OccdbClient.connect('MIDDLEWARE1', { clusterFile: 'cluster.json', onMove: (move: MiddlewareMove) => move.to });",
    "export const outcome: Promise<'committed' | 'rolled_back' | 'failed'> = client.run('PRINT 1\\n').then((result) => result.outcome);",
  ].join('\n');
  fs.writeFileSync(path.join(projectDir, 'uses.ts'), right);
  const good = spawnSync(process.execPath, [TSC, '-p', projectDir], { cwd: projectDir, encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  t.is(good.status, 0, good.stdout + good.stderr);
  fs.writeFileSync(path.join(projectDir, 'uses.ts'), right.replace("client.run('PRINT 1\\n')", 'client.run(42)'));
  const wrong = spawnSync(process.execPath, [TSC, '-p', projectDir], { cwd: projectDir, encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  t.not(wrong.status, 0);
  t.regex(wrong.stdout, /uses\.ts.*error TS2345/);
});

test('occdb in a checkout without dist/ says to build it, in one line', (t) => {
  const checkout = path.join(projectDir, 'unbuilt');
  fs.mkdirSync(path.join(checkout, 'bin'), { recursive: true });
  fs.cpSync(path.join(REPO_ROOT, 'bin'), path.join(checkout, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(checkout, 'package.json'), JSON.stringify({ name: 'occdb', type: 'module' }));
  const run = spawnSync(process.execPath, [path.join(checkout, 'bin', 'occdb.js'), '--help'], { encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  t.is(run.status, 2);
  t.is(run.stdout, '');
  t.regex(run.stderr, /^occdb is not built: run npm run build in .*unbuilt\/ \(.*unbuilt\/dist\/cli\/main\.js is missing\)\n$/);
});
