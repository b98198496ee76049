// The architecture rules of eslint.config.js: the pure cores do no I/O and read no clock or
// randomness, and imports point down toward them. The whole tree passes, and each kind of
// deliberate violation is caught (linted as text under a made-up path, nothing is written).
import test from 'ava';
import { ESLint, type Linter } from 'eslint';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface ArchitectureConfig {
  LAYERS: Record<string, { imports: string[]; typesFrom?: string[] }>;
  EXCEPTIONS: Array<{ file: string; mayImport: string }>;
  PURE_FOLDERS: string[];
  PURE_DATABASE_FILES: string[];
  DEPTH_MAX: number;
}
const CONFIG_URL = pathToFileURL(path.join(ROOT, 'eslint.config.js')).href;
const config = (await import(CONFIG_URL)) as ArchitectureConfig;

const eslint = new ESLint({ cwd: ROOT });

/** The messages ESLint gives `code` as if it were the file `file` (relative to the root). */
async function lint(file: string, code: string): Promise<Linter.LintMessage[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result.messages;
}

function describe(messages: Linter.LintMessage[]): string {
  return messages.map((message) => `${message.line}:${message.column} ${message.ruleId}: ${message.message}`).join('\n');
}

/** The TypeScript files under `folder`, relative to the root. */
function sourceFiles(folder: string): string[] {
  return readdirSync(path.join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => path.join(folder, file).split(path.sep).join('/'));
}

test('the whole tree passes the architecture rules', async (t) => {
  // Every source file is linted, and none breaks a rule.
  const results = await eslint.lintFiles(['.']);
  const linted = results.filter((result) => result.filePath.endsWith('.ts'));
  t.true(linted.length > 100, `only ${linted.length} TypeScript files were linted`);
  const failures = results
    .filter((result) => result.messages.length > 0)
    .map((result) => `${path.relative(ROOT, result.filePath)}\n${describe(result.messages)}`);
  t.deepEqual(failures, []);
});

test('every folder that is compiled is a row of the layering table, and every row a folder', (t) => {
  // A new top-level folder must get a row, or its imports would go unchecked.
  const tsconfig = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
  t.deepEqual([...tsconfig.include].sort(), Object.keys(config.LAYERS).sort());
  for (const folder of Object.keys(config.LAYERS)) t.true(existsSync(path.join(ROOT, folder)), `${folder}/ is missing`);
  for (const folder of config.PURE_FOLDERS) t.truthy(config.LAYERS[folder], `pure folder ${folder}/ has no row`);
});

test('no source file is nested deeper than the rules reach', (t) => {
  // The import rules are written per depth, so a deeper file would be checked by none.
  const tooDeep = Object.keys(config.LAYERS)
    .flatMap(sourceFiles)
    .filter((file) => file.split('/').length - 1 > config.DEPTH_MAX);
  t.deepEqual(tooDeep, []);
});

test('every listed pure file of database/ exists, and every exception is still used', (t) => {
  // A stale entry would silently check nothing or allow what is no longer needed.
  for (const file of config.PURE_DATABASE_FILES) t.true(existsSync(path.join(ROOT, file)), `${file} is missing`);
  for (const { file, mayImport } of config.EXCEPTIONS) {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    const specifier = `${'../'.repeat(file.split('/').length - 1)}${mayImport.replace(/\.ts$/, '.js')}`;
    t.true(text.includes(`'${specifier}'`), `${file} no longer imports ${mayImport}: remove the exception`);
  }
});

test('a clean core file passes', async (t) => {
  // The rules are not just rejecting everything: a core that imports its own layers and is
  // handed time and randomness passes.
  const code = [
    "import { OccdbError } from '../errors/catalogue.js';",
    "import { compareTimestamps, type Timestamp } from '../timestamp/timestamp.js';",
    "import type { ReadSet } from '../transaction/types.js';",
    "import type { Write } from '../protocol/schemas.js';",
    "import { other } from './other.js';",
    'export function decide(nowMs: number, random: () => number, ts: Timestamp, reads: ReadSet, writes: Write[]): boolean {',
    "  if (nowMs < 0) throw new OccdbError('INTERNAL', 'time went backwards');",
    '  const jitter = random();',
    '  const started: Date | undefined = undefined;',
    '  return compareTimestamps(ts, ts) === 0 && jitter >= 0 && other(reads, writes) && started === undefined;',
    '}',
  ].join('\n');
  t.deepEqual(await lint('occ/decide.ts', code), []);
  t.deepEqual(await lint('twopl/decide.ts', code), []);
  t.deepEqual(await lint('database/thomas.ts', code.replace("'./other.js'", "'./thomas.js'")), []);
});

test('a core importing node:fs is refused, and so is the bare name fs', async (t) => {
  // A pure core does no I/O; the shell passes in what it needs.
  for (const specifier of ['node:fs', 'fs', 'fs/promises', 'node:net']) {
    const messages = await lint('occ/x.ts', `import * as io from '${specifier}';\nexport const x = io;\n`);
    t.is(messages.length, 1, specifier);
    t.is(messages[0].ruleId, 'no-restricted-imports');
    t.regex(messages[0].message, /node built-ins/);
  }
});

test('a core importing winston is refused, as is any npm package', async (t) => {
  // No logging, storage, schemas or ssh inside a pure core.
  for (const name of ['winston', 'level', 'zod', 'ssh2', 'commander', '@scope/any']) {
    const messages = await lint('timestamp/x.ts', `import * as lib from '${name}';\nexport const x = lib;\n`);
    t.is(messages.length, 1, name);
    t.regex(messages[0].message, /no npm package/);
  }
});

test('a core calling Date.now() is refused', async (t) => {
  // The clock is passed in, so the simulator can drive it.
  const messages = await lint('occ/x.ts', 'export const nowMs = (): number => Date.now();\n');
  t.deepEqual(messages.map((message) => message.ruleId), ['no-restricted-globals']);
  t.deepEqual((await lint('occ/x.ts', 'export const when = new Date();\n')).map((message) => message.ruleId), [
    'no-restricted-globals',
  ]);
});

test('a core calling Math.random() is refused', async (t) => {
  // Randomness is passed in as a seeded source, so a failing seed can be replayed.
  const messages = await lint('twopl/x.ts', 'export const jitter = (): number => Math.random();\n');
  t.deepEqual(messages.map((message) => message.ruleId), ['no-restricted-properties']);
});

test('a core calling setTimeout is refused', async (t) => {
  // Timers are events fed in by the shell, not something a core starts.
  for (const code of ['setTimeout(() => {}, 10);\n', 'globalThis.setTimeout(() => {}, 10);\n']) {
    const messages = await lint('transaction/x.ts', code);
    t.is(messages.length, 1, code);
    t.regex(messages[0].message, /does not use setTimeout/);
  }
});

test('occ/ importing from middleware/ is refused', async (t) => {
  // Imports point down toward the cores, never up from them.
  const messages = await lint('occ/x.ts', "import { runMiddleware } from '../middleware/server.js';\nexport const x = runMiddleware;\n");
  t.is(messages.length, 1);
  t.regex(messages[0].message, /occ\/ may not import middleware\//);
});

test('protocol/ importing from middleware/ is refused', async (t) => {
  // The wire layer is below the servers that use it.
  const messages = await lint('protocol/x.ts', "import { runMiddleware } from '../middleware/server.js';\nexport const x = runMiddleware;\n");
  t.is(messages.length, 1);
  t.regex(messages[0].message, /protocol\/ may not import middleware\//);
});

test('occ/ may import types from protocol/ but not values', async (t) => {
  // A type-only import leaves nothing in the compiled core; a value import would pull in zod.
  const value = await lint('occ/x.ts', "import { EntrySchema } from '../protocol/schemas.js';\nexport const x = EntrySchema;\n");
  t.is(value.length, 1);
  t.regex(value[0].message, /may import only types from protocol\//);
  t.deepEqual(await lint('occ/x.ts', "import type { Entry } from '../protocol/schemas.js';\nexport type X = Entry;\n"), []);
  t.deepEqual(await lint('occ/x.ts', "import { type Entry } from '../protocol/schemas.js';\nexport type X = Entry;\n"), []);
});

test('a pure file of database/ is held to the core rules, the rest of database/ is not', async (t) => {
  // database/thomas.ts is pure, and may not reach into the shell's files; database/storage.ts
  // is the shell and may read the clock.
  const clock = 'export const nowMs = (): number => Date.now();\n';
  t.is((await lint('database/thomas.ts', clock)).length, 1);
  t.deepEqual(await lint('database/storage.ts', clock), []);
  const shellImport = await lint('database/thomas.ts', "import { Storage } from './storage.js';\nexport const x = Storage;\n");
  t.is(shellImport.length, 1);
  t.regex(shellImport[0].message, /only the other pure files/);
});

test('nothing but test/ imports test/, and test files are matched at their own depth', async (t) => {
  // A helper of the tests is never part of the product; and from test/history/ the root is
  // two levels up, so `../helpers/` there is a folder of test/, not a top-level one.
  const fromCli = await lint('cli/x.ts', "import { startCluster } from '../test/helpers/cluster.js';\nexport const x = startCluster;\n");
  t.is(fromCli.length, 1);
  t.regex(fromCli[0].message, /cli\/ may not import test\//);
  const code = "import { a } from '../helpers/cluster.js';\nimport { b } from '../../occ/vote.js';\nexport const x = [a, b];\n";
  t.deepEqual(await lint('test/history/x.ts', code), []);
  const deepCore = await lint('occ/sub/x.ts', "import { runMiddleware } from '../../middleware/server.js';\nexport const x = runMiddleware;\n");
  t.is(deepCore.length, 1);
});

test('a dynamic import() outside test/ is refused, since the import rules see static imports only', async (t) => {
  // Otherwise protocol/ could reach middleware/ with `await import(...)` unnoticed.
  const code = "export const load = async (): Promise<unknown> => import('../middleware/server.js');\n";
  const messages = await lint('protocol/x.ts', code);
  t.deepEqual(messages.map((message) => message.ruleId), ['no-restricted-syntax']);
  t.deepEqual(await lint('test/x.ts', code), []);
});

test('cli/ may load a module with import() in an action, but not from test/ nor by a name no rule can read', async (t) => {
  // cli/ imports lazily so that each command loads only its own modules; its row allows every folder but test/.
  t.deepEqual(await lint('cli/x.ts', "export const load = async (): Promise<unknown> => import('../startup/status.js');\n"), []);
  const fromTest = await lint('cli/x.ts', "export const load = async (): Promise<unknown> => import('../test/helpers/cluster.js');\n");
  t.deepEqual(fromTest.map((message) => message.ruleId), ['no-restricted-syntax']);
  t.regex(fromTest[0]!.message, /cli\/ may not import test\//);
  const computed = await lint('cli/x.ts', "const where = '../test/helpers/cluster.js';\nexport const load = async (): Promise<unknown> => import(where);\n");
  t.deepEqual(computed.map((message) => message.ruleId), ['no-restricted-syntax']);
});

test('an inline eslint-disable comment does not switch a rule off', async (t) => {
  // Exceptions are written in eslint.config.js, where the table is, not in the code.
  const code = "// eslint-disable-next-line no-restricted-imports\nimport * as io from 'node:fs';\nexport const x = io;\n";
  const messages = await lint('occ/x.ts', code);
  t.true(messages.some((message) => message.ruleId === 'no-restricted-imports'), describe(messages));
});
