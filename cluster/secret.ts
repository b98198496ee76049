// The cluster secret: 32 random bytes in `cluster.secret`, beside the cluster file, readable
// by its owner only. Every middleware and database proves knowledge of it before any other
// message is taken from it, and so does the operator's command line (status, verify, stop).
// It never appears on a command line or in a log; ssh copies it to other hosts through the
// session's standard input.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { OccdbError } from '../errors/catalogue.js';

export const SECRET_FILE_NAME = 'cluster.secret';
const SECRET_BYTES = 32;

export function secretPath(clusterFile: string): string {
  return path.join(path.dirname(path.resolve(clusterFile)), SECRET_FILE_NAME);
}

/** The secret's text: hex, one line. */
export function formatSecret(secret: Buffer): string {
  return `${secret.toString('hex')}\n`;
}

/**
 * The secret of the cluster whose file is `clusterFile`, made (mode 0600) if there is none yet.
 * A cluster started again in the same directory keeps its secret.
 */
export function ensureSecret(clusterFile: string): Buffer {
  const file = secretPath(clusterFile);
  if (fs.existsSync(file)) return readSecret(clusterFile);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const secret = crypto.randomBytes(SECRET_BYTES);
  // 'wx': never over a file another command made in the meantime; its secret wins.
  try {
    fs.writeFileSync(file, formatSecret(secret), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readSecret(clusterFile);
    throw error;
  }
  return secret;
}

/** The secret beside `clusterFile`, or null when there is none (a cluster file written by hand). */
export function readSecretIfAny(clusterFile: string): Buffer | null {
  return fs.existsSync(secretPath(clusterFile)) ? readSecret(clusterFile) : null;
}

export function readSecret(clusterFile: string): Buffer {
  const file = secretPath(clusterFile);
  let stat: fs.Stats;
  let text: string;
  try {
    stat = fs.statSync(file);
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new OccdbError('CLUSTER_FILE_INVALID', code === 'ENOENT'
      ? `no cluster secret at ${file}: start the cluster with occdb startup, which makes one`
      : `cannot read the cluster secret ${file} (${code ?? (error as Error).message})`);
  }
  // As ssh does with a private key: a secret others can read is no longer a secret.
  if ((stat.mode & 0o077) !== 0) {
    throw new OccdbError('CLUSTER_FILE_INVALID', `${file} is readable by others (mode ${(stat.mode & 0o777).toString(8)}): run chmod 600 ${file}`);
  }
  const hex = text.trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new OccdbError('CLUSTER_FILE_INVALID', `${file} is not a cluster secret (64 hex digits)`);
  return Buffer.from(hex, 'hex');
}
