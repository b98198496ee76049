// A seeded, deterministic simulation of strict two-phase locking: several TwoPhaseLockingNode
// cores (unchanged from production), in-memory replicas running the database's production
// rules (replica.ts: the Thomas rule and group plan, the read rules), closed-loop clients
// with random read/write plans, and a fake network that delays, reorders and drops messages,
// all in the simulated world both simulators share (world.ts). Lost messages are handled as
// the real engine handles them: a lock request that is not answered in time makes its home
// unavailable, a release is retried a bounded number of times, a read fails over to the next
// replica, an APPLY is re-sent until acknowledged. Views are installed as the view keeper
// installs them (every member stops, each answers once its decided transactions are finished,
// then every member installs), without the Paxos, with STOP, its answer and INSTALL as delayed
// messages that are never lost (the installer sends them again until answered): view 1 of every
// middleware at the start, and with leaveAndReturn a view without each leaver and one with its
// new life, so members install at different times and requests cross epochs. It
// records what every client saw, for the history checker, and checks the lock invariant after
// every event, across homes and epochs.
import { TwoPhaseLockingNode, type LockRequest, type TwoPhaseLockingEffect, type TwoPhaseLockingEvent, type TwoPhaseLockingFaults } from '../../twopl/node.js';
import type { DeadlockPolicy, LockMode } from '../../twopl/lock-table.js';
import type { Entry } from '../../protocol/schemas.js';
import { backoffMs, type TransactionLimits } from '../../transaction/retry.js';
import type { Key, TxnId, Write } from '../../transaction/types.js';
import type { Timestamp } from '../../timestamp/timestamp.js';
import type { History, TxnRecord } from '../history/checker.js';
import { randomPlan, type TransactionPlan } from './workload.js';
import { SimulatedWorld, type FinalStateFaults, type SimulatedWorldOptions } from './world.js';

export interface TwoPhaseLockingSimulationOptions extends SimulatedWorldOptions {
  policy: DeadlockPolicy;
  /** Client transactions in all (each may take several attempts). */
  transactions: number;
  /** How long a lock request may wait for its answer before its home counts as unavailable. */
  lockWaitTimeoutMs: number;
  /** How long a read, a release or an APPLY waits for its answer before it is tried again. */
  requestTimeoutMs: number;
  /** Restarts of one transaction before its client gives up on it. */
  retryCountMax: number;
  /** The block runs for 0..runMsMax virtual ms while the locks are held. */
  runMsMax: number;
  /** Share of blocks that end in ROLLBACK (their writes are never applied). */
  rollbackProbability: number;
  /**
   * Middlewares in turn leave (their own transactions finish; they stop granting and go away
   * at once, with the locks they home still held by others), a view without them is installed,
   * they stay away a while, and come back with nothing remembered, in a view with them again.
   */
  leaveAndReturn?: boolean;
  faults?: TwoPhaseLockingFaults;
}

/** The run, and what its replicas got wrong (FinalStateFaults, world.ts). */
export interface TwoPhaseLockingSimulationResult extends FinalStateFaults {
  history: History;
  committed: number;
  /** Attempts that restarted: refused by a home (die, leaving) or a home unavailable. */
  restarts: number;
  restartsByReason: Record<string, number>;
  rolledBack: number;
  /** Attempts the shell gave up on (no replica answered the read). */
  failedAttempts: number;
  /** Transactions whose client gave up after retryCountMax restarts. */
  gaveUp: number;
  messages: number;
  virtualMs: number;
  /** Leaves and returns that happened. */
  membershipChanges: number;
  /** Views installed after the first. */
  viewChanges: number;
  /** The first few times the lock invariant was broken after an event, and how often. */
  lockViolations: string[];
  lockViolationCount: number;
  /**
   * Locks held at a home by an attempt that ended longer ago than its release can take (every
   * retry included): a leak. The run stops at the first one: what follows is a cluster slowly
   * clogging up, and long to simulate.
   */
  leakedLocks: string[];
  /** Locks or attempts still there after the run went quiet, and clients that never finished. */
  leftovers: string[];
}

interface Plan extends TransactionPlan {
  locks: LockRequest[];
}

/** A client transaction across its attempts. */
interface ClientTransaction {
  client: number;
  middleware: number;
  plan: Plan;
  startTs: Timestamp | undefined;
  restarts: number;
}

/** One attempt, as the simulated shell keeps it. */
interface SimulatedAttempt {
  transaction: ClientTransaction;
  record: TxnRecord;
  entries: readonly Entry[];
}

const EVENTS_MAX = 20_000_000;
const RELEASE_ATTEMPTS_MAX = 5;
const VIOLATIONS_KEPT = 5;

export function simulateTwoPhaseLocking(options: TwoPhaseLockingSimulationOptions): TwoPhaseLockingSimulationResult {
  const world = new SimulatedWorld(options, { eventsMax: EVENTS_MAX, name: '2PL simulation' });
  // The database replicas run the production rules (replica.ts), as in the OCC simulation.
  const { random, keys, middlewareIds, replicaIds, replicas } = world;
  const newNode = (id: number, clockStart: number) => new TwoPhaseLockingNode({ id, policy: options.policy, replicas: replicaIds, clockStart, faults: options.faults });
  const nodes = new Map<number, TwoPhaseLockingNode>(middlewareIds.map((id) => [id, newNode(id, 0)]));
  /** The installed view: its epoch and members. */
  let epoch = 1;
  let members = [...middlewareIds];
  for (const node of nodes.values()) node.handle({ type: 'view-install', epoch, members, clock: 0 });
  let viewChanges = 0;
  /** A middleware's process: a message sent to an earlier one, or while it is away, is lost (its connection is gone). */
  const incarnations = new Map<number, number>(middlewareIds.map((id) => [id, 1]));
  const away = new Set<number>();
  /** Middlewares that take no new client transactions (leaving, or away). */
  const closed = new Set<number>();
  /** Client transactions running on each middleware, back-offs included. */
  const busy = new Map<number, number>(middlewareIds.map((id) => [id, 0]));

  /** A message to a middleware: lost as well when that middleware is away or restarted meanwhile. */
  const sendTo = (middleware: number, deliver: () => void): void => {
    const incarnation = incarnations.get(middleware);
    world.send(() => {
      if (away.has(middleware) || incarnations.get(middleware) !== incarnation) return;
      deliver();
    });
  };

  const transactions: TxnRecord[] = [];
  const attempts = new Map<TxnId, SimulatedAttempt>();
  /** When each ended attempt ended. */
  const endedAtMs = new Map<TxnId, number>();
  let started = 0;
  let finishedTransactions = 0;
  let committed = 0;
  let restarts = 0;
  const restartsByReason: Record<string, number> = {};
  let rolledBack = 0;
  let failedAttempts = 0;
  let gaveUp = 0;
  let nextTxid = 1;
  let nextValue = 1;
  let membershipChanges = 0;
  const limits: TransactionLimits = { retryCountMax: options.retryCountMax, backoffMsBase: 2, backoffMsMax: 250 };

  // ---- the shell: effects of a core, carried over the fake network ----
  /** `${txid}>${home}` of lock requests neither answered nor timed out. */
  const lockRequestsOpen = new Set<string>();

  const dispatch = world.dispatcher<TwoPhaseLockingEvent, TwoPhaseLockingEffect>((middleware) => nodes.get(middleware)!, (middleware, effect) => execute(middleware, effect));

  const execute = (middleware: number, effect: TwoPhaseLockingEffect): void => {
    switch (effect.type) {
      case 'send-lock-request': {
        const open = `${effect.txid}>${effect.to}`;
        lockRequestsOpen.add(open);
        sendTo(effect.to, () => dispatch(effect.to, { type: 'lock-requested', from: middleware, epoch: effect.epoch, txid: effect.txid, ts: effect.ts, locks: effect.locks }));
        world.schedule(options.lockWaitTimeoutMs, () => {
          if (!lockRequestsOpen.delete(open)) return;
          dispatch(middleware, { type: 'home-unavailable', txid: effect.txid, home: effect.to, detail: `MIDDLEWARE${effect.to} did not answer in time` });
        });
        return;
      }
      case 'lock-answered': {
        // Possibly long after the request: the grant a waiting request waited for.
        const open = `${effect.txid}>${middleware}`;
        sendTo(effect.to, () => {
          if (!lockRequestsOpen.delete(open)) return;
          dispatch(effect.to, { type: 'lock-answer-received', epoch: effect.epoch, txid: effect.txid, home: middleware, answer: effect.answer });
        });
        return;
      }
      case 'send-release':
        return releaseAt(middleware, effect.to, effect.epoch, effect.txid, 1);
      case 'read':
        return readFrom(middleware, effect.txid, effect.keys, random.int(0, replicaIds.length - 1), 0);
      case 'run':
        return runBlock(middleware, effect.txid);
      case 'apply':
        for (const replica of effect.replicas) applyUntilAcked(middleware, replica, effect.txid, effect.ts, effect.writes);
        return;
      case 'committed':
      case 'rolled-back':
      case 'aborted':
      case 'failed':
        return endAttempt(effect);
      case 'outcome-unknown':
        // Only a removed middleware drops its decided transactions; nothing here is removed.
        throw new Error(`simulation: ${effect.txid} ended with its outcome unknown, but no middleware was removed`);
    }
  };

  /** As the real shell: a release is retried, a bounded number of times, until acknowledged; the acknowledgement carries nothing. */
  const releaseAt = (middleware: number, home: number, releaseEpoch: number, txid: TxnId, attempt: number): void => {
    world.request<void>(
      options.requestTimeoutMs,
      (reply) => sendTo(home, () => {
        dispatch(home, { type: 'released', epoch: releaseEpoch, txid });
        sendTo(middleware, reply);
      }),
      () => {},
      () => {
        if (attempt < RELEASE_ATTEMPTS_MAX) world.schedule(50 * attempt, () => releaseAt(middleware, home, releaseEpoch, txid, attempt + 1));
      },
    );
  };

  /** As the real replica set: one replica after another, each with a timeout; none answering fails the attempt. */
  const readFrom = (middleware: number, txid: TxnId, wanted: Key[], first: number, tried: number): void => {
    if (tried === replicaIds.length) {
      dispatch(middleware, { type: 'attempt-failed', txid, detail: 'no database replica answered db.read' });
      return;
    }
    const replica = replicaIds[(first + tried) % replicaIds.length]!;
    world.request<Entry[]>(
      options.requestTimeoutMs,
      (reply) => world.send(() => replicas.get(replica)!.read(wanted, [], 0, (entries) => sendTo(middleware, () => reply(entries)))),
      (entries) => {
        const attempt = attempts.get(txid);
        if (attempt) attempt.entries = entries;
        dispatch(middleware, { type: 'read-answered', txid, entries });
      },
      () => readFrom(middleware, txid, wanted, first, tried + 1),
    );
  };

  /** Like the real replica set: a decided APPLY is re-sent until the replica acknowledges. */
  const applyUntilAcked = (middleware: number, replica: number, txid: TxnId, ts: Timestamp, writes: Write[]): void => {
    world.request<void>(
      options.requestTimeoutMs,
      (reply) => world.send(() => replicas.get(replica)!.apply([{ ts, writes }], () => sendTo(middleware, reply))),
      () => dispatch(middleware, { type: 'replica-acked', txid, replica }),
      () => applyUntilAcked(middleware, replica, txid, ts, writes),
    );
  };

  /** The block: PRINT the read keys, ASSIGN fresh values (unique across the history) to the written ones. */
  const runBlock = (middleware: number, txid: TxnId): void => {
    const attempt = attempts.get(txid)!;
    const { plan } = attempt.transaction;
    const locked = plan.locks.map((lock) => lock.key);
    for (const key of plan.readKeys) attempt.record.reads.push({ key, value: readValue(attempt.entries[locked.indexOf(key)]!) });
    const writes: Write[] = [];
    for (const key of [...plan.writeKeys, ...plan.blindKeys]) {
      const value = nextValue++;
      writes.push({ key, value });
      attempt.record.writes.push({ key, value });
    }
    const rollback = random.chance(options.rollbackProbability);
    world.schedule(random.int(0, options.runMsMax), () => {
      if (rollback) dispatch(middleware, { type: 'finish-requested', txid, decision: 'rollback' });
      else dispatch(middleware, { type: 'finish-requested', txid, decision: 'commit', writes });
    });
  };

  // ---- clients ----
  const planTransaction = (): Plan => {
    const { readKeys, writeKeys, blindKeys } = randomPlan(random, keys);
    // The lock set as the engine builds it: in the order first touched, exclusive if written.
    const locks: LockRequest[] = [
      ...readKeys.map((key) => ({ key, mode: (writeKeys.includes(key) ? 'exclusive' : 'shared') as LockMode })),
      ...blindKeys.map((key) => ({ key, mode: 'exclusive' as LockMode })),
    ];
    return { readKeys, writeKeys, blindKeys, locks };
  };

  const startTransaction = (client: number, middleware: number): void => {
    if (started >= options.transactions) return;
    if (closed.has(middleware)) {
      // Its middleware is leaving or away: the client goes to another one, as a real client would.
      middleware = random.pick(middlewareIds.filter((id) => !closed.has(id)));
    }
    started += 1;
    busy.set(middleware, busy.get(middleware)! + 1);
    beginAttempt({ client, middleware, plan: planTransaction(), startTs: undefined, restarts: 0 });
  };

  const beginAttempt = (transaction: ClientTransaction): void => {
    const txid = `t${nextTxid++}`;
    const record: TxnRecord = { id: txid, outcome: 'unknown', reads: [], writes: [], startMs: world.nowMs };
    transactions.push(record);
    attempts.set(txid, { transaction, record, entries: [] });
    dispatch(transaction.middleware, { type: 'begin', txid, startTs: transaction.startTs, locks: transaction.plan.locks });
  };

  const endTransaction = (transaction: ClientTransaction): void => {
    finishedTransactions += 1;
    busy.set(transaction.middleware, busy.get(transaction.middleware)! - 1);
    world.schedule(random.int(0, 3), () => startTransaction(transaction.client, transaction.middleware));
  };

  const endAttempt = (effect: Extract<TwoPhaseLockingEffect, { type: 'committed' | 'rolled-back' | 'aborted' | 'failed' }>): void => {
    const attempt = attempts.get(effect.txid);
    if (!attempt) throw new Error(`simulation: an outcome for unknown ${effect.txid}`);
    attempts.delete(effect.txid);
    endedAtMs.set(effect.txid, world.nowMs);
    const { record, transaction } = attempt;
    record.endMs = world.nowMs;
    switch (effect.type) {
      case 'committed': {
        record.outcome = 'committed';
        record.commitTs = effect.ts;
        committed += 1;
        return endTransaction(transaction);
      }
      case 'rolled-back':
        // Nothing of it was applied: to a reader it never happened.
        record.outcome = 'aborted';
        rolledBack += 1;
        return endTransaction(transaction);
      case 'failed':
        record.outcome = 'aborted';
        failedAttempts += 1;
        return endTransaction(transaction);
      case 'aborted':
        record.outcome = 'aborted';
        restarts += 1;
        restartsByReason[effect.reason] = (restartsByReason[effect.reason] ?? 0) + 1;
        if (transaction.restarts >= options.retryCountMax) {
          gaveUp += 1;
          return endTransaction(transaction);
        }
        // Restart after a back-off, keeping the start timestamp.
        transaction.startTs = effect.startTs;
        world.schedule(backoffMs(transaction.restarts, limits, () => random.next()), () => beginAttempt(transaction));
        transaction.restarts += 1;
        return;
    }
  };

  // ---- the lock invariant, after every event ----
  const lockViolations: string[] = [];
  let lockViolationCount = 0;
  const leakedLocks: string[] = [];
  /** The longest a release can take, every retry included; a lock held longer by an ended attempt leaked. */
  const releaseTakesMsMax = RELEASE_ATTEMPTS_MAX * (options.requestTimeoutMs + 2 * options.delayMsMax + 50 * RELEASE_ATTEMPTS_MAX);
  const holdAtHome = (key: Key, txid: TxnId, mode: LockMode): void => {
    const endedMs = endedAtMs.get(txid);
    if (endedMs !== undefined && world.nowMs - endedMs > releaseTakesMsMax && leakedLocks.length < VIOLATIONS_KEPT) {
      leakedLocks.push(`at ${world.nowMs} ms, ${txid} still holds ${key} (${mode}) ${world.nowMs - endedMs} ms after it ended`);
    }
    hold(key, txid, mode);
  };
  const holders = new Map<Key, Map<TxnId, LockMode>>(keys.map((key) => [key, new Map()]));
  /** The keys with a holder in this check; only they are cleared and looked at. */
  const touched: Array<Map<TxnId, LockMode>> = [];
  const hold = (key: Key, txid: TxnId, mode: LockMode): void => {
    const onKey = holders.get(key)!;
    if (onKey.size === 0) touched.push(onKey);
    if (onKey.get(txid) !== 'exclusive') onKey.set(txid, mode);
  };
  /**
   * At most one exclusive holder per key across all homes and epochs, and no shared holder
   * beside an exclusive one. A holder is a transaction past its locking phase (it relies on its
   * whole lock set until it ends), at any middleware and of any epoch; or one that the table of
   * a home that has installed the newest view (`epoch`) says holds the lock.
   *
   * The table of a home still on an earlier view is left out: it protects no write. The
   * installer sent the newest view only after every member answered its stop, and a member
   * answers once it has restarted every undecided attempt and finished every decided one; so
   * every holder in that table is over, only its release may still be on its way (or lost).
   * The home has been stopped since, grants nothing from that table, and drops it when the
   * install reaches it (so its locks are not leaks either). Counting it would report such a finished holder beside the new view's
   * holder of the key at its new home (seed 214400468). What the check still catches: an
   * attempt of an earlier view still running (counted with its lock set, whatever its epoch),
   * and a home that keeps an old table, or grants across epochs, in the view it installed.
   * A middleware that is away has no table any more (its process is gone).
   */
  const checkLocks = (): void => {
    for (const onKey of touched) onKey.clear();
    touched.length = 0;
    for (const [id, node] of nodes) {
      if (away.has(id)) continue;
      if (node.home.epoch === epoch) node.home.table.forEachHolder(holdAtHome);
      for (const attempt of node.lockedAttempts()) for (const lock of attempt.locks) hold(lock.key, attempt.txid, lock.mode);
    }
    for (const onKey of touched) {
      if (onKey.size < 2) continue;
      let exclusive = false;
      for (const mode of onKey.values()) if (mode === 'exclusive') exclusive = true;
      if (!exclusive) continue;
      lockViolationCount += 1;
      if (lockViolations.length < VIOLATIONS_KEPT) {
        const key = keys.find((candidate) => holders.get(candidate) === onKey)!;
        lockViolations.push(`at ${world.nowMs} ms, ${key} is held by ${[...onKey].map(([txid, mode]) => `${txid} (${mode})`).join(', ')}`);
      }
    }
  };

  // ---- views: installed as the view keeper installs them ----
  /**
   * Installs the view after `epoch` with `newMembers`: each member stops (its undecided
   * transactions restart, new ones wait), answers with its clock once none of its decided
   * transactions is unfinished, and when all have, each installs it with a clock above all of
   * theirs. `then` runs when the last member has installed it.
   */
  const installView = (newMembers: number[], then: () => void): void => {
    const clocks: number[] = [];
    for (const id of newMembers) {
      world.sendReliably(() => {
        dispatch(id, { type: 'view-stop' });
        const answerWhenDrained = (): void => {
          if (nodes.get(id)!.decidedCount > 0) return world.schedule(5, answerWhenDrained);
          const clock = nodes.get(id)!.clock.value;
          world.sendReliably(() => {
            clocks.push(clock);
            if (clocks.length === newMembers.length) sendInstall(newMembers, Math.max(...clocks), then);
          });
        };
        answerWhenDrained();
      });
    }
  };
  const sendInstall = (newMembers: number[], clock: number, then: () => void): void => {
    epoch += 1;
    members = newMembers;
    viewChanges += 1;
    const view = { epoch, members };
    let installed = 0;
    for (const id of newMembers) {
      world.sendReliably(() => {
        dispatch(id, { type: 'view-install', epoch: view.epoch, members: view.members, clock });
        installed += 1;
        if (installed === newMembers.length) then();
      });
    }
  };

  // ---- middlewares leave and come back in turn ----
  if (options.leaveAndReturn) {
    const cycles = Math.min(3, options.middlewares);
    let cycle = 0;
    const startCycle = (): void => {
      if (cycle >= cycles || started >= options.transactions) return;
      const leaver = middlewareIds[cycle % middlewareIds.length]!;
      cycle += 1;
      closed.add(leaver);
      drain(leaver);
    };
    // As the real server: its own transactions finish first; then it grants nothing new. It
    // goes soon after, without waiting for the locks it homes to be released: the view without
    // it starts with empty tables at its successors, once every holder restarted or finished.
    const drain = (leaver: number): void => {
      if (busy.get(leaver)! > 0) return world.schedule(5, () => drain(leaver));
      dispatch(leaver, { type: 'begin-leaving' });
      world.schedule(random.int(0, 50), () => {
        away.add(leaver);
        membershipChanges += 1;
        installView(members.filter((id) => id !== leaver), () => world.schedule(random.int(100, 400), () => comeBack(leaver)));
      });
    };
    // A new process that remembers nothing; it runs nothing until the view with it is installed.
    // Its clock starts at its earlier life's: that stands for the INSTALL clock being above
    // every version the databases store (the earlier life's writes included).
    const comeBack = (leaver: number): void => {
      nodes.set(leaver, newNode(leaver, nodes.get(leaver)!.clock.value));
      incarnations.set(leaver, incarnations.get(leaver)! + 1);
      away.delete(leaver);
      membershipChanges += 1;
      installView(middlewareIds.filter((id) => id === leaver || members.includes(id)), () => {
        closed.delete(leaver);
        world.schedule(random.int(100, 300), startCycle);
      });
    };
    world.schedule(150, startCycle);
  }

  // ---- run ----
  world.startClients(startTransaction);
  world.run(() => {
    checkLocks();
    return leakedLocks.length > 0;
  });

  // ---- after quiescence ----
  const leftovers: string[] = [];
  for (const [id, node] of nodes) {
    if (node.home.table.lockedKeyCount > 0) leftovers.push(`MIDDLEWARE${id} still has ${node.home.table.lockedKeyCount} keys locked or waited for`);
    if (node.attemptCount > 0) leftovers.push(`MIDDLEWARE${id} still runs ${node.attemptCount} attempts`);
  }
  if (finishedTransactions !== options.transactions) leftovers.push(`${options.transactions - finishedTransactions} of ${options.transactions} client transactions never finished`);

  const history: History = { transactions, initial: Object.fromEntries(keys.map((key) => [key, null])) };
  return {
    history,
    committed,
    restarts,
    restartsByReason,
    rolledBack,
    failedAttempts,
    gaveUp,
    messages: world.messages,
    virtualMs: world.nowMs,
    membershipChanges,
    viewChanges,
    lockViolations,
    lockViolationCount,
    leakedLocks,
    leftovers,
    ...world.finalStateFaults(history),
  };
}

/** What a client saw of a read entry: its value, or null for no entry. */
function readValue(entry: Entry): number | null {
  return entry.value === undefined ? null : (entry.value as number);
}
