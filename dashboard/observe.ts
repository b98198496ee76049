// What the middlewares tell of their recent transactions and their hottest keys (the
// client-port request `observe`), asked of every middleware at each poll, all at once.
import { requestOnce } from '../protocol/connection.js';
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
    try {
      const answer = await requestOnce(node.endpoint, node.name, { type: 'observe' }, timeoutMs);
      return [node.name, { ok: true, hotKeys: answer.hotKeys, recent: answer.recent }];
    } catch (error) {
      return [node.name, { ok: false, problem: (error as Error).message }];
    }
  }));
  return new Map(answers);
}
