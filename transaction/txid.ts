// Transaction ids: unique across the cluster and across restarts of a middleware.

/** Names the transactions of one middleware process. */
export class TxidSource {
  private nextNumber = 1;
  private readonly prefix: string;

  /**
   * `processId` and `startedAtMs` tell this process apart from an earlier life of the same
   * middleware, which must never have used the same ids.
   */
  constructor(middlewareId: number, processId: number, startedAtMs: number) {
    this.prefix = `${middlewareId}.${processId}.${startedAtMs.toString(36)}`;
  }

  next(): string {
    return `${this.prefix}.${this.nextNumber++}`;
  }
}
