// What this process proves itself with when it opens a connection, by the address it opens.
//
// A process learns a cluster by reading its cluster file (cluster/cluster-file.ts), and the
// cluster's secret lies beside it: reading the file registers node keys for every address the
// file names. Whoever can read the cluster directory is the cluster's operator, as whoever can
// read an ssh private key is its owner. A client that logs in as a user registers that user
// for the middlewares' client ports instead (client/credentials.ts), and so uses that user's
// role rather than the operator's.
import { type ClientKeys, type KeyCost, clientKeysOf, nodeSaltedKey, userSaltedKey } from './auth.js';

export interface Credentials {
  /** `node:<NAME>` or `user:<name>`. */
  readonly principal: string;
  /** The client's keys for the salt and cost the server answered with. */
  keys(salt: Buffer, cost: KeyCost): ClientKeys;
}

/** A node of the cluster (or the operator's tools): keys from the cluster secret. */
export function nodeCredentials(name: string, clusterSecret: Buffer): Credentials {
  return { principal: `node:${name}`, keys: (salt) => clientKeysOf(nodeSaltedKey(clusterSecret, salt)) };
}

/**
 * A user with a password or a generated token. The derivation (scrypt) is remembered for the
 * last salt and cost: reconnecting to the same middleware costs nothing more.
 */
export function userCredentials(name: string, password: string): Credentials {
  let remembered: { salt: Buffer; cost: KeyCost; keys: ClientKeys } | null = null;
  return {
    principal: `user:${name}`,
    keys(salt, cost) {
      if (remembered && remembered.salt.equals(salt) && remembered.cost.N === cost.N && remembered.cost.r === cost.r && remembered.cost.p === cost.p) return remembered.keys;
      remembered = { salt, cost, keys: clientKeysOf(userSaltedKey(password, salt, cost)) };
      return remembered.keys;
    },
  };
}

/** This process's name among the nodes, for the principal of the node keys it registers. */
let nodeName = 'OPERATOR';
const byAddress = new Map<string, Credentials>();
/** Addresses whose credentials a user login set: node keys read later do not replace them. */
const userAddresses = new Set<string>();

export function setNodeName(name: string): void {
  nodeName = name;
}

export function addressKey(target: { host: string; port: number } | { path: string }): string {
  return 'path' in target ? `unix:${target.path}` : `${target.host}:${target.port}`;
}

/** Registers node keys of the cluster whose secret is `clusterSecret` for `addresses`. */
export function registerNodeKeys(addresses: readonly string[], clusterSecret: Buffer): void {
  const credentials = nodeCredentials(nodeName, clusterSecret);
  for (const address of addresses) if (!userAddresses.has(address)) byAddress.set(address, credentials);
}

/** Registers a user's credentials for `addresses` (the middlewares' client ports). */
export function registerUserCredentials(addresses: readonly string[], credentials: Credentials): void {
  for (const address of addresses) {
    byAddress.set(address, credentials);
    userAddresses.add(address);
  }
}

/** The credentials to open `address` with, or undefined: then no authentication is tried. */
export function credentialsFor(address: string): Credentials | undefined {
  return byAddress.get(address);
}

/**
 * TCP addresses that speak TLS, with the SHA-256 fingerprint their certificate must have
 * (cluster/tls.ts); registered, like the keys, when a cluster file is read.
 */
const tlsByAddress = new Map<string, string>();

export function registerTls(addresses: readonly string[], fingerprint: string): void {
  for (const address of addresses) tlsByAddress.set(address, fingerprint);
}

/** The certificate fingerprint `address` must show, or undefined when it is reached without TLS. */
export function tlsFor(address: string): string | undefined {
  return tlsByAddress.get(address);
}
