// The authentication exchange (protocol/auth.ts), one test per rule: a right key is taken, a
// wrong one is not; a proof is good for its own exchange only (nonces, name, salt, TLS
// binding); what the server stores cannot log in; the server proves itself too; an unknown
// user looks like a known one.
import test from 'ava';
import crypto from 'node:crypto';
import {
  type StoredKeys,
  type Transcript,
  TOKEN_COST,
  clientKeysOf,
  clientProof,
  decoyKeys,
  nodeSaltedKey,
  proofIsValid,
  serverSignature,
  serverSignatureIsValid,
  storedKeysOf,
  userSaltedKey,
} from '../protocol/auth.js';

const salt = Buffer.from('0123456789abcdef');
const transcript: Transcript = { principal: 'user:alice', clientNonce: 'c-nonce', nonce: 'c-nonces-nonce', salt, binding: Buffer.alloc(0) };

function stored(password: string): StoredKeys {
  return storedKeysOf(userSaltedKey(password, salt, TOKEN_COST), salt, TOKEN_COST);
}

function proofWith(password: string, of: Transcript = transcript): Buffer {
  return clientProof(clientKeysOf(userSaltedKey(password, salt, TOKEN_COST)), of);
}

test('a proof made with the right password is valid', (t) => {
  t.true(proofIsValid(stored('correct horse'), transcript, proofWith('correct horse')));
});

test('a proof made with a wrong password is not', (t) => {
  t.false(proofIsValid(stored('correct horse'), transcript, proofWith('correct hors')));
});

test('a recorded proof replayed on a new connection fails: the server nonce differs', (t) => {
  const recorded = proofWith('correct horse');
  t.false(proofIsValid(stored('correct horse'), { ...transcript, nonce: 'c-nonceother-server-nonce' }, recorded));
});

test('a proof is bound to the name, the salt and the TLS session', (t) => {
  const keys = stored('correct horse');
  const proof = proofWith('correct horse');
  t.false(proofIsValid(keys, { ...transcript, principal: 'user:mallory' }, proof));
  t.false(proofIsValid(keys, { ...transcript, salt: Buffer.from('fedcba9876543210') }, proof));
  t.false(proofIsValid(keys, { ...transcript, binding: Buffer.from('another TLS session') }, proof));
  // Fields cannot be shifted into one another: each is length-prefixed.
  t.false(proofIsValid(keys, { ...transcript, clientNonce: 'c-nonc', nonce: 'ec-nonces-nonce' }, proof));
});

test('what the server stores does not log in: a proof made from StoredKey and ServerKey fails', (t) => {
  const keys = stored('correct horse');
  t.false(proofIsValid(keys, transcript, clientProof({ clientKey: keys.storedKey, serverKey: keys.serverKey }, transcript)));
  t.false(proofIsValid(keys, transcript, clientProof({ clientKey: keys.serverKey, serverKey: keys.serverKey }, transcript)));
});

test('a proof of the wrong length is refused, not thrown on', (t) => {
  t.false(proofIsValid(stored('correct horse'), transcript, Buffer.alloc(5)));
});

test('the server proves itself: its signature checks only with the same key and transcript', (t) => {
  const client = clientKeysOf(userSaltedKey('correct horse', salt, TOKEN_COST));
  const keys = stored('correct horse');
  t.true(serverSignatureIsValid(client, transcript, serverSignature(keys.serverKey, transcript)));
  t.false(serverSignatureIsValid(client, transcript, serverSignature(stored('other').serverKey, transcript)));
  t.false(serverSignatureIsValid(client, { ...transcript, nonce: 'c-nonceX' }, serverSignature(keys.serverKey, transcript)));
  t.false(serverSignatureIsValid(client, transcript, Buffer.alloc(3)));
});

test('nodes prove knowledge of the cluster secret; another secret fails', (t) => {
  const secret = crypto.randomBytes(32);
  const nodeSalt = crypto.randomBytes(16);
  const node: Transcript = { ...transcript, principal: 'node:MIDDLEWARE2', salt: nodeSalt };
  const serverKeys = storedKeysOf(nodeSaltedKey(secret, nodeSalt), nodeSalt, TOKEN_COST);
  t.true(proofIsValid(serverKeys, node, clientProof(clientKeysOf(nodeSaltedKey(secret, nodeSalt)), node)));
  t.false(proofIsValid(serverKeys, node, clientProof(clientKeysOf(nodeSaltedKey(crypto.randomBytes(32), nodeSalt)), node)));
});

test('an unknown user gets the same salt each time, and a different one from another unknown user', (t) => {
  const secret = crypto.randomBytes(32);
  t.deepEqual(decoyKeys(secret, 'nobody').salt, decoyKeys(secret, 'nobody').salt);
  t.notDeepEqual(decoyKeys(secret, 'nobody').salt, decoyKeys(secret, 'somebody').salt);
  t.false(proofIsValid(decoyKeys(secret, 'nobody'), transcript, proofWith('')));
});
