// The timelines of a middleware's recent transactions, for `observe`. Recording must cost
// next to nothing on the commit path: each event is four entries pushed onto the transaction's
// one array (the time, a kind, and two arguments that are numbers or strings that exist
// already), and the finished transactions go into a fixed ring. Words are made of them only
// when `observe` asks.
import type { ObservedTransaction, TimelineEvent } from '../protocol/schemas.js';

export const RECENT_TRANSACTIONS_MAX = 50;

/** What happened; the arguments `a` and `b` of each are described beside it. */
export const TraceEvent = {
  /** An attempt's read phase began. a: the attempt's number (0 for the first). */
  readBegan: 0,
  /** Keys read from a replica or from memory. a: how many. */
  read: 1,
  /** The block ran to its end. a: keys read in the attempt. */
  readEnded: 2,
  /** Votes asked of the other members. a: how many members. */
  votesAsked: 3,
  /** A member's vote arrived. a: the member's id; b: 'yes', 'check', 'no' or 'timeout'. */
  vote: 4,
  /** The versions of the read set are read again. a: how many keys. */
  versionCheckBegan: 5,
  /** The versions came back. a: 'unchanged' or 'changed'. */
  versionCheckEnded: 6,
  /** Validation decided commit; the APPLYs leave. a: how many replicas. */
  applySent: 7,
  /** A replica acknowledged its APPLY. a: the database's id. */
  applied: 8,
  /** The attempt lost and the transaction runs again. a: the reason; b: the key at fault, or ''. */
  aborted: 9,
  /** 2PL: locks asked. a: how many. */
  locksAsked: 10,
  /** 2PL: every lock granted. */
  locksGranted: 11,
  /** A read-only transaction's votes are in (nothing to apply). */
  decided: 12,
} as const;
export type TraceEventKind = (typeof TraceEvent)[keyof typeof TraceEvent];

/** One client transaction, across its attempts, from the request to the reply. */
export class Trace {
  /** [atMs, kind, a, b, atMs, kind, a, b, …] */
  readonly events: Array<number | string> = [];
  readonly startedAtMs = Date.now();
  private readonly beganMs = performance.now();
  outcome = 'running';
  errorCode: string | undefined = undefined;
  totalMs = 0;

  constructor(readonly id: string) {}

  note(kind: TraceEventKind, a: number | string = 0, b: number | string = 0): void {
    this.events.push(performance.now() - this.beganMs, kind, a, b);
  }

  /** The reply leaves: the transaction's outcome, and its error's code if it has one. */
  end(outcome: string, errorCode: string | undefined): void {
    this.totalMs = performance.now() - this.beganMs;
    this.outcome = outcome;
    this.errorCode = errorCode;
  }

  /** When the last event of `kind` happened (ms after the beginning), or -1. */
  lastAt(kind: TraceEventKind): number {
    for (let index = this.events.length - 4; index >= 0; index -= 4) {
      if (this.events[index + 1] === kind) return this.events[index] as number;
    }
    return -1;
  }
}

/** Numbers each transaction of the process and keeps the last RECENT_TRANSACTIONS_MAX that ended. */
export class TraceRing {
  private readonly ring: Array<Trace | undefined> = new Array<Trace | undefined>(RECENT_TRANSACTIONS_MAX).fill(undefined);
  private next = 0;
  private sequence = 0;

  constructor(private readonly prefix: string) {}

  begin(): Trace {
    this.sequence += 1;
    return new Trace(`${this.prefix}-${this.sequence}`);
  }

  /** `trace` has ended: it is one of the recent ones now. */
  keep(trace: Trace): void {
    this.ring[this.next] = trace;
    this.next = (this.next + 1) % this.ring.length;
  }

  /** The recent transactions, newest first, in words. */
  recent(): ObservedTransaction[] {
    const out: ObservedTransaction[] = [];
    for (let step = 1; step <= this.ring.length; step++) {
      const trace = this.ring[(this.next - step + this.ring.length) % this.ring.length];
      if (trace) out.push(describe(trace));
    }
    return out;
  }
}

function describe(trace: Trace): ObservedTransaction {
  const timeline: TimelineEvent[] = [];
  const { events } = trace;
  for (let index = 0; index + 3 < events.length; index += 4) {
    timeline.push(describeEvent(roundMs(events[index] as number), events[index + 1] as TraceEventKind, events[index + 2]!, events[index + 3]!));
  }
  timeline.push({ atMs: roundMs(trace.totalMs), phase: 'reply', event: trace.errorCode ? `replied ${trace.outcome} (${trace.errorCode})` : `replied ${trace.outcome}` });
  return {
    traceId: trace.id,
    outcome: trace.outcome,
    startedAt: new Date(trace.startedAtMs).toISOString(),
    totalMs: roundMs(trace.totalMs),
    ...(trace.errorCode ? { errorCode: trace.errorCode } : {}),
    timeline,
  };
}

function describeEvent(atMs: number, kind: TraceEventKind, a: number | string, b: number | string): TimelineEvent {
  switch (kind) {
    case TraceEvent.readBegan: return { atMs, phase: 'read', event: a === 0 ? 'read phase began' : `read phase began (attempt ${Number(a) + 1})` };
    case TraceEvent.read: return { atMs, phase: 'read', event: `read ${a} ${a === 1 ? 'key' : 'keys'}` };
    case TraceEvent.readEnded: return { atMs, phase: 'read', event: `read phase ended, ${a} ${a === 1 ? 'key' : 'keys'} read` };
    case TraceEvent.votesAsked: return { atMs, phase: 'vote', event: `votes asked of ${a} ${a === 1 ? 'member' : 'members'}` };
    case TraceEvent.vote: return { atMs, phase: 'vote', event: `${b} from MIDDLEWARE${a}`, node: `MIDDLEWARE${a}` };
    case TraceEvent.versionCheckBegan: return { atMs, phase: 'version-check', event: `versions of ${a} ${a === 1 ? 'key' : 'keys'} read again` };
    case TraceEvent.versionCheckEnded: return { atMs, phase: 'version-check', event: `versions ${a}` };
    case TraceEvent.applySent: return { atMs, phase: 'apply', event: `decided commit; APPLY sent to ${a} ${a === 1 ? 'replica' : 'replicas'}` };
    case TraceEvent.applied: return { atMs, phase: 'apply', event: `DATABASE${a} applied`, node: `DATABASE${a}` };
    case TraceEvent.aborted: return { atMs, phase: 'retry', event: b === '' ? `aborted (${a}); runs again` : `aborted (${a}, key ${b}); runs again` };
    case TraceEvent.locksAsked: return { atMs, phase: 'lock', event: `${a} ${a === 1 ? 'lock' : 'locks'} asked` };
    case TraceEvent.locksGranted: return { atMs, phase: 'lock', event: 'every lock granted' };
    case TraceEvent.decided: return { atMs, phase: 'vote', event: 'decided commit (nothing to apply)' };
  }
}

function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
