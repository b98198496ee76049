// The cluster's TLS certificate and key, made when a cluster that needs TLS starts (or copied
// in from files the user gives): apart from cluster/tls.ts so that only startup loads the
// certificate library.
import fs from 'node:fs';
import selfsigned from 'selfsigned';
import { TLS_CERT_FILE_NAME, TLS_KEY_FILE_NAME, type TlsFiles, besideClusterFile, checkTlsPair, fingerprintOf, readTlsFiles, readTlsText } from '../cluster/tls.js';

const CERTIFICATE_YEARS = 10;

/**
 * The cluster's certificate and key: those `supplied` (copied in), those already in the
 * directory, or a new self-signed pair (ECDSA P-256: its handshakes cost less than RSA's).
 * Returns the certificate's fingerprint.
 */
export async function ensureTlsFiles(clusterFile: string, supplied?: { certFile: string; keyFile: string }): Promise<string> {
  const certPath = besideClusterFile(clusterFile, TLS_CERT_FILE_NAME);
  const keyPath = besideClusterFile(clusterFile, TLS_KEY_FILE_NAME);
  let pair: TlsFiles;
  if (supplied !== undefined) {
    pair = { cert: readTlsText(supplied.certFile, 'certificate'), key: readTlsText(supplied.keyFile, 'key') };
    checkTlsPair(pair, `${supplied.certFile} and ${supplied.keyFile}`);
  } else if (fs.existsSync(certPath) && fs.existsSync(keyPath)) {
    return fingerprintOf(readTlsFiles(clusterFile).cert);
  } else {
    const notBeforeDate = new Date();
    const notAfterDate = new Date(notBeforeDate);
    notAfterDate.setFullYear(notAfterDate.getFullYear() + CERTIFICATE_YEARS);
    const generated = await selfsigned.generate([{ name: 'commonName', value: 'occdb cluster' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notBeforeDate, notAfterDate });
    pair = { cert: generated.cert, key: generated.private };
  }
  fs.writeFileSync(keyPath, pair.key, { mode: 0o600 });
  fs.chmodSync(keyPath, 0o600);
  fs.writeFileSync(certPath, pair.cert);
  return fingerprintOf(pair.cert);
}

