// The connection every process uses: link.ts's, with what it reads checked by zod's schemas
// (protocol/schemas.ts, compiled once used often). The command line's client and status use
// client-connection.ts instead, which checks the same replies without loading zod.
import { OccdbError } from '../errors/catalogue.js';
import { Link, requestOnceOver, type Checked, type Endpoint, type ReplyChecks } from './link.js';
import { RESULT_SCHEMAS, ReplySchema, type OutgoingRequest, type RequestType, type ResultOf } from './schemas.js';

export * from './link.js';

type ZodAnswer<T> = { success: true; data: T } | { success: false; error: { message: string; issues: Array<{ message: string }> } };

/** A result schema, as parseResult uses it: every one of RESULT_SCHEMAS is one. */
type ResultSchema<T extends RequestType> = { safeParse(value: unknown): ZodAnswer<ResultOf<T>> };

const ZOD_CHECKS: ReplyChecks = {
  reply(json: unknown) {
    const parsed = ReplySchema.safeParse(json);
    return parsed.success ? parsed : { success: false, message: parsed.error.issues[0]?.message ?? 'invalid' };
  },
  result<T extends RequestType>(type: T, result: unknown): Checked<ResultOf<T>> {
    const parsed = (RESULT_SCHEMAS[type] as ResultSchema<T>).safeParse(result);
    return parsed.success ? parsed : { success: false, message: parsed.error.message };
  },
};

export class Connection extends Link {
  constructor(endpoint: Endpoint, label = `${endpoint.host}:${endpoint.port}`) {
    super(endpoint, label, ZOD_CHECKS);
  }
}

/**
 * One request on a connection of its own, closed afterwards. `timeoutMs` bounds all of it:
 * connecting and logging in count against it, as they do for every request.
 */
export function requestOnce<M extends OutgoingRequest>(endpoint: Endpoint, label: string, message: M & { id?: never }, timeoutMs: number): Promise<ResultOf<M['type']>> {
  return requestOnceOver(new Connection(endpoint, label), message, timeoutMs);
}

/** `result` parsed by the result schema of `type`; BAD_MESSAGE naming the sender when it does not match. */
export function parseResult<T extends RequestType>(type: T, result: unknown, label: string): ResultOf<T> {
  const checked = ZOD_CHECKS.result(type, result);
  if (!checked.success) throw new OccdbError('BAD_MESSAGE', `${label} answered ${type} with a malformed result: ${checked.message}`);
  return checked.data;
}
