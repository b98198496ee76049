// Host keys the way OpenSSH keeps them: known_hosts files, one key a line, hosts as plain
// names, patterns (`*`, `?`, `!negation`), `[host]:port` for a port other than 22, or
// hashed (`|1|salt|hash`, HMAC-SHA1 of the name keyed by the salt). Pure logic over the
// files' text, apart from reading and appending.
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const SSH_PORT_DEFAULT = 22;

export interface KnownHostsEntry {
  /** Where the entry is, for messages. */
  file: string;
  lineNumber: number;
  /** `@revoked` keys are refused for every host; `@cert-authority` lines are not host keys. */
  marker: 'revoked' | 'cert-authority' | undefined;
  /** The host field as written: a comma-separated pattern list, or one hashed name. */
  hosts: string;
  keyType: string;
  /** The key in the SSH wire format (the base64 field, decoded). */
  key: Buffer;
}

/** The name a host is looked up by: `host`, or `[host]:port` when the port is not 22. */
export function knownHostsName(host: string, port: number): string {
  const lower = host.toLowerCase();
  return port === SSH_PORT_DEFAULT ? lower : `[${lower}]:${port}`;
}

/** Every host key line of a known_hosts file's text; comments, blank and malformed lines are skipped, as OpenSSH does. */
export function parseKnownHosts(text: string, file: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  text.split('\n').forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostsEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields[0] === '@revoked' ? 'revoked' : 'cert-authority';
      fields.shift();
    } else if (fields[0]!.startsWith('@')) {
      return; // An unknown marker: OpenSSH ignores the line.
    }
    const [hosts, keyType, keyBase64] = fields;
    if (hosts === undefined || keyType === undefined || keyBase64 === undefined) return;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyBase64)) return;
    const key = Buffer.from(keyBase64, 'base64');
    if (keyTypeOf(key) !== keyType) return;
    entries.push({ file, lineNumber: index + 1, marker, hosts, keyType, key });
  });
  return entries;
}

/** Reads and parses the files that exist; a file that does not exist holds no keys. */
export function readKnownHosts(files: readonly string[]): KnownHostsEntry[] {
  return files.flatMap((file) => {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return [];
    }
    return parseKnownHosts(text, file);
  });
}

/** Does the host field of a line name `name` (as made by knownHostsName)? */
export function hostsFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) return hashedNameMatches(hosts, name);
  let matched = false;
  for (const pattern of hosts.split(',')) {
    if (pattern.startsWith('!')) {
      // A negated pattern that matches rules the whole line out, whatever else matches.
      if (globMatches(pattern.slice(1), name)) return false;
    } else if (globMatches(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

function hashedNameMatches(field: string, name: string): boolean {
  const [, , saltBase64, hashBase64] = field.split('|');
  if (saltBase64 === undefined || hashBase64 === undefined) return false;
  const hash = createHmac('sha1', Buffer.from(saltBase64, 'base64')).update(name).digest('base64');
  return hash === hashBase64;
}

function globMatches(pattern: string, name: string): boolean {
  const source = pattern
    .toLowerCase()
    .split('')
    .map((character) => (character === '*' ? '.*' : character === '?' ? '.' : character.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`).test(name.toLowerCase());
}

export type HostKeyVerdict =
  | { kind: 'known'; entry: KnownHostsEntry }
  /** No line names the host. */
  | { kind: 'unknown' }
  /** A line names the host with a key of the same type, and no line has the key offered. */
  | { kind: 'changed'; entry: KnownHostsEntry }
  /** The host is known only by keys of other types (OpenSSH refuses this too). */
  | { kind: 'other-type'; entry: KnownHostsEntry }
  | { kind: 'revoked'; entry: KnownHostsEntry };

/** What the known_hosts entries say of `key`, offered by the host looked up as `name`. */
export function checkHostKey(entries: readonly KnownHostsEntry[], name: string, key: Buffer): HostKeyVerdict {
  const revoked = entries.find((entry) => entry.marker === 'revoked' && entry.key.equals(key));
  if (revoked) return { kind: 'revoked', entry: revoked };
  const forHost = entries.filter((entry) => entry.marker === undefined && hostsFieldMatches(entry.hosts, name));
  const same = forHost.find((entry) => entry.key.equals(key));
  if (same) return { kind: 'known', entry: same };
  const type = keyTypeOf(key);
  const sameType = forHost.find((entry) => entry.keyType === type);
  if (sameType) return { kind: 'changed', entry: sameType };
  if (forHost.length > 0) return { kind: 'other-type', entry: forHost[0]! };
  return { kind: 'unknown' };
}

/** The key types known for `name`, so that the handshake can ask for one of them first, as OpenSSH does. */
export function knownKeyTypes(entries: readonly KnownHostsEntry[], name: string): string[] {
  const types = entries.filter((entry) => entry.marker === undefined && hostsFieldMatches(entry.hosts, name)).map((entry) => entry.keyType);
  return [...new Set(types)];
}

/** The type named at the start of a key in the SSH wire format (`ssh-ed25519`, `ssh-rsa`, ...), or '' if malformed. */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return '';
  const length = key.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > key.length) return '';
  return key.subarray(4, 4 + length).toString('latin1');
}

/** The fingerprint OpenSSH shows: `SHA256:` and the unpadded base64 of the key's SHA-256. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

export function knownHostsLine(name: string, key: Buffer): string {
  return `${name} ${keyTypeOf(key)} ${key.toString('base64')}`;
}

/**
 * Appends a line for a host seen for the first time (trust on first use). Creates the file
 * (and its directory) readable by the user only, as ssh does.
 */
export function appendKnownHost(file: string, name: string, key: Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const text = fs.readFileSync(file, 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) prefix = '\n';
  } catch {
    // No file yet: it is created below.
  }
  fs.appendFileSync(file, `${prefix}${knownHostsLine(name, key)}\n`, { mode: 0o600 });
}
