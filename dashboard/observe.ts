// What the middlewares tell of their recent transactions and their hottest keys (the
// client-port request `observe`), asked of every middleware at each poll, all at once.
import { Connection } from '../protocol/connection.js';
import type { ObserveAnswer, ObservedTransaction, TimelineEvent } from '../protocol/schemas.js';
import type { ClusterNode } from '../startup/nodes.js';

export type HotKey = ObserveAnswer['hotKeys'][number];
export type { ObservedTransaction, TimelineEvent };

export type MiddlewareObservation =
  | { ok: true; hotKeys: HotKey[]; recent: ObservedTransaction[] }
  | { ok: false; problem: string };

/**
 * Every middleware's observations, by name, each asked within `timeoutMs` (making the
 * connection included, as collectStatus does). One that does not answer gets its problem.
 */
export async function observeMiddlewares(middlewares: readonly ClusterNode[], timeoutMs: number): Promise<Map<string, MiddlewareObservation>> {
  const answers = await Promise.all(middlewares.map(async (node): Promise<[string, MiddlewareObservation]> => {
    const connection = new Connection(node.endpoint, node.name);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${node.name} did not answer observe within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const answer = await Promise.race([connection.request({ type: 'observe' }, timeoutMs), deadline]);
      return [node.name, { ok: true, hotKeys: answer.hotKeys, recent: answer.recent }];
    } catch (error) {
      return [node.name, { ok: false, problem: (error as Error).message }];
    } finally {
      clearTimeout(timer);
      connection.close();
    }
  }));
  return new Map(answers);
}
