// A real DATABASE process killed with SIGKILL: an acknowledged APPLY survives the crash, and
// an APPLY interrupted by it is either wholly there or wholly absent after restart.
import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { databaseEndpoint } from '../cluster/cluster-file.js';
import { Connection, type Endpoint } from '../protocol/connection.js';
import { TEST_FROM } from './helpers/members.js';
import { killProcess, spawnOccdb, waitForExit, waitForPing, writeTestCluster } from './helpers/processes.js';

const STARTUP_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 10_000;

const temporaryRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-durability-'));
const children = new Set<ChildProcess>();

test.after.always(async () => {
  for (const child of children) await killProcess(child, 'SIGKILL');
  fs.rmSync(temporaryRoot, { recursive: true, force: true });
});

async function startDatabase(clusterFile: string, endpoint: Endpoint): Promise<ChildProcess> {
  const child = spawnOccdb(['database', '1', '--cluster', clusterFile]);
  children.add(child);
  await waitForPing(endpoint, STARTUP_TIMEOUT_MS, child);
  return child;
}

async function crash(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  const exit = await waitForExit(child, EXIT_TIMEOUT_MS);
  if (!exit) throw new Error(`DATABASE1 (pid ${child.pid}) did not die on SIGKILL`);
  children.delete(child);
}

test('an APPLY acknowledged just before SIGKILL is there after restart', async (t) => {
  const { file, cluster } = await writeTestCluster(path.join(temporaryRoot, 'acked'), { middlewares: 1, databases: 1 });
  const endpoint = databaseEndpoint(cluster.databases[0]!);
  // Several rounds: each writes a new value and deletes the previous round's key, then crashes on the ack.
  for (let round = 1; round <= 3; round++) {
    const child = await startDatabase(file, endpoint);
    const connection = new Connection(endpoint);
    try {
      const writes = [{ key: 'counter', value: round }, { key: `round${round}`, value: 'here' }, { key: `round${round - 1}` }];
      const acknowledged = await connection.request({ type: 'db.apply', from: TEST_FROM, ts: [round, 1], writes });
      child.kill('SIGKILL'); // The very moment the ack arrived.
      t.is(acknowledged.written, 3);
      await crash(child);
    } finally {
      connection.close();
    }
  }
  await startDatabase(file, endpoint);
  const connection = new Connection(endpoint);
  try {
    const { entries } = await connection.request({ type: 'db.read', keys: ['counter', 'round3', 'round2', 'round1'] });
    t.deepEqual(entries, [
      { version: [3, 1], value: 3 },
      { version: [3, 1], value: 'here' },
      { version: [3, 1] },
      { version: [2, 1] },
    ]);
  } finally {
    connection.close();
  }
});

test('multi-key APPLYs interrupted by SIGKILL leave every key at the same version', async (t) => {
  const { file, cluster } = await writeTestCluster(path.join(temporaryRoot, 'atomic'), { middlewares: 1, databases: 1 });
  const endpoint = databaseEndpoint(cluster.databases[0]!);
  const keys = Array.from({ length: 10 }, (_, index) => `k${index}`);
  const appliesMax = 5_000;
  const killAfterAcks = 40;
  // Several APPLYs in flight keep the database busy, so the kill lands inside some batch.
  const windowSize = 8;

  const child = await startDatabase(file, endpoint);
  const connection = new Connection(endpoint);
  let ackCount = 0;
  let lastAckedCounter = 0;
  let lastSentCounter = 0;
  let failuresBeforeKill = 0;
  let killed = false;
  const inFlight = new Set<Promise<void>>();
  try {
    for (let counter = 1; counter <= appliesMax && !killed; counter++) {
      const writes = keys.map((key) => ({ key, value: counter }));
      lastSentCounter = counter;
      const request: Promise<void> = connection.request({ type: 'db.apply', from: TEST_FROM, ts: [counter, 1], writes }).then(
        () => {
          ackCount += 1;
          lastAckedCounter = Math.max(lastAckedCounter, counter);
          if (ackCount >= killAfterAcks && !killed) {
            killed = true;
            child.kill('SIGKILL');
          }
        },
        () => {
          if (!killed) failuresBeforeKill += 1; // After the kill, losing the connection is expected.
        },
      );
      inFlight.add(request);
      void request.then(() => inFlight.delete(request));
      if (inFlight.size >= windowSize) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    connection.close();
  }
  t.true(killed, 'the database was killed while APPLYs were in flight');
  t.is(failuresBeforeKill, 0);
  await crash(child);

  await startDatabase(file, endpoint);
  const reader = new Connection(endpoint);
  try {
    const { entries } = await reader.request({ type: 'db.read', keys });
    const survivor = entries[0]!;
    t.log(`acknowledged up to ${lastAckedCounter}, sent up to ${lastSentCounter}, found ${JSON.stringify(survivor)}`);
    for (const entry of entries) t.deepEqual(entry, survivor, 'all ten keys have the same version and value');
    t.deepEqual(survivor.version, [survivor.value, 1], 'the value is the one written with that version');
    t.true((survivor.value as number) >= lastAckedCounter, 'no acknowledged APPLY was lost');
    t.true((survivor.value as number) <= lastSentCounter);
  } finally {
    reader.close();
  }
});
