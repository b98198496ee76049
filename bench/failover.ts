// How long a cluster stops committing when one middleware dies or pauses: the nemesis
// (bench/nemesis-run.ts) with one fault on one middleware, reported as this benchmark always
// has: the commits per second before the fault, the longest stretch with no commit after it,
// the time until the rate is back at half of what it was, what the logs say (suspicions, views
// installed, transactions recovered), and the bank and replica checks.
//
//   node dist/bench/failover.js [--fault kill|stop|none] [--target 2] [--clients 16]
//                               [--before 5] [--after 10] [--pause 4] [--strategy occ] [--dir D]
//
// A killed middleware is restarted only after the `--after` window, which is what is measured.
// `--fault none` runs the same load with no fault: any suspicion it reports is a healthy node
// suspected under load (a false positive of the failure detector).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Strategy } from '../cluster/cluster-file.js';
import { checksPassed, commitRecovery, type FaultKind } from './nemesis-report.js';
import { runNemesis } from './nemesis-run.js';

const RATE_WINDOW_MS = 3_000;
const GAP_MS = 250;

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
  const target = `MIDDLEWARE${Number(values.target)}`;
  const clients = Number(values.clients);
  const afterMs = Number(values.after) * 1000;
  const pauseMs = Math.min(Number(values.pause) * 1000, afterMs);
  const kind: FaultKind = fault === 'stop' ? 'pause' : fault === 'kill' ? 'kill' : 'none';
  const dir = values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-failover-'));
  const holdMs = kind === 'pause' ? pauseMs : afterMs;
  const result = await runNemesis({
    steps: [{ kind, target }],
    strategy: values.strategy as Strategy,
    middlewares: 3,
    databases: 3,
    clients,
    accounts: 100,
    warmupMs: Number(values.before) * 1000,
    holdMs,
    recoveryMs: 20_000,
    settleMs: Math.max(0, afterMs - holdMs),
    gapMs: GAP_MS,
    namespaces: false,
    dir,
    seed: 1,
    transferTimeoutMs: 30_000,
  }, () => {});
  if (values.dir === undefined && result.stopProblems.length === 0) fs.rmSync(dir, { recursive: true, force: true });
  const record = result.records[0]!;
  // The window this benchmark has always measured: `--after` seconds from the fault.
  const report = commitRecovery(result.commitTimesMs, record.injectMs, record.injectMs + afterMs, GAP_MS, RATE_WINDOW_MS);
  const checks = record.checks;
  const notCommitted = [...(record.unknown > 0 ? [`unknown ${record.unknown}`] : []), ...Object.entries(record.abortCodes).map(([code, count]) => `${code} ${count}`)];
  const lines = [
    `fault: ${fault}${fault === 'none' ? '' : ` ${target} at ${(record.injectMs / 1000).toFixed(1)} s${fault === 'stop' ? ` for ${pauseMs / 1000} s` : ''}`}; ${clients} bank clients; ${values.strategy}`,
    `commits/s before: ${report.rateBeforePerSecond.toFixed(0)}; after (last 3 s): ${report.rateEndPerSecond.toFixed(0)}`,
    `longest stretch without a commit after the fault: ${report.longestGapMs} ms`,
    `back at half the rate after: ${report.halfRateAfterMs === null ? 'never' : `${report.halfRateAfterMs} ms`}`,
    `suspicions logged: ${record.suspicions}; installations finished: ${record.viewsInstalled}; transactions recovered: ${record.transactionsRecovered}`,
    `not committed: ${notCommitted.join(', ') || 'none'}`,
    `bank total: ${checks.totalRead ?? 'not read'} (expected ${checks.totalExpected}); acknowledged transfers: ${checks.lostAcknowledged === 0 ? 'none lost' : `${checks.lostAcknowledged} lost`}; replicas: ${checks.replicasIdentical ? 'identical' : 'differ'}`,
    ...checks.bankProblems,
    ...checks.verifyDifferences,
  ];
  const json = {
    fault,
    target: Number(values.target),
    clients,
    rateBefore: report.rateBeforePerSecond,
    rateEnd: report.rateEndPerSecond,
    longestGapMs: report.longestGapMs,
    resumedAfterMs: report.halfRateAfterMs,
    suspicions: record.suspicions,
    installs: record.viewsInstalled,
    recovered: record.transactionsRecovered,
    total: checks.totalRead,
    lost: checks.lostAcknowledged,
    replicasIdentical: checks.replicasIdentical,
  };
  process.stdout.write(`${lines.join('\n')}\n${JSON.stringify(json)}\n`);
  if (!checksPassed(checks)) process.exitCode = 1;
}

main().catch((error: Error) => {
  process.stderr.write(`failover benchmark: ${error.message}\n`);
  process.exit(1);
});
