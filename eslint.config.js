// The architecture, checked: pure protocol cores driven by thin I/O shells, and imports that
// point down toward the cores, never up. Only architecture rules live here, no style rules:
// `npm run lint` runs it and test/architecture.test.ts holds it to the tree and to
// deliberate violations. Exceptions belong in this file, not in comments in the code: inline
// `eslint-disable` comments are switched off.
import { builtinModules } from 'node:module';
import tsParser from '@typescript-eslint/parser';

/**
 * Who may import whom: one row per top-level folder. `imports` are the folders whose code a
 * folder may import; `typesFrom` the folders it may import types from and nothing else (a
 * type-only import leaves no trace in the compiled code). A folder may always import its own
 * files. Anything not listed is refused, `test/` included: nothing but `test/` imports it.
 */
export const LAYERS = {
  errors:      { imports: [] },
  timestamp:   { imports: ['errors'] },
  transaction: { imports: ['timestamp', 'errors'], typesFrom: ['protocol'] },
  occ:         { imports: ['transaction', 'timestamp', 'errors'], typesFrom: ['protocol'] },
  twopl:       { imports: ['transaction', 'timestamp', 'errors'], typesFrom: ['protocol'] },
  view:        { imports: ['timestamp', 'errors'] },
  protocol:    { imports: ['errors'] },
  runtime:     { imports: ['errors'] },
  cluster:     { imports: ['protocol', 'runtime', 'errors'] },
  // Metrics and observation: counters, histograms, timelines, hot keys and the /metrics server.
  metrics:     { imports: ['protocol', 'errors'] },
  database:    { imports: ['metrics', 'view', 'protocol', 'cluster', 'runtime', 'transaction', 'timestamp', 'errors'] },
  middleware:  { imports: ['metrics', 'view', 'occ', 'twopl', 'transaction', 'timestamp', 'protocol', 'cluster', 'runtime', 'errors'] },
  client:      { imports: ['protocol', 'cluster', 'errors'] },
  startup:     { imports: ['metrics', 'client', 'protocol', 'cluster', 'runtime', 'timestamp', 'errors'] },
  // The benchmarks drive clusters through the client; database-apply.ts alone runs one database in process.
  bench:       { imports: ['database', 'view', 'client', 'startup', 'protocol', 'cluster', 'runtime', 'transaction', 'timestamp', 'errors'] },
  scenario:    { imports: ['client', 'startup', 'protocol', 'cluster', 'runtime', 'transaction', 'timestamp', 'errors'] },
  // The report runs the scenarios and reads the benchmark's results, so it sits above both.
  report:      { imports: ['bench', 'scenario', 'client', 'startup', 'protocol', 'cluster', 'runtime', 'transaction', 'timestamp', 'errors'] },
  // The web dashboard polls the cluster as status does and runs transactions through the client.
  dashboard:   { imports: ['client', 'startup', 'protocol', 'cluster', 'runtime', 'errors'] },
  cli:         { imports: ['dashboard', 'view', 'metrics', 'bench', 'scenario', 'report', 'client', 'startup', 'middleware', 'database', 'occ', 'twopl', 'transaction', 'timestamp', 'protocol', 'cluster', 'runtime', 'errors'] },
  test:        { imports: ['dashboard', 'view', 'metrics', 'cli', 'bench', 'scenario', 'report', 'client', 'startup', 'middleware', 'database', 'occ', 'twopl', 'transaction', 'timestamp', 'protocol', 'cluster', 'runtime', 'errors'] },
};

/**
 * Single files allowed one import their folder's row refuses. Each is a known debt, not a
 * pattern to copy: remove the entry when the import is gone.
 */
export const EXCEPTIONS = [];

/** Folders of pure code: no I/O, no clock, no randomness. Time and randomness are passed in. */
export const PURE_FOLDERS = ['errors', 'timestamp', 'transaction', 'occ', 'twopl', 'view'];

/**
 * The pure files of database/ (the rest of it is the server's I/O shell). They follow the
 * rules of a pure core, and import only pure folders, protocol/ types and each other. Add a
 * file here when a pure module is split out of the shell.
 */
export const PURE_DATABASE_FILES = ['database/thomas.ts', 'database/read-rules.ts', 'database/fencing.ts', 'database/commit-log.ts'];

/** What a pure database file may import: pure folders (view/ for the acceptor state and views it fences by) and protocol/ types. */
const PURE_IMPORTS = { imports: ['view', 'transaction', 'timestamp', 'errors'], typesFrom: ['protocol'] };

/** Globals a pure core must not touch: the clock, timers, the process, I/O, randomness. */
const IMPURE_GLOBALS = [
  'Date', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'queueMicrotask',
  'performance', 'process', 'console', 'require', 'fetch', 'crypto',
];

const FOLDERS = Object.keys(LAYERS);
const BUILTINS = [...new Set(builtinModules.map((name) => name.replace(/^node:/, '').split('/')[0]))];

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const anyOf = (names) => `(?:${names.map(escape).join('|')})`;
/** How a file `depth` folders below the root spells the root in a relative import. */
const toRoot = (depth) => `(?:\\.\\./){${depth}}`;
const builtinRegex = `^(?:node:|${anyOf(BUILTINS)}(?:/|$))`;
const packageRegex = `^(?!\\.)(?!node:)(?!${anyOf(BUILTINS)}(?:/|$))`;
const importPath = (file) => file.replace(/\.ts$/, '.js');
/** Deepest folder nesting the rules cover; a file deeper than this fails the architecture test. */
export const DEPTH_MAX = 4;

/**
 * The options of no-restricted-imports for a file of `folder`, `depth` folders below the
 * root, under `row` of the table. Relative imports are matched exactly: from occ/vote.ts,
 * `../middleware/x.js` is middleware/; from test/history/x.ts it is `../../middleware/x.js`.
 */
function importRules(folder, depth, row, { pure = false, allowFile, ownFilesAllowed } = {}) {
  const patterns = [];
  const typesFrom = row.typesFrom ?? [];
  for (const other of FOLDERS) {
    if (other === folder || row.imports.includes(other)) continue;
    const typesOnly = typesFrom.includes(other);
    const allowed = allowFile?.startsWith(`${other}/`) ? `(?!${escape(importPath(allowFile.slice(other.length + 1)))}$)` : '';
    patterns.push({
      regex: `^${toRoot(depth)}${escape(other)}/${allowed}`,
      caseSensitive: true,
      ...(typesOnly ? { allowTypeImports: true } : {}),
      message: typesOnly
        ? `${folder}/ may import only types from ${other}/ (the layering table is in eslint.config.js).`
        : `${folder}/ may not import ${other}/: imports point down toward the pure cores (the layering table is in eslint.config.js).`,
    });
  }
  patterns.push({
    regex: `^${toRoot(depth)}(?!${anyOf(FOLDERS)}/)`,
    caseSensitive: true,
    message: 'An import must land in one of the source folders of the layering table (eslint.config.js).',
  });
  if (ownFilesAllowed) {
    patterns.push({
      regex: `^(?:\\./|${toRoot(depth)}${escape(folder)}/)(?!${anyOf(ownFilesAllowed.map(importPath))}$)`,
      caseSensitive: true,
      message: `A pure file of ${folder}/ imports only the other pure files of ${folder}/ (PURE_DATABASE_FILES in eslint.config.js).`,
    });
  }
  if (pure) {
    patterns.push(
      {
        regex: builtinRegex,
        message: 'A pure core does no I/O: node built-ins belong in the shell, which passes in what the core needs.',
      },
      {
        regex: packageRegex,
        message: 'A pure core imports no npm package (level, winston, zod, ssh2, commander, …): only its own pure folders.',
      },
    );
  }
  return ['error', { patterns }];
}

const depthOf = (file) => file.split('/').length - 1;

const pureRules = {
  'no-restricted-globals': [
    'error',
    ...IMPURE_GLOBALS.map((name) => ({
      name,
      message: `A pure core does not use ${name}: time, timers, randomness and I/O are passed in by the shell.`,
    })),
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Math', property: 'random', message: 'A pure core takes its randomness as an argument (a seeded source).' },
    ...IMPURE_GLOBALS.map((property) => ({
      object: 'globalThis',
      property,
      message: `A pure core does not use ${property}: time, timers, randomness and I/O are passed in by the shell.`,
    })),
  ],
};

/**
 * no-restricted-imports sees static imports only, so a dynamic `import()` would slip past the
 * table. None is needed outside test/ (where anything may be imported anyway).
 */
const noDynamicImport = {
  'no-restricted-syntax': [
    'error',
    {
      selector: 'ImportExpression',
      message: 'No dynamic import() outside test/: the layering table checks static imports only (eslint.config.js).',
    },
  ],
};

/**
 * cli/ alone loads modules with import(), inside each command's action, so that a command
 * pays only for the modules it runs (occdb --help loads no winston, ssh2, level or zod). Its
 * row may import every folder but test/, so a dynamic import breaks the table only if it
 * reaches test/ or names its module in a way no rule can read: both are refused.
 */
const cliDynamicImport = {
  'no-restricted-syntax': [
    'error',
    {
      selector: "ImportExpression:not([source.type='Literal'])",
      message: 'A dynamic import() in cli/ names its module with a string literal, so that the layering can be checked (eslint.config.js).',
    },
    {
      selector: 'ImportExpression[source.value=/^(?:\\.\\.\\/)+test\\//]',
      message: 'cli/ may not import test/, dynamically either (the layering table is in eslint.config.js).',
    },
  ],
};

export default [
  { ignores: ['dist/', 'node_modules/', 'reports/'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tsParser, sourceType: 'module' },
    linterOptions: { noInlineConfig: true, reportUnusedDisableDirectives: 'off' },
  },
  ...FOLDERS.flatMap((folder) =>
    Array.from({ length: DEPTH_MAX }, (_, index) => ({
      files: [`${folder}/${'*/'.repeat(index)}*.ts`],
      rules: {
        'no-restricted-imports': importRules(folder, index + 1, LAYERS[folder], { pure: PURE_FOLDERS.includes(folder) }),
        ...(PURE_FOLDERS.includes(folder) ? pureRules : {}),
        ...(folder === 'test' ? {} : folder === 'cli' ? cliDynamicImport : noDynamicImport),
      },
    })),
  ),
  ...PURE_DATABASE_FILES.map((file) => ({
    files: [file],
    rules: {
      'no-restricted-imports': importRules('database', depthOf(file), PURE_IMPORTS, {
        pure: true,
        ownFilesAllowed: PURE_DATABASE_FILES.map((pureFile) => pureFile.slice('database/'.length)),
      }),
      ...pureRules,
    },
  })),
  ...EXCEPTIONS.map(({ file, mayImport }) => {
    const folder = file.split('/')[0];
    return {
      files: [file],
      rules: {
        'no-restricted-imports': importRules(folder, depthOf(file), LAYERS[folder], {
          pure: PURE_FOLDERS.includes(folder),
          allowFile: mayImport,
        }),
      },
    };
  }),
];
