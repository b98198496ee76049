#!/usr/bin/env node
// The occdb command: a thin launcher for the compiled CLI in dist/. A checkout that was
// never built gets one line saying so, not a module-resolution stack trace.
//
// It runs the one-file bundle of the command line (dist/bundle/occdb.cjs, made by npm run
// build) when that is not older than dist/cli/main.js, else the plain modules of dist/: a
// bundle older than the last tsc build may hold older code, and is never run. The bundle is
// compiled from V8's code cache, one per subcommand under dist/bundle/cache/, written after the
// first successful run of that subcommand; a cache V8 rejects (another Node, another bundle) is
// written anew, and one that cannot be read or written only costs the compile it would have saved.
//
// CommonJS (bin/package.json says so), not ESM: a CommonJS entry does not start Node's ES module
// loader, which the bundle does not need, and that saves about 10 ms of every start.
'use strict';
const { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const vm = require('node:vm');

const root = path.join(__dirname, '..') + path.sep;
const main = path.join(root, 'dist', 'cli', 'main.js');
const bundle = path.join(root, 'dist', 'bundle', 'occdb.cjs');

if (!existsSync(main)) {
  process.stderr.write(`occdb is not built: run npm run build in ${root} (${main} is missing)\n`);
  process.exit(2);
}

const bundleStat = freshBundleStat();
if (bundleStat === null) import(pathToFileURL(main).href);
else runBundle(bundleStat);

/** The bundle's stat if it is at least as new as dist/cli/main.js, else null. */
function freshBundleStat() {
  const stat = statSync(bundle, { throwIfNoEntry: false });
  return stat !== undefined && stat.mtimeMs >= statSync(main).mtimeMs ? stat : null;
}

/** Runs the bundle as Node runs a CommonJS file, compiled from the code cache when there is one. */
function runBundle(stat) {
  const cacheFile = codeCachePath(stat);
  const cachedData = readIfAny(cacheFile);
  // latin1: the bundle is ASCII (its build checks), and reading it so is faster than as UTF-8.
  const script = new vm.Script(Module.wrap(readFileSync(bundle, 'latin1')), { filename: bundle, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) {
    // After the command, so the cache holds the functions it compiled on the way, not only the
    // top level; and only after one that succeeded, so a mistyped command leaves no cache behind.
    process.once('beforeExit', () => {
      if (!process.exitCode) writeCodeCache(cacheFile, script);
    });
  }
  const module = { exports: {} };
  script.runInThisContext()(module.exports, Module.createRequire(bundle), module, bundle, path.dirname(bundle));
}

/**
 * One cache per subcommand (each compiles different functions), named also by the bundle's size
 * and time, so that a rebuilt bundle never meets the cache of an older one.
 */
function codeCachePath(stat) {
  const command = process.argv.slice(2).find((argument) => !argument.startsWith('-')) ?? '';
  const name = /^[a-z]{1,20}$/.test(command) ? command : 'options';
  return path.join(path.dirname(bundle), 'cache', `${name}-${stat.size}-${Math.trunc(stat.mtimeMs)}.v8`);
}

function readIfAny(file) {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Written whole then renamed, so that a command started meanwhile reads the old cache or the new one. */
function writeCodeCache(file, script) {
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, script.createCachedData());
    renameSync(temporary, file);
  } catch {
    // A read-only installation runs without a cache.
  }
}
