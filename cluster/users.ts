// The users of a cluster: `users.json` beside the cluster file, readable by its owner only.
// For each user it keeps the role and what the login exchange needs to check a proof (the
// salt, the key-derivation cost, StoredKey and ServerKey: protocol/auth.ts), never the
// password or token itself. `occdb user add | remove | list` manages it; a middleware reads
// it again whenever it changed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { OccdbError } from '../errors/catalogue.js';
import { type KeyCost, type StoredKeys, TOKEN_COST, storedKeysOf, userSaltedKey } from '../protocol/auth.js';
import { KeyCostSchema } from '../protocol/schemas.js';
import { USERS_FILE_NAME } from './names.js';

export { USERS_FILE_NAME };

export const USER_ROLES = ['admin', 'readwrite', 'readonly'] as const;
export type UserRole = (typeof USER_ROLES)[number];
export const USER_NAME_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64');
const UserSchema = z.object({
  name: z.string().regex(USER_NAME_PATTERN, 'a name is 1-64 of A-Z a-z 0-9 _ . @ -'),
  role: z.enum(USER_ROLES),
  salt: base64,
  cost: KeyCostSchema,
  storedKey: base64,
  serverKey: base64,
  createdAt: z.string(),
});
export type User = z.infer<typeof UserSchema>;
const UsersFileSchema = z.object({ version: z.literal(1), users: z.array(UserSchema).max(10_000) });

export function usersPath(clusterFile: string): string {
  return path.join(path.dirname(path.resolve(clusterFile)), USERS_FILE_NAME);
}

/** The users in `file`; none when there is no file yet. */
export function readUsers(file: string): User[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new OccdbError('CLUSTER_FILE_INVALID', `cannot read ${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new OccdbError('CLUSTER_FILE_INVALID', `${file} is not JSON: ${(error as Error).message}`);
  }
  const parsed = UsersFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new OccdbError('CLUSTER_FILE_INVALID', `${file}: ${issue?.message ?? 'invalid'}${where}`);
  }
  return parsed.data.users;
}

/** The text of a users file holding `users`. */
export function formatUsers(users: readonly User[]): string {
  return `${JSON.stringify({ version: 1, users }, null, 2)}\n`;
}

/** Writes `users` to `file` atomically, mode 0600. */
export function writeUsers(file: string, users: readonly User[]): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, formatUsers(users), { mode: 0o600 });
  fs.renameSync(temporary, file);
}

/** A user record for `name` with `password`, derived with `cost` and a fresh `salt`. */
export function makeUser(name: string, role: UserRole, password: string, salt: Buffer, cost: KeyCost, now: Date): User {
  const keys = storedKeysOf(userSaltedKey(password, salt, cost), salt, cost);
  return {
    name, role, salt: salt.toString('base64'), cost, storedKey: keys.storedKey.toString('base64'), serverKey: keys.serverKey.toString('base64'), createdAt: now.toISOString(),
  };
}

export function storedKeysOfUser(user: User): StoredKeys {
  return { salt: Buffer.from(user.salt, 'base64'), cost: user.cost, storedKey: Buffer.from(user.storedKey, 'base64'), serverKey: Buffer.from(user.serverKey, 'base64') };
}

/**
 * The users file as a middleware sees it: read again when its size or modification time
 * changed (checked at each login, not at each request), the last good version kept when a
 * new one does not parse.
 */
export class UsersWatcher {
  private users = new Map<string, User>();
  private seen = '';

  constructor(private readonly file: string, private readonly onProblem: (message: string) => void) {
    this.refresh();
  }

  get(name: string): User | undefined {
    this.refresh();
    return this.users.get(name);
  }

  private refresh(): void {
    const stat = fs.statSync(this.file, { throwIfNoEntry: false });
    const signature = stat ? `${stat.size}:${stat.mtimeMs}:${stat.ino}` : 'none';
    if (signature === this.seen) return;
    this.seen = signature;
    try {
      this.users = new Map(readUsers(this.file).map((user) => [user.name, user]));
    } catch (error) {
      this.onProblem(`${(error as Error).message}; the users read before stay in force`);
    }
  }
}

export const ADMIN_CREDENTIALS_FILE_NAME = 'admin.credentials';

/** A generated token: 256 random bits, URL-safe. */
export function generateToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/**
 * Makes the operator's user `admin` with a generated token, when the cluster has no user of
 * that name: the token goes to `admin.credentials` (as `admin:<token>`, mode 0600) beside the
 * cluster file, for whoever runs the cluster to log in with from elsewhere. Returns the path
 * of that file when it made one.
 */
export function ensureAdminUser(clusterFile: string, now: Date): string | null {
  const file = usersPath(clusterFile);
  const users = readUsers(file);
  if (users.some((user) => user.name === 'admin')) return null;
  const token = generateToken();
  const credentials = path.join(path.dirname(file), ADMIN_CREDENTIALS_FILE_NAME);
  fs.writeFileSync(credentials, `admin:${token}\n`, { mode: 0o600 });
  fs.chmodSync(credentials, 0o600);
  writeUsers(file, [...users, makeUser('admin', 'admin', token, crypto.randomBytes(16), TOKEN_COST, now)]);
  return credentials;
}
