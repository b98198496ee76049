// A seeded, deterministic simulation of the optimistic protocol: several OccNode cores
// (unchanged from production, the read path included), in-memory replicas under the
// database's Thomas write rule, closed-loop clients, and a fake network that delays,
// reorders and drops messages, all in the simulated world both simulators share (world.ts).
// It records the history every client saw, for the serializability checker.
import { OccNode, type Faults, type OccEffect, type OccEvent } from '../../occ/node.js';
import type { ReadEntry, ReadId } from '../../occ/read-path.js';
import type { Key, ReadSet, TxnId, Write } from '../../transaction/types.js';
import type { Timestamp } from '../../timestamp/timestamp.js';
import type { History, TxnRecord } from '../history/checker.js';
import { randomPlan, type TransactionPlan } from './workload.js';
import { SimulatedWorld, type FinalStateFaults, type SimulatedWorldOptions } from './world.js';

export interface SimulationOptions extends SimulatedWorldOptions {
  transactions: number;
  requestTimeoutMs: number;
  retryCountMax: number;
  faults?: Faults;
  /** How many keys' finished writes each voter remembers; small values force version checks. */
  finishedWritesMax?: number;
  /** Voters wait for their conflicting in-flight transaction instead of voting NO at once (default on). */
  deferVotes?: boolean;
  /** Middlewares in turn leave and restart (join again with nothing remembered), several times. */
  membershipChurn?: boolean;
  /** Reads wait behind their middleware's own writers still being validated (the core's option; default on). */
  parkReads?: boolean;
}

/** A client transaction's plan, kept across its attempts. */
interface Plan extends TransactionPlan {
  deletes: Key[];
}

interface Attempt {
  txid: TxnId;
  record: TxnRecord;
  client: number;
  readSet: ReadSet;
}

/** The run, and what its replicas got wrong (FinalStateFaults, world.ts). */
export interface SimulationResult extends FinalStateFaults {
  history: History;
  committed: number;
  aborted: number;
  failed: number;
  messages: number;
  virtualMs: number;
  /** LEAVEs and completed JOINs that happened during the run. */
  membershipChanges: number;
  /** Keys read from the middleware's own decided writes rather than from a replica. */
  readsFromMemory: number;
  /** Reads that waited for an own writer of their middleware to be decided. */
  readsParked: number;
  /** Reads that asked their replica to wait for another middleware's writer. */
  readsAwaitingWriters: number;
}

const EVENTS_MAX = 50_000_000;

export function simulate(options: SimulationOptions): SimulationResult {
  const world = new SimulatedWorld(options, { eventsMax: EVENTS_MAX, name: 'simulation' });
  // The database replicas run the production rules (replica.ts): the Thomas rule and group
  // plan for writes, the read rules for what a read sees and how long it waits.
  const { random, keys, middlewareIds, replicaIds, replicas } = world;
  const newNode = (id: number, members: readonly number[], joined: boolean): OccNode =>
    new OccNode({ id, replicas: [...replicaIds], members: [...members], faults: options.faults, finishedWritesMax: options.finishedWritesMax, deferVotes: options.deferVotes, parkReads: options.parkReads, joined });
  const nodes = new Map<number, OccNode>(middlewareIds.map((id) => [id, newNode(id, middlewareIds, true)]));
  const active = new Set(middlewareIds);
  const leaving = new Set<number>();
  /** Transactions of clients on each middleware between their first read and their outcome. */
  const busy = new Map<number, number>();

  const transactions: TxnRecord[] = [];
  const attempts = new Map<TxnId, Attempt>();
  let started = 0;
  let committed = 0;
  let aborted = 0;
  let failed = 0;
  let nextTxid = 1;
  let membershipChanges = 0;
  /** What replaced nodes had counted (a restart starts a fresh core). */
  let readsFromMemoryBefore = 0;
  let readsParkedBefore = 0;
  let readsAwaitingWritersBefore = 0;
  let nextValue = 1;
  let nextReadId = 1;
  /** Reads not done yet: what the client does with the entries, or on failure. */
  const readsWaiting = new Map<ReadId, { done: (entries: ReadEntry[]) => void; failed: () => void }>();

  // ---- effects of a core, carried over the fake network ----
  /** `${txid}|${voter}` of vote requests neither answered nor timed out. */
  const votesUnanswered = new Set<string>();
  const dispatch = world.dispatcher<OccEvent, OccEffect>((middleware) => nodes.get(middleware)!, (middleware, effect) => execute(middleware, effect));

  const execute = (middleware: number, effect: OccEffect): void => {
    switch (effect.type) {
      case 'send-validate':
        for (const voter of effect.to) {
          const key = `${effect.txid}|${voter}`;
          votesUnanswered.add(key);
          world.send(() => dispatch(voter, { type: 'vote-requested', from: middleware, txid: effect.txid, ts: effect.ts, readSet: effect.readSet, writeKeys: effect.writeKeys, nowMs: world.nowMs }));
          world.schedule(options.requestTimeoutMs, () => {
            if (!votesUnanswered.delete(key)) return;
            dispatch(middleware, { type: 'vote-received', txid: effect.txid, voter, vote: 'timeout' });
          });
        }
        return;
      case 'vote': {
        // Possibly long after the request: a deferred vote.
        const key = `${effect.txid}|${middleware}`;
        world.send(() => {
          if (!votesUnanswered.delete(key)) return;
          dispatch(effect.to, { type: 'vote-received', txid: effect.txid, voter: middleware, vote: effect.vote, clock: effect.clock });
        });
        return;
      }
      case 'read-replica': {
        // One replica for all the keys, as the real shell does; no answer in time fails the read.
        // The replica answers once it has the versions awaited, or when the wait ran out.
        const replica = replicas.get(random.pick(replicaIds))!;
        world.request<ReadEntry[]>(
          options.requestTimeoutMs,
          (reply) => world.send(() => replica.read(effect.keys, effect.atLeast, effect.waitMs, (entries) => world.send(() => reply(entries)))),
          (entries) => dispatch(middleware, { type: 'read-answered', readId: effect.readId, entries }),
          () => {
            dispatch(middleware, { type: 'read-failed', readId: effect.readId });
            const waiting = readsWaiting.get(effect.readId);
            readsWaiting.delete(effect.readId);
            waiting?.failed();
          },
        );
        return;
      }
      case 'read-done': {
        const waiting = readsWaiting.get(effect.readId);
        readsWaiting.delete(effect.readId);
        waiting?.done(effect.entries);
        return;
      }
      case 'read-versions': {
        // The replica waits for its admitted APPLYs of those keys, as the database does.
        const replica = replicas.get(random.pick(replicaIds))!;
        world.request<Timestamp[]>(
          options.requestTimeoutMs,
          (reply) => world.send(() => replica.versions(effect.keys, (versions) => world.send(() => reply(versions)))),
          (versions) => dispatch(middleware, { type: 'versions-read', txid: effect.txid, versions }),
          () => dispatch(middleware, { type: 'versions-failed', txid: effect.txid }),
        );
        return;
      }
      case 'apply':
        for (const replica of effect.replicas) applyUntilAcked(middleware, replica, effect.txid, effect.ts, effect.writes);
        return;
      case 'committed':
      case 'aborted':
        return finishAttempt(effect.txid, effect);
    }
  };

  /** Like the real shell: a decided APPLY is re-sent until the replica acknowledges. */
  const applyUntilAcked = (middleware: number, replica: number, txid: TxnId, ts: Timestamp, writes: Write[]): void => {
    world.request<void>(
      options.requestTimeoutMs,
      (reply) => world.send(() => replicas.get(replica)!.apply([{ ts, writes }], () => world.send(reply))),
      () => dispatch(middleware, { type: 'replica-acked', txid, replica }),
      () => applyUntilAcked(middleware, replica, txid, ts, writes),
    );
  };

  // ---- clients ----
  const startTransaction = (client: number, middleware: number, retry: number, plan?: Plan): void => {
    if (!active.has(middleware) || leaving.has(middleware)) {
      // The client's middleware is leaving or left: it goes to another one, as a real client would.
      middleware = random.pick([...active].filter((id) => !leaving.has(id)));
    }
    if (!plan) {
      if (started >= options.transactions) return;
      started += 1;
      const { readKeys, writeKeys, blindKeys } = randomPlan(random, keys);
      // No deletes: a read of "no entry" could not name its writer, and the history checker
      // relies on every read naming one. Deletes are covered by the database and e2e tests.
      const deletes: Key[] = [];
      plan = { readKeys, writeKeys: writeKeys.filter((key) => !deletes.includes(key)), blindKeys, deletes };
    }
    const fixedPlan = plan;
    const txid = `t${nextTxid++}`;
    busy.set(middleware, (busy.get(middleware) ?? 0) + 1);
    const record: TxnRecord = { id: txid, outcome: 'unknown', reads: [], writes: [], startMs: world.nowMs };
    transactions.push(record);
    // Read phase: one read of all the keys, through the middleware's core (which may park it,
    // take some keys from its own decided writes, and ask one replica for the rest).
    const readId = nextReadId++;
    readsWaiting.set(readId, {
      done: (entries) => {
        const readSet: Array<readonly [Key, Timestamp]> = [];
        fixedPlan.readKeys.forEach((key, index) => {
          const entry = entries[index]!;
          readSet.push([key, entry.version]);
          record.reads.push({ key, value: entry.value === undefined ? null : (entry.value as number) });
        });
        const writes: Write[] = [];
        for (const key of [...fixedPlan.writeKeys, ...fixedPlan.blindKeys]) {
          const value = nextValue++;
          writes.push({ key, value });
          record.writes.push({ key, value });
        }
        for (const key of fixedPlan.deletes) {
          writes.push({ key });
          record.writes.push({ key, value: null });
        }
        attempts.set(txid, { txid, record, client, readSet });
        dispatch(middleware, { type: 'commit-requested', txid, readSet, writes });
      },
      failed: () => {
        record.outcome = 'aborted';
        record.endMs = world.nowMs;
        aborted += 1;
        pendingPlans.delete(txid);
        busy.set(middleware, busy.get(middleware)! - 1);
        scheduleNext(client, middleware, retry, fixedPlan);
      },
    });
    // Before the read: a read served from memory at once may commit (or abort) at once.
    pendingPlans.set(txid, { client, middleware, retry, plan: fixedPlan });
    dispatch(middleware, { type: 'read-requested', readId, keys: fixedPlan.readKeys, nowMs: world.nowMs });
  };

  const pendingPlans = new Map<TxnId, { client: number; middleware: number; retry: number; plan: Plan }>();

  const scheduleNext = (client: number, middleware: number, retry: number, plan: Plan | undefined): void => {
    if (plan && retry < options.retryCountMax) {
      world.schedule(random.int(0, Math.min(200, 2 * 2 ** Math.min(retry, 8))), () => startTransaction(client, middleware, retry + 1, plan));
    } else {
      if (plan) failed += 1;
      world.schedule(random.int(0, 3), () => startTransaction(client, middleware, 0));
    }
  };

  const finishAttempt = (txid: TxnId, effect: Extract<OccEffect, { type: 'committed' | 'aborted' }>): void => {
    const attempt = attempts.get(txid);
    const pending = pendingPlans.get(txid);
    if (!attempt || !pending) throw new Error(`simulation: outcome for unknown ${txid}`);
    attempts.delete(txid);
    pendingPlans.delete(txid);
    busy.set(pending.middleware, busy.get(pending.middleware)! - 1);
    attempt.record.endMs = world.nowMs;
    if (effect.type === 'committed') {
      attempt.record.outcome = 'committed';
      attempt.record.commitTs = effect.ts;
      committed += 1;
      scheduleNext(pending.client, pending.middleware, 0, undefined);
    } else {
      attempt.record.outcome = 'aborted';
      aborted += 1;
      scheduleNext(pending.client, pending.middleware, pending.retry, pending.plan);
    }
  };

  // ---- membership churn: middlewares in turn leave when idle and restart, several times ----
  if (options.membershipChurn && options.middlewares >= 3) {
    const cycles = 6;
    let cycle = 0;
    const startCycle = (): void => {
      if (cycle >= cycles || started >= options.transactions) return;
      const leaver = (cycle % options.middlewares) + 1;
      cycle += 1;
      leaving.add(leaver);
      tryLeave(leaver);
    };
    const tryLeave = (leaver: number): void => {
      const node = nodes.get(leaver)!;
      if ((busy.get(leaver) ?? 0) > 0 || node.coordinatingCount > 0 || node.inFlight.size > 0) return world.schedule(5, () => tryLeave(leaver));
      active.delete(leaver);
      leaving.delete(leaver);
      membershipChanges += 1;
      // LEAVE reaches every member; each stops asking the leaver. Membership messages are not
      // lost: a real JOIN or LEAVE waits for every answer (and is re-run by the operator when
      // one never comes); the simulation does not model that loop.
      for (const member of active) world.sendReliably(() => dispatch(member, { type: 'member-left', member: leaver }));
      world.schedule(random.int(20, 200), () => rejoin(leaver));
    };
    const rejoin = (leaver: number): void => {
      // A restart: a new process that remembers nothing, not even its clock. JOIN: every
      // member adds the joiner and answers with its clock; only then does the joiner take
      // transactions again, with a clock above every answer.
      const fresh = newNode(leaver, [], false);
      const old = nodes.get(leaver)!;
      readsFromMemoryBefore += old.readsFromMemory;
      readsParkedBefore += old.readsParked;
      readsAwaitingWritersBefore += old.readsAwaitingWriters;
      nodes.set(leaver, fresh);
      let acks = 0;
      const members = [...active];
      for (const member of members) {
        world.sendReliably(() => {
          dispatch(member, { type: 'member-joined', member: leaver, clock: fresh.clock.value });
          const clock = nodes.get(member)!.clock.value;
          world.sendReliably(() => {
            dispatch(leaver, { type: 'member-joined', member, clock });
            acks += 1;
            if (acks === members.length) {
              dispatch(leaver, { type: 'joined' });
              active.add(leaver);
              membershipChanges += 1;
              world.schedule(random.int(50, 300), startCycle);
            }
          });
        });
      }
    };
    world.schedule(200, startCycle);
  }

  // ---- run ----
  world.startClients((client, middleware) => startTransaction(client, middleware, 0));
  world.run();
  for (const node of nodes.values()) {
    const pending = node.readsPending;
    if (pending.parked + pending.atReplica > 0) throw new Error(`simulation seed ${options.seed}: M${node.id} still has reads pending after the run (${JSON.stringify(pending)})`);
  }

  // ---- after quiescence ----
  let readsFromMemory = readsFromMemoryBefore;
  let readsParked = readsParkedBefore;
  let readsAwaitingWriters = readsAwaitingWritersBefore;
  for (const node of nodes.values()) {
    readsFromMemory += node.readsFromMemory;
    readsParked += node.readsParked;
    readsAwaitingWriters += node.readsAwaitingWriters;
  }
  const history: History = { transactions, initial: Object.fromEntries(keys.map((key) => [key, null])) };
  return {
    history,
    committed,
    aborted,
    failed,
    messages: world.messages,
    membershipChanges,
    readsFromMemory,
    readsParked,
    readsAwaitingWriters,
    virtualMs: world.nowMs,
    // Every group is written by now (nothing is admitted any more): the replicas must agree.
    ...world.finalStateFaults(history),
  };
}
