// Failure detection by heartbeats, as a pure record of when each member was last heard from.
// Members ask each other a few times a second; one not heard from for `timeoutMs` is suspected.
// Time comes in as numbers. A middleware that was itself not running (paused, or its event loop
// blocked) cannot tell who fell silent meanwhile, so it starts counting again (`resumed`).
export interface Suspicion {
  id: number;
  silentMs: number;
}

export class FailureDetector {
  /** Member -> when it was last heard from (or when watching it began). */
  private readonly lastHeard = new Map<number, number>();

  constructor(readonly timeoutMs: number) {}

  /** Watches exactly `ids` from now on: new ones count from `nowMs`, others are forgotten. */
  watch(ids: readonly number[], nowMs: number): void {
    for (const id of [...this.lastHeard.keys()]) if (!ids.includes(id)) this.lastHeard.delete(id);
    for (const id of ids) if (!this.lastHeard.has(id)) this.lastHeard.set(id, nowMs);
  }

  heard(id: number, nowMs: number): void {
    if (this.lastHeard.has(id)) this.lastHeard.set(id, Math.max(this.lastHeard.get(id)!, nowMs));
  }

  /** This process was not running between its last tick and `nowMs`: silence meanwhile proves nothing. */
  resumed(nowMs: number): void {
    for (const id of this.lastHeard.keys()) this.lastHeard.set(id, nowMs);
  }

  /** Members silent for at least the timeout, longest silent first. */
  suspects(nowMs: number): Suspicion[] {
    const suspects: Suspicion[] = [];
    for (const [id, heardMs] of this.lastHeard) {
      const silentMs = nowMs - heardMs;
      if (silentMs >= this.timeoutMs) suspects.push({ id, silentMs });
    }
    return suspects.sort((a, b) => b.silentMs - a.silentMs || a.id - b.id);
  }

  /**
   * Whether suspecting `suspects` among `watched` members is worth a proposal. A middleware
   * cut off from the others suspects all of them while they suspect only it; if it proposed,
   * it could win at the databases and remove the healthy majority. So one that suspects more
   * than half of the others waits for them to act, unless it has a single peer (then the
   * databases' majority decides between the two).
   */
  static mayPropose(suspectCount: number, watchedCount: number): boolean {
    if (suspectCount === 0) return false;
    return watchedCount <= 1 || suspectCount * 2 <= watchedCount;
  }
}
