// Test hooks that break a middleware on purpose, so the tests can show their checks catch what
// each mechanism prevents. The core's own (occ/node.ts Faults) plus the shell's.
import type { Faults } from '../occ/node.js';

export interface MiddlewareFaults extends Faults {
  /** View installations skip recovery: removed coordinators' half-applied transactions stay half-applied. */
  skipRecovery?: boolean;
  /**
   * The first transaction this middleware decides is applied to its first database only, and
   * then the process kills itself (SIGKILL): a coordinator dead between two of its APPLYs.
   */
  crashAfterFirstApply?: boolean;
}

/** The `--fault` names, as the command line takes them. */
export const FAULT_NAMES: Record<string, keyof MiddlewareFaults> = {
  'skip-voting-rule': 'skipVotingRule',
  'skip-version-check': 'skipVersionCheck',
  'skip-finished-writes': 'skipFinishedWrites',
  'skip-finished-wait': 'skipFinishedWait',
  'skip-read-confirmation': 'skipReadConfirmation',
  'skip-recovery': 'skipRecovery',
  'crash-after-first-apply': 'crashAfterFirstApply',
};
