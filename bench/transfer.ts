// How fast a returning database is brought up to date: a local cluster of one middleware and
// three databases is loaded with --keys entries, DATABASE3 is killed (kill -9), removed from the
// view, restarted on its directory, and then cleared, brought up to date by a state transfer
// from a replica, and promoted. The middleware's log gives the transfer (entries, records and
// milliseconds); the status gives the moment it is a replica again.
//
//   node dist/bench/transfer.js [--keys 1000000] [--value-bytes 12] [--dir D] [--keep]
//
// Prints the load time, the transfer's entries per second and megabytes per second (keys and
// values as JSON text), the time from the restart until the database is a replica again, and
// checks that the replicas agree afterwards (occdb verify's rule). The cluster directory is
// removed at the end unless --keep is given.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { OccdbClient } from '../client/client.js';
import { clusterFilePath, databaseEndpoint, readClusterFile } from '../cluster/cluster-file.js';
import { Connection } from '../protocol/connection.js';
import type { Output } from '../startup/output.js';
import { startNode } from '../startup/start.js';
import { runStartup } from '../startup/startup.js';
import { stopCluster } from '../startup/stop.js';
import { verifyReplicas } from '../startup/verify.js';

/** Blind writes per loading transaction (the command limit is 10,000). */
const LOAD_WRITES_PER_TRANSACTION = 5_000;
const TRANSACTION_TIMEOUT_MS = 120_000;
/** How long the database may take to be a replica again before the run gives up. */
const BACK_IN_SYNC_TIMEOUT_MS = 600_000;
const POLL_MS = 50;

const quiet: Output = { line: () => {}, problem: (text: string) => process.stderr.write(`${text}\n`) };

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      keys: { type: 'string', default: '1000000' },
      'value-bytes': { type: 'string', default: '12' },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const keyCount = Number(values.keys);
  const valueBytes = Number(values['value-bytes']);
  if (!Number.isSafeInteger(keyCount) || keyCount < 1) throw new Error(`--keys is a positive integer, not ${values.keys}`);
  if (!Number.isSafeInteger(valueBytes) || valueBytes < 1 || valueBytes > 15) throw new Error(`--value-bytes is 1 to 15 (an integer of that many digits), not ${values['value-bytes']}`);
  const dir = values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-transfer-'));
  const layout = { middlewareHosts: ['127.0.0.1'], databaseHosts: ['127.0.0.1', '127.0.0.1', '127.0.0.1'] };
  if (!(await runStartup({ layout, dir, strategy: 'occ', logLevel: 'info', tcpOnly: false, scheduling: 'batch' }, quiet))) throw new Error('the cluster did not start');
  const clusterFile = clusterFilePath(dir);
  const cluster = readClusterFile(clusterFile);
  const client = OccdbClient.connect('MIDDLEWARE1', { clusterFile, failover: false });
  try {
    const loadStartMs = performance.now();
    const value = '9'.repeat(valueBytes);
    for (let first = 0; first < keyCount; first += LOAD_WRITES_PER_TRANSACTION) {
      const last = Math.min(keyCount, first + LOAD_WRITES_PER_TRANSACTION);
      const lines: string[] = [];
      for (let index = first; index < last; index++) lines.push(`ASSIGN key${String(index).padStart(7, '0')} ${value}`);
      const result = await client.run(`${lines.join('\n')}\n`, { timeoutMs: TRANSACTION_TIMEOUT_MS });
      if (result.outcome !== 'committed') throw new Error(`loading keys ${first}..${last - 1}: ${JSON.stringify(result.error ?? result.outcome)}`);
    }
    const loadMs = performance.now() - loadStartMs;
    console.log(`loaded ${keyCount} keys (values of ${valueBytes} digits) in ${(loadMs / 1000).toFixed(1)} s`);

    const victim = cluster.databases.find((database) => database.id === 3)!;
    const statusOf = async (): Promise<{ replicas: number[]; joining: number[] } | undefined> => (await client.status().catch(() => undefined))?.view ?? undefined;
    const connection = new Connection(databaseEndpoint(victim), 'DATABASE3');
    const { pid } = await connection.request({ type: 'status' }, 10_000).finally(() => connection.close());
    process.kill(pid, 'SIGKILL');
    await waitUntil('a view without DATABASE3', async () => {
      const view = await statusOf();
      return view !== undefined && !view.replicas.includes(3) && !view.joining.includes(3);
    }, 30_000);
    const logBefore = middlewareLog(cluster.middlewares[0]!.dir).length;
    const restartMs = performance.now();
    if (!(await startNode(clusterFile, 'DATABASE3', 'info', quiet))) throw new Error('DATABASE3 did not restart');
    await waitUntil('DATABASE3 a replica again', async () => (await statusOf())?.replicas.includes(3) === true, BACK_IN_SYNC_TIMEOUT_MS);
    const backMs = performance.now() - restartMs;
    const log = middlewareLog(cluster.middlewares[0]!.dir).slice(logBefore);
    const done = /state transfer from DATABASE(\d+) to DATABASE3 complete: (\d+) entries and (\d+) records in (\d+) ms/.exec(log);
    if (!done) throw new Error(`the middleware's log does not report the transfer:\n${log.split('\n').filter((line) => /transfer|DATABASE3/.test(line)).slice(-10).join('\n')}`);
    const [, source, entries, records, ms] = done;
    const transferMs = Number(ms);
    // Bytes as the entries travel (JSON text of key, version and value), approximately.
    const bytesPerEntry = JSON.stringify({ key: 'key0000000', version: [1_000_000, 1], value: Number(value) }).length;
    const megabytes = (Number(entries) * bytesPerEntry) / 1e6;
    console.log(`state transfer from DATABASE${source}: ${entries} entries and ${records} records in ${(transferMs / 1000).toFixed(2)} s: ${Math.round(Number(entries) / (transferMs / 1000))} entries/s, ${(megabytes / (transferMs / 1000)).toFixed(1)} MB/s (about ${bytesPerEntry} bytes per entry as JSON)`);
    console.log(`DATABASE3 a replica again ${(backMs / 1000).toFixed(2)} s after its restart`);
    const verdict = await verifyReplicas(cluster);
    console.log(verdict.differences.length === 0 ? 'replicas identical' : `REPLICAS DIFFER: ${verdict.differences.slice(0, 5).join('; ')}`);
    if (verdict.differences.length > 0) process.exitCode = 1;
  } finally {
    client.close();
    await stopCluster(clusterFile, quiet).catch(() => undefined);
    if (!values.keep && !values.dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

function middlewareLog(dir: string): string {
  try {
    return fs.readFileSync(path.join(dir, 'middleware.log'), 'utf8');
  } catch {
    return '';
  }
}

async function waitUntil(what: string, condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadlineMs = performance.now() + timeoutMs;
  while (performance.now() < deadlineMs) {
    if (await condition()) return;
    await delay(POLL_MS);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:transfer: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
