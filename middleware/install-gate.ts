// Where transactions wait while their middleware has no view to work in: before its first view
// is installed, while one is being installed, and after its life was removed until it rejoins.
// Both engines use it; the core says when it is stopped, the engine opens the gate at install.
import { OccdbError } from '../errors/catalogue.js';

/** How long a transaction waits for its middleware to work in a view again before it fails (NO_QUORUM). */
export const INSTALL_WAIT_MS = 10_000;

export class InstallGate {
  private waiters: Array<() => void> = [];

  /** `stopped`: whether the engine's core works in no view now. */
  constructor(private readonly middlewareId: number, private readonly stopped: () => boolean) {}

  /** True while transactions must wait here (pass() would not resolve at once). */
  get closed(): boolean {
    return this.stopped();
  }

  /** Resolves at once when a view is installed, or once one is; NO_QUORUM if none is within INSTALL_WAIT_MS. */
  async pass(): Promise<void> {
    if (!this.stopped()) return;
    const installed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== done);
        resolve(false);
      }, INSTALL_WAIT_MS);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(done);
    });
    if (!installed) throw new OccdbError('NO_QUORUM', `MIDDLEWARE${this.middlewareId} has not been able to install a view for ${INSTALL_WAIT_MS / 1000} s`);
  }

  /** A view was installed: every transaction waiting goes on (if the core works in it). */
  open(): void {
    if (this.stopped()) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}
