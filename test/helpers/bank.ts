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
