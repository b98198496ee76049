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
  /**
   * The first transaction this middleware decides that writes: just before its APPLYs are handed
   * to the databases, the process stops itself (SIGSTOP). Continued (SIGCONT), it sends them in
   * the name of the life that decided it: an APPLY delayed past the view that removed its
   * coordinator, which fencing must refuse.
   */
  pauseBeforeFirstApply?: boolean;
  /**
   * The APPLYs of the first transaction this middleware decides that writes are never sent (the
   * process runs on): a decided write that stays unfinished, which votes must not let others
   * depend on (the vote wait; see skip-finished-wait).
   */
  holdFirstApply?: boolean;
  /** A joining database is marked transfer-complete without a copy: it is promoted with only the APPLYs since it joined. */
  skipTransfer?: boolean;
  /** A database that returns is taken straight into the replicas, its store as it was: a stale store admitted as in sync. */
  admitReturningInSync?: boolean;
  /** Installations recover removed coordinators' transactions on the replicas only, leaving the joining databases out. */
  recoverReplicasOnly?: boolean;
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
  'pause-before-first-apply': 'pauseBeforeFirstApply',
  'hold-first-apply': 'holdFirstApply',
  'skip-transfer': 'skipTransfer',
  'admit-returning-in-sync': 'admitReturningInSync',
  'recover-replicas-only': 'recoverReplicasOnly',
};
