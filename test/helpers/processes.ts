// Starting, probing and stopping occdb processes from tests, and writing their cluster file.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { databaseSockets, middlewareSockets, readClusterFile, writeClusterFile, type ClusterFile, type Strategy } from '../../cluster/cluster-file.js';
import { ensureSecret } from '../../cluster/secret.js';
import { Connection, type Endpoint } from '../../protocol/connection.js';
import { freePort } from './ports.js';

/** The repository root: this file runs from <root>/dist/test/helpers. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const OCCDB_BIN = path.join(REPO_ROOT, 'bin', 'occdb.js');

/** How much of a child's stdout and stderr is kept (the latest part), for assertions and failure messages. */
const OUTPUT_CHARS_MAX = 64 * 1024;

export interface CapturedOutput {
  stdout: string;
  stderr: string;
}

const outputs = new WeakMap<ChildProcess, CapturedOutput>();

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Defaults to stdin ignored, stdout and stderr captured (read them with `capturedOutput`). */
  stdio?: StdioOptions;
}

/** Runs `node bin/occdb.js ...args`. Kill it by PID in an `after.always` or `finally` (see killProcess). */
export function spawnOccdb(args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(process.execPath, [OCCDB_BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env ?? process.env,
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
  });
  const output: CapturedOutput = { stdout: '', stderr: '' };
  outputs.set(child, output);
  // Reading the pipes keeps a chatty child from blocking on a full pipe.
  const keep = (stream: 'stdout' | 'stderr') => (chunk: Buffer): void => {
    output[stream] = (output[stream] + chunk.toString('utf8')).slice(-OUTPUT_CHARS_MAX);
  };
  child.stdout?.on('data', keep('stdout'));
  child.stderr?.on('data', keep('stderr'));
  return child;
}

/** What a child started by spawnOccdb has written so far (the latest OUTPUT_CHARS_MAX characters of each stream). */
export function capturedOutput(child: ChildProcess): CapturedOutput {
  return outputs.get(child) ?? { stdout: '', stderr: '' };
}

/** Resolves with the exit code (or signal) once `child` has exited, or null after `timeoutMs`. */
export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(null);
    }, timeoutMs);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      resolve({ code, signal });
    };
    child.once('exit', onExit);
  });
}

/**
 * Retries `ping` at `endpoint` until it answers; throws after `timeoutMs`. When `child` is
 * given, gives up at once if it has exited (its stderr goes in the error).
 */
export async function waitForPing(endpoint: Endpoint, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const pauseMs = 50;
  const attemptsMax = Math.ceil(timeoutMs / pauseMs) + 1;
  const deadlineMs = Date.now() + timeoutMs;
  const connection = new Connection(endpoint);
  let lastError: unknown = null;
  try {
    for (let attempt = 0; attempt < attemptsMax && Date.now() < deadlineMs; attempt++) {
      if (child && (child.exitCode !== null || child.signalCode !== null)) {
        throw new Error(`the process exited (${child.exitCode ?? child.signalCode}) before answering ping: ${capturedOutput(child).stderr.trim()}`);
      }
      try {
        await connection.request({ type: 'ping' }, Math.max(100, Math.min(1000, deadlineMs - Date.now())));
        return;
      } catch (error) {
        lastError = error;
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  } finally {
    connection.close();
  }
  throw new Error(`${endpoint.host}:${endpoint.port} did not answer ping within ${timeoutMs} ms: ${(lastError as Error | null)?.message ?? 'no attempt'}`);
}

/**
 * Sends `signal` to a child (or a PID) and waits for it to exit, at most `timeoutMs`; if it is
 * still there, sends SIGKILL and waits as long again. Does nothing to a process already gone.
 */
export async function killProcess(target: ChildProcess | number, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
  if (typeof target === 'number') return killPid(target, signal, timeoutMs);
  if (target.exitCode !== null || target.signalCode !== null || target.pid === undefined) return;
  target.kill(signal);
  if (await waitForExit(target, timeoutMs)) return;
  target.kill('SIGKILL');
  if (await waitForExit(target, timeoutMs)) return;
  throw new Error(`process ${target.pid} did not exit after SIGKILL`);
}

async function killPid(pid: number, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  const pauseMs = 50;
  const isAlive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const waitGone = async (): Promise<boolean> => {
    for (let attempt = 0; attempt < Math.ceil(timeoutMs / pauseMs); attempt++) {
      if (!isAlive()) return true;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    return !isAlive();
  };
  if (!isAlive()) return;
  try {
    process.kill(pid, signal);
  } catch {
    return; // It exited in between.
  }
  if (await waitGone()) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  if (await waitGone()) return;
  throw new Error(`process ${pid} did not exit after SIGKILL`);
}

export interface TestCluster {
  file: string;
  cluster: ClusterFile;
}

/**
 * Writes `<dir>/cluster.json` naming `middlewares` middlewares and `databases` databases on
 * 127.0.0.1, each on fresh ports and with its own directory under `dir`
 * (`<dir>/middleware<n>`, `<dir>/database<n>`), where it also listens on Unix sockets unless
 * `tcpOnly`.
 */
export async function writeTestCluster(
  dir: string,
  counts: { middlewares: number; databases: number; strategy?: Strategy; tcpOnly?: boolean },
): Promise<TestCluster> {
  fs.mkdirSync(dir, { recursive: true });
  const ports = await distinctFreePorts(counts.middlewares * 2 + counts.databases);
  const cluster: ClusterFile = {
    version: 1,
    strategy: counts.strategy ?? 'occ',
    scheduling: 'batch',
    createdAt: new Date().toISOString(),
    middlewares: Array.from({ length: counts.middlewares }, (_, index) => ({
      id: index + 1,
      host: '127.0.0.1',
      clientPort: ports[index * 2]!,
      peerPort: ports[index * 2 + 1]!,
      dir: path.join(dir, `middleware${index + 1}`),
      ...(counts.tcpOnly ? {} : middlewareSockets(path.join(dir, `middleware${index + 1}`))),
    })),
    databases: Array.from({ length: counts.databases }, (_, index) => ({
      id: index + 1,
      host: '127.0.0.1',
      port: ports[counts.middlewares * 2 + index]!,
      dir: path.join(dir, `database${index + 1}`),
      ...(counts.tcpOnly ? {} : databaseSockets(path.join(dir, `database${index + 1}`))),
    })),
  };
  const file = path.join(dir, 'cluster.json');
  writeClusterFile(file, cluster);
  ensureSecret(file);
  // Reading it back registers the cluster's keys for this test process, as for any operator.
  return { file, cluster: readClusterFile(file) };
}

/** `count` free ports, no two alike (the system may hand out a just-closed port again). */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; attempt < count * 10 && ports.size < count; attempt++) ports.add(await freePort());
  if (ports.size < count) throw new Error(`could not find ${count} distinct free ports`);
  return [...ports];
}

/** Whether process `pid` is stopped (SIGSTOP): its state in /proc is T. Linux only; false if it is gone. */
export function isStopped(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
  } catch {
    return false;
  }
}

export interface CliRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `occdb <args>` in `cwd` and waits for it to end, at most `timeoutMs`; the process is killed in any case. */
export async function runCli(args: string[], cwd: string, timeoutMs = 30_000): Promise<CliRun> {
  const child = spawn(process.execPath, [OCCDB_BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  let timer: NodeJS.Timeout | undefined;
  try {
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`occdb ${args.join(' ')} did not end within ${timeoutMs} ms`)), timeoutMs);
      child.once('error', reject);
      child.once('close', (code) => resolve(code));
    });
    return { exitCode, stdout, stderr };
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }
}
