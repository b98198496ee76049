// A stand-in middleware for client tests: it answers every txn.run with `answer(request,
// index)` and records the requests, so a test can see exactly what a client sent.
import { NdjsonServer } from '../../protocol/server.js';
import { ClientRequestSchema, type ClientRequest, type TxnResult } from '../../protocol/schemas.js';

export type TxnRun = Extract<ClientRequest, { type: 'txn.run' }>;

const silentLogger = { warn: () => {}, error: () => {} };

export async function standInMiddleware(
  answer: (request: TxnRun, index: number) => Promise<TxnResult> | TxnResult,
): Promise<{ server: NdjsonServer; requests: TxnRun[] }> {
  const requests: TxnRun[] = [];
  const server = await NdjsonServer.listen({
    host: '127.0.0.1',
    port: 0,
    schema: ClientRequestSchema,
    knownTypes: ['ping', 'status', 'txn.run', 'shutdown'],
    logger: silentLogger,
    label: 'stand-in middleware',
    handle: (request) => {
      if (request.type !== 'txn.run') return {};
      requests.push(request);
      return answer(request, requests.length - 1);
    },
  });
  return { server, requests };
}
