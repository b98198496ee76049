// zod schemas of every message on the wire. Every process validates what it receives here.
// The schemas requests and replies are parsed with on receipt are compiled (z.compile): the
// same answers and the same errors, several times faster (peer.validate 2.6 us -> 0.2 us).
// Compiling costs about 50 ms for all of them, so a schema is compiled only once it has been
// used a few times: a server compiles what it receives within its first second, and a
// one-shot command (occdb client, occdb status) parses its one or two replies without.
import { z } from 'zod';
import { ERROR_CODE_LIST } from '../errors/catalogue.js';
import { COMMANDS_PER_TRANSACTION_MAX, KEYS_PER_REQUEST_MAX, KEY_LENGTH_MAX, KEY_PATTERN } from './language.js';

/** Parses a schema answers with zod's own parser before it is compiled. */
export const PARSES_BEFORE_COMPILE = 20;

/** Every schema compiled on use, for compileSchemasNow(). */
const lazilyCompiled: Array<() => void> = [];

/**
 * `schema`, compiled by zod after its first PARSES_BEFORE_COMPILE parses; strict, so a schema
 * zod cannot compile fails loudly then (and in the test that calls compileSchemasNow()).
 * Everything but parse and safeParse is the schema's own (options, shape, ...). parse and
 * safeParse become the schema's own properties, replaced by the compiled ones once compiled:
 * a parse then costs nothing more than the compiled one (a Proxy in front of the schema cost
 * about 1 us a message).
 */
function compiled<T extends z.ZodType>(schema: T): T {
  type Parsers = { parse: T['parse']; safeParse: T['safeParse'] };
  const own = schema as Parsers;
  let parses = 0;
  let done = false;
  const compileNow = (): void => {
    if (done) return;
    done = true;
    const compiledSchema = z.compile(schema, { strict: true });
    own.parse = compiledSchema.parse.bind(compiledSchema);
    own.safeParse = compiledSchema.safeParse.bind(compiledSchema);
  };
  lazilyCompiled.push(compileNow);
  const counted = <F extends (...args: never[]) => unknown>(slow: F): F => ((...args: Parameters<F>) => {
    parses += 1;
    if (parses > PARSES_BEFORE_COMPILE) compileNow();
    return slow(...args);
  }) as F;
  own.parse = counted(schema.parse.bind(schema) as T['parse']);
  own.safeParse = counted(schema.safeParse.bind(schema) as T['safeParse']);
  return schema;
}

/** Compiles every schema that is compiled on use, now: a schema zod cannot compile throws here. */
export function compileSchemasNow(): void {
  for (const compileNow of lazilyCompiled) compileNow();
}

export { MESSAGE_BYTES_MAX } from './limits.js';
export { COMMANDS_PER_TRANSACTION_MAX, KEYS_PER_REQUEST_MAX, KEY_LENGTH_MAX, KEY_PATTERN };

export const TimestampSchema = z.tuple([
  z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
]);

export const KeySchema = z.string().max(KEY_LENGTH_MAX).regex(KEY_PATTERN, 'not an entry name');
export const KeyListSchema = z.array(KeySchema).max(KEYS_PER_REQUEST_MAX);

/**
 * A stored value: any JSON value (the command language writes safe integers). Whatever a
 * process receives has been through JSON.parse, so it is JSON already; z.json() would walk it
 * again with a recursive schema, which zod cannot compile: a db.apply-batch of two APPLYs of
 * two writes took 3.9 us to parse with it, and takes 0.16 us compiled without it.
 */
const ValueSchema = z.unknown();

/** A stored entry. `value` absent means "no live value": never written, or deleted (a tombstone). */
export const EntrySchema = z.object({
  version: TimestampSchema,
  value: ValueSchema.optional(),
});
export type Entry = z.infer<typeof EntrySchema>;

/** One write of a transaction: `value` absent means delete (write a tombstone). */
export const WriteSchema = z.object({ key: KeySchema, value: ValueSchema.optional() });

// ---- commands of the client language, as parsed by client/parser.ts ----

/** An operand: an entry name (string) or a safe-integer literal (number). */
export const OperandSchema = z.union([KeySchema, z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER)]);
export type Operand = z.infer<typeof OperandSchema>;

const line = z.number().int().positive();
export const CommandSchema = z.discriminatedUnion('op', [
  z.object({ line, op: z.literal('ASSIGN'), target: KeySchema, source: OperandSchema }),
  z.object({ line, op: z.literal('ADD'), target: KeySchema, left: OperandSchema, right: OperandSchema }),
  z.object({ line, op: z.literal('PRINT'), source: OperandSchema }),
  z.object({ line, op: z.literal('DELETE'), target: KeySchema }),
  z.object({ line, op: z.literal('SLEEP'), seconds: z.number().nonnegative().max(3600) }),
  z.object({ line, op: z.literal('IGNORE') }),
  z.object({ line, op: z.literal('MAGIC'), args: z.tuple([z.number().int(), z.number().int(), z.number().int()]) }),
  z.object({ line, op: z.literal('QUIT') }),
  z.object({ line, op: z.literal('NOCMD') }),
]);
export type Command = z.infer<typeof CommandSchema>;

// ---- results ----

/** An error code of the catalogue (errors/catalogue.ts): typed on the wire, not a free string. */
export const ErrorCodeSchema = z.enum(ERROR_CODE_LIST);

export const ErrorBodySchema = z.object({ code: ErrorCodeSchema, message: z.string() });
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export const LineResultSchema = z.discriminatedUnion('kind', [
  z.object({ line, kind: z.literal('print'), value: z.string() }),
  z.object({ line, kind: z.literal('error'), code: ErrorCodeSchema, message: z.string() }),
]);
export type LineResult = z.infer<typeof LineResultSchema>;

export const TxnOutcomeSchema = z.enum(['committed', 'rolled_back', 'failed']);
export type TxnOutcome = z.infer<typeof TxnOutcomeSchema>;

export const TxnResultSchema = compiled(z.object({
  outcome: TxnOutcomeSchema,
  /** The commit timestamp (committed only). */
  ts: TimestampSchema.optional(),
  retries: z.number().int().nonnegative(),
  results: z.array(LineResultSchema),
  /** Why the transaction did not commit (rolled_back by an error, or failed). */
  error: z.object({ code: ErrorCodeSchema, message: z.string(), line: line.optional() }).optional(),
  middlewareId: z.number().int(),
  quit: z.boolean().optional(),
  /** Names the transaction in the middleware's `observe` answer: `M<middleware id>-<sequence number of its process>`. */
  traceId: z.string().max(100).optional(),
}));
export type TxnResult = z.infer<typeof TxnResultSchema>;

// ---- requests ----

const id = z.number().int().nonnegative();

export const PingRequest = z.object({ id, type: z.literal('ping') });
export const StatusRequest = z.object({ id, type: z.literal('status') });

// Choosing a view: the Paxos messages a proposing middleware sends to the databases, its
// acceptors. protocol/ may not import view/, so these shapes are written out again here; a test
// checks at compile time that they are exactly view/types.ts's Ballot, Member and View and that
// the results are exactly the acceptor's answers (view/acceptor.ts).
const nodeId = z.number().int().positive().max(1_000_000);
const epoch = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** `"<boot>.<nonce>"`, as view/types.ts's makeIncarnation writes it. */
export const IncarnationSchema = z.string().max(100).regex(/^\d+\.[0-9A-Za-z]+$/, 'not an incarnation');
export const BallotSchema = z.object({ round: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), proposer: nodeId, incarnation: IncarnationSchema });
export const MemberSchema = z.object({ id: nodeId, incarnation: IncarnationSchema });
const NodeIdListSchema = z.array(nodeId).max(1_000);
export const ViewSchema = z.object({ epoch, members: z.array(MemberSchema).max(1_000), replicas: NodeIdListSchema, joining: NodeIdListSchema });
// database
/** The longest a read may ask its database to wait for the versions it needs. */
export const READ_WAIT_MS_MAX = 1_000;
export const DbReadRequest = z.object({
  id,
  type: z.literal('db.read'),
  keys: KeyListSchema,
  /**
   * Keys (among `keys`) a transaction known to be committing is about to write, with its
   * version: the database answers once it has at least these versions (stored, or in an
   * APPLY it has admitted), or after `waitMs` with what it has.
   */
  atLeast: z.array(z.tuple([KeySchema, TimestampSchema])).max(KEYS_PER_REQUEST_MAX).optional(),
  waitMs: z.number().int().min(0).max(READ_WAIT_MS_MAX).optional(),
  /**
   * The middleware reading, as `(id, incarnation)`: fenced like an APPLY (refused with FENCED
   * unless a member of the newest view the database accepted). Absent: an operator's read
   * (`occdb verify`, tests), not fenced.
   */
  from: MemberSchema.optional(),
});
export const DbVersionsRequest = z.object({ id, type: z.literal('db.versions'), keys: KeyListSchema, from: MemberSchema.optional() });
/** One transaction's writes, and who coordinated it (fenced: refused with FENCED unless a member of the newest view accepted). */
export const DbApplyRequest = z.object({
  id,
  type: z.literal('db.apply'),
  from: MemberSchema,
  ts: TimestampSchema,
  writes: z.array(WriteSchema).max(KEYS_PER_REQUEST_MAX),
});
/**
 * Several APPLYs of one coordinator in one message, applied in the order given (as one group,
 * one sync). `watermark`: every transaction of `from` with a timestamp counter at or below it
 * is on every database of its view, so its recent-commits records may go.
 */
export const DbApplyBatchRequest = z.object({
  id,
  type: z.literal('db.apply-batch'),
  from: MemberSchema,
  watermark: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
  applies: z.array(z.object({ ts: TimestampSchema, writes: z.array(WriteSchema).max(KEYS_PER_REQUEST_MAX) })).min(1).max(1_000),
});
/**
 * Recovery, step one: the recent-commits records of every coordinator that is not in
 * `members` (the new view's), and the largest version stored, for the INSTALL clock.
 */
export const DbCommitsRequest = z.object({ id, type: z.literal('db.commits'), from: MemberSchema, members: z.array(MemberSchema).max(1_000) });
/** One transaction in a database's recent-commits log: written in its APPLY's batch. */
export const CommitRecordSchema = z.object({ ts: TimestampSchema, coordinator: MemberSchema, keys: KeyListSchema });
export type CommitRecord = z.infer<typeof CommitRecordSchema>;
/** A stored entry with its key: what recovery copies from one database to the others. */
export const KeyedEntrySchema = EntrySchema.extend({ key: KeySchema });
/**
 * Recovery, step two: `entries` written under the Thomas rule key by key (each at its own
 * version), and the recent-commits records `drop` removed, in one synced batch. Fenced.
 */
export const DbRecoverRequest = z.object({
  id,
  type: z.literal('db.recover'),
  from: MemberSchema,
  entries: z.array(KeyedEntrySchema).max(KEYS_PER_REQUEST_MAX),
  drop: z.array(TimestampSchema).max(KEYS_PER_REQUEST_MAX),
});
/**
 * The most recent-commits records one db.transfer carries. A middleware copies what db.commits
 * answers, which puts no bound on their number; so this bound is above what fits the message
 * limit (4 MiB: about 48,000 records of two short keys), the one a transfer meets first.
 */
export const RECORDS_PER_TRANSFER_MAX = 100_000;
/**
 * State transfer, one page: a snapshot's `entries` written under the Thomas rule key by key
 * (each at its own version, as db.recover writes them), and its recent-commits `records` added
 * unless held already or below their life's watermark, in one synced batch. Fenced; refused with
 * NOT_JOINING unless the database is being brought up to date and has not yet recorded the end.
 */
export const DbTransferRequest = z.object({
  id,
  type: z.literal('db.transfer'),
  from: MemberSchema,
  entries: z.array(KeyedEntrySchema).max(KEYS_PER_REQUEST_MAX),
  records: z.array(CommitRecordSchema).max(RECORDS_PER_TRANSFER_MAX),
});
/**
 * State transfer, the end: the database records durably that its transfer for the view of
 * `epoch` (the one that made it joining) is complete. Fenced; NOT_JOINING unless it is joining
 * since `epoch`. Idempotent.
 */
export const DbTransferDoneRequest = z.object({ id, type: z.literal('db.transfer-done'), from: MemberSchema, epoch });
/**
 * Answers {} only while `from` is a member of the newest view accepted (else FENCED): a read-only
 * commit's confirmation. `ts`: the largest timestamp of the read-only commits it confirms, which
 * the database counts in its largest version (an INSTALL clock goes above it).
 */
export const DbConfirmRequest = z.object({ id, type: z.literal('db.confirm'), from: MemberSchema, ts: TimestampSchema });
/** The newest chosen view this database knows, and the value it accepted for the epoch after, if any. */
export const DbViewRequest = z.object({ id, type: z.literal('db.view') });
export const DbScanRequest = z.object({
  id,
  type: z.literal('db.scan'),
  after: KeySchema.optional(),
  limit: z.number().int().positive().max(10_000),
});

export const DbPrepareRequest = z.object({ id, type: z.literal('db.prepare'), epoch, ballot: BallotSchema });
export const DbAcceptRequest = z.object({ id, type: z.literal('db.accept'), epoch, ballot: BallotSchema, view: ViewSchema });
/** A proposer tells a database which view was chosen; an older or already known one changes nothing. */
export const DbChosenRequest = z.object({ id, type: z.literal('db.chosen'), view: ViewSchema });

export const DatabaseRequestSchema = compiled(z.discriminatedUnion('type', [
  PingRequest, StatusRequest, DbReadRequest, DbVersionsRequest, DbApplyRequest, DbApplyBatchRequest, DbScanRequest,
  DbPrepareRequest, DbAcceptRequest, DbChosenRequest, DbCommitsRequest, DbRecoverRequest, DbConfirmRequest, DbViewRequest,
  DbTransferRequest, DbTransferDoneRequest,
]));
export type DatabaseRequest = z.infer<typeof DatabaseRequestSchema>;

export const DbReadResult = compiled(z.object({ entries: z.array(EntrySchema) }));
export const DbVersionsResult = compiled(z.object({ versions: z.array(TimestampSchema) }));
export const DbApplyResult = compiled(z.object({ written: z.number().int().nonnegative() }));
export const DbApplyBatchResult = compiled(z.object({ written: z.array(z.number().int().nonnegative()) }));
export const DbScanResult = z.object({
  entries: z.array(EntrySchema.extend({ key: KeySchema })),
  done: z.boolean(),
});

/** A prepare or accept refused, with what lets its proposer catch up (view/acceptor.ts's Refusal). */
const refused = { type: z.literal('refused'), epoch, ballot: BallotSchema };
const RefusedResults = [
  z.object({ ...refused, reason: z.literal('outbid'), promised: BallotSchema }),
  z.object({ ...refused, reason: z.literal('already-chosen'), view: ViewSchema }),
  z.object({ ...refused, reason: z.literal('gap'), chosen: ViewSchema }),
] as const;
export const AcceptedValueSchema = z.object({ ballot: BallotSchema, view: ViewSchema });
export const DbPrepareResult = compiled(z.union([
  z.object({ type: z.literal('promise'), epoch, ballot: BallotSchema, accepted: AcceptedValueSchema.nullable() }),
  ...RefusedResults,
]));
export const DbAcceptResult = compiled(z.union([z.object({ type: z.literal('accepted'), epoch, ballot: BallotSchema }), ...RefusedResults]));
/** The epoch of the newest chosen view the database knows, after taking in the one sent. */
export const DbChosenResult = compiled(z.object({ epoch }));
export const DbCommitsResult = compiled(z.object({ records: z.array(CommitRecordSchema), maxVersion: TimestampSchema }));
export const DbRecoverResult = compiled(z.object({ written: z.number().int().nonnegative(), dropped: z.number().int().nonnegative() }));
export const DbTransferResult = compiled(z.object({ written: z.number().int().nonnegative(), recorded: z.number().int().nonnegative() }));
export const DbTransferDoneResult = compiled(z.object({ complete: z.literal(true) }));
/**
 * Where a database stands in being brought up to date: joining since the view of epoch
 * `joiningSince` (the one that made it joining and cleared its store), and whether its state
 * transfer is complete. null: not joining (in sync, or out of the views).
 */
export const SyncStateSchema = z.object({ joiningSince: epoch, complete: z.boolean() }).nullable();
export type SyncState = NonNullable<z.infer<typeof SyncStateSchema>>;
export const DbViewResult = compiled(z.object({ chosen: ViewSchema, accepted: AcceptedValueSchema.nullable(), sync: SyncStateSchema }));

// middleware, client port
export const TxnRunRequest = z.object({
  id,
  type: z.literal('txn.run'),
  commands: z.array(CommandSchema).max(COMMANDS_PER_TRANSACTION_MAX),
  end: z.enum(['commit', 'rollback']),
});
export const ShutdownRequest = z.object({ id, type: z.literal('shutdown') });
/** What the middleware observed of its recent transactions and its contended keys (the dashboard's data). */
export const ObserveRequest = z.object({ id, type: z.literal('observe') });
export const ClientRequestSchema = compiled(z.discriminatedUnion('type', [PingRequest, StatusRequest, TxnRunRequest, ShutdownRequest, ObserveRequest]));
export type ClientRequest = z.infer<typeof ClientRequestSchema>;

// every port, before anything else: proving who is connecting (protocol/auth.ts)
export const ROLES = ['node', 'admin', 'readwrite', 'readonly'] as const;
export type Role = (typeof ROLES)[number];
const base64 = (bytesMax: number) => z.string().max(Math.ceil(bytesMax / 3) * 4).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64');
/** `node:MIDDLEWARE2`, `node:OPERATOR` or `user:<name>`. */
export const PrincipalSchema = z.string().max(80).regex(/^(node|user):[A-Za-z0-9_.@-]{1,64}$/, 'not node:<name> or user:<name>');
export const AuthHelloRequest = z.object({ id, type: z.literal('auth.hello'), principal: PrincipalSchema, nonce: base64(48).min(16) });
export const AuthProofRequest = z.object({ id, type: z.literal('auth.proof'), proof: base64(32) });
export const AuthRequestSchema = compiled(z.discriminatedUnion('type', [AuthHelloRequest, AuthProofRequest]));
export type AuthRequest = z.infer<typeof AuthRequestSchema>;
/** scrypt's cost; bounded so that a server cannot make a client spend more than 64 MiB on one login. */
export const KeyCostSchema = z.object({ N: z.number().int().min(2).max(65_536), r: z.number().int().min(1).max(8), p: z.number().int().min(1).max(2) });
export const AuthHelloResult = compiled(z.object({ nonce: base64(96), salt: base64(48), cost: KeyCostSchema }));
export const AuthProofResult = compiled(z.object({ signature: base64(32), role: z.enum(ROLES) }));

// middleware, peer port
export const ReadSetSchema = z.array(z.tuple([KeySchema, TimestampSchema])).max(KEYS_PER_REQUEST_MAX);
export const PeerValidateRequest = z.object({
  id,
  type: z.literal('peer.validate'),
  from: z.number().int().positive(),
  /** The coordinator's installed view: a voter in another epoch answers NO. */
  epoch,
  txid: z.string().max(100),
  ts: TimestampSchema,
  readSet: ReadSetSchema,
  writeKeys: KeyListSchema,
});
/**
 * Failure detection: members ask each other a few times a second. The request carries the newest
 * epoch the sender knows chosen (a receiver that knows less catches up), the answer the
 * responder's installed epoch.
 */
export const PeerHeartbeatRequest = z.object({ id, type: z.literal('peer.heartbeat'), from: MemberSchema, epoch });
/**
 * Installing a chosen view, step one: the member stops validating in its old view (undecided
 * transactions abort, decided ones are finished) and answers with its clock.
 */
export const PeerStopRequest = z.object({ id, type: z.literal('peer.stop'), from: MemberSchema, view: ViewSchema });
/** Installing a chosen view, last step: the member moves its clock past `clock` and validates in `view`. */
export const PeerInstallRequest = z.object({ id, type: z.literal('peer.install'), from: MemberSchema, view: ViewSchema, clock: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER) });
export const LockModeSchema = z.enum(['shared', 'exclusive']);
/** 2PL: lock keys at their home middleware. Answered only when every lock is granted (or the requester must die). */
export const PeerLockRequest = z.object({
  id,
  type: z.literal('peer.lock'),
  from: z.number().int().positive(),
  /** The requester's view: a home in another one refuses (homes are computed over its members). */
  epoch,
  txid: z.string().max(100),
  ts: TimestampSchema,
  locks: z.array(z.object({ key: KeySchema, mode: LockModeSchema })).max(KEYS_PER_REQUEST_MAX),
});
/** 2PL: release every lock a transaction holds or waits for at this home. */
export const PeerReleaseRequest = z.object({ id, type: z.literal('peer.release'), from: z.number().int().positive(), epoch, txid: z.string().max(100) });
export const PeerRequestSchema = compiled(z.discriminatedUnion('type', [
  PingRequest, StatusRequest, PeerValidateRequest, PeerHeartbeatRequest, PeerStopRequest, PeerInstallRequest, PeerLockRequest, PeerReleaseRequest,
]));
export const LockResult = compiled(z.union([
  z.object({ granted: z.literal(true), clock: z.number().int().nonnegative() }),
  z.object({ granted: z.literal(false), reason: z.enum(['die', 'leaving']), detail: z.string() }),
]));
export type PeerRequest = z.infer<typeof PeerRequestSchema>;

/** `key`: with a NO for a conflict, the key the voter found in conflict (what `observe` counts as a hot key). */
export const VoteResult = compiled(z.object({ vote: z.enum(['yes', 'check', 'no']), clock: z.number().int().nonnegative(), key: KeySchema.optional() }));
export const HeartbeatResult = compiled(z.object({ from: MemberSchema, epoch }));
export const StopResult = compiled(z.object({ clock: z.number().int().nonnegative() }));
export const EmptyResult = compiled(z.object({}));

/** One event of a transaction's timeline in `observe`: `atMs` after the transaction began. */
export const TimelineEventSchema = z.object({
  atMs: z.number().nonnegative(),
  /** 'read', 'vote', 'version-check', 'apply', 'reply' (OCC); 'lock', 'read', 'apply', 'reply' (2PL); 'retry' between attempts. */
  phase: z.string(),
  event: z.string(),
  node: z.string().optional(),
});
export const ObservedTransactionSchema = z.object({
  traceId: z.string(),
  outcome: z.string(),
  /** ISO time. */
  startedAt: z.string(),
  totalMs: z.number().nonnegative(),
  errorCode: z.string().optional(),
  timeline: z.array(TimelineEventSchema),
});
export const ObserveResult = compiled(z.object({
  /** The keys that made the most transactions abort or wait, since the process started, most first. */
  hotKeys: z.array(z.object({ key: z.string(), aborts: z.number().int().nonnegative(), waits: z.number().int().nonnegative() })),
  /** The last transactions this middleware answered, newest first. */
  recent: z.array(ObservedTransactionSchema),
}));
export type ObserveAnswer = z.infer<typeof ObserveResult>;
export type ObservedTransaction = z.infer<typeof ObservedTransactionSchema>;
export type TimelineEvent = z.infer<typeof TimelineEventSchema>;

/** What `status` returns, for every role. */
export const StatusResult = z.object({
  role: z.enum(['database', 'middleware']),
  id: z.number().int().positive(),
  pid: z.number().int(),
  ports: z.record(z.string(), z.number().int()),
  uptimeMs: z.number().nonnegative(),
  clock: z.number().int().nonnegative().optional(),
  strategy: z.string().optional(),
  /** Middleware: transactions answered committed since it started. */
  commits: z.number().int().nonnegative().optional(),
  /** Middleware: transactions answered rolled back (ROLLBACK, or a command's error) since it started. */
  rolledBack: z.number().int().nonnegative().optional(),
  /** Middleware: transactions answered with a failure (retries exhausted, unavailable, …) since it started. */
  failed: z.number().int().nonnegative().optional(),
  /** Middleware: attempts that lost validation (or a lock) and ran again, since it started. */
  aborts: z.number().int().nonnegative().optional(),
  inFlight: z.number().int().nonnegative().optional(),
  members: z.array(z.number().int()).optional(),
  requests: z.number().int().nonnegative().optional(),
  /** Requests this process has sent to other processes (peers, databases) since it started. */
  messagesSent: z.number().int().nonnegative().optional(),
  /** 2PL: keys whose lock this middleware homes that are held or waited for. */
  lockedKeys: z.number().int().nonnegative().optional(),
  /** Connections open to this process now, by transport. */
  connections: z.object({ tcp: z.number().int().nonnegative(), unix: z.number().int().nonnegative() }).optional(),
  /** Database: synced batches written since it started (one per group commit). */
  syncs: z.number().int().nonnegative().optional(),
  /** Database: APPLYs acknowledged since it started. */
  applies: z.number().int().nonnegative().optional(),
  /** Database: groups that waited for more APPLYs before they were written. */
  lingers: z.number().int().nonnegative().optional(),
  /** Database: requests in its line of writes now (APPLYs admitted and not yet written among them). */
  pending: z.number().int().nonnegative().optional(),
  /** Database: entries with a live value (counted at most every few seconds). */
  keys: z.number().int().nonnegative().optional(),
  /** Database: the epoch of the newest chosen view it knows. */
  chosenEpoch: epoch.optional(),
  /** Database: the ballot it promised for the epoch after, if any. */
  promised: BallotSchema.nullable().optional(),
  /** Database: where it stands in being brought up to date (db.view's `sync`). */
  sync: SyncStateSchema.optional(),
  /** Middleware: this life's incarnation. */
  incarnation: IncarnationSchema.optional(),
  /** The installed view (middleware), or the newest chosen one (database). */
  view: ViewSchema.optional(),
  /** Middleware: members it suspects now (missed heartbeats), with why. */
  suspected: z.array(z.object({ id: nodeId, why: z.string() })).optional(),
  /** Middleware: databases of the view it suspects now (no answer), with why. */
  suspectedDatabases: z.array(z.object({ id: nodeId, why: z.string() })).optional(),
  /** Middleware: the state transfer it runs now: to which database, from which, entries copied so far. */
  transfer: z.object({ database: nodeId, source: nodeId, copied: z.number().int().nonnegative() }).nullable().optional(),
});
export type Status = z.infer<typeof StatusResult>;

// ---- replies ----

export const ReplySchema = compiled(z.union([
  z.object({ id: id.nullable(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: id.nullable(), ok: z.literal(false), error: ErrorBodySchema }),
]));
export type Reply = z.infer<typeof ReplySchema>;

/** Distributes Omit over a union, so a request can be written without its `id`. */
export type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

// ---- the request catalogue: what a sender may send, and the result each type is answered with ----

/** `T` with every array, tuple and object read-only: a sender may pass read-only data (a Timestamp, a ReadSet). */
export type DeepReadonly<T> = T extends ReadonlyArray<infer E> ? ReadonlyArray<DeepReadonly<E>> : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** Every request a process may send, typed from the same schemas the receiver parses it with (less its id). */
export type OutgoingRequest = DeepReadonly<WithoutId<DatabaseRequest> | WithoutId<ClientRequest> | WithoutId<PeerRequest> | WithoutId<AuthRequest>>;
export type RequestType = OutgoingRequest['type'];

/** The schema of the result each request type is answered with: a sender parses the answer with it. */
export const RESULT_SCHEMAS = {
  ping: EmptyResult,
  status: StatusResult,
  'db.read': DbReadResult,
  'db.versions': DbVersionsResult,
  'db.apply': DbApplyResult,
  'db.apply-batch': DbApplyBatchResult,
  'db.scan': DbScanResult,
  'db.prepare': DbPrepareResult,
  'db.accept': DbAcceptResult,
  'db.chosen': DbChosenResult,
  'db.commits': DbCommitsResult,
  'db.recover': DbRecoverResult,
  'db.confirm': EmptyResult,
  'db.view': DbViewResult,
  'db.transfer': DbTransferResult,
  'db.transfer-done': DbTransferDoneResult,
  'txn.run': TxnResultSchema,
  'auth.hello': AuthHelloResult,
  'auth.proof': AuthProofResult,
  shutdown: EmptyResult,
  observe: ObserveResult,
  'peer.validate': VoteResult,
  'peer.heartbeat': HeartbeatResult,
  'peer.stop': StopResult,
  'peer.install': EmptyResult,
  'peer.lock': LockResult,
  'peer.release': EmptyResult,
} as const satisfies Record<RequestType, z.ZodType>;

/** The result of a request of type `T`, as the sender sees it. */
export type ResultOf<T extends RequestType> = z.infer<(typeof RESULT_SCHEMAS)[T]>;
