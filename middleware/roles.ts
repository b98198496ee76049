// What each role may ask of a middleware's client port. Checked before anything runs: a
// refused transaction has run no line and written nothing.
//   node       the cluster's own processes and the operator's command line: everything
//   admin      everything: transactions, QUIT, shutdown
//   readwrite  transactions, without QUIT
//   readonly   transactions that write nothing (no ASSIGN, ADD or DELETE), without QUIT
import type { ClientRequest, Role } from '../protocol/schemas.js';

const WRITES = new Set(['ASSIGN', 'ADD', 'DELETE']);

/** Why `role` may not make `request`, or null when it may. */
export function refusal(role: Role, request: ClientRequest): string | null {
  if (role === 'node' || role === 'admin') return null;
  if (request.type === 'shutdown') return `shutting a middleware down needs the admin role (this user is ${role})`;
  if (request.type !== 'txn.run') return null;
  for (const command of request.commands) {
    if (command.op === 'QUIT') return `line ${command.line}: QUIT needs the admin role (this user is ${role}); nothing was run`;
    if (role === 'readonly' && WRITES.has(command.op)) return `line ${command.line}: ${command.op} writes, and this user is readonly; nothing was run`;
  }
  return null;
}
