// bin/occdb.js's choice between the one-file bundle and the plain modules of dist/, in a
// made-up checkout whose two builds only say which one ran: the bundle runs only when it is
// at least as new as dist/cli/main.js, never older code; its code cache is written after a
// first run, used after, and one V8 refuses is replaced without a word. The real bundle runs
// the real commands: the command-line tests go through it whenever npm run build made it.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { OCCDB_BIN } from './helpers/processes.js';

const RUN_TIMEOUT_MS = 30_000;

interface Checkout {
  dir: string;
  bundle: string;
  main: string;
  cacheDir: string;
}

/** A checkout with bin/occdb.js, a plain build that prints `plain <args>` and a bundle that prints `bundle <args>`. */
function makeCheckout(t: { teardown(fn: () => void): void }): Checkout {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-bundle-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'dist', 'cli'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'dist', 'bundle'));
  fs.cpSync(path.dirname(OCCDB_BIN), path.join(dir, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'occdb', type: 'module' }));
  const main = path.join(dir, 'dist', 'cli', 'main.js');
  const bundle = path.join(dir, 'dist', 'bundle', 'occdb.cjs');
  fs.writeFileSync(main, "process.stdout.write(`plain ${process.argv.slice(2).join(' ')}\\n`);\n");
  fs.writeFileSync(bundle, [
    "const path = require('node:path');",
    "process.stdout.write(`bundle ${process.argv.slice(2).join(' ')} ${typeof require} ${path.basename(__filename)}\\n`);",
  ].join('\n'));
  return { dir, bundle, main, cacheDir: path.join(dir, 'dist', 'bundle', 'cache') };
}

function occdb(checkout: Checkout, args: string[]): string {
  const run = spawnSync(process.execPath, [path.join(checkout.dir, 'bin', 'occdb.js'), ...args], { encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  if (run.status !== 0) throw new Error(`occdb ${args.join(' ')} exited with ${run.status}: ${run.stderr}`);
  return run.stdout;
}

function setAge(file: string, secondsAgo: number): void {
  const when = new Date(Date.now() - secondsAgo * 1000);
  fs.utimesSync(file, when, when);
}

test('a bundle newer than dist/cli/main.js runs, as CommonJS; an older one never does', (t) => {
  const checkout = makeCheckout(t);
  setAge(checkout.main, 60);
  t.is(occdb(checkout, ['client', '1', 'x.op']), 'bundle client 1 x.op function occdb.cjs\n');
  // tsc ran after the bundle was made: what it wrote is the code to run.
  setAge(checkout.bundle, 120);
  t.is(occdb(checkout, ['client', '1', 'x.op']), 'plain client 1 x.op\n');
  fs.rmSync(checkout.bundle);
  t.is(occdb(checkout, ['--help']), 'plain --help\n');
});

test('the code cache is written per subcommand after a first run, and a cache V8 refuses is replaced silently', (t) => {
  const checkout = makeCheckout(t);
  setAge(checkout.main, 60);
  t.is(occdb(checkout, ['status', '--dir', 'x']), 'bundle status --dir x function occdb.cjs\n');
  t.is(occdb(checkout, ['--version']), 'bundle --version function occdb.cjs\n');
  const caches = fs.readdirSync(checkout.cacheDir).sort();
  t.deepEqual(caches.map((name) => name.replace(/-\d+-\d+\.v8$/, '')), ['options', 'status']);

  // Garbage where the cache was: the command still runs, and the cache is written anew.
  const statusCache = path.join(checkout.cacheDir, caches[1]!);
  fs.writeFileSync(statusCache, 'not a code cache');
  t.is(occdb(checkout, ['status', '--dir', 'x']), 'bundle status --dir x function occdb.cjs\n');
  t.not(fs.readFileSync(statusCache, 'utf8'), 'not a code cache');
});

test('a reader that stops early (occdb --help | head) ends the command quietly: exit 0, no stack trace', async (t) => {
  const child = spawn(process.execPath, [OCCDB_BIN, 'startup', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // The reading end is closed before the command writes anything: its first write meets EPIPE.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  t.is(stderr, '');
  t.is(code, 0);
});
