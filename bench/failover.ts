// How long a cluster stops committing when one middleware dies or pauses: a local 3x3 cluster
// under the bank workload (closed-loop clients spread over the middlewares, moving to another
// one when theirs fails), one fault at a set moment, and the commit timeline around it.
//
//   node dist/bench/failover.js [--fault kill|stop|none] [--target 2] [--clients 16]
//                               [--before 5] [--after 10] [--pause 4] [--strategy occ] [--dir D]
//
// Prints the commits per second before the fault, the longest stretch with no commit after it,
// the time until the rate is back at half of what it was, what the logs say (suspicions, views
// installed, transactions recovered), and checks the bank total and that the replicas agree.
// `--fault none` runs the same load with no fault: any suspicion it reports is a healthy node
// suspected under load (a false positive of the failure detector).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { OccdbClient } from '../client/client.js';
import { clusterFilePath, readClusterFile, type Strategy } from '../cluster/cluster-file.js';
import type { Output } from '../startup/output.js';
import { runStartup } from '../startup/startup.js';
import { stopCluster } from '../startup/stop.js';
import { verifyReplicas } from '../startup/verify.js';
import { BANK_ACCOUNT_COUNT, BANK_BALANCE_INITIAL, bankTransferText, bankWorkload } from './workloads.js';
import { seededRandom } from './random.js';

const BUCKET_MS = 100;
const TRANSACTION_TIMEOUT_MS = 30_000;

const quiet: Output = { line: () => {}, problem: (text: string) => process.stderr.write(`${text}\n`) };

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      fault: { type: 'string', default: 'kill' },
      target: { type: 'string', default: '2' },
      clients: { type: 'string', default: '16' },
      before: { type: 'string', default: '5' },
      after: { type: 'string', default: '10' },
      pause: { type: 'string', default: '4' },
      strategy: { type: 'string', default: 'occ' },
      dir: { type: 'string' },
    },
  });
  const fault = values.fault!;
  if (!['kill', 'stop', 'none'].includes(fault)) throw new Error(`--fault is kill, stop or none, not ${fault}`);
  const target = Number(values.target);
  const clients = Number(values.clients);
  const beforeMs = Number(values.before) * 1000;
  const afterMs = Number(values.after) * 1000;
  const pauseMs = Number(values.pause) * 1000;
  const dir = values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-failover-'));
  const layout = { middlewareHosts: ['127.0.0.1', '127.0.0.1', '127.0.0.1'], databaseHosts: ['127.0.0.1', '127.0.0.1', '127.0.0.1'] };
  if (!(await runStartup({ layout, dir, strategy: values.strategy as Strategy, logLevel: 'info', tcpOnly: false, scheduling: 'batch' }, quiet))) throw new Error('the cluster did not start');
  const clusterFile = clusterFilePath(dir);
  const cluster = readClusterFile(clusterFile);
  const connections = Array.from({ length: clients }, (_, index) => OccdbClient.connect(`MIDDLEWARE${(index % 3) + 1}`, { clusterFile }));
  try {
    for (const text of bankWorkload().setupTransactions()) await connections[0]!.run(text, { timeoutMs: TRANSACTION_TIMEOUT_MS });
    const targetPid = (await connections[target - 1]!.status()).pid;

    const startMs = performance.now();
    const commitsAtMs: number[] = [];
    const failures = new Map<string, number>();
    let stopping = false;
    const loops = connections.map(async (client, index) => {
      const random = seededRandom(1000 + index);
      while (!stopping) {
        try {
          const result = await client.run(bankTransferText(random), { timeoutMs: TRANSACTION_TIMEOUT_MS });
          if (result.outcome === 'committed') commitsAtMs.push(performance.now() - startMs);
          else failures.set(result.error?.code ?? result.outcome, (failures.get(result.error?.code ?? result.outcome) ?? 0) + 1);
        } catch (error) {
          failures.set((error as { code?: string }).code ?? 'error', (failures.get((error as { code?: string }).code ?? 'error') ?? 0) + 1);
          await delay(50);
        }
      }
    });

    await delay(beforeMs);
    const faultAtMs = performance.now() - startMs;
    if (fault === 'kill') process.kill(targetPid, 'SIGKILL');
    if (fault === 'stop') {
      process.kill(targetPid, 'SIGSTOP');
      setTimeout(() => process.kill(targetPid, 'SIGCONT'), pauseMs).unref();
    }
    await delay(afterMs);
    stopping = true;
    await Promise.all(loops);

    const report = timeline(commitsAtMs, faultAtMs);
    const logs = cluster.middlewares.map((middleware) => readLog(path.join(middleware.dir, 'middleware.log')));
    const suspicions = logs.reduce((sum, log) => sum + (log.match(/ suspecting /g)?.length ?? 0), 0);
    const installs = logs.reduce((sum, log) => sum + (log.match(/installation of view \d+ finished/g)?.length ?? 0), 0);
    const recovered = logs.reduce((sum, log) => sum + [...log.matchAll(/finished in \d+ ms: (\d+) transactions/g)].reduce((s, m) => s + Number(m[1]), 0), 0);
    const total = await bankTotal(connections.find((_, index) => index + 1 !== target)!);
    const verify = await verifyReplicas(cluster);
    const lines = [
      `fault: ${fault}${fault === 'none' ? '' : ` MIDDLEWARE${target} at ${(faultAtMs / 1000).toFixed(1)} s${fault === 'stop' ? ` for ${pauseMs / 1000} s` : ''}`}; ${clients} bank clients; ${values.strategy}`,
      `commits/s before: ${report.rateBefore.toFixed(0)}; after (last 3 s): ${report.rateEnd.toFixed(0)}`,
      `longest stretch without a commit after the fault: ${report.longestGapMs} ms`,
      `back at half the rate after: ${report.resumedAfterMs === null ? 'never' : `${report.resumedAfterMs} ms`}`,
      `suspicions logged: ${suspicions}; installations finished: ${installs}; transactions recovered: ${recovered}`,
      `not committed: ${[...failures].map(([code, count]) => `${code} ${count}`).join(', ') || 'none'}`,
      `bank total: ${total} (expected ${BANK_ACCOUNT_COUNT * BANK_BALANCE_INITIAL}); replicas: ${verify.differenceCount === 0 ? `identical (${verify.keys} keys)` : `${verify.differenceCount} keys differ`}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n${JSON.stringify({ fault, target, clients, ...report, suspicions, installs, recovered, total, differences: verify.differenceCount })}\n`);
    if (total !== BANK_ACCOUNT_COUNT * BANK_BALANCE_INITIAL || verify.differenceCount > 0) process.exitCode = 1;
  } finally {
    for (const connection of connections) connection.close();
    await stopCluster(clusterFile, quiet);
  }
}

/** Commit rate before the fault, the longest stretch without a commit after it, and when half the rate was back. */
function timeline(commitsAtMs: readonly number[], faultAtMs: number): { rateBefore: number; rateEnd: number; longestGapMs: number; resumedAfterMs: number | null } {
  const sorted = [...commitsAtMs].sort((a, b) => a - b);
  const warmMs = 1_000;
  const rateBefore = sorted.filter((at) => at >= warmMs && at < faultAtMs).length / ((faultAtMs - warmMs) / 1000);
  const endMs = sorted.at(-1) ?? faultAtMs;
  const rateEnd = sorted.filter((at) => at >= endMs - 3_000).length / 3;
  let longestGapMs = 0;
  let previous = faultAtMs;
  for (const at of sorted.filter((at) => at >= faultAtMs)) {
    longestGapMs = Math.max(longestGapMs, at - previous);
    previous = at;
  }
  // The first half-second window after the fault whose rate is at least half the rate before.
  let resumedAfterMs: number | null = null;
  const windowMs = 500;
  for (let from = faultAtMs; from + windowMs <= endMs; from += BUCKET_MS) {
    const inWindow = sorted.filter((at) => at >= from && at < from + windowMs).length;
    if (inWindow / (windowMs / 1000) >= rateBefore / 2 && from > faultAtMs + BUCKET_MS) {
      resumedAfterMs = Math.round(from - faultAtMs);
      break;
    }
  }
  return { rateBefore, rateEnd, longestGapMs: Math.round(longestGapMs), resumedAfterMs };
}

async function bankTotal(client: OccdbClient): Promise<number> {
  let total = 0;
  for (const text of bankWorkload().readBackTransactions()) {
    const result = await client.run(text, { timeoutMs: TRANSACTION_TIMEOUT_MS });
    for (const line of result.results) if (line.kind === 'print') total += Number(line.value);
  }
  return total;
}

function readLog(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

main().catch((error: Error) => {
  process.stderr.write(`failover benchmark: ${error.message}\n`);
  process.exit(1);
});
