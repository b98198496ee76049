// The JSON Schemas the command line checks with protocol/json-schema.ts instead of loading zod
// are zod's own, as z.toJSONSchema writes them: the generated files are up to date, and on
// valid values and on every one-place mutation of them zod and the checker give the same
// answer (both accept with the same value, or both refuse). To regenerate the files after a
// schema changed: OCCDB_WRITE_GENERATED=1 npx ava dist/test/json-schemas.test.js, then build.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { z } from 'zod';
import { ClusterFileSchema } from '../cluster/cluster-file-schema.js';
import { CLUSTER_FILE_JSON_SCHEMA } from '../cluster/cluster-file-json-schema.js';
import { duplicateNodeMessage } from '../cluster/cluster-file.js';
import { checkJson, type JsonSchema } from '../protocol/json-schema.js';
import { RESULT_SCHEMAS, ReplySchema } from '../protocol/schemas.js';
import { CLIENT_RESULT_JSON_SCHEMAS, REPLY_JSON_SCHEMA } from '../protocol/wire-json-schemas.js';
import { REPO_ROOT } from './helpers/processes.js';

type ZodSchema = z.ZodType;

/** What each generated file holds: its exports, each the JSON Schema of a zod schema. */
const GENERATED: Array<{ file: string; header: string; exports: Array<{ name: string; type?: string; schemas: ZodSchema | Record<string, ZodSchema> }> }> = [
  {
    file: 'protocol/wire-json-schemas.ts',
    header: 'The replies of the middleware client port, as the command line checks them without zod',
    exports: [
      { name: 'REPLY_JSON_SCHEMA', schemas: ReplySchema },
      {
        name: 'CLIENT_RESULT_JSON_SCHEMAS',
        type: 'Readonly<Record<ClientRequestType, JsonSchema>>',
        schemas: Object.fromEntries((['ping', 'status', 'txn.run', 'shutdown', 'observe', 'auth.hello', 'auth.proof'] as const).map((type) => [type, RESULT_SCHEMAS[type]])),
      },
    ],
  },
  {
    file: 'cluster/cluster-file-json-schema.ts',
    header: 'The cluster file (cluster/cluster-file-schema.ts), as every process checks it without zod',
    exports: [{ name: 'CLUSTER_FILE_JSON_SCHEMA', schemas: ClusterFileSchema }],
  },
];

function jsonSchemaOf(schema: ZodSchema): JsonSchema {
  const { $schema, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as JsonSchema & { $schema?: string };
  void $schema;
  return rest;
}

function render(entry: (typeof GENERATED)[number]): string {
  const imports = entry.file.startsWith('protocol/') ? "import type { JsonSchema } from './json-schema.js';" : "import type { JsonSchema } from '../protocol/json-schema.js';";
  const typeImport = entry.exports.some((exported) => exported.type?.includes('ClientRequestType')) ? "\n\n/** The request types of a middleware's client port, and the login's. */\nexport type ClientRequestType = 'ping' | 'status' | 'txn.run' | 'shutdown' | 'observe' | 'auth.hello' | 'auth.proof';" : '';
  const body = entry.exports.map((exported) => {
    const value = exported.schemas instanceof z.ZodType
      ? jsonSchemaOf(exported.schemas)
      : Object.fromEntries(Object.entries(exported.schemas).map(([key, schema]) => [key, jsonSchemaOf(schema)]));
    return `export const ${exported.name}: ${exported.type ?? 'JsonSchema'} = ${JSON.stringify(value, null, 2)};`;
  });
  return [
    `// ${entry.header}.`,
    '// Generated from the zod schemas by test/json-schemas.test.ts (OCCDB_WRITE_GENERATED=1): do not edit.',
    imports + typeImport,
    '',
    ...body,
    '',
  ].join('\n');
}

test('the generated JSON Schemas are those zod writes for the schemas today', (t) => {
  for (const entry of GENERATED) {
    const file = path.join(REPO_ROOT, entry.file);
    const expected = render(entry);
    if (process.env.OCCDB_WRITE_GENERATED === '1' && fs.readFileSync(file, 'utf8') !== expected) {
      fs.writeFileSync(file, expected);
      t.log(`wrote ${entry.file}`);
    }
    t.is(fs.readFileSync(file, 'utf8'), expected, `${entry.file} is out of date: OCCDB_WRITE_GENERATED=1 npx ava dist/test/json-schemas.test.js`);
  }
});

/** The value with one place changed, for every place and every change: the answers must agree there too. */
function* mutations(value: unknown): Generator<unknown> {
  const replacements = (leaf: unknown): unknown[] => [
    null, 'x', '', 'a'.repeat(300), 0, -1, 1.5, 2 ** 60, true, [], {},
    ...(typeof leaf === 'number' ? [leaf + 1, -leaf, String(leaf)] : []),
    ...(typeof leaf === 'string' ? [`${leaf}!`, leaf.toUpperCase(), leaf.slice(1)] : []),
  ];
  yield* replacements(value);
  if (Array.isArray(value)) {
    yield [];
    yield [...value, value[0]];
    for (let index = 0; index < value.length; index += 1) {
      for (const mutated of mutations(value[index])) yield value.map((item: unknown, at) => (at === index ? mutated : item));
      yield value.filter((_, at) => at !== index);
    }
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    yield { ...record, extra: 1 };
    for (const key of Object.keys(record)) {
      const { [key]: removed, ...rest } = record;
      void removed;
      yield rest;
      for (const mutated of mutations(record[key])) yield { ...record, [key]: mutated };
    }
  }
}

function assertSameAnswers(t: { is: (a: unknown, b: unknown, m?: string) => void; deepEqual: (a: unknown, b: unknown, m?: string) => void }, zodSchema: ZodSchema, jsonSchema: JsonSchema, sample: unknown, label: string): number {
  let compared = 0;
  for (const value of [sample, ...mutations(sample)]) {
    const byZod = zodSchema.safeParse(value);
    const byChecker = checkJson(jsonSchema, value);
    const shown = `${label}: ${JSON.stringify(value)}`;
    t.is(byChecker.success, byZod.success, shown);
    if (byZod.success && byChecker.success) t.deepEqual(byChecker.data, byZod.data, shown);
    compared += 1;
  }
  return compared;
}

const COMMITTED = {
  outcome: 'committed', ts: [12, 3], retries: 0, middlewareId: 1, traceId: 'M1-7',
  results: [{ line: 2, kind: 'print', value: '41' }, { line: 3, kind: 'error', code: 'ENTRY_NONEXISTENT', message: 'no entry x' }],
};
const FAILED = { outcome: 'failed', retries: 3, middlewareId: 2, results: [], error: { code: 'TXN_RETRIES_EXHAUSTED', message: 'gave up', line: 4 }, quit: true };
const STATUS = {
  role: 'middleware', id: 1, pid: 4242, ports: { client: 7001, peer: 7002 }, uptimeMs: 1234.5, clock: 17, strategy: 'occ', commits: 3, rolledBack: 1,
  failed: 0, aborts: 2, inFlight: 0, members: [1, 2, 3], requests: 10, messagesSent: 40, connections: { tcp: 2, unix: 1 }, incarnation: '1700000000000.a1B2',
  view: { epoch: 3, members: [{ id: 1, incarnation: '1.a' }], replicas: [1, 2, 3], joining: [] }, suspected: [{ id: 2, why: 'missed heartbeats' }], transfer: null,
  promised: { round: 1, proposer: 1, incarnation: '1.a' }, sync: { joiningSince: 2, complete: false },
};
const CLUSTER = {
  version: 1, createdAt: '2026-01-01T00:00:00.000Z', tls: { fingerprint: Array.from({ length: 32 }, () => 'AB').join(':') },
  middlewares: [{ id: 1, host: 'localhost', clientPort: 7001, peerPort: 7002, dir: '/tmp/m1', clientSocket: '/tmp/m1/client.sock', metricsPort: 9001, pid: 12 }],
  databases: [{ id: 1, host: 'localhost', port: 7101, dir: '/tmp/d1', socket: '/tmp/d1/database.sock' }, { id: 2, host: 'user@example.org:22', port: 7102, dir: '/srv/d2', clusterFile: '/srv/cluster.json' }],
  ssh: { remoteOccdb: 'occdb', identityFile: '/home/u/.ssh/id' },
};

test('zod and the checker agree on the client port\'s replies and results, valid or changed in one place', (t) => {
  let compared = 0;
  compared += assertSameAnswers(t, ReplySchema, REPLY_JSON_SCHEMA, { id: 3, ok: true, result: COMMITTED }, 'reply');
  compared += assertSameAnswers(t, ReplySchema, REPLY_JSON_SCHEMA, { id: null, ok: false, error: { code: 'UNAUTHENTICATED', message: 'no' } }, 'error reply');
  compared += assertSameAnswers(t, RESULT_SCHEMAS['txn.run'], CLIENT_RESULT_JSON_SCHEMAS['txn.run'], COMMITTED, 'txn.run');
  compared += assertSameAnswers(t, RESULT_SCHEMAS['txn.run'], CLIENT_RESULT_JSON_SCHEMAS['txn.run'], FAILED, 'txn.run');
  compared += assertSameAnswers(t, RESULT_SCHEMAS.status, CLIENT_RESULT_JSON_SCHEMAS.status, STATUS, 'status');
  compared += assertSameAnswers(t, RESULT_SCHEMAS['auth.hello'], CLIENT_RESULT_JSON_SCHEMAS['auth.hello'], { nonce: 'YWJjZGVmZ2hpamtsbW5vcA==', salt: 'c2FsdA==', cost: { N: 1024, r: 8, p: 1 } }, 'auth.hello');
  compared += assertSameAnswers(t, RESULT_SCHEMAS['auth.proof'], CLIENT_RESULT_JSON_SCHEMAS['auth.proof'], { signature: 'c2lnbmF0dXJl', role: 'readwrite' }, 'auth.proof');
  compared += assertSameAnswers(t, RESULT_SCHEMAS.ping, CLIENT_RESULT_JSON_SCHEMAS.ping, {}, 'ping');
  t.true(compared > 1_000, `only ${compared} values compared`);
});

test('zod and the checker agree on cluster files, valid or changed in one place, defaults and duplicate ids included', (t) => {
  const clusterChecker = (value: unknown): { success: boolean; data?: unknown } => {
    const checked = checkJson<z.infer<typeof ClusterFileSchema>>(CLUSTER_FILE_JSON_SCHEMA, value);
    return checked.success && duplicateNodeMessage(checked.data) !== null ? { success: false } : checked;
  };
  let compared = 0;
  for (const sample of [CLUSTER, { ...CLUSTER, strategy: '2pl', scheduling: 'normal', logFormat: 'json' }, { ...CLUSTER, databases: [...CLUSTER.databases, CLUSTER.databases[0]] }]) {
    for (const value of [sample, ...mutations(sample)]) {
      const byZod = ClusterFileSchema.safeParse(value);
      const byChecker = clusterChecker(value);
      t.is(byChecker.success, byZod.success, JSON.stringify(value));
      if (byZod.success && byChecker.success) t.deepEqual(byChecker.data, byZod.data);
      compared += 1;
    }
  }
  t.true(compared > 500, `only ${compared} values compared`);
});

test('the checker refuses with where, and throws on a keyword it does not know', (t) => {
  const refused = checkJson(CLIENT_RESULT_JSON_SCHEMAS['txn.run'], { ...COMMITTED, results: [{ line: 0, kind: 'print', value: '1' }] });
  t.deepEqual(refused, { success: false, message: 'expected a number > 0 at results.0.line' });
  t.throws(() => checkJson({ type: 'string', format: 'email' } as JsonSchema, 'a@b'), { message: /does not know the keyword format/ });
});

test('a union branch that refused deep inside leaves nothing of its place behind: a later refusal names its own', (t) => {
  // The error item has every property the print branch requires, so that branch refuses it
  // only at its kind, inside the item; its own branch then takes it (dropping the value).
  const errorItem = { line: 3, kind: 'error', code: 'ENTRY_NONEXISTENT', message: 'no entry x', value: 'x' };
  const refused = checkJson(CLIENT_RESULT_JSON_SCHEMAS['txn.run'], { ...COMMITTED, results: [errorItem], quit: 'yes' });
  t.deepEqual(refused, { success: false, message: 'expected a boolean at quit' });
  const accepted = checkJson(CLIENT_RESULT_JSON_SCHEMAS['txn.run'], COMMITTED);
  t.deepEqual(accepted, { success: true, data: COMMITTED });
});
