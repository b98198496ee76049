// One ssh connection to one host, made lazily with the `ssh2` package, re-made after loss,
// and shared by every command run there. Authentication and host keys work the way ssh
// users expect: the agent (SSH_AUTH_SOCK) and an identity file, the user's known_hosts, a
// new host trusted only when asked (like StrictHostKeyChecking=accept-new), a changed key
// never. Every failure is an OccdbError with a one-line message that says what to do.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import type { AuthMethod, ClientChannel, ConnectConfig } from 'ssh2';
import { OccdbError } from '../errors/catalogue.js';
import {
  SSH_PORT_DEFAULT,
  type HostKeyVerdict,
  appendKnownHost,
  checkHostKey,
  fingerprintOf,
  keyTypeOf,
  knownHostsName,
  knownKeyTypes,
  readKnownHosts,
} from './known-hosts.js';

const { Client, utils } = ssh2;

/** What the user chose on the command line (or the cluster file recorded) for reaching other hosts. */
export interface SshOptions {
  /** A private key file (--identity); without it, the agent and ~/.ssh/id_* are tried. */
  identityFile?: string | undefined;
  /** The known_hosts file (--known-hosts); default ~/.ssh/known_hosts (and /etc/ssh/ssh_known_hosts, read only). */
  knownHostsFile?: string | undefined;
  /** Trust a host seen for the first time and add it to the known_hosts file (--accept-new-hosts). */
  acceptNewHosts?: boolean | undefined;
}

/** `user@host:port` taken apart; the user defaults to the local user, the port to 22. */
export interface SshDestination {
  user: string;
  host: string;
  port: number;
}

export function parseSshDestination(text: string): SshDestination {
  const match = /^(?:([^@\s]+)@)?([^@:\s]+)(?::(\d{1,5}))?$/.exec(text);
  const port = match?.[3] === undefined ? SSH_PORT_DEFAULT : Number(match[3]);
  if (!match || port < 1 || port > 65535) {
    throw new OccdbError('USAGE', `'${text}' is not an ssh destination (host, user@host or user@host:port)`);
  }
  return { user: match[1] ?? os.userInfo().username, host: match[2]!, port };
}

export function formatDestination(destination: SshDestination): string {
  const port = destination.port === SSH_PORT_DEFAULT ? '' : `:${destination.port}`;
  return `${destination.user}@${destination.host}${port}`;
}

export interface ExecResult {
  /** The remote command's exit status; null when it was ended by a signal or sent none. */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Written to the command's standard input, which is then closed. */
  stdin?: string;
  timeoutMs?: number;
  /** What the command is for, for the timeout message. */
  purpose: string;
}

/** Connect, exchange keys and authenticate within this time. */
export const SSH_CONNECT_TIMEOUT_MS = 10_000;
export const SSH_EXEC_TIMEOUT_MS_DEFAULT = 30_000;
/** sshd allows 10 sessions on one connection by default (MaxSessions); stay below it. */
const CHANNELS_IN_USE_MAX = 6;
/** A command's output beyond this is dropped (only the start is kept): enough for any tail or answer. */
const EXEC_OUTPUT_CHARS_MAX = 1024 * 1024;
const KEEPALIVE_INTERVAL_MS = 10_000;
const DEFAULT_IDENTITY_NAMES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];
const GLOBAL_KNOWN_HOSTS_FILE = '/etc/ssh/ssh_known_hosts';

/** Host key algorithms in ssh2's default order, known types are moved to the front. */
const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] as const;
type HostKeyAlgorithm = (typeof HOST_KEY_ALGORITHMS)[number];
const ALGORITHMS_OF_KEY_TYPE: Record<string, HostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

export function defaultKnownHostsFile(): string {
  return path.join(os.homedir(), '.ssh', 'known_hosts');
}

/** Single quotes for a POSIX shell: the text arrives as one word, whatever it holds. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

type SshClient = InstanceType<typeof Client>;

export class SshSession {
  readonly label: string;
  private client: SshClient | null = null;
  private connecting: Promise<SshClient> | null = null;
  private channelsInUse = 0;
  private readonly waitingForChannel: (() => void)[] = [];
  private closed = false;

  constructor(readonly destination: SshDestination, private readonly options: SshOptions) {
    this.label = formatDestination(destination);
  }

  /** Connects now (it would happen on the first exec anyway), so that problems show before anything starts. */
  async check(): Promise<void> {
    await this.connect();
  }

  /** Runs `script` with sh on the host and collects its output; rejects only when ssh itself fails or time runs out. */
  async exec(script: string, options: ExecOptions): Promise<ExecResult> {
    const client = await this.connect();
    await this.takeChannel();
    try {
      return await runChannel(client, `sh -c ${shellQuote(script)}`, options, this.label);
    } finally {
      this.releaseChannel();
    }
  }

  close(): void {
    this.closed = true;
    this.client?.end();
    this.client = null;
  }

  private async takeChannel(): Promise<void> {
    // Bounded by the number of callers, which is bounded by the number of processes in a cluster.
    while (this.channelsInUse >= CHANNELS_IN_USE_MAX) {
      await new Promise<void>((resolve) => this.waitingForChannel.push(resolve));
    }
    this.channelsInUse += 1;
  }

  private releaseChannel(): void {
    this.channelsInUse -= 1;
    this.waitingForChannel.shift()?.();
  }

  private connect(): Promise<SshClient> {
    if (this.closed) return Promise.reject(new OccdbError('NODE_UNAVAILABLE', `ssh to ${this.label}: the connection was already closed`));
    if (this.client) return Promise.resolve(this.client);
    if (!this.connecting) {
      this.connecting = this.openClient().then(
        (client) => {
          this.connecting = null;
          if (this.closed) {
            client.end();
            throw new OccdbError('NODE_UNAVAILABLE', `ssh to ${this.label}: the connection was closed while it was being made`);
          }
          this.client = client;
          // A lost connection is made again by the next command.
          client.once('close', () => {
            if (this.client === client) this.client = null;
          });
          return client;
        },
        (error: unknown) => {
          this.connecting = null;
          throw error;
        },
      );
    }
    return this.connecting;
  }

  private openClient(): Promise<SshClient> {
    const { destination } = this;
    const auth = authentication(destination.user, this.options);
    const hostKeys = new HostKeyCheck(destination, this.options);
    const config: ConnectConfig = {
      host: destination.host,
      port: destination.port,
      username: destination.user,
      readyTimeout: SSH_CONNECT_TIMEOUT_MS,
      keepaliveInterval: KEEPALIVE_INTERVAL_MS,
      authHandler: auth.methods,
      hostVerifier: (key: Buffer) => hostKeys.verify(key),
      algorithms: { serverHostKey: hostKeys.algorithms() },
    };
    return new Promise<SshClient>((resolve, reject) => {
      const client = new Client();
      let settled = false;
      let agentProblem: string | undefined;
      const fail = (error: OccdbError): void => {
        if (settled) return;
        settled = true;
        client.end();
        reject(error);
      };
      client.on('error', (error: Error & { level?: string; code?: string }) => {
        if (!settled && error.level === 'agent') {
          // The agent failed; ssh2 goes on with the next way to authenticate.
          agentProblem = error.message;
          return;
        }
        if (settled) return; // An error after the connection was made closes it; the next command reconnects.
        fail(connectError(this.label, error, hostKeys.verdictMessage, auth, agentProblem));
      });
      client.once('close', () => fail(new OccdbError('NODE_UNAVAILABLE', `ssh to ${this.label}: the connection closed before it was ready`)));
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        resolve(client);
      });
      try {
        client.connect(config);
      } catch (error) {
        fail(new OccdbError('USAGE', `ssh to ${this.label}: ${(error as Error).message}`));
      }
    });
  }
}

/** Checks the host's key against known_hosts during the handshake and remembers why it refused. */
class HostKeyCheck {
  verdictMessage: string | undefined;
  private readonly knownHostsFile: string;
  private readonly readFiles: string[];
  private readonly name: string;

  constructor(destination: SshDestination, private readonly options: SshOptions) {
    this.knownHostsFile = options.knownHostsFile ?? defaultKnownHostsFile();
    // As ssh: the user's file, and the system's when the user named none.
    this.readFiles = options.knownHostsFile === undefined ? [this.knownHostsFile, GLOBAL_KNOWN_HOSTS_FILE] : [this.knownHostsFile];
    this.name = knownHostsName(destination.host, destination.port);
  }

  /** Known key types first, so that the host shows the key known_hosts has (as OpenSSH orders them). */
  algorithms(): HostKeyAlgorithm[] {
    const preferred = knownKeyTypes(readKnownHosts(this.readFiles), this.name).flatMap((type) => ALGORITHMS_OF_KEY_TYPE[type] ?? []);
    return [...new Set([...preferred, ...HOST_KEY_ALGORITHMS])];
  }

  verify(key: Buffer): boolean {
    // Read at the moment of the check, so a key added by another connection's accept-new counts.
    const verdict = checkHostKey(readKnownHosts(this.readFiles), this.name, key);
    if (verdict.kind === 'known') return true;
    if (verdict.kind === 'unknown' && this.options.acceptNewHosts === true) {
      try {
        appendKnownHost(this.knownHostsFile, this.name, key);
      } catch (error) {
        this.verdictMessage = `cannot add its host key to ${this.knownHostsFile}: ${(error as Error).message}`;
        return false;
      }
      return true;
    }
    this.verdictMessage = this.describe(verdict, key);
    return false;
  }

  private describe(verdict: Exclude<HostKeyVerdict, { kind: 'known' }>, key: Buffer): string {
    const offered = `${keyTypeOf(key)} ${fingerprintOf(key)}`;
    switch (verdict.kind) {
      case 'unknown':
        return `its host key (${offered}) is not in ${this.knownHostsFile}; check the fingerprint and add it (ssh ${this.name.replace(/^\[(.*)\]:(\d+)$/, '-p $2 $1')} once), or pass --accept-new-hosts to trust it on first use`;
      case 'changed':
      case 'other-type':
        return `its host key has CHANGED: it offered ${offered}, but ${verdict.entry.file} line ${verdict.entry.lineNumber} has another ${verdict.entry.keyType} key for it; refusing (if the host was reinstalled, remove that line)`;
      case 'revoked':
        return `its host key (${offered}) is revoked in ${verdict.entry.file} line ${verdict.entry.lineNumber}; refusing`;
    }
  }
}

interface Authentication {
  methods: AuthMethod[];
  /** The agent's socket, when its keys are offered. */
  agentSocket: string | undefined;
  /** The key files offered. */
  keyFiles: string[];
}

/** The ways to authenticate, in ssh's order: the agent's keys, then the identity file (or ~/.ssh/id_*). */
function authentication(user: string, options: SshOptions): Authentication {
  const methods: AuthMethod[] = [];
  const agentSocket = process.env.SSH_AUTH_SOCK || undefined;
  if (agentSocket !== undefined) methods.push({ type: 'agent', username: user, agent: agentSocket } as AuthMethod);
  const keyFiles: string[] = [];
  if (options.identityFile !== undefined) {
    methods.push({ type: 'publickey', username: user, key: readIdentity(options.identityFile) } as AuthMethod);
    keyFiles.push(options.identityFile);
  } else {
    for (const name of DEFAULT_IDENTITY_NAMES) {
      const file = path.join(os.homedir(), '.ssh', name);
      const key = readDefaultIdentity(file);
      if (key) {
        methods.push({ type: 'publickey', username: user, key } as AuthMethod);
        keyFiles.push(file);
      }
    }
  }
  return { methods, agentSocket, keyFiles };
}

function readIdentity(file: string): Buffer {
  let key: Buffer;
  try {
    key = fs.readFileSync(file);
  } catch (error) {
    throw new OccdbError('USAGE', `cannot read the identity file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error) {
    if (/encrypted|passphrase/i.test(parsed.message)) {
      throw new OccdbError('USAGE', `the identity file ${file} is protected by a passphrase: add it to your ssh agent (ssh-add ${file}) and leave out --identity`);
    }
    throw new OccdbError('USAGE', `the identity file ${file} is not a private key ssh can use: ${parsed.message}`);
  }
  if (!parsed.isPrivateKey()) throw new OccdbError('USAGE', `the identity file ${file} holds a public key; give the private key (the file without .pub)`);
  return key;
}

/** A default key that exists and needs no passphrase; any other is silently not offered, as ssh with BatchMode. */
function readDefaultIdentity(file: string): Buffer | undefined {
  let key: Buffer;
  try {
    key = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  const parsed = utils.parseKey(key);
  return parsed instanceof Error || !parsed.isPrivateKey() ? undefined : key;
}

function connectError(
  label: string,
  error: Error & { level?: string; code?: string },
  hostKeyProblem: string | undefined,
  auth: Authentication,
  agentProblem: string | undefined,
): OccdbError {
  const prefix = `ssh to ${label}`;
  if (hostKeyProblem !== undefined) return new OccdbError('USAGE', `${prefix}: ${hostKeyProblem}`);
  if (error.level === 'client-authentication') {
    // An agent that could not be reached offered nothing: it is named as failed, not among the keys refused.
    const agentOffered = auth.agentSocket !== undefined && agentProblem === undefined;
    const keys = [...(agentOffered ? [`the ssh agent's keys (${auth.agentSocket})`] : []), ...auth.keyFiles];
    const agentPart = auth.agentSocket === undefined
      ? 'no ssh agent (SSH_AUTH_SOCK is not set)'
      : `the ssh agent at ${auth.agentSocket} failed (${agentProblem})`;
    if (keys.length === 0) return new OccdbError('USAGE', `${prefix}: no key to offer: ${agentPart}, and no --identity or ~/.ssh/id_* key`);
    const agentNote = agentProblem === undefined ? '' : `${agentPart}, and `;
    return new OccdbError('USAGE', `${prefix}: authentication refused: ${agentNote}the host accepted none of ${keys.join(', ')}; add your public key to ~/.ssh/authorized_keys there, or pass --identity`);
  }
  if (error.level === 'client-timeout') {
    return new OccdbError('NODE_UNAVAILABLE', `${prefix}: host unreachable: no ssh answer within ${SSH_CONNECT_TIMEOUT_MS / 1000} s`);
  }
  switch (error.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new OccdbError('NODE_UNAVAILABLE', `${prefix}: host unreachable: its name does not resolve (${error.code})`);
    case 'ECONNREFUSED':
      return new OccdbError('NODE_UNAVAILABLE', `${prefix}: host unreachable: connection refused (is sshd running there, on that port?)`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
    case 'ECONNRESET':
      return new OccdbError('NODE_UNAVAILABLE', `${prefix}: host unreachable (${error.code})`);
    default:
      return new OccdbError('NODE_UNAVAILABLE', `${prefix}: ${error.message}`);
  }
}

function runChannel(client: SshClient, command: string, options: ExecOptions, label: string): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? SSH_EXEC_TIMEOUT_MS_DEFAULT;
  return new Promise<ExecResult>((resolve, reject) => {
    let channel: ClientChannel | undefined;
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      channel?.close();
      reject(new OccdbError('TIMEOUT', `ssh to ${label}: ${options.purpose} got no answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    client.exec(command, (error, opened) => {
      if (error) {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new OccdbError('NODE_UNAVAILABLE', `ssh to ${label}: could not run ${options.purpose}: ${error.message}`));
        return;
      }
      channel = opened;
      if (settled) {
        opened.close();
        return;
      }
      let stdout = '';
      let stderr = '';
      opened.on('data', (chunk: Buffer) => {
        if (stdout.length < EXEC_OUTPUT_CHARS_MAX) stdout += chunk.toString('utf8');
      });
      opened.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < EXEC_OUTPUT_CHARS_MAX) stderr += chunk.toString('utf8');
      });
      opened.once('close', (code: number | null | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
      });
      opened.end(options.stdin ?? '');
    });
  });
}
