// occdb user add | remove | list: the users of a cluster (cluster/users.ts). The users file
// lives beside the cluster file; after a change, every host that runs a middleware elsewhere
// gets the new file over ssh, and the middlewares read it at their next login.
import crypto from 'node:crypto';
import path from 'node:path';
import { readClusterFile } from '../cluster/cluster-file.js';
import { type User, type UserRole, USER_NAME_PATTERN, formatUsers, generateToken, makeUser, readUsers, usersPath, writeUsers } from '../cluster/users.js';
import { OccdbError } from '../errors/catalogue.js';
import { PASSWORD_COST, TOKEN_COST } from '../protocol/auth.js';
import { Launchers, type RemoteOptions } from './launchers.js';
import { type Output, formatTable } from './output.js';

/** A password a person chose, or a token made here (printed once). */
export type Secret = { password: string } | { generate: true };

const PASSWORD_LENGTH_MIN = 8;

/** Adds `name` with `role`; returns the generated token when one was asked for. */
export async function addUser(clusterFile: string, name: string, role: UserRole, secret: Secret, output: Output, remote: RemoteOptions = {}): Promise<string | null> {
  if (!USER_NAME_PATTERN.test(name)) throw new OccdbError('USAGE', `user name ${JSON.stringify(name)}: a name is 1-64 of A-Z a-z 0-9 _ . @ -`);
  const file = usersPath(clusterFile);
  const users = readUsers(file);
  if (users.some((user) => user.name === name)) throw new OccdbError('USAGE', `user ${name} already exists; remove it first to change its password or role`);
  if ('password' in secret && secret.password.length < PASSWORD_LENGTH_MIN) {
    throw new OccdbError('USAGE', `the password is too short: at least ${PASSWORD_LENGTH_MIN} characters (or let occdb generate a token)`);
  }
  const token = 'generate' in secret ? generateToken() : null;
  const user = makeUser(name, role, token ?? (secret as { password: string }).password, crypto.randomBytes(16), token === null ? PASSWORD_COST : TOKEN_COST, new Date());
  await saveUsers(clusterFile, [...users, user], output, remote);
  output.line(`added user ${name} (${role})`);
  return token;
}

export async function removeUser(clusterFile: string, name: string, output: Output, remote: RemoteOptions = {}): Promise<void> {
  const file = usersPath(clusterFile);
  const users = readUsers(file);
  if (!users.some((user) => user.name === name)) throw new OccdbError('USAGE', `no user ${name} in ${file}`);
  if (users.filter((user) => user.role === 'admin' && user.name !== name).length === 0 && users.find((user) => user.name === name)?.role === 'admin') {
    output.problem(`${name} was the last admin user: only the cluster directory's owner can administer the cluster now`);
  }
  await saveUsers(clusterFile, users.filter((user) => user.name !== name), output, remote);
  output.line(`removed user ${name}; connections it has open keep their login until they close`);
}

export function listUsers(clusterFile: string, output: Output): void {
  const users = readUsers(usersPath(clusterFile));
  if (users.length === 0) {
    output.line('no users (the cluster directory\'s owner logs in with the cluster secret)');
    return;
  }
  for (const line of formatTable(['NAME', 'ROLE', 'CREATED'], users.map((user) => [user.name, user.role, user.createdAt]))) output.line(line);
}

/** Writes the users file here, then to every other host that runs a middleware. */
async function saveUsers(clusterFile: string, users: readonly User[], output: Output, remote: RemoteOptions): Promise<void> {
  const cluster = readClusterFile(clusterFile);
  writeUsers(usersPath(clusterFile), users);
  const remoteFiles = new Map<string, string>();
  for (const entry of cluster.middlewares) {
    if (entry.clusterFile !== undefined) remoteFiles.set(entry.host, path.posix.join(path.posix.dirname(entry.clusterFile), path.basename(usersPath(clusterFile))));
  }
  if (remoteFiles.size === 0) return;
  const launchers = Launchers.forCluster(cluster, remote);
  try {
    for (const [host, file] of remoteFiles) {
      try {
        await launchers.remoteLauncher(host).writeFile(file, formatUsers(users), true);
      } catch (error) {
        output.problem(`${host}: could not copy the users file (${(error as Error).message}); its middlewares keep the users they had`);
      }
    }
  } finally {
    launchers.close();
  }
}
