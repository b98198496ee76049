// The database's line of work: reads run at once, APPLYs are written in groups, one synced
// batch per group, in arrival order.
import { OccdbError } from '../errors/catalogue.js';
import type { Entry } from '../protocol/schemas.js';
import type { LoggedApply } from './commit-log.js';
import { AdmittedWrites } from './read-rules.js';

/** Requests waiting behind the running one; beyond this the database refuses rather than grow without bound. */
export const QUEUE_LENGTH_MAX = 100_000;

/**
 * What became of one APPLY of a group: written (and how many keys), or refused when its group
 * was written (its coordinator was fenced meanwhile), with the error its sender gets.
 */
export type ApplyOutcome = { written: number } | { refused: Error };

/** Writes a group; answers each APPLY's outcome, positionally. */
export type ApplyGroupRunner = (applies: LoggedApply[]) => Promise<ApplyOutcome[]>;

interface Step {
  started: boolean;
  applies: Array<{ apply: LoggedApply; resolve: (result: { written: number }) => void; reject: (error: unknown) => void }>;
}

/**
 * Group commit with a linger. A group's sync costs the database about as much CPU as
 * everything else it does for the group, whatever the group's size. Under load, a group that
 * waits a moment before it is written takes in the APPLYs arriving meanwhile, so each costs
 * a share of one sync instead of a sync of its own. The wait costs latency only, and only when
 * APPLYs arrive often enough that it pays: at least `GROUP_LINGER_ARRIVALS_MIN` expected
 * during the wait, from the recent rate. A lone client's APPLY is written at once.
 */
export const GROUP_LINGER_MS = 1;
/**
 * Expected arrivals during the wait for it to be worth a wait. At 1 the wait cost 4 closed-loop
 * clients 14% of their throughput on bank; at 1.5 it does not start for them, and 16 or 64
 * clients gain as much as at 1.
 */
export const GROUP_LINGER_ARRIVALS_MIN = 1.5;
/** Time as the queue sees it; tests replace it. */
export interface QueueClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** How long a group waits for more APPLYs; 0 turns the wait off. */
  lingerMs: number;
}

const QUEUE_CLOCK_REAL: QueueClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  lingerMs: GROUP_LINGER_MS,
};

/** Weight of the newest gap between APPLY arrivals in the running mean. */
const ARRIVAL_GAP_WEIGHT = 1 / 16;
/** Gaps longer than this count as this: one quiet second does not take minutes of load to forget. */
const ARRIVAL_GAP_MS_MAX = 100;

/**
 * The database's one line of writes, in arrival order: APPLYs run one group at a time, and
 * the APPLYs that arrive while a group is being written form the next group: one atomic
 * batch, one sync (group commit), the same result as applying them one after another.
 */
export class RequestQueue {
  private tail: Promise<void> = Promise.resolve();
  private last: Step | null = null;
  private length = 0;
  private stopped = false;
  /** The writes of the APPLYs admitted (waiting or being written), which reads take into account. */
  private readonly admittedWrites = new AdmittedWrites();
  /** Running mean of the gap between APPLY arrivals, in ms. */
  private arrivalGapMs = ARRIVAL_GAP_MS_MAX;
  private lastArrivalMs = -ARRIVAL_GAP_MS_MAX;
  private readonly clock: QueueClock;
  /** Groups that waited for more APPLYs before they were written. */
  lingers = 0;

  /** Requests in the line now: APPLYs admitted and not yet written, and what waits behind them. */
  get pending(): number {
    return this.length;
  }
  /** Called once an APPLY is admitted or a group is written. */
  private changeWaiters = new Set<() => void>();

  constructor(private readonly name: string, private readonly runApplyGroup: ApplyGroupRunner, clock: Partial<QueueClock> = {}) {
    this.clock = { ...QUEUE_CLOCK_REAL, ...clock };
  }

  /**
   * Reads of what is stored (the version re-read, status) do not wait behind APPLYs of other
   * keys. An APPLY is acknowledged only after its batch is in LevelDB, so every read that
   * arrives after an acknowledgement sees it; a read that overlaps an APPLY sees it whole or
   * not at all (one batch; getMany reads one snapshot). A read of a key an admitted APPLY
   * writes waits for the groups admitted so far (`versionReadMustWait`).
   */
  read<T>(task: () => Promise<T>, keys: readonly string[] = []): Promise<T> {
    if (this.stopped) return Promise.reject(this.stoppingError());
    if (this.admittedWrites.versionReadMustWait(keys)) return this.tail.then(task);
    return task();
  }

  /**
   * Reads the committed state of `keys`: what `readStored` finds in storage, except where an
   * APPLY admitted and not yet written brings a newer version (`committedEntries`).
   */
  async readCommitted(keys: readonly string[], readStored: () => Promise<Entry[]>): Promise<Entry[]> {
    if (this.stopped) throw this.stoppingError();
    const entries = await readStored();
    return this.admittedWrites.committedEntries(keys, entries);
  }

  /** Resolves once an APPLY has been admitted or a group has been written, or after `timeoutMs`. */
  nextChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.changeWaiters;
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
    });
  }

  /** Admits an APPLY, with its coordinator (checked again when its group is written) and its batch's watermark. */
  apply(apply: LoggedApply): Promise<{ written: number }> {
    return new Promise((resolve, reject) => {
      const step = this.admit(reject);
      if (!step) return;
      const admitted = this.admittedWrites.add(apply.ts, apply.writes);
      const done = (): void => {
        this.length -= 1;
        this.admittedWrites.remove(admitted);
      };
      step.applies.push({ apply, resolve: (result) => { done(); resolve(result); }, reject: (error) => { done(); reject(error); } });
      this.noteArrival();
      this.notifyChange();
    });
  }

  /**
   * Runs `task` as a step of its own in the line: after every APPLY admitted before it has
   * been written, and before every APPLY admitted after it. The Paxos acceptor's prepare,
   * accept and chosen go through here, so a vote cleanly separates the APPLYs before it from
   * those after (an accepted view's fence then holds for every later APPLY). The group being
   * filled is closed, so an APPLY that arrives next starts a new group behind this step.
   */
  step<T>(task: () => Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(this.stoppingError());
    this.last = null;
    return new Promise<T>((resolve, reject) => {
      this.tail = this.tail.then(async () => {
        if (this.stopped) {
          reject(this.stoppingError());
          return;
        }
        try {
          resolve(await task());
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  private noteArrival(): void {
    const now = this.clock.now();
    const gap = Math.min(ARRIVAL_GAP_MS_MAX, now - this.lastArrivalMs);
    this.lastArrivalMs = now;
    this.arrivalGapMs += (gap - this.arrivalGapMs) * ARRIVAL_GAP_WEIGHT;
  }

  /** Lets more APPLYs join the group about to be written, when enough are expected meanwhile. */
  private async linger(): Promise<void> {
    if (this.clock.lingerMs <= 0 || this.clock.lingerMs < GROUP_LINGER_ARRIVALS_MIN * this.arrivalGapMs) return;
    this.lingers += 1;
    await this.clock.sleep(this.clock.lingerMs);
  }

  private notifyChange(): void {
    if (this.changeWaiters.size === 0) return;
    const waiters = this.changeWaiters;
    this.changeWaiters = new Set();
    for (const waiter of waiters) waiter();
  }


  /** Refuses every request not yet started and resolves once the running step has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.tail;
  }

  /** The group a new APPLY joins: the last one if it has not started, else a new one. */
  private admit(reject: (error: unknown) => void): Step | null {
    if (this.stopped) {
      reject(this.stoppingError());
      return null;
    }
    if (this.length >= QUEUE_LENGTH_MAX) {
      reject(new OccdbError('NODE_UNAVAILABLE', `${this.name} has ${QUEUE_LENGTH_MAX} APPLYs waiting; try again later`));
      return null;
    }
    this.length += 1;
    if (this.last && !this.last.started) return this.last;
    const step: Step = { started: false, applies: [] };
    this.last = step;
    this.tail = this.tail.then(() => this.runStep(step));
    return step;
  }

  private async runStep(step: Step): Promise<void> {
    if (!this.stopped) await this.linger();
    step.started = true;
    if (this.stopped) {
      const error = this.stoppingError();
      for (const apply of step.applies) apply.reject(error);
      return;
    }
    try {
      const outcomes = await this.runApplyGroup(step.applies.map(({ apply }) => apply));
      step.applies.forEach((queued, index) => {
        const outcome = outcomes[index]!;
        if ('refused' in outcome) queued.reject(outcome.refused);
        else queued.resolve(outcome);
      });
    } catch (error) {
      for (const apply of step.applies) apply.reject(error);
    }
    this.notifyChange();
  }

  private stoppingError(): OccdbError {
    return new OccdbError('NODE_UNAVAILABLE', `${this.name} is shutting down`);
  }
}
