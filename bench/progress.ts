// Progress on stderr while a sweep runs: on a terminal one line redrawn in place (done/total,
// the current run, elapsed, ETA); otherwise (a log file, CI) one plain line per event.
import type { PlannedRun } from './plan.js';
import type { RunRecord } from './runner.js';
import type { SweepListener } from './sweep.js';
import { describeWorkload } from './workloads.js';

const BAR_WIDTH = 20;
const REDRAW_INTERVAL_MS = 1_000;

export function formatClock(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const minutes = Math.floor(seconds / 60);
  return minutes >= 60
    ? `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`
    : `${minutes}:${String(seconds % 60).padStart(2, '0')}`;
}

export function describeRun(run: PlannedRun, repetitions: number): string {
  const clients = `${run.configuration.clients} client${run.configuration.clients === 1 ? '' : 's'}`;
  return `${describeWorkload(run.configuration.workload)}, ${clients}, ${run.strategy}, repetition ${run.repetition + 1}/${repetitions}`;
}

/** Remaining time: the average so far times the runs left; before any run ends, the estimate given. */
export function etaMs(elapsedMs: number, done: number, total: number, estimatePerRunMs: number): number {
  const perRunMs = done > 0 ? elapsedMs / done : estimatePerRunMs;
  return perRunMs * (total - done);
}

export class ProgressDisplay implements SweepListener {
  private done = 0;
  private failed = 0;
  private current: PlannedRun | null = null;
  private readonly startedMs = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private readonly tty: boolean;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly total: number,
    private readonly repetitions: number,
    private readonly estimatePerRunMs: number,
  ) {
    this.tty = stream.isTTY === true;
    if (this.tty) {
      this.timer = setInterval(() => this.redraw(), REDRAW_INTERVAL_MS);
      this.timer.unref();
    }
  }

  runStarting(run: PlannedRun): void {
    this.current = run;
    if (this.tty) this.redraw();
    else this.stream.write(`${this.status()}\n`);
  }

  runFinished(run: PlannedRun, record: RunRecord): void {
    this.done += 1;
    if (record.status === 'failed') {
      this.failed += 1;
      this.note(`FAILED run ${run.index + 1} (${describeRun(run, this.repetitions)}): ${record.failure?.kind}: ${record.failure?.message}`);
    } else if (!this.tty) {
      this.stream.write(`  done: ${record.throughputPerSecond.toFixed(0)} txn/s, ${(record.restartsPerCommit ?? 0).toFixed(2)} restarts/commit\n`);
    }
    this.current = null;
    if (this.tty) this.redraw();
  }

  note(text: string): void {
    if (this.tty) this.stream.write('\r\x1b[K');
    this.stream.write(`${text}\n`);
    if (this.tty) this.redraw();
  }

  /** Clears the bar, leaving the terminal as it was. */
  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.tty) this.stream.write('\r\x1b[K');
  }

  private status(): string {
    const elapsedMs = Date.now() - this.startedMs;
    const failed = this.failed > 0 ? `, ${this.failed} FAILED` : '';
    const current = this.current ? ` | ${describeRun(this.current, this.repetitions)}` : '';
    const eta = this.done < this.total ? ` | ETA ${formatClock(etaMs(elapsedMs, this.done, this.total, this.estimatePerRunMs))}` : '';
    return `${this.done}/${this.total} runs${failed} | elapsed ${formatClock(elapsedMs)}${eta}${current}`;
  }

  private redraw(): void {
    const filled = Math.round((this.done / Math.max(1, this.total)) * BAR_WIDTH);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${this.status()}`;
    // Cut to the terminal's width: a wrapped line could not be redrawn in place. A pseudo
    // terminal may report no width at all.
    const columns = this.stream.columns || 120;
    this.stream.write(`\r\x1b[K${line.slice(0, Math.max(20, columns - 1))}`);
  }
}
