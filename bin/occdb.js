#!/usr/bin/env node
// The occdb command: a thin launcher for the compiled CLI in dist/. A checkout that was
// never built gets one line saying so, not a module-resolution stack trace.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(`occdb is not built: run npm run build in ${fileURLToPath(new URL('..', import.meta.url))} (${fileURLToPath(main)} is missing)\n`);
  process.exit(2);
}
await import(main.href);
