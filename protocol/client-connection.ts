// The connection of the command line's client and status: link.ts's, with what it reads
// checked against the JSON Schemas generated from zod's (wire-json-schemas.ts) by
// json-schema.ts, so that a one-shot command does not load zod, which took longer to load
// than the command's own work. Only the client port's request types (and the login's) have
// such a schema: any other is refused before it is sent.
import { OccdbError } from '../errors/catalogue.js';
import { checkJson } from './json-schema.js';
import { Link, requestOnceOver, type Checked, type Endpoint, type ReplyChecks } from './link.js';
import type { OutgoingRequest, Reply, RequestType, ResultOf } from './schemas.js';
import { CLIENT_RESULT_JSON_SCHEMAS, REPLY_JSON_SCHEMA, type ClientRequestType } from './wire-json-schemas.js';

function isClientRequestType(type: RequestType): type is ClientRequestType {
  return Object.hasOwn(CLIENT_RESULT_JSON_SCHEMAS, type);
}

const JSON_SCHEMA_CHECKS: ReplyChecks = {
  reply: (json: unknown) => checkJson<Reply>(REPLY_JSON_SCHEMA, json),
  result<T extends RequestType>(type: T, result: unknown): Checked<ResultOf<T>> {
    // request() refuses the other types before sending, so this holds for every answer.
    if (!isClientRequestType(type)) throw new OccdbError('INTERNAL', `a client connection has no schema for the result of ${type}`);
    return checkJson<ResultOf<T>>(CLIENT_RESULT_JSON_SCHEMAS[type], result);
  },
};

export class ClientConnection extends Link {
  constructor(endpoint: Endpoint, label = `${endpoint.host}:${endpoint.port}`) {
    super(endpoint, label, JSON_SCHEMA_CHECKS);
  }

  override request<M extends OutgoingRequest>(message: M & { id?: never }, timeoutMs?: number): Promise<ResultOf<M['type']>> {
    if (!isClientRequestType(message.type)) {
      return Promise.reject(new OccdbError('INTERNAL', `a client connection cannot send ${message.type}: it checks only the client port's answers`));
    }
    return super.request(message, timeoutMs);
  }
}

/** One request on a client connection of its own, closed afterwards, as connection.ts's requestOnce. */
export function clientRequestOnce<M extends OutgoingRequest>(endpoint: Endpoint, label: string, message: M & { id?: never }, timeoutMs: number): Promise<ResultOf<M['type']>> {
  return requestOnceOver(new ClientConnection(endpoint, label), message, timeoutMs);
}
