// occdb status from hand-made status documents: the process table as before views, and the view
// section (the newest installed view, each process's incarnation, epoch and place in it, why it
// is out, what the members suspect of it) and its --json fields.
import test from 'ava';
import type { Status } from '../protocol/schemas.js';
import type { ClusterNode } from '../startup/nodes.js';
import { formatIdRuns, formatViewLine, formatViewSection, viewStandings } from '../startup/status-view.js';
import { type NodeStatus, formatRatesLine, formatStatus, formatStatusTable, formatUptime, ratesBetween, statusReport } from '../startup/status.js';
import { clusterHealth, formatHealthLine } from '../startup/status-health.js';
import { wrapPieces } from '../startup/output.js';

type View = NonNullable<Status['view']>;

const INCARNATIONS: Record<number, string> = { 1: '3.k2j9', 2: '2.q7w1', 3: '1.x8a1' };

function node(role: 'middleware' | 'database', id: number): ClusterNode {
  const ports: Record<string, number> = role === 'middleware' ? { client: 7000 + 2 * id, peer: 7001 + 2 * id } : { port: 7100 + id };
  return {
    name: `${role.toUpperCase()}${id}`, role, id, host: 'localhost', dir: `/tmp/${role}-${id}`, pid: 100 + id,
    clusterFile: undefined, ports, endpoint: { host: 'localhost', port: ports.client ?? ports.port! },
  };
}

function view(epoch: number, members: number[], replicas = [1, 2, 3], joining: number[] = []): View {
  return { epoch, members: members.map((id) => ({ id, incarnation: INCARNATIONS[id]! })), replicas, joining };
}

/** An answering middleware with the fields of an older process, plus `extra`. */
function middleware(id: number, extra: Partial<Status> = {}): NodeStatus {
  const status: Status = {
    role: 'middleware', id, pid: 100 + id, ports: {}, uptimeMs: 1_000,
    clock: 40, strategy: 'occ', commits: 12, aborts: 1, inFlight: 0, members: [1, 2, 3], ...extra,
  };
  return { node: node('middleware', id), state: 'up', status };
}

/** A middleware of this version, in `installed` with its usual incarnation. */
function member(id: number, installed: View, extra: Partial<Status> = {}): NodeStatus {
  return middleware(id, { incarnation: INCARNATIONS[id]!, view: installed, suspected: [], ...extra });
}

function database(id: number, extra: Partial<Status> = {}): NodeStatus {
  return { node: node('database', id), state: 'up', status: { role: 'database', id, pid: 100 + id, ports: {}, uptimeMs: 1_000, ...extra } };
}

function acceptor(id: number, chosen: View): NodeStatus {
  return database(id, { view: chosen, chosenEpoch: chosen.epoch, promised: null });
}

function down(role: 'middleware' | 'database', id: number): NodeStatus {
  return { node: node(role, id), state: 'down', problem: 'TIMEOUT: did not answer status within 2000 ms' };
}

const V7 = view(7, [1, 2, 3]);

test('a healthy 3x3 view: the cluster line, every member and replica in epoch 7', (t) => {
  const statuses = [member(1, V7), member(2, V7), member(3, V7), acceptor(1, V7), acceptor(2, V7), acceptor(3, V7)];
  t.deepEqual(formatViewSection(statuses), [
    'view: epoch 7, members MIDDLEWARE1 (3.k2j9), MIDDLEWARE2 (2.q7w1), MIDDLEWARE3 (1.x8a1);',
    '      replicas DATABASE1-3',
    'NAME         INCARNATION  EPOCH  VIEW',
    'MIDDLEWARE1  3.k2j9       7      member',
    'MIDDLEWARE2  2.q7w1       7      member',
    'MIDDLEWARE3  1.x8a1       7      member',
    'DATABASE1    -            7      replica',
    'DATABASE2    -            7      replica',
    'DATABASE3    -            7      replica',
  ]);
  for (const line of formatViewSection(statuses)) t.true(line.length <= 100, line);
});

test('a removed middleware: out since the epoch after the one it installed', (t) => {
  const newest = view(7, [1, 3]);
  const statuses = [member(1, newest), member(2, view(6, [1, 2, 3])), member(3, newest), acceptor(1, newest)];
  const section = formatViewSection(statuses);
  t.is(section[0], 'view: epoch 7, members MIDDLEWARE1 (3.k2j9), MIDDLEWARE3 (1.x8a1); replicas DATABASE1-3');
  t.true(section.includes('MIDDLEWARE2  2.q7w1       6      removed in epoch 7 (not in the view)'), section.join('\n'));
  t.like(viewStandings(statuses)[1], { newestEpoch: 7, epoch: 6, place: 'out', reason: 'removed in epoch 7 (not in the view)' });

  // Removed longer ago: the epoch it installed is named too.
  statuses[1] = member(2, view(4, [1, 2, 3]));
  t.like(viewStandings(statuses)[1], { place: 'out', reason: 'removed by epoch 7 (not in the view; installed epoch 4)' });
});

test('a non-answering middleware: not answering, and still a member while the view lists it', (t) => {
  const statuses = [member(1, V7), down('middleware', 2), member(3, V7), acceptor(1, V7)];
  const section = formatViewSection(statuses);
  t.true(section.includes('MIDDLEWARE2  -            -      member, not answering'), section.join('\n'));
  const newest = view(8, [1, 3]);
  const removed = [member(1, newest), down('middleware', 2), member(3, newest), acceptor(1, newest)];
  t.like(viewStandings(removed)[1], { place: 'out', reason: 'not answering', epoch: null, incarnation: null });
  t.true(formatViewSection(removed).includes('MIDDLEWARE2  -            -      not answering'));
});

test('a suspected middleware: one line per member that suspects it; a removed one is not heard', (t) => {
  const statuses = [
    member(1, V7, { suspected: [{ id: 2, why: 'no heartbeat for 1.2 s' }] }),
    member(2, V7, { suspected: [{ id: 1, why: 'no heartbeat for 0.9 s' }] }),
    member(3, V7, { suspected: [{ id: 2, why: 'no heartbeat for 1.1 s' }] }),
    // A cut-off middleware of another life suspects everyone; it is not a member.
    middleware(4, { incarnation: '1.zz', view: view(5, [4]), suspected: [{ id: 1, why: 'no heartbeat for 9 s' }] }),
    acceptor(1, V7),
  ];
  const section = formatViewSection(statuses);
  const at = section.findIndex((line) => line.startsWith('MIDDLEWARE2 '));
  t.deepEqual(section.slice(at, at + 3), [
    'MIDDLEWARE2  2.q7w1       7      member',
    '                                 suspected by MIDDLEWARE1: no heartbeat for 1.2 s',
    '                                 suspected by MIDDLEWARE3: no heartbeat for 1.1 s',
  ]);
  t.deepEqual(viewStandings(statuses)[4]!.suspectedBy, [], 'DATABASE1 shares an id with MIDDLEWARE1, not its suspicions');
  t.deepEqual(viewStandings(statuses)[0]!.suspectedBy, [{ name: 'MIDDLEWARE2', why: 'no heartbeat for 0.9 s' }]);
  t.like(viewStandings(statuses)[3], { place: 'out', reason: 'removed by epoch 7 (not in the view; installed epoch 5)' });
});

test('a member behind, and a new life of a listed id, are told apart', (t) => {
  const statuses = [
    member(1, V7),
    member(2, view(6, [1, 2, 3])),
    middleware(3, { incarnation: '2.new', suspected: [] }),
    acceptor(1, V7),
  ];
  const [, behind, newLife] = viewStandings(statuses);
  t.like(behind, { place: 'member', reason: 'behind: installed epoch 6' });
  t.like(newLife, { place: 'out', epoch: null, reason: 'another life: epoch 7 lists 1.x8a1' });
  t.true(formatViewSection(statuses).includes('MIDDLEWARE2  2.q7w1       6      member, behind: installed epoch 6'));
});

test('a lagging database is behind; one ahead has a chosen view not installed yet; one left out is named', (t) => {
  const newest = view(7, [1], [1, 2], [3]);
  const statuses = [
    member(1, newest),
    acceptor(1, newest),
    acceptor(2, view(5, [1, 2])),
    acceptor(3, view(8, [1])),
    database(4, { chosenEpoch: 3, promised: null }),
    down('database', 5),
  ];
  const section = formatViewSection(statuses);
  t.is(section[0], 'view: epoch 7, members MIDDLEWARE1 (3.k2j9); replicas DATABASE1-2; joining DATABASE3');
  t.deepEqual(section.filter((line) => line.startsWith('DATABASE')), [
    'DATABASE1    -            7      replica',
    'DATABASE2    -            5      replica, behind: knows chosen epoch 5',
    'DATABASE3    -            8      joining, epoch 8 chosen, not installed yet',
    'DATABASE4    -            3      not in the view; behind: knows chosen epoch 3',
    'DATABASE5    -            -      not in the view; not answering',
  ]);
});

test('a joining database shows whether its transfer is complete; where it and the view disagree about its joining, the row says so', (t) => {
  const newest = view(7, [1], [1], [2, 3, 4]);
  const reporting = (id: number, sync: Status['sync'], chosen = newest): NodeStatus => database(id, { view: chosen, chosenEpoch: chosen.epoch, promised: null, sync });
  const statuses = [
    member(1, newest),
    reporting(1, null),
    reporting(2, { joiningSince: 6, complete: true }),
    reporting(3, { joiningSince: 6, complete: false }),
    reporting(4, null),
    reporting(5, { joiningSince: 5, complete: false }, view(5, [1], [1], [5])),
    acceptor(6, newest),
  ];
  t.deepEqual(formatViewSection(statuses).filter((line) => line.startsWith('DATABASE')), [
    'DATABASE1    -            7      replica',
    'DATABASE2    -            7      joining (transfer complete)',
    'DATABASE3    -            7      joining',
    'DATABASE4    -            7      joining, reports not joining',
    'DATABASE5    -            5      not in the view; behind: knows chosen epoch 5; reports joining since epoch 5',
    'DATABASE6    -            7      not in the view',
  ]);
  t.like(statusReport(statuses)[2], { viewStanding: { place: 'joining', sync: { joiningSince: 6, complete: true } } });
  t.false('sync' in viewStandings(statuses)[6]!, 'a database that does not report it (an older one) has none');
});

test('old documents without the view fields print as before views, with no view section or JSON field', (t) => {
  const statuses = [middleware(1), middleware(2), database(1, { keys: 4 }), down('database', 2)];
  t.deepEqual(formatViewSection(statuses), []);
  t.deepEqual(formatStatus(statuses), ['cluster: non-Primary, no quorum, DATABASE2 down, 2/2 middlewares, 1/2 databases in sync', '', ...formatStatusTable(statuses)]);
  const table = formatStatusTable(statuses);
  t.regex(table[0]!, /^NAME +HOST +PID +PORTS +STATE +UPTIME +CLOCK +COMMITS +ROLLED-BACK +ABORTS +IN-FLIGHT +MEMBERS +STRATEGY$/);
  t.regex(table[1]!, /^MIDDLEWARE1 +localhost +101 +client 7002, peer 7003 +up +1s +40 +12 +- +1 +0 +1,2,3 +occ$/);
  t.regex(table[4]!, /^NAME +HOST +PID +PORTS +STATE +UPTIME +APPLIES +SYNCS +KEYS +PENDING$/);
  t.regex(table[5]!, /^DATABASE1 +localhost +101 +7101 +up +1s +- +- +4 +-$/);
  for (const row of statusReport(statuses)) t.false('viewStanding' in row);
});

test('the health line: Primary when every process stands where the view puts it; degraded naming what is not; non-Primary without a quorum of databases', (t) => {
  const healthy = [member(1, V7), member(2, V7), member(3, V7), acceptor(1, V7), acceptor(2, V7), acceptor(3, V7)];
  t.is(formatHealthLine(clusterHealth(healthy)), 'cluster: Primary, 3/3 middlewares, 3/3 databases in sync, view 7');
  const oneDown = [member(1, V7), member(2, V7), member(3, V7), acceptor(1, V7), down('database', 2), acceptor(3, V7)];
  t.is(formatHealthLine(clusterHealth(oneDown)), 'cluster: degraded, DATABASE2 down, 3/3 middlewares, 2/3 databases in sync, view 7');
  const V8 = view(8, [1, 3], [1, 3], [2]);
  const joining = [member(1, V8), middleware(2, { incarnation: INCARNATIONS[2]!, view: V7 }), member(3, V8), acceptor(1, V8), acceptor(2, V8), acceptor(3, V8)];
  t.is(formatHealthLine(clusterHealth(joining)), 'cluster: degraded, MIDDLEWARE2 not a member, DATABASE2 joining, 2/3 middlewares, 2/3 databases in sync, view 8');
  const twoDown = [member(1, V7), member(2, V7), member(3, V7), acceptor(1, V7), down('database', 2), down('database', 3)];
  t.like(clusterHealth(twoDown), { state: 'non-Primary', databases: { inSync: 1, total: 3 } });
  t.regex(formatHealthLine(clusterHealth(twoDown)), /^cluster: non-Primary, no quorum, DATABASE2 down, DATABASE3 down, /);
});

test('uptime in the largest two units; rates per second from two samples of the same process, none across a restart', (t) => {
  t.is(formatUptime(45_900), '45s');
  t.is(formatUptime(723_000), '12m03s');
  t.is(formatUptime(5 * 3_600_000 + 7 * 60_000), '5h07m');
  t.is(formatUptime(undefined), '-');
  const before = [middleware(1, { commits: 100, aborts: 10 }), database(1, { applies: 300 }), database(2, { applies: 50 })];
  const after = [middleware(1, { commits: 300, aborts: 14 }), database(1, { applies: 900 }), database(2, { applies: 5, pid: 999 })];
  const rates = ratesBetween(before, after, 2_000);
  t.deepEqual(rates.get('MIDDLEWARE1'), { commitsPerSecond: 100, abortsPerSecond: 2 });
  t.deepEqual(rates.get('DATABASE1'), { appliesPerSecond: 300 });
  t.false(rates.has('DATABASE2'), 'restarted in between: its counters began again');
  t.is(formatRatesLine(rates, 2_000), 'rates: 100.0 commits/s, 2.0 aborts/s, 300.0 applies/s (over 2.0 s)');
  t.regex(formatStatusTable(after, rates)[0]!, / COMMITS\/S +ABORTS\/S /);
});

test('an old middleware among new processes reports no view; with no view installed anywhere, the line says so', (t) => {
  const mixed = [member(1, V7), middleware(2), acceptor(1, V7)];
  t.like(viewStandings(mixed)[1], { place: 'member', epoch: null, incarnation: null, reason: 'no view installed' });
  const none = [middleware(1), acceptor(1, V7)];
  t.is(formatViewSection(none)[0], 'view: none installed by an answering middleware');
  t.like(viewStandings(none)[1], { place: null, epoch: 7, reason: null });
});

test('--json keeps the raw documents and adds each standing as viewStanding', (t) => {
  const statuses = [member(1, V7), down('middleware', 2), acceptor(1, V7)];
  const report = JSON.parse(JSON.stringify(statusReport(statuses))) as Record<string, unknown>[];
  t.deepEqual(report[0]!.status, statuses[0]!.status);
  t.deepEqual(report[0]!.viewStanding, { newestEpoch: 7, incarnation: '3.k2j9', epoch: 7, place: 'member', reason: null, suspectedBy: [] });
  t.like(report[1], { name: 'MIDDLEWARE2', state: 'down', viewStanding: { place: 'member', reason: 'not answering' } });
  t.like(report[2], { name: 'DATABASE1', viewStanding: { epoch: 7, place: 'replica', reason: null } });
});

test('id runs and wrapping: ranges for consecutive ids, lines broken between pieces only', (t) => {
  t.deepEqual(formatIdRuns('database', [5, 1, 3, 2]), ['DATABASE1-3', 'DATABASE5']);
  t.deepEqual(formatIdRuns('database', []), []);
  t.deepEqual(formatViewLine(view(2, [], [], []), 100), ['view: epoch 2, members none; replicas none']);
  t.deepEqual(wrapPieces(['aaaa', 'bb', 'cc'], 7, 2), ['aaaa bb', '  cc']);
  t.deepEqual(wrapPieces(['a-very-long-piece', 'b'], 5, 1), ['a-very-long-piece', ' b']);
});

test('a database the members suspect shows who suspects it and why; a joining one shows the transfer a member runs to it, with the entries copied so far', (t) => {
  const newest = view(8, [1, 2], [1, 2], [3]);
  const statuses = [
    member(1, newest, { suspectedDatabases: [{ id: 2, why: 'no answer for 1.2 s' }], transfer: { database: 3, source: 1, copied: 40_000 } }),
    member(2, newest, { suspectedDatabases: [{ id: 2, why: 'no answer for 1.1 s' }] }),
    acceptor(1, newest),
    acceptor(2, newest),
    database(3, { view: newest, chosenEpoch: 8, promised: null, sync: { joiningSince: 8, complete: false } }),
  ];
  t.deepEqual(formatViewSection(statuses).slice(-5), [
    'DATABASE1    -            8      replica',
    'DATABASE2    -            8      replica',
    '                                 suspected by MIDDLEWARE1: no answer for 1.2 s',
    '                                 suspected by MIDDLEWARE2: no answer for 1.1 s',
    'DATABASE3    -            8      joining (40000 entries copied from DATABASE1 by MIDDLEWARE1)',
  ]);
  t.deepEqual(viewStandings(statuses)[4]!.transfer, { by: 'MIDDLEWARE1', source: 1, copied: 40_000 });
  t.deepEqual(viewStandings(statuses)[0]!.suspectedBy, [], 'MIDDLEWARE1 shares an id with DATABASE1, not its suspicions');
});
