// The bank workload of the failure tests on real processes lives in bench/bank-markers.ts, which
// the nemesis benchmark shares; this file re-exports it with the waiting helpers the tests use.
export {
  BANK_DEFAULTS,
  BankWorkload,
  account,
  checkBank,
  outcomeOf,
  replicaValues,
  runTransfer,
  setupBank,
  transferText,
  verifyClean,
  type BankOptions,
  type BankVerdict,
  type Transfer,
  type TransferOutcome,
  type WorkloadOptions,
} from '../../bench/bank-markers.js';

import type { BankWorkload as Workload } from '../../bench/bank-markers.js';

/** Runs the workload until it has 50 commits and 1.5 s have passed (20 s at most): going before a fault. */
export async function warmUp(workload: Workload): Promise<void> {
  const startMs = performance.now();
  if (!(await workload.runUntil({ sinceMs: 0, count: 50, minimumUntilMs: startMs + 1_500, timeoutMs: 20_000 }))) {
    throw new Error(`the workload did not get going before the fault: ${workload.summary()}`);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 100 ms until it holds; throws after `timeoutMs` naming `what`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadlineMs = performance.now() + timeoutMs;
  while (performance.now() < deadlineMs) {
    if (await condition()) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
