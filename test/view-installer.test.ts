// Installing a chosen view (view/installer.ts), one test per rule: tell every database of the
// view that it was chosen, stop every member, read the removed coordinators' recent-commits
// records from every database, read their keys' entries from every database and recover the
// newest of each to all of them, drop the records only once every database has them, then
// INSTALL with a clock above everything seen. Answers from
// strangers, repeated answers and answers to another step are ignored; a resend asks again only
// whoever has not answered the step running now.
import test from 'ava';
import { Installation, type CommitRecord, type InstallationEffect, type StoredEntry } from '../view/installer.js';
import type { Member, View } from '../view/types.js';
import type { Timestamp } from '../timestamp/timestamp.js';

const ONE: Member = { id: 1, incarnation: '1.a' };
const TWO: Member = { id: 2, incarnation: '1.b' };
const GONE: Member = { id: 3, incarnation: '1.c' };

/** Two members; databases 1 and 2 in sync, 3 joining. */
const VIEW: View = { epoch: 5, members: [ONE, TWO], replicas: [1, 2], joining: [3] };
const DATABASES = [1, 2, 3];
const MEMBERS = [1, 2];

const NONE: Timestamp = [0, 0];

function record(ts: Timestamp, keys: string[], coordinator: Member = GONE): CommitRecord {
  return { ts, coordinator, keys };
}

function started(view: View = VIEW): Installation {
  const installation = new Installation(view);
  installation.start();
  for (const database of [...view.replicas, ...view.joining]) installation.handle({ type: 'announced', database });
  return installation;
}

/** Every member of VIEW answers the stop; returns the effects of the last answer. */
function stopAll(installation: Installation, clocks: number[] = [10, 20]): InstallationEffect[] {
  let effects: InstallationEffect[] = [];
  MEMBERS.forEach((member, index) => {
    effects = installation.handle({ type: 'stopped', member, clock: clocks[index]! });
  });
  return effects;
}

/** Every database answers the records read with `records[i]` (none when missing) and the largest version `maxVersion`. */
function readCommitsAll(installation: Installation, records: CommitRecord[][] = [], maxVersion: Timestamp = NONE): InstallationEffect[] {
  let effects: InstallationEffect[] = [];
  DATABASES.forEach((database, index) => {
    effects = installation.handle({ type: 'commits-read', database, records: records[index] ?? [], maxVersion });
  });
  return effects;
}

function readEntriesAll(installation: Installation, entries: StoredEntry[][]): InstallationEffect[] {
  let effects: InstallationEffect[] = [];
  DATABASES.forEach((database, index) => {
    effects = installation.handle({ type: 'entries-read', database, entries: entries[index] ?? [] });
  });
  return effects;
}

function all(installation: Installation, type: 'recovered' | 'dropped'): InstallationEffect[] {
  let effects: InstallationEffect[] = [];
  for (const database of DATABASES) effects = installation.handle({ type, database });
  return effects;
}

function installAll(installation: Installation): InstallationEffect[] {
  let effects: InstallationEffect[] = [];
  for (const member of MEMBERS) effects = installation.handle({ type: 'installed', member });
  return effects;
}

/** An installation that found one record of GONE (writing x) and is now recovering. */
function recovering(): Installation {
  const installation = started();
  stopAll(installation);
  readCommitsAll(installation, [[record([30, 3], ['x'])]]);
  readEntriesAll(installation, [[{ key: 'x', version: [30, 3], value: 1 }]]);
  return installation;
}

test('installer: starts by telling every database of the view that it was chosen, and nothing else', (t) => {
  const installation = new Installation(VIEW);
  t.is(installation.phase, 'idle');
  t.deepEqual(installation.start(), [{ type: 'announce', to: DATABASES, view: VIEW }]);
  t.is(installation.phase, 'announcing');
});

test('installer: asks every member of the new view to stop only once every database of it knows the view (a joining one clears its store before any APPLY the stop sends)', (t) => {
  const installation = new Installation(VIEW);
  installation.start();
  t.deepEqual(installation.handle({ type: 'announced', database: 1 }), []);
  t.deepEqual(installation.handle({ type: 'announced', database: 2 }), []);
  t.deepEqual(installation.handle({ type: 'resend' }), [{ type: 'announce', to: [3], view: VIEW }]);
  t.deepEqual(installation.handle({ type: 'announced', database: 3 }), [{ type: 'send-stop', to: MEMBERS, view: VIEW }]);
  t.is(installation.phase, 'stopping');
});

test('installer: starts once', (t) => {
  const installation = started();
  t.throws(() => installation.start(), { message: /starts once/ });
});

test('installer: a view without databases cannot be installed', (t) => {
  t.throws(() => new Installation({ epoch: 5, members: [ONE], replicas: [], joining: [] }), { message: /has databases/ });
});

test('installer: nothing is read from the databases until every member has answered the stop', (t) => {
  const installation = started();
  t.deepEqual(installation.handle({ type: 'stopped', member: 1, clock: 10 }), []);
  t.is(installation.phase, 'stopping');
  t.deepEqual(installation.handle({ type: 'stopped', member: 2, clock: 20 }), [{ type: 'read-commits', from: DATABASES, members: [ONE, TWO] }]);
  t.is(installation.phase, 'reading-commits');
});

test('installer: answers to another step are ignored', (t) => {
  const installation = started();
  t.deepEqual(installation.handle({ type: 'commits-read', database: 1, records: [], maxVersion: NONE }), []);
  t.deepEqual(installation.handle({ type: 'installed', member: 1 }), []);
  stopAll(installation);
  t.deepEqual(installation.handle({ type: 'stopped', member: 1, clock: 1_000 }), [], 'a stop answered again after the step');
  t.deepEqual(installation.handle({ type: 'recovered', database: 1 }), []);
  t.is(installation.phase, 'reading-commits');
  t.deepEqual(readCommitsAll(installation)[0], { type: 'send-install', to: MEMBERS, view: VIEW, clock: 21 }, 'the late stop\'s clock counted for nothing');
});

test('installer: a repeated answer counts once, and its clock is not taken again', (t) => {
  const installation = started();
  t.deepEqual(installation.handle({ type: 'stopped', member: 1, clock: 10 }), []);
  t.deepEqual(installation.handle({ type: 'stopped', member: 1, clock: 500 }), [], 'member 2 has still not answered');
  installation.handle({ type: 'stopped', member: 2, clock: 20 });
  t.like(readCommitsAll(installation)[0], { type: 'send-install', clock: 21 });
});

test('installer: an answer from a middleware or database not in the view is ignored', (t) => {
  const installation = started();
  t.deepEqual(installation.handle({ type: 'stopped', member: 3, clock: 900 }), []);
  stopAll(installation);
  t.deepEqual(installation.handle({ type: 'commits-read', database: 4, records: [record([800, 3], ['y'])], maxVersion: [800, 3] }), []);
  const effects = readCommitsAll(installation);
  t.deepEqual(effects, [{ type: 'send-install', to: MEMBERS, view: VIEW, clock: 21 }], 'the stranger\'s record and versions counted for nothing');
});

test('installer: records are read from every database of replicas and joining, for coordinators not among the new view\'s members', (t) => {
  const installation = started();
  const [read] = stopAll(installation);
  t.deepEqual(read, { type: 'read-commits', from: [1, 2, 3], members: [ONE, TWO] });
  t.deepEqual(installation.handle({ type: 'commits-read', database: 1, records: [], maxVersion: NONE }), []);
  t.deepEqual(installation.handle({ type: 'commits-read', database: 3, records: [], maxVersion: NONE }), [], 'the joining database answers too');
  t.is(installation.phase, 'reading-commits', 'database 2 has not answered');
});

test('installer: with no records anywhere it installs straight away: no entries read, nothing recovered or dropped', (t) => {
  const installation = started();
  stopAll(installation);
  t.deepEqual(readCommitsAll(installation), [{ type: 'send-install', to: MEMBERS, view: VIEW, clock: 21 }]);
  t.is(installation.phase, 'installing');
});

test('installer: the entries of every record\'s keys are read from every database, once the last database gave its records', (t) => {
  const installation = started();
  stopAll(installation);
  t.deepEqual(installation.handle({ type: 'commits-read', database: 1, records: [record([30, 3], ['y', 'x'])], maxVersion: [30, 3] }), []);
  t.deepEqual(installation.handle({ type: 'commits-read', database: 2, records: [], maxVersion: [12, 1] }), [], 'a record on one database is enough, but every database answers first');
  const effects = installation.handle({ type: 'commits-read', database: 3, records: [record([30, 3], ['y', 'x']), record([31, 3], ['z', 'x'])], maxVersion: [31, 3] });
  t.deepEqual(effects, [{ type: 'read-entries', from: DATABASES, keys: ['x', 'y', 'z'] }], 'each key once, in order');
  t.is(installation.phase, 'reading-entries');
});

test('installer: the newest entry of each key among every database\'s answers is recovered to every database', (t) => {
  const installation = started();
  stopAll(installation);
  readCommitsAll(installation, [[record([30, 3], ['x', 'y'])]]);
  t.deepEqual(installation.handle({ type: 'entries-read', database: 1, entries: [{ key: 'x', version: [30, 3], value: 'x-30' }, { key: 'y', version: [30, 3] }] }), []);
  t.deepEqual(installation.handle({ type: 'entries-read', database: 2, entries: [{ key: 'x', version: [35, 1], value: 'x-35' }, { key: 'y', version: [4, 2], value: 'y-4' }] }), []);
  const effects = installation.handle({ type: 'entries-read', database: 3, entries: [{ key: 'x', version: [35, 0], value: 'x-35.0' }, { key: 'y', version: NONE }] });
  t.deepEqual(effects, [{
    type: 'recover',
    to: DATABASES,
    entries: [{ key: 'x', version: [35, 1], value: 'x-35' }, { key: 'y', version: [30, 3] }],
  }], 'x: a later writer\'s entry (35.1 over 35.0 and 30.3); y: the tombstone at 30.3 over 4.2 and a key never written');
  t.is(installation.phase, 'recovering');
});

test('installer: records are dropped only after every database has recovered', (t) => {
  const installation = recovering();
  t.deepEqual(installation.handle({ type: 'recovered', database: 1 }), []);
  t.deepEqual(installation.handle({ type: 'recovered', database: 3 }), []);
  t.deepEqual(installation.handle({ type: 'dropped', database: 1 }), [], 'a drop answer before any drop was asked counts for nothing');
  t.deepEqual(installation.handle({ type: 'recovered', database: 2 }), [{ type: 'drop', to: DATABASES, records: [[30, 3]] }]);
  t.is(installation.phase, 'dropping');
});

test('installer: the records dropped are every record found, each once', (t) => {
  const installation = started();
  stopAll(installation);
  readCommitsAll(installation, [[record([30, 3], ['x'])], [record([30, 3], ['x']), record([32, 3], ['y'])], [record([31, 4], ['x'], { id: 4, incarnation: '1.e' })]]);
  readEntriesAll(installation, []);
  const [drop] = all(installation, 'recovered');
  t.is(drop?.type, 'drop');
  t.deepEqual(drop?.type === 'drop' ? [...drop.records].sort((a, b) => a[0] - b[0]) : [], [[30, 3], [31, 4], [32, 3]]);
  t.is(installation.recovered, 3);
});

test('installer: INSTALL is sent only after every database dropped the records', (t) => {
  const installation = recovering();
  all(installation, 'recovered');
  t.deepEqual(installation.handle({ type: 'dropped', database: 1 }), []);
  t.deepEqual(installation.handle({ type: 'dropped', database: 2 }), []);
  t.like(installation.handle({ type: 'dropped', database: 3 })[0], { type: 'send-install', to: MEMBERS, view: VIEW });
  t.is(installation.phase, 'installing');
});

test('installer: the install clock is above every member clock', (t) => {
  const installation = started();
  stopAll(installation, [70, 20]);
  t.like(readCommitsAll(installation, [], [50, 1])[0], { type: 'send-install', clock: 71 });
});

test('installer: the install clock is above every database\'s largest stored version', (t) => {
  const installation = started();
  stopAll(installation, [10, 20]);
  installation.handle({ type: 'commits-read', database: 1, records: [], maxVersion: [40, 2] });
  installation.handle({ type: 'commits-read', database: 2, records: [], maxVersion: [90, 1] });
  t.like(installation.handle({ type: 'commits-read', database: 3, records: [], maxVersion: [60, 3] })[0], { type: 'send-install', clock: 91 });
});

test('installer: the install clock is above every entry version read', (t) => {
  const installation = started();
  stopAll(installation, [10, 20]);
  readCommitsAll(installation, [[record([15, 3], ['x'])]], [15, 3]);
  readEntriesAll(installation, [[], [{ key: 'x', version: [120, 3], value: 1 }]]);
  all(installation, 'recovered');
  t.like(all(installation, 'dropped')[0], { type: 'send-install', clock: 121 });
});

test('installer: done once every member installed, with the view, the install clock and how many transactions were recovered', (t) => {
  const installation = recovering();
  all(installation, 'recovered');
  all(installation, 'dropped');
  t.deepEqual(installation.handle({ type: 'installed', member: 1 }), []);
  t.deepEqual(installation.handle({ type: 'installed', member: 1 }), [], 'repeated');
  t.deepEqual(installation.handle({ type: 'installed', member: 2 }), [{ type: 'done', view: VIEW, clock: 31, recovered: 1 }]);
  t.is(installation.phase, 'done');
});

test('installer: done reports no recovered transaction when there were no records', (t) => {
  const installation = started();
  stopAll(installation);
  readCommitsAll(installation);
  t.deepEqual(installAll(installation), [{ type: 'done', view: VIEW, clock: 21, recovered: 0 }]);
});

test('installer: once done, answers and resends do nothing', (t) => {
  const installation = started();
  stopAll(installation);
  readCommitsAll(installation);
  installAll(installation);
  t.deepEqual(installation.handle({ type: 'resend' }), []);
  t.deepEqual(installation.handle({ type: 'installed', member: 1 }), []);
  t.deepEqual(installation.handle({ type: 'stopped', member: 1, clock: 5 }), []);
});

test('installer: a resend before the start asks nobody', (t) => {
  t.deepEqual(new Installation(VIEW).handle({ type: 'resend' }), []);
});

test('installer: a resend asks again only whoever has not answered the step running now', (t) => {
  const installation = started();
  t.deepEqual(installation.handle({ type: 'resend' }), [{ type: 'send-stop', to: MEMBERS, view: VIEW }]);
  installation.handle({ type: 'stopped', member: 2, clock: 20 });
  t.deepEqual(installation.handle({ type: 'resend' }), [{ type: 'send-stop', to: [1], view: VIEW }]);
  installation.handle({ type: 'stopped', member: 1, clock: 10 });

  installation.handle({ type: 'commits-read', database: 2, records: [record([30, 3], ['x'])], maxVersion: [30, 3] });
  t.deepEqual(installation.handle({ type: 'resend' }), [{ type: 'read-commits', from: [1, 3], members: [ONE, TWO] }], 'the members who answered the stop are not counted for this step');
  installation.handle({ type: 'commits-read', database: 1, records: [], maxVersion: NONE });
  installation.handle({ type: 'commits-read', database: 3, records: [], maxVersion: NONE });

  installation.handle({ type: 'entries-read', database: 1, entries: [{ key: 'x', version: [30, 3], value: 1 }] });
  t.deepEqual(installation.handle({ type: 'resend' }), [{ type: 'read-entries', from: [2, 3], keys: ['x'] }]);
  installation.handle({ type: 'entries-read', database: 2, entries: [] });
  installation.handle({ type: 'entries-read', database: 3, entries: [] });

  installation.handle({ type: 'recovered', database: 3 });
  t.deepEqual(installation.handle({ type: 'resend' }), [{ type: 'recover', to: [1, 2], entries: [{ key: 'x', version: [30, 3], value: 1 }] }]);
  installation.handle({ type: 'recovered', database: 1 });
  installation.handle({ type: 'recovered', database: 2 });

  t.deepEqual(installation.handle({ type: 'resend' }), [{ type: 'drop', to: DATABASES, records: [[30, 3]] }]);
  installation.handle({ type: 'dropped', database: 1 });
  installation.handle({ type: 'dropped', database: 2 });
  installation.handle({ type: 'dropped', database: 3 });

  installation.handle({ type: 'installed', member: 1 });
  t.deepEqual(installation.handle({ type: 'resend' }), [{ type: 'send-install', to: [2], view: VIEW, clock: 31 }]);
});

test('installer: a view without members stops nobody, still recovers every record, and is done without any INSTALL', (t) => {
  const empty: View = { epoch: 6, members: [], replicas: [1, 2], joining: [] };
  const installation = new Installation(empty);
  t.deepEqual(installation.start(), [{ type: 'announce', to: [1, 2], view: empty }]);
  installation.handle({ type: 'announced', database: 1 });
  t.deepEqual(installation.handle({ type: 'announced', database: 2 }), [{ type: 'read-commits', from: [1, 2], members: [] }], 'straight to the records');
  installation.handle({ type: 'commits-read', database: 1, records: [record([30, 1], ['x'], ONE)], maxVersion: [30, 1] });
  t.deepEqual(installation.handle({ type: 'commits-read', database: 2, records: [], maxVersion: [12, 2] }), [{ type: 'read-entries', from: [1, 2], keys: ['x'] }]);
  installation.handle({ type: 'entries-read', database: 1, entries: [{ key: 'x', version: [30, 1], value: 7 }] });
  t.deepEqual(installation.handle({ type: 'entries-read', database: 2, entries: [{ key: 'x', version: [3, 2], value: 6 }] }), [{ type: 'recover', to: [1, 2], entries: [{ key: 'x', version: [30, 1], value: 7 }] }]);
  installation.handle({ type: 'recovered', database: 1 });
  installation.handle({ type: 'recovered', database: 2 });
  installation.handle({ type: 'dropped', database: 2 });
  t.deepEqual(installation.handle({ type: 'dropped', database: 1 }), [{ type: 'done', view: empty, clock: 31, recovered: 1 }]);
  t.is(installation.phase, 'done');
});

test('installer: a view without members and without records is done as soon as the records are read', (t) => {
  const empty: View = { epoch: 6, members: [], replicas: [1], joining: [2] };
  const installation = started(empty);
  installation.handle({ type: 'commits-read', database: 2, records: [], maxVersion: [8, 1] });
  t.deepEqual(installation.handle({ type: 'commits-read', database: 1, records: [], maxVersion: [9, 1] }), [{ type: 'done', view: empty, clock: 10, recovered: 0 }]);
});
