// Waiting for a started process to become healthy, and showing why one did not.
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Connection } from '../protocol/connection.js';
import { STDOUT_LOG_NAME, type Launcher } from './launcher.js';
import { type ClusterNode, logFile } from './nodes.js';

/** How long startup and start wait for one process to answer. */
export const HEALTH_WAIT_MS_DEFAULT = 30_000;
const HEALTH_POLL_INTERVAL_MS = 100;
const STATUS_TIMEOUT_MS = 2_000;
export const LOG_TAIL_LINES = 20;

export type Health = { healthy: true } | { healthy: false; reason: string };

/**
 * Polls the process with `status` until it answers as itself (same role, id and pid: a
 * port answered by some other process does not count), it exits, or `waitMs` passes.
 */
export async function waitUntilHealthy(node: ClusterNode, pid: number, launcher: Launcher, waitMs = HEALTH_WAIT_MS_DEFAULT): Promise<Health> {
  const deadline = Date.now() + waitMs;
  const attemptsMax = Math.ceil(waitMs / HEALTH_POLL_INTERVAL_MS) + 1;
  const connection = new Connection(node.endpoint, node.name);
  let lastProblem = 'it never answered';
  try {
    for (let attempt = 0; attempt < attemptsMax && Date.now() < deadline; attempt += 1) {
      if (!(await launcher.isAlive(pid))) return { healthy: false, reason: 'it exited' };
      try {
        const status = await connection.request({ type: 'status' }, STATUS_TIMEOUT_MS);
        if (status.role === node.role && status.id === node.id && status.pid === pid) return { healthy: true };
        lastProblem = `port ${node.endpoint.port} is answered by another process (${status.role.toUpperCase()}${status.id}, pid ${status.pid})`;
      } catch (error) {
        lastProblem = (error as Error).message;
      }
      await delay(HEALTH_POLL_INTERVAL_MS);
    }
    return { healthy: false, reason: `it was not healthy within ${Math.round(waitMs / 1000)} s: ${lastProblem}` };
  } finally {
    connection.close();
  }
}

/** The last lines of the process's log and of its stdout.log, headed by their file names. */
export async function logTails(node: ClusterNode, launcher: Launcher, lines = LOG_TAIL_LINES): Promise<string[]> {
  const report: string[] = [];
  for (const file of [logFile(node), path.join(node.dir, STDOUT_LOG_NAME)]) {
    const tail = await launcher.readLogTail(file, lines);
    report.push(tail.length === 0 ? `---- ${file}: empty or missing` : `---- last ${tail.length} lines of ${file}`);
    report.push(...tail);
  }
  return report;
}
