// Who may connect to each kind of port (protocol/server.ts ServerAuth):
// - a database port and a middleware's peer port: nodes only, that is whoever proves
//   knowledge of the cluster secret (the other processes, and the operator's command line);
// - a middleware's client port: nodes, and the users of users.json with their roles.
import crypto from 'node:crypto';
import { TOKEN_COST, decoyKeys, nodeSaltedKey, storedKeysOf } from '../protocol/auth.js';
import type { ServerAuth } from '../protocol/server.js';
import { type UsersWatcher, storedKeysOfUser } from './users.js';

const SALT_BYTES = 16;

export function nodeAuthority(clusterSecret: Buffer): ServerAuth {
  return {
    lookUp(principal) {
      if (!principal.startsWith('node:')) return null;
      // The server knows the secret: a fresh salt for every login costs nothing.
      const salt = crypto.randomBytes(SALT_BYTES);
      return { keys: storedKeysOf(nodeSaltedKey(clusterSecret, salt), salt, TOKEN_COST), role: 'node' };
    },
    decoy: (principal) => decoyKeys(clusterSecret, principal),
  };
}

export function clientPortAuthority(clusterSecret: Buffer, users: UsersWatcher): ServerAuth {
  const nodes = nodeAuthority(clusterSecret);
  return {
    lookUp(principal) {
      if (principal.startsWith('node:')) return nodes.lookUp(principal);
      const user = users.get(principal.slice('user:'.length));
      return user === undefined ? null : { keys: storedKeysOfUser(user), role: user.role };
    },
    decoy: nodes.decoy,
  };
}
