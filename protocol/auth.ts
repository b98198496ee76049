// Proving who is at the other end of a connection, before any other message is taken: the
// exchange of SCRAM (RFC 5802, as PostgreSQL and MongoDB use it), with Node's own crypto.
//
//   client → server  hello:  who I claim to be, and a fresh client nonce
//   server → client  salt, key-derivation cost, and the nonce with a fresh server part added
//   client → server  proof:  ClientKey XOR HMAC(StoredKey, AuthMessage)
//   server → client  HMAC(ServerKey, AuthMessage), which proves the server knew the key too
//
// AuthMessage binds both nonces, the name, the salt and (over TLS) the TLS session's keying
// material, so a proof is good for one connection only: replaying a recorded exchange fails
// on the server's fresh nonce, and relaying one through a second TLS session fails on the
// binding. The server keeps only StoredKey = SHA-256(ClientKey) and ServerKey: a stolen users
// file does not let anyone log in.
//
// Two kinds of principal share the exchange and differ only in where the salted key comes
// from. A user's is scrypt(password, salt): a password may be weak, so each guess must cost.
// A node's (a middleware, a database, or the operator's tools) is HMAC(cluster secret, salt):
// the secret is 32 random bytes, beyond guessing, and the server knows it, so it makes a new
// salt for every connection.
//
// Pure: nonces and salts come in as arguments; nothing here reads a clock or a socket.
import crypto from 'node:crypto';

/** scrypt's cost parameters; N a power of two. */
export interface KeyCost {
  N: number;
  r: number;
  p: number;
}

/**
 * For passwords a person chose: about 80 ms per derivation on a 2-core machine of 2026, the
 * price of one guess. Generated tokens hold 256 random bits and need no stretching, only the
 * same exchange: they use the small cost, about 5 ms, so a command line that logs in stays fast.
 */
export const PASSWORD_COST: KeyCost = { N: 16_384, r: 8, p: 1 };
export const TOKEN_COST: KeyCost = { N: 1_024, r: 8, p: 1 };

/** What the server stores of a user: enough to check a proof and to prove itself, not to log in. */
export interface StoredKeys {
  salt: Buffer;
  cost: KeyCost;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** What a client holds once it knows the salted key: its own proof key and the server's key. */
export interface ClientKeys {
  clientKey: Buffer;
  serverKey: Buffer;
}

const KEY_BYTES = 32;
export const NONCE_BYTES = 18;

export function userSaltedKey(password: string, salt: Buffer, cost: KeyCost): Buffer {
  return crypto.scryptSync(password.normalize('NFKC'), salt, KEY_BYTES, { ...cost, maxmem: 256 * cost.N * cost.r });
}

export function nodeSaltedKey(clusterSecret: Buffer, salt: Buffer): Buffer {
  return hmac(clusterSecret, Buffer.concat([Buffer.from('occdb node key\0'), salt]));
}

export function clientKeysOf(saltedKey: Buffer): ClientKeys {
  return { clientKey: hmac(saltedKey, 'Client Key'), serverKey: hmac(saltedKey, 'Server Key') };
}

export function storedKeysOf(saltedKey: Buffer, salt: Buffer, cost: KeyCost): StoredKeys {
  const { clientKey, serverKey } = clientKeysOf(saltedKey);
  return { salt, cost, storedKey: sha256(clientKey), serverKey };
}

export interface Transcript {
  /** `user:<name>` or `node:<NAME>`: who the client claims to be. */
  principal: string;
  clientNonce: string;
  /** The client nonce with the server's part appended. */
  nonce: string;
  salt: Buffer;
  /** TLS keying material of the connection, or empty on a connection without TLS. */
  binding: Buffer;
}

/** The bytes both proofs are computed over: every value of this exchange, each length-prefixed. */
export function authMessage(transcript: Transcript): Buffer {
  const parts = ['occdb-auth-1', transcript.principal, transcript.clientNonce, transcript.nonce].map((text) => Buffer.from(text, 'utf8'));
  parts.push(Buffer.from(transcript.salt), Buffer.from(transcript.binding));
  return Buffer.concat(parts.flatMap((part) => [lengthPrefix(part.length), part]));
}

export function clientProof(keys: ClientKeys, transcript: Transcript): Buffer {
  const signature = hmac(sha256(keys.clientKey), authMessage(transcript));
  return xor(keys.clientKey, signature);
}

/** True when `proof` was made with the ClientKey whose hash the server stores; in constant time. */
export function proofIsValid(stored: StoredKeys, transcript: Transcript, proof: Buffer): boolean {
  if (proof.length !== KEY_BYTES) return false;
  const clientKey = xor(proof, hmac(stored.storedKey, authMessage(transcript)));
  return crypto.timingSafeEqual(sha256(clientKey), stored.storedKey);
}

export function serverSignature(serverKey: Buffer, transcript: Transcript): Buffer {
  return hmac(serverKey, Buffer.concat([Buffer.from('server\0'), authMessage(transcript)]));
}

/** True when the server's signature shows it knew ServerKey; in constant time. */
export function serverSignatureIsValid(keys: ClientKeys, transcript: Transcript, signature: Buffer): boolean {
  const expected = serverSignature(keys.serverKey, transcript);
  return signature.length === expected.length && crypto.timingSafeEqual(signature, expected);
}

/**
 * The keys the server answers with for a user it does not know: derived from the cluster
 * secret and the name, so that asking twice gives the same salt, and the answer looks like a
 * real user's. Whether a name exists is not told to someone who cannot log in.
 */
export function decoyKeys(clusterSecret: Buffer, name: string): StoredKeys {
  const salt = hmac(clusterSecret, `decoy salt\0${name}`).subarray(0, 16);
  return storedKeysOf(hmac(clusterSecret, `decoy key\0${name}`), salt, PASSWORD_COST);
}

function hmac(key: Buffer, data: Buffer | string): Buffer {
  return crypto.createHmac('sha256', key).update(data).digest();
}

function sha256(data: Buffer): Buffer {
  return crypto.createHash('sha256').update(data).digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let index = 0; index < a.length; index += 1) out[index] = a[index]! ^ b[index]!;
  return out;
}

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(length);
  return prefix;
}
