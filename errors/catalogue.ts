// The one catalogue of error codes. Codes are stable; messages may change.
// The client prints the message as a sentence; `--json` prints the code.

export const ERROR_CODES = {
  BAD_COMMAND_FILE: 'The command file does not parse; nothing of it was run.',
  ENTRY_NONEXISTENT: 'A command read or deleted an entry that does not exist.',
  ENTRY_BOGUS: 'An entry holds a value that is not an integer.',
  INTEGER_OVERFLOW: 'An arithmetic result is beyond the safe integer range.',
  MAGIC_UNKNOWN: 'A MAGIC request the middleware does not know.',
  TXN_ROLLED_BACK: 'The transaction ended with ROLLBACK; nothing of it was kept.',
  TXN_RETRIES_EXHAUSTED: 'The transaction kept conflicting and ran out of retries.',
  NODE_UNAVAILABLE: 'A process the request needs did not answer.',
  MIDDLEWARE_LEAVING: 'The middleware is shutting down and takes no new transactions.',
  TXN_OUTCOME_UNKNOWN: 'The middleware was removed from the cluster while committing; the transaction may or may not have committed.',
  FENCED: 'The sender is no longer a member of the cluster (a newer view removed it); it must rejoin as a new incarnation.',
  NO_QUORUM: 'Not enough databases answered to agree on the cluster\'s membership; nothing can commit until they do.',
  NOT_JOINING: 'The database is not being brought up to date; a state transfer to it was refused.',
  UNAUTHENTICATED: 'The connection did not prove who it is (wrong secret, password or token, or no login); it was closed.',
  FORBIDDEN: 'The user\'s role does not allow the request; nothing of it was run.',
  BAD_MESSAGE: 'A message did not match its schema.',
  UNKNOWN_MESSAGE: 'A message of an unknown type.',
  MESSAGE_TOO_LARGE: 'A message was larger than the limit.',
  TIMEOUT: 'A request got no answer in time.',
  CLUSTER_FILE_INVALID: 'The cluster file is missing or malformed.',
  CLUSTER_UNREACHABLE: 'No middleware of the cluster answered.',
  PROCESS_CONTROL_FAILED: 'A process could not be started or stopped as asked.',
  STORAGE_UNAVAILABLE: 'A database could not open or use its data directory.',
  USAGE: 'The command line is wrong.',
  INTERNAL: 'A bug: an invariant of occdb did not hold. Nothing else uses this code.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Every code, for the wire schemas (a reply with a code outside the catalogue is malformed). */
export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

/** An error that carries a stable code across the wire and up to the user. */
/**
 * The words a process logs when a port of its own is taken: startup looks for them in a
 * failed process's log to choose new ports and try again.
 */
export const PORT_IN_USE = 'is already in use by another process';

export class OccdbError extends Error {
  /** `refused`: the connection was actively refused, so nothing listens there. */
  constructor(readonly code: ErrorCode, message: string, readonly reason?: 'refused') {
    super(message);
    this.name = 'OccdbError';
  }
}

/**
 * True for the errors that mean "a process did not answer" (it is down, unreachable, or too
 * slow): the request may be tried again elsewhere or later. Every other code is an answer.
 */
export function isUnavailableError(error: unknown): error is OccdbError & { code: 'NODE_UNAVAILABLE' | 'TIMEOUT' } {
  return error instanceof OccdbError && (error.code === 'NODE_UNAVAILABLE' || error.code === 'TIMEOUT');
}
