// The limits every server port puts on what one connection may do, in one place. A hostile
// or broken peer reaches one of them and loses its connection (or, for requests in flight,
// is read more slowly); it never costs the process more than these bounds. The README's
// "Limits" table lists them with what happens when each is reached.

/** A message (one line) larger than this is answered MESSAGE_TOO_LARGE and the connection is closed. */
export const MESSAGE_BYTES_MAX = 4 * 1024 * 1024;

/**
 * A connection must prove who it is within this time of opening it, or it is closed: a client
 * that opens connections and sends nothing (or a byte at a time) cannot hold them.
 */
export const AUTH_TIMEOUT_MS = 5_000;

/**
 * Open connections per listening port (TCP and Unix socket each): a new one beyond it is closed
 * at once. A cluster uses a few per process (each middleware holds one to every peer and every
 * database); the rest are clients, and every connection costs a file descriptor and buffers.
 */
export const CONNECTIONS_PER_PORT_MAX = 512;

/**
 * A message whose first bytes arrived must end (its newline) within this time, or the
 * connection is closed: a peer cannot hold buffers by sending a byte now and then. A 4 MiB
 * message needs about 1 Mbit/s to make it.
 */
export const MESSAGE_COMPLETE_TIMEOUT_MS = 30_000;

/**
 * A connection to a middleware's client port that has sent nothing, with no request of it in
 * flight, for this long is closed. A client's connection may rest while its user thinks; the
 * client library reconnects on its next request.
 */
export const CLIENT_IDLE_TIMEOUT_MS = 10 * 60_000;

/**
 * The same for the ports only nodes use (a middleware's peer port, a database's port): peers
 * heartbeat every 150 ms and middlewares ask every database for its view every tick, so a
 * cluster connection silent for this long belongs to a process that is gone or stuck.
 */
export const NODE_IDLE_TIMEOUT_MS = 60_000;

/**
 * TCP keepalive probes start after an accepted socket has been silent this long, so a
 * connection whose peer vanished (a host powered off, a cable pulled) ends instead of
 * lingering half open.
 */
export const KEEPALIVE_INITIAL_DELAY_MS = 30_000;

/**
 * Requests of one connection that the server has read and not answered yet. At the limit the
 * server stops reading that socket until answers go out: a pipelining peer slows down
 * rather than failing. Under the benchmark (bank and ycsb, 64 clients, 3x3) a connection held
 * at most 22 to a database and 45 to a peer port; the limit leaves room for a middleware's
 * 10,000 transactions at once, whose lock requests (2PL) wait at a peer for their releases.
 */
export const REQUESTS_IN_FLIGHT_PER_CONNECTION_MAX = 4_096;

/**
 * Answers written to a socket that its peer has not read yet, in bytes. Past it the
 * connection is closed: a peer that sends requests and never reads the answers cannot make
 * the process hold them.
 */
export const WRITE_BACKLOG_BYTES_MAX = 32 * 1024 * 1024;

/** How often a server looks over its connections for the time limits above. */
export const CONNECTION_SWEEP_INTERVAL_MS = 1_000;

/** A server logs connections refused for being over CONNECTIONS_PER_PORT_MAX at most once per this time. */
export const REFUSED_CONNECTION_LOG_INTERVAL_MS = 1_000;
