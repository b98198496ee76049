// TLS between hosts: a certificate and key in the cluster directory (tls.crt, and tls.key
// readable by its owner only), made at startup (startup/certificate.ts) or supplied by the user, and used by every
// process for its TCP ports. The cluster file records the certificate's SHA-256 fingerprint:
// whoever connects checks the server's certificate against it (pinning; no certificate
// authority, no host names). Unix sockets on one host stay plain: file permissions guard them.
//
// The login (protocol/auth.ts) is bound to the TLS session, so even a client that did not
// check the certificate cannot be relayed through a machine in the middle.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { OccdbError } from '../errors/catalogue.js';
import { isLoopbackHost } from './cluster-file.js';

export const TLS_CERT_FILE_NAME = 'tls.crt';
export const TLS_KEY_FILE_NAME = 'tls.key';

export interface TlsFiles {
  cert: string;
  key: string;
}

export function besideClusterFile(clusterFile: string, name: string): string {
  return path.join(path.dirname(path.resolve(clusterFile)), name);
}

/** The SHA-256 fingerprint of a PEM certificate, as Node prints it (AA:BB:...). */
export function fingerprintOf(certPem: string): string {
  try {
    return new crypto.X509Certificate(certPem).fingerprint256;
  } catch (error) {
    throw new OccdbError('USAGE', `not a PEM certificate: ${(error as Error).message}`);
  }
}

/** The certificate and key beside `clusterFile`, the key checked to be the owner's only. */
export function readTlsFiles(clusterFile: string): TlsFiles {
  const keyPath = besideClusterFile(clusterFile, TLS_KEY_FILE_NAME);
  const pair = { cert: readTlsText(besideClusterFile(clusterFile, TLS_CERT_FILE_NAME), 'certificate'), key: readTlsText(keyPath, 'key') };
  const mode = fs.statSync(keyPath).mode;
  if ((mode & 0o077) !== 0) throw new OccdbError('CLUSTER_FILE_INVALID', `${keyPath} is readable by others (mode ${(mode & 0o777).toString(8)}): run chmod 600 ${keyPath}`);
  return pair;
}

export function readTlsText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new OccdbError('CLUSTER_FILE_INVALID', `cannot read the TLS ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Refuses a certificate and key that are not PEM, or not a pair. */
export function checkTlsPair(pair: TlsFiles, where: string): void {
  let matches: boolean;
  try {
    matches = new crypto.X509Certificate(pair.cert).checkPrivateKey(crypto.createPrivateKey(pair.key));
  } catch (error) {
    throw new OccdbError('USAGE', `${where}: not a PEM certificate and private key (${(error as Error).message})`);
  }
  if (!matches) throw new OccdbError('USAGE', `${where}: the key is not the certificate's`);
}

/** Logs, once at start, how the cluster's TCP is protected; a warning when hosts talk in plain text. */
export function logTransportSecurity(cluster: { tls?: { fingerprint: string } | undefined; middlewares: ReadonlyArray<{ host: string }>; databases: ReadonlyArray<{ host: string }> }, logger: { info(text: string): void; warn(text: string): void }): void {
  if (cluster.tls !== undefined) {
    logger.info(`TLS on every TCP port (certificate ${cluster.tls.fingerprint.slice(0, 23)}...)`);
    return;
  }
  if ([...cluster.middlewares, ...cluster.databases].some((entry) => !isLoopbackHost(entry.host))) {
    logger.warn('TCP between the hosts of this cluster is NOT encrypted (it was started with --insecure): anyone on the network can read and change what crosses it');
  } else {
    logger.info('TCP without TLS: every process is on this machine');
  }
}
