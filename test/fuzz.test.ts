// Hostile input on every kind of port of a real cluster (a middleware's client port and peer
// port, a database's port), before the login and after a node's login: random bytes,
// truncated and oversized frames, every request type with fields missing, of the wrong type
// and extra, huge and odd numbers, deep nesting, long strings, unknown types, a flood of
// connections past the limit and a flood of pipelined messages. Afterwards every process is up
// and answers, no process grew past RSS_BYTES_MAX, no answer was INTERNAL, the cluster still
// commits, `occdb verify` is clean, and the databases hold exactly what the test's own
// transactions wrote. Inputs come from a seeded generator: the seed is printed, and
// OCCDB_FUZZ_SEED=<seed> replays a run.
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import net from 'node:net';
import type { z } from 'zod';
import { seededRandom } from '../bench/random.js';
import { databaseEndpoint, middlewareClientEndpoint, middlewarePeerEndpoint } from '../cluster/cluster-file.js';
import { readSecret } from '../cluster/secret.js';
import type { Endpoint } from '../protocol/connection.js';
import { CONNECTIONS_PER_PORT_MAX, MESSAGE_BYTES_MAX } from '../protocol/limits.js';
import { AuthRequestSchema, ClientRequestSchema, DatabaseRequestSchema, PeerRequestSchema } from '../protocol/schemas.js';
import { TestCluster, printed } from './helpers/cluster.js';
import { RawClient } from './helpers/raw-client.js';

/** Wall time of the random rounds, all ports together; the floods and checks come on top. */
const FUZZ_DURATION_MS = 7_000;
const ROUNDS_PER_PORT_MAX = 400;
/** Lines sent in one pipelined burst after the login. */
const BURST_LINES = 40;
const PIPELINED_PINGS = 2_000;
/** A process of the cluster must stay below this resident size through all of it (about 150 MiB is usual). */
const RSS_BYTES_MAX = 300 * 1024 * 1024;
const EXTRA_CONNECTIONS = 60;
/**
 * How long a flood waits for the connections beyond the limit to be closed (it ends as soon as
 * they are): one beyond the limit is closed at once, a slow machine given time to get to it.
 * Below the login timeout (5 s), which closes every connection of the flood: a limit not kept
 * must not pass for one kept.
 */
const FLOOD_SETTLE_MS = 3_000;

const seed = process.env.OCCDB_FUZZ_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.OCCDB_FUZZ_SEED);

const random = seededRandom(seed);
const below = (count: number): number => Math.floor(random() * count);
const pick = <T>(items: readonly T[]): T => items[below(items.length)]!;

/** Number tokens as text: JSON.stringify cannot spell most of them. */
const ODD_NUMBERS = ['1e308', '-1e308', '1e400', '-0', '-0.0', String(2 ** 64), '18446744073709551617', '9'.repeat(5_000), '-' + '1'.repeat(400), '1e-400', '0.' + '0'.repeat(300) + '1', 'NaN', 'Infinity', '-Infinity', '0x10', '1_000'];
const DEEP_ARRAY = '['.repeat(10_000) + ']'.repeat(10_000);
const DEEP_OBJECT = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);

/** A JSON value (as text) of some kind; sometimes not JSON at all. */
function oddValue(): string {
  switch (below(12)) {
    case 0: return pick(ODD_NUMBERS);
    case 1: return pick([DEEP_ARRAY, DEEP_OBJECT, '['.repeat(10_000), '{"a":'.repeat(10_000)]);
    case 2: return JSON.stringify('x'.repeat(below(2) === 0 ? 100_000 : 1_000_000));
    case 3: return JSON.stringify(pick(['', 'acct0', 'fuzz_written', '../../etc', '\u0000', '\ud800', 'node:TEST', '__proto__']));
    case 4: return pick(['null', 'true', 'false', '[]', '{}', '""']);
    case 5: return JSON.stringify(Array.from({ length: below(50) }, () => below(2 ** 31) - 2 ** 30));
    case 6: return `{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}}}`;
    case 7: return JSON.stringify([[1, 2], [3, 'x']]);
    case 8: return JSON.stringify({ key: 'acct0', value: 1 });
    case 9: return String(below(2 ** 31) - 2 ** 30);
    case 10: return JSON.stringify(Array.from({ length: 1_000 }, () => ({})));
    default: return JSON.stringify(random().toString(36).slice(2));
  }
}

type Schema = z.ZodType & { options: ReadonlyArray<{ shape: Record<string, z.ZodType> & { type: { value: string } } }> };

/** A message of one of `schema`'s request types with fields missing, of the wrong type and extra; as text. */
function wrongShape(schema: Schema): string {
  const option = pick(schema.options);
  const fields: string[] = [];
  if (below(8) !== 0) fields.push(`"id":${below(4) === 0 ? oddValue() : below(1_000_000)}`);
  fields.push(`"type":${below(10) === 0 ? oddValue() : JSON.stringify(option.shape.type.value)}`);
  for (const name of Object.keys(option.shape)) {
    if (name === 'id' || name === 'type' || below(3) === 0) continue;
    fields.push(`${JSON.stringify(name)}:${oddValue()}`);
  }
  if (below(3) === 0) fields.push(`${JSON.stringify(pick(['extra', 'writes', 'from', 'ts', 'keys', '__proto__']))}:${oddValue()}`);
  return `{${fields.join(',')}}`;
}

/** Lines every port gets once before and after the login, whatever the seed. */
const FIXED_LINES = [
  `{"id":1,"type":${DEEP_ARRAY}}`, `{"id":2,"type":${DEEP_OBJECT}}`, DEEP_ARRAY, DEEP_OBJECT, '['.repeat(10_000),
  `{"id":3,"type":${JSON.stringify('t'.repeat(1_000_000))}}`, '{"id":1e308,"type":"ping"}', '{"id":-0,"type":"ping"}', `{"id":${2 ** 64},"type":"ping"}`,
  '{"id":NaN,"type":"ping"}', `{"id":${'9'.repeat(5_000)},"type":"ping"}`, '{"id":4,"type":"no.such.type"}', '{"__proto__":{"type":"ping"},"id":5}',
];

/** Some input line of the kinds above, as text without its newline. */
function hostileLine(schema: Schema): string {
  switch (below(8)) {
    case 0: return Buffer.from(Array.from({ length: 1 + below(300) }, () => below(256)).filter((byte) => byte !== 0x0a)).toString('latin1');
    case 1: {
      const whole = wrongShape(schema);
      return whole.slice(0, below(whole.length));
    }
    case 2: return `{"id":${below(1_000)},"type":${JSON.stringify(pick(['db.drop', 'txn', 'PING', 'auth.hello ', '', 'constructor', '__proto__', 'toString']))}}`;
    case 3: return pick([DEEP_ARRAY, DEEP_OBJECT, '['.repeat(10_000), `{"id":1,"type":"ping","x":${DEEP_OBJECT}}`, `{"id":1,"type":${DEEP_ARRAY}}`]);
    case 4: return oddValue();
    default: return wrongShape(schema);
  }
}

/**
 * A line safe to send after a node's login: anything that parses as a request of the port
 * (which a logged-in node may legitimately send, and would be run: a write, a shutdown) is
 * left out. Only invalid shapes go, and a ping.
 */
function invalidLine(schema: Schema): string | null {
  const text = hostileLine(schema);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return text;
  }
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  if (type === 'ping') return text;
  return schema.safeParse(raw).success ? null : text;
}

interface Port {
  name: string;
  endpoint: Endpoint;
  schema: Schema;
}

interface Tally {
  lines: number;
  replies: number;
  internal: string[];
  preLoginClosed: number;
  preLoginOpen: string[];
  skippedValid: number;
}

function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** Before the login every hostile line closes the connection at once (with one answer at most). */
async function preLoginRound(port: Port, tally: Tally, fixed?: string): Promise<void> {
  let text = fixed ?? hostileLine(port.schema);
  // A valid auth.hello would be answered and the connection kept: this round is about the rest.
  try {
    if (AuthRequestSchema.safeParse(JSON.parse(text)).success) text = '{"type":"auth.hello"}';
  } catch { /* not JSON: as intended */ }
  const client = await RawClient.connect(port.endpoint);
  try {
    // Something that is not blank first, so the line is never ignored as empty.
    client.send(`x${text}\n`);
    client.send(`${text}\n`);
    if (await client.waitClosed()) tally.preLoginClosed += 1;
    else tally.preLoginOpen.push(text.slice(0, 200));
  } finally {
    client.destroy();
  }
}

/** After a node's login: a burst of invalid lines, each answered with an error and the connection kept. */
async function postLoginRound(port: Port, secret: Buffer, tally: Tally, fixed: readonly string[] = []): Promise<void> {
  const client = await RawClient.loggedIn(port.endpoint, secret);
  try {
    const lines: string[] = [...fixed];
    for (let attempt = 0; attempt < BURST_LINES * 3 && lines.length < BURST_LINES; attempt++) {
      const line = invalidLine(port.schema);
      if (line === null) tally.skippedValid += 1;
      // A line of only blanks is no message and gets no answer.
      else if (line.trim() !== '') lines.push(line);
    }
    client.send(lines.map((line) => `${line}\n`).join(''));
    tally.lines += lines.length;
    for (let index = 0; index < lines.length; index++) {
      const reply = await client.next() as { ok: boolean; error?: { code: string; message: string } } | null;
      if (reply === null) throw new Error(`${port.name}: the connection closed after ${index} of ${lines.length} answers`);
      tally.replies += 1;
      if (reply.error?.code === 'INTERNAL') tally.internal.push(`${port.name}: ${reply.error.message}`);
    }
  } finally {
    client.destroy();
  }
}

/** A line over MESSAGE_BYTES_MAX: answered MESSAGE_TOO_LARGE and closed, before and after the login. */
async function oversized(t: ExecutionContext, port: Port, secret: Buffer | null): Promise<void> {
  const client = secret === null ? await RawClient.connect(port.endpoint) : await RawClient.loggedIn(port.endpoint, secret);
  try {
    client.send(Buffer.alloc(MESSAGE_BYTES_MAX + 4_096, '['));
    t.true(await client.waitClosed(), `${port.name}: an oversized frame closes the connection (${secret === null ? 'before' : 'after'} the login)`);
  } finally {
    client.destroy();
  }
}

/** CONNECTIONS_PER_PORT_MAX + EXTRA_CONNECTIONS connections at once: those beyond the limit are closed at once. */
async function connectionFlood(port: Port): Promise<{ opened: number; closedAtOnce: number }> {
  const sockets: net.Socket[] = [];
  let closedAtOnce = 0;
  let enoughClosed = (): void => undefined;
  const settled = new Promise<void>((resolve) => {
    enoughClosed = resolve;
    setTimeout(resolve, FLOOD_SETTLE_MS);
  });
  for (let index = 0; index < CONNECTIONS_PER_PORT_MAX + EXTRA_CONNECTIONS; index++) {
    const socket = net.connect(port.endpoint.port, port.endpoint.host);
    sockets.push(socket);
    socket.on('error', () => { /* refused or reset: counted at close */ });
    socket.on('close', () => {
      closedAtOnce += 1;
      if (closedAtOnce >= EXTRA_CONNECTIONS) enoughClosed();
    });
  }
  try {
    await settled;
  } finally {
    for (const socket of sockets) socket.destroy();
  }
  return { opened: sockets.length, closedAtOnce };
}

/** PIPELINED_PINGS pings written at once on one connection: every one answered, in order. */
async function pipelinedPings(t: ExecutionContext, port: Port, secret: Buffer): Promise<void> {
  const client = await RawClient.loggedIn(port.endpoint, secret);
  try {
    client.send(Array.from({ length: PIPELINED_PINGS }, (_, index) => `{"id":${index},"type":"ping"}\n`).join(''));
    let answered = 0;
    for (let index = 0; index < PIPELINED_PINGS; index++) {
      const reply = await client.next() as { id: number; ok: boolean } | null;
      if (reply?.ok !== true || reply.id !== index) break;
      answered += 1;
    }
    t.is(answered, PIPELINED_PINGS, `${port.name}: every pipelined ping answered in order`);
  } finally {
    client.destroy();
  }
}

test('hostile input on every port leaves the cluster up, small, committing, verified and holding only what transactions wrote', async (t) => {
  t.timeout(120_000);
  t.log(`fuzz seed ${seed} (replay: OCCDB_FUZZ_SEED=${seed})`);
  const cluster = await TestCluster.start({ middlewares: 2, databases: 2, tcpOnly: true });
  try {
    const secret = readSecret(cluster.file);
    const ports: Port[] = [
      { name: 'MIDDLEWARE1 client port', endpoint: middlewareClientEndpoint(cluster.cluster.middlewares[0]!), schema: ClientRequestSchema as unknown as Schema },
      { name: 'MIDDLEWARE1 peer port', endpoint: middlewarePeerEndpoint(cluster.cluster.middlewares[0]!), schema: PeerRequestSchema as unknown as Schema },
      { name: 'DATABASE1 port', endpoint: databaseEndpoint(cluster.cluster.databases[0]!), schema: DatabaseRequestSchema as unknown as Schema },
    ];
    const pids = [...cluster.middlewareProcesses.values(), ...cluster.databaseProcesses.values()].map((child) => child.pid!);

    // What the test itself writes, and what the databases hold before the fuzz.
    const written = new Map<string, number>();
    const write = async (round: number): Promise<void> => {
      const key = `fuzz_written_${round}`;
      const [result] = await cluster.run(1 + (round % 2), `ASSIGN ${key} ${round * 7}\nPRINT ${key}\n`);
      t.is(result?.outcome, 'committed', `${key}: ${JSON.stringify(result)}`);
      t.deepEqual(printed(result!), [String(round * 7)]);
      written.set(key, round * 7);
    };
    await write(0);
    const before = await Promise.all(cluster.databaseIds.map((id) => cluster.scan(id)));

    const tally: Tally = { lines: 0, replies: 0, internal: [], preLoginClosed: 0, preLoginOpen: [], skippedValid: 0 };
    const rss = new Map<number, number>();
    const sampleRss = (): void => {
      for (const pid of pids) rss.set(pid, Math.max(rss.get(pid) ?? 0, rssBytes(pid)));
    };
    sampleRss();

    let startedMs = Date.now();
    for (const port of ports) {
      await Promise.all(FIXED_LINES.map((line) => preLoginRound(port, tally, line)));
      await postLoginRound(port, secret, tally, FIXED_LINES);
      await oversized(t, port, null);
      await oversized(t, port, secret);
      await pipelinedPings(t, port, secret);
      const flood = await connectionFlood(port);
      t.true(flood.closedAtOnce >= EXTRA_CONNECTIONS, `${port.name}: ${flood.closedAtOnce} of ${flood.opened} connections closed at once, expected at least ${EXTRA_CONNECTIONS}`);
      sampleRss();
    }

    t.log(`fixed lines, oversized frames, pipelined pings and connection floods: ${Date.now() - startedMs} ms`);
    startedMs = Date.now();
    const deadlineMs = Date.now() + FUZZ_DURATION_MS;
    let rounds = 0;
    for (; rounds < ROUNDS_PER_PORT_MAX && Date.now() < deadlineMs; rounds++) {
      const port = ports[rounds % ports.length]!;
      await Promise.all([preLoginRound(port, tally), postLoginRound(port, secret, tally)]);
      if (rounds % 10 === 0) sampleRss();
      if (rounds % 30 === 29) await write(rounds);
    }
    sampleRss();
    t.log(`${rounds} rounds in ${Date.now() - startedMs} ms: ${tally.lines} invalid lines after the login (${tally.skippedValid} valid ones left out), ${tally.preLoginClosed} connections refused before it`);

    t.deepEqual(tally.internal, [], `answers INTERNAL (a bug); seed ${seed}`);
    t.is(tally.replies, tally.lines, `every line after the login answered; seed ${seed}`);
    t.deepEqual(tally.preLoginOpen, [], `before the login, every hostile line closes the connection; seed ${seed}`);
    t.log(`largest RSS: ${Math.round(Math.max(...rss.values()) / 2 ** 20)} MiB (bound ${RSS_BYTES_MAX / 2 ** 20} MiB)`);
    for (const [pid, bytes] of rss) t.true(bytes < RSS_BYTES_MAX, `process ${pid} reached ${Math.round(bytes / 2 ** 20)} MiB of RSS (bound ${RSS_BYTES_MAX / 2 ** 20} MiB); seed ${seed}`);

    for (const [id, child] of [...cluster.middlewareProcesses, ...cluster.databaseProcesses]) t.is(child.exitCode ?? child.signalCode, null, `process ${id} (pid ${child.pid}) is up`);
    for (const id of cluster.middlewareIds) t.like(await cluster.status(id), { role: 'middleware', id });
    await write(1_000);
    startedMs = Date.now();
    const verify = await cluster.occdbVerify();
    t.log(`occdb verify: ${Date.now() - startedMs} ms`);
    t.is(verify.code, 0, `occdb verify: ${verify.stdout}${verify.stderr}`);

    const after = await Promise.all(cluster.databaseIds.map((id) => cluster.scan(id)));
    for (const [index, scan] of after.entries()) {
      const unexpected: string[] = [];
      for (const [key, text] of scan) {
        const [, value] = JSON.parse(text) as [unknown, unknown];
        if (written.has(key)) {
          if (value !== written.get(key)) unexpected.push(`${key} holds ${JSON.stringify(value)}, not ${written.get(key)}`);
        } else if (before[index]!.get(key) !== text) {
          unexpected.push(`${key}: ${text} (was ${before[index]!.get(key)})`);
        }
      }
      const missing = [...written.keys()].filter((key) => !scan.has(key));
      t.deepEqual(unexpected, [], `DATABASE${cluster.databaseIds[index]} holds only what the test's transactions wrote; seed ${seed}`);
      t.deepEqual(missing, [], `DATABASE${cluster.databaseIds[index]} holds every key the test wrote`);
    }
  } finally {
    await cluster.stop();
  }
});
