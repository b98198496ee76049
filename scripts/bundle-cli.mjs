// npm run build, after tsc: the command line (dist/cli/main.js and everything it imports,
// commander included) as one CommonJS file, dist/bundle/occdb.cjs. bin/occdb.js runs
// it when it is newer than dist/cli/main.js, through V8's code cache. Why: loading the ~140
// ES modules of the command line (resolving, reading and compiling each one) took about as
// long as the client's work itself; one file compiled from a cache skips all of that.
//
// CommonJS and not ESM: only a classic script can be compiled from a code cache (vm.Script's
// cachedData) on Node 20, and CommonJS turns the packages left out of the bundle into
// require() calls made when their module is first used, not imports loaded at start.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = path.join(ROOT, 'dist', 'cli', 'main.js');
const BUNDLE_DIR = path.join(ROOT, 'dist', 'bundle');
const BUNDLE = path.join(BUNDLE_DIR, 'occdb.cjs');

/**
 * Packages required from node_modules at run time, as the plain build does: native addons
 * (level, ssh2), and large ones the commands that must start fast do not load, which would
 * only make the file every command reads larger: winston, prom-client, playwright-core,
 * selfsigned, and zod (half of the bundle with its messages in every language; occdb client
 * and status check what they read without it).
 */
const EXTERNAL = ['level', 'classic-level', 'ssh2', 'cpu-features', 'playwright-core', 'selfsigned', 'winston', 'prom-client', 'zod'];

// The bundle sits two folders below the root, as dist/<folder>/<file>.js do, so that paths
// found from a module's own place (startup/launcher.ts's bin/occdb.js, the dashboard's
// package root) land where they do in the plain build.
const IMPORT_META_URL = "require('node:url').pathToFileURL(__filename).href";

fs.rmSync(BUNDLE_DIR, { recursive: true, force: true });
await build({
  entryPoints: [ENTRY],
  outfile: BUNDLE,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: EXTERNAL,
  define: { 'import.meta.url': '__occdbImportMetaUrl' },
  banner: { js: `const __occdbImportMetaUrl = ${IMPORT_META_URL};` },
  // Maps back to the TypeScript sources through dist/'s own source maps.
  sourcemap: 'linked',
  // Without comments and spaces the file is a third smaller, and pure ASCII (a few comments
  // held other characters, which made reading it as a string slower): 20 ms less CPU a start.
  // Names are kept, so that a stack trace still names its functions.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});

// bin/occdb.js reads the bundle as latin1, faster than UTF-8 and the same for ASCII: esbuild
// escapes every other character of strings and names, and no comment is left to hold one.
const bytes = fs.readFileSync(BUNDLE);
const nonAscii = bytes.findIndex((byte) => byte > 0x7f);
if (nonAscii !== -1) throw new Error(`${BUNDLE} holds a non-ASCII byte at offset ${nonAscii}, and bin/occdb.js reads it as latin1`);
