// Several "machines" with a real sshd each, for the ssh tests: network namespaces joined by
// a bridge (10.222.N.0/24, the bridge at .1 in this namespace, so this process reaches every
// host), or, where namespaces cannot be made, one sshd per loopback address. Keys are made
// fresh with ssh-keygen; sshd runs in the foreground and is killed by pid in close().
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { createNamespaceNetwork } from '../../bench/namespaces.js';
import { killProcess } from './processes.js';
import { runOccdb, runStartupScript, type CommandResult } from './startup-cluster.js';
import { freePort } from './ports.js';

const execFileAsync = promisify(execFile);

export const SSHD = '/usr/sbin/sshd';
const SSHD_READY_WAIT_MS = 15_000;
const OUTPUT_CHARS_MAX = 64 * 1024;

export interface LabHost {
  /** The host as startup takes it: `10.222.0.2`, or `root@127.0.0.2:40022` over loopback. */
  host: string;
  /** The address its processes are reached at. */
  address: string;
  sshPort: number;
  /** The network namespace it lives in (namespace mode only). */
  namespace: string | undefined;
  sshd: ChildProcess;
  /** Its host key's public line: `ssh-ed25519 AAAA... comment`. */
  hostKeyPublic: string;
}

export interface SshLab {
  mode: 'namespaces' | 'loopback';
  /** Says which mode and why; tests print it with t.log. */
  note: string;
  /** Keys, sshd configs, known_hosts files, a HOME for the commands. */
  dir: string;
  hosts: LabHost[];
  /** An address in the lab's range where nothing answers, written as a host for startup. */
  unreachableHost: string;
  /** A private key every host authorizes; `wrongKey` is authorized nowhere. */
  clientKey: string;
  wrongKey: string;
  /** A HOME without ~/.ssh, so that commands see only the keys and known_hosts a test gives them. */
  home: string;
  /** The known_hosts line of a host, as ssh would write it. */
  knownHostsLine(host: LabHost): string;
  /** Spawns a program on a host's network (inside its namespace); kill it by pid. */
  spawnOn(host: LabHost, command: string, args: string[]): ChildProcess;
  close(): Promise<void>;
}

/** Creates `count` hosts. Throws (with the reason) only if neither namespaces nor loopback sshds work. */
export async function createSshLab(count: number): Promise<SshLab> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-ssh-lab-'));
  const home = path.join(dir, 'home');
  fs.mkdirSync(home);
  // sshd needs its privilege separation directory; the service scripts would make it.
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const clientKey = await newKey(dir, 'client');
  const wrongKey = await newKey(dir, 'wrong');
  fs.copyFileSync(`${clientKey}.pub`, path.join(dir, 'authorized_keys'));

  const forceLoopback = process.env.OCCDB_TEST_SSH_LOOPBACK === '1';
  let network: Network;
  let note: string;
  try {
    if (forceLoopback) throw new Error('OCCDB_TEST_SSH_LOOPBACK=1 asks for loopback addresses');
    network = await createNamespaces(count);
    note = `ssh lab: ${count} hosts in network namespaces ${network.hosts.map((h) => `${h.namespace}=${h.address}`).join(', ')} behind bridge ${network.bridge} (${network.gateway})`;
  } catch (error) {
    network = loopbackNetwork(count);
    note = `ssh lab: FALLBACK to loopback addresses (no network namespaces: ${(error as Error).message.split('\n')[0]}); ${count} sshds on ${network.hosts.map((h) => h.address).join(', ')}`;
  }

  const hosts: LabHost[] = [];
  const lab: SshLab = {
    mode: network.mode,
    note,
    dir,
    hosts,
    unreachableHost: network.unreachableHost,
    clientKey,
    wrongKey,
    home,
    knownHostsLine: (host) => {
      const name = host.sshPort === 22 ? host.address : `[${host.address}]:${host.sshPort}`;
      return `${name} ${host.hostKeyPublic.split(' ').slice(0, 2).join(' ')}`;
    },
    spawnOn: (host, command, args) =>
      host.namespace === undefined
        ? spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn('ip', ['netns', 'exec', host.namespace, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }),
    close: async () => {
      for (const host of hosts) await killProcess(host.sshd, 'SIGTERM', 5_000).catch(() => undefined);
      await network.remove();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (const [index, place] of network.hosts.entries()) {
      const port = network.mode === 'namespaces' ? 22 : await freePort();
      hosts.push(await startSshd(dir, index + 1, place, port, network.mode));
    }
    if (network.mode === 'loopback') {
      const user = os.userInfo().username;
      for (const host of hosts) host.host = `${user}@${host.address}:${host.sshPort}`;
    }
  } catch (error) {
    await lab.close();
    throw error;
  }
  return lab;
}

interface Network {
  mode: 'namespaces' | 'loopback';
  bridge?: string;
  gateway?: string;
  hosts: { address: string; namespace: string | undefined }[];
  unreachableHost: string;
  remove(): Promise<void>;
}

/** One namespace per host, each with a veth into one bridge (bench/namespaces.ts); removed whatever happens. */
async function createNamespaces(count: number): Promise<Network> {
  const network = await createNamespaceNetwork(count, '10.222');
  const subnet = network.gateway.replace(/\.1$/, '');
  return {
    mode: 'namespaces',
    bridge: network.bridge,
    gateway: network.gateway,
    hosts: network.hosts.map(({ address, namespace }) => ({ address, namespace })),
    unreachableHost: `${subnet}.99`,
    remove: network.remove,
  };
}

function loopbackNetwork(count: number): Network {
  const hosts = Array.from({ length: count }, (_, index) => ({ address: `127.0.0.${index + 2}`, namespace: undefined }));
  // Nothing listens on port 1 of 127.0.0.99: the connection is refused at once.
  return { mode: 'loopback', hosts, unreachableHost: `${os.userInfo().username}@127.0.0.99:1`, remove: async () => undefined };
}

async function newKey(dir: string, name: string): Promise<string> {
  const file = path.join(dir, name);
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `occdb-test-${name}`, '-f', file], { timeout: 30_000 });
  return file;
}

async function startSshd(dir: string, index: number, place: Network['hosts'][number], port: number, mode: Network['mode']): Promise<LabHost> {
  const hostKey = await newKey(dir, `host${index}`);
  const config = path.join(dir, `sshd${index}.conf`);
  fs.writeFileSync(config, [
    `ListenAddress ${place.address}:${port}`,
    `HostKey ${hostKey}`,
    `PidFile ${path.join(dir, `sshd${index}.pid`)}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    'UsePAM no',
    'PermitRootLogin yes',
    'StrictModes no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PrintMotd no',
    'UseDNS no',
    'MaxSessions 20',
    'MaxStartups 50',
    '',
  ].join('\n'));
  const args = ['-D', '-e', '-f', config];
  const sshd = place.namespace === undefined
    ? spawn(SSHD, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('ip', ['netns', 'exec', place.namespace, SSHD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-OUTPUT_CHARS_MAX);
  };
  sshd.stdout?.on('data', keep);
  sshd.stderr?.on('data', keep);
  const host: LabHost = {
    host: place.address,
    address: place.address,
    sshPort: port,
    namespace: place.namespace,
    sshd,
    hostKeyPublic: fs.readFileSync(`${hostKey}.pub`, 'utf8').trim(),
  };
  try {
    await waitForSshBanner(place.address, port, sshd, () => log);
  } catch (error) {
    await killProcess(sshd, 'SIGKILL').catch(() => undefined);
    throw new Error(`sshd ${index} (${mode}) did not start: ${(error as Error).message}`);
  }
  return host;
}

async function waitForSshBanner(address: string, port: number, sshd: ChildProcess, log: () => string): Promise<void> {
  const pauseMs = 100;
  const deadline = Date.now() + SSHD_READY_WAIT_MS;
  for (let attempt = 0; attempt < SSHD_READY_WAIT_MS / pauseMs && Date.now() < deadline; attempt += 1) {
    if (sshd.exitCode !== null || sshd.signalCode !== null) throw new Error(`it exited: ${log().trim()}`);
    if (await answersSsh(address, port)) return;
    await delay(pauseMs);
  }
  throw new Error(`no ssh banner on ${address}:${port} within ${SSHD_READY_WAIT_MS} ms: ${log().trim()}`);
}

function answersSsh(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (chunk) => done(chunk.toString('latin1').startsWith('SSH-')));
  });
}

/** Starts an ssh-agent holding `key`; returns its socket and pid (kill it by pid). */
export async function startSshAgent(dir: string, key: string): Promise<{ socket: string; agent: ChildProcess }> {
  const socket = path.join(dir, `agent-${Math.random().toString(36).slice(2, 8)}.sock`);
  const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: ['ignore', 'pipe', 'pipe'] });
  const pauseMs = 50;
  for (let attempt = 0; attempt < 200 && !fs.existsSync(socket); attempt += 1) {
    if (agent.exitCode !== null) break;
    await delay(pauseMs);
  }
  if (!fs.existsSync(socket)) {
    await killProcess(agent, 'SIGKILL');
    throw new Error('ssh-agent did not make its socket');
  }
  await execFileAsync('ssh-add', ['-q', key], { env: { ...process.env, SSH_AUTH_SOCK: socket }, timeout: 30_000 });
  return { socket, agent };
}

/** Runs `occdb ...args` with `env` to the end. */
export function runOccdbWith(args: string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
  return runOccdb(args, env);
}

/** Runs the classic startup/STARTUP script with `args` and `env`. */
export function runStartupScriptWith(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
  return runStartupScript(args, { script, env });
}

/** The network namespace a process is in, by name (`ip netns identify`), or '' if none of the named ones. */
export async function namespaceOf(pid: number): Promise<string> {
  const { stdout } = await execFileAsync('ip', ['netns', 'identify', String(pid)], { timeout: 10_000 });
  return stdout.trim();
}
