// known_hosts is read the way OpenSSH reads it: plain names, [host]:port, patterns with
// negation, hashed names (checked against lines hashed by ssh-keygen itself), revoked keys;
// a key of the same type that differs is a changed key, never an unknown one.
import test from 'ava';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  appendKnownHost,
  checkHostKey,
  fingerprintOf,
  hostsFieldMatches,
  keyTypeOf,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
} from '../startup/known-hosts.js';
import { parseSshDestination, shellQuote } from '../startup/ssh.js';

const execFileAsync = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-known-hosts-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A fresh ed25519 key pair made by ssh-keygen: its public line and its wire-format key. */
async function newKey(name: string, type = 'ed25519'): Promise<{ line: string; key: Buffer; file: string }> {
  const file = path.join(dir, name);
  await execFileAsync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file], { timeout: 60_000 });
  const line = fs.readFileSync(`${file}.pub`, 'utf8').trim();
  return { line, key: Buffer.from(line.split(' ')[1]!, 'base64'), file };
}

const typeAndKey = (line: string): string => line.split(' ').slice(0, 2).join(' ');

test('a host is looked up by its name, or by [name]:port when the port is not 22', (t) => {
  t.is(knownHostsName('Alpha.Example.org', 22), 'alpha.example.org');
  t.is(knownHostsName('10.0.0.5', 2222), '[10.0.0.5]:2222');
});

test('plain names, [host]:port, wildcards and negation match as in OpenSSH', (t) => {
  t.true(hostsFieldMatches('alpha,10.0.0.5', 'alpha'));
  t.true(hostsFieldMatches('ALPHA', 'alpha'), 'case does not matter');
  t.false(hostsFieldMatches('alpha', '[alpha]:2222'), 'a plain name is port 22 only');
  t.true(hostsFieldMatches('[alpha]:2222', '[alpha]:2222'));
  t.true(hostsFieldMatches('*.example.org', 'beta.example.org'));
  t.true(hostsFieldMatches('10.0.0.?', '10.0.0.7'));
  t.false(hostsFieldMatches('10.0.0.?', '10.0.0.17'));
  t.false(hostsFieldMatches('!bad.example.org,*.example.org', 'bad.example.org'), 'a matching negation rules the line out');
  t.true(hostsFieldMatches('!bad.example.org,*.example.org', 'good.example.org'));
  t.false(hostsFieldMatches('a.b', 'axb'), 'a dot is a dot, not any character');
});

test('hashed names written by ssh-keygen -H match the name they hash, and nothing else', async (t) => {
  const { line } = await newKey('hashed-host');
  const file = path.join(dir, 'hashed_known_hosts');
  fs.writeFileSync(file, `alpha.example.org ${typeAndKey(line)}\n[10.0.0.5]:2222 ${typeAndKey(line)}\n`);
  await execFileAsync('ssh-keygen', ['-H', '-f', file], { timeout: 30_000 });
  const entries = parseKnownHosts(fs.readFileSync(file, 'utf8'), file);
  t.is(entries.length, 2);
  for (const entry of entries) t.regex(entry.hosts, /^\|1\|/, 'ssh-keygen hashed the line');
  t.true(hostsFieldMatches(entries[0]!.hosts, 'alpha.example.org'));
  t.false(hostsFieldMatches(entries[0]!.hosts, 'beta.example.org'));
  t.true(hostsFieldMatches(entries[1]!.hosts, '[10.0.0.5]:2222'));
  t.false(hostsFieldMatches(entries[1]!.hosts, '10.0.0.5'));
  t.is(checkHostKey(entries, knownHostsName('ALPHA.example.org', 22), Buffer.from(line.split(' ')[1]!, 'base64')).kind, 'known');
});

test('a known key is accepted, an unknown host is unknown, another key of the same type is a change', async (t) => {
  const [hostKey, otherKey, rotatedKey] = await Promise.all([newKey('k1'), newKey('k2'), newKey('k3')]);
  const text = [
    '# a comment, then a blank line',
    '',
    `alpha ${typeAndKey(hostKey.line)}`,
    `beta ${typeAndKey(otherKey.line)}`,
    `beta ${typeAndKey(rotatedKey.line)} a second key for beta`,
  ].join('\n');
  const entries = parseKnownHosts(text, '/k');
  t.is(entries.length, 3);
  t.like(checkHostKey(entries, 'alpha', hostKey.key), { kind: 'known' });
  t.like(checkHostKey(entries, 'beta', rotatedKey.key), { kind: 'known' }, 'any of several lines for a host will do');
  t.like(checkHostKey(entries, 'gamma', hostKey.key), { kind: 'unknown' });
  const changed = checkHostKey(entries, 'alpha', otherKey.key);
  t.is(changed.kind, 'changed');
  t.is(changed.kind === 'changed' ? changed.entry.lineNumber : 0, 3, 'the message can name the line');
});

test('a host known only by a key of another type is not taken as new; @revoked keys are refused everywhere', async (t) => {
  const [edKey, ecdsaKey] = await Promise.all([newKey('e1'), newKey('e2', 'ecdsa')]);
  const entries = parseKnownHosts(`alpha ${typeAndKey(ecdsaKey.line)}\n@revoked * ${typeAndKey(edKey.line)}\n@cert-authority *.org ${typeAndKey(ecdsaKey.line)}\n`, '/k');
  t.is(checkHostKey(entries, 'alpha', edKey.key).kind, 'revoked');
  t.is(checkHostKey(entries.filter((entry) => entry.marker !== 'revoked'), 'alpha', edKey.key).kind, 'other-type');
  t.deepEqual(knownKeyTypes(entries, 'alpha'), ['ecdsa-sha2-nistp256']);
  t.is(checkHostKey(entries, 'x.org', ecdsaKey.key).kind, 'unknown', 'a @cert-authority line is not a host key');
});

test('malformed lines and lines whose key does not match their type are skipped', async (t) => {
  const { line } = await newKey('m1');
  const [, base64] = line.split(' ');
  const entries = parseKnownHosts(`alpha\nalpha ssh-ed25519\nalpha ssh-ed25519 not*base64\nalpha ssh-rsa ${base64}\n@unknown alpha ssh-ed25519 ${base64}\nalpha ssh-ed25519 ${base64}\n`, '/k');
  t.is(entries.length, 1);
  t.is(entries[0]!.lineNumber, 6);
});

test('the key type and fingerprint are the ones ssh-keygen shows', async (t) => {
  const { key, file } = await newKey('f1');
  const { stdout } = await execFileAsync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], { timeout: 30_000 });
  t.is(keyTypeOf(key), 'ssh-ed25519');
  t.is(fingerprintOf(key), stdout.split(' ')[1]);
});

test('a new host is appended on a line of its own to a file only the user can read', async (t) => {
  const { key } = await newKey('a1');
  const file = path.join(dir, 'new', '.ssh', 'known_hosts');
  appendKnownHost(file, '[10.0.0.9]:2222', key);
  fs.appendFileSync(file, '# no newline at the end');
  appendKnownHost(file, 'alpha', key);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  t.is(lines[0], `[10.0.0.9]:2222 ssh-ed25519 ${key.toString('base64')}`);
  t.is(lines[2], `alpha ssh-ed25519 ${key.toString('base64')}`);
  t.is(fs.statSync(file).mode & 0o777, 0o600);
  t.is(parseKnownHosts(lines.join('\n'), file).length, 2);
});

test('ssh destinations: host, user@host, user@host:port', (t) => {
  t.deepEqual(parseSshDestination('ops@alpha:2222'), { user: 'ops', host: 'alpha', port: 2222 });
  t.deepEqual(parseSshDestination('10.0.0.5'), { user: os.userInfo().username, host: '10.0.0.5', port: 22 });
  t.throws(() => parseSshDestination('alpha:99999'), { message: /is not an ssh destination/ });
});

test('shell quoting keeps any text one word', async (t) => {
  const text = `it's "quoted" $HOME \`x\` \\ ;|&`;
  const { stdout } = await execFileAsync('sh', ['-c', `printf %s ${shellQuote(text)}`], { timeout: 10_000 });
  t.is(stdout, text);
});
