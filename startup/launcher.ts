// Launchers start, signal and inspect occdb processes on one host. Startup, stop and start
// talk only to this interface, so running processes on another machine means one more
// implementation (over ssh) and nothing else.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { OccdbError } from '../errors/catalogue.js';
import type { LogFormat, LogLevel } from '../runtime/log.js';
import { allocatePorts } from './ports.js';

export type NodeRole = 'database' | 'middleware';

/**
 * Environment a process of `role` is started with, unless the environment already sets it.
 * A DATABASE runs LevelDB's work on libuv's thread pool one operation at a time (it writes one
 * group at a time; its reads come from memory), so a pool of one thread, which wakes the same
 * warm thread each time, serves it better than the default four: about 6% more commits per
 * second with 16 clients. libuv reads the size once, before any code of ours runs.
 */
export function roleEnvironment(role: NodeRole): Record<string, string> {
  return role === 'database' ? { UV_THREADPOOL_SIZE: '1' } : {};
}

/** What a launcher needs to start one process. Paths are as seen on the process's host. */
export interface LaunchSpec {
  role: NodeRole;
  id: number;
  host: string;
  clusterFile: string;
  /**
   * The cluster file's text, for a launcher whose host keeps its own copy (over ssh): it is
   * written to `clusterFile` there before the process starts, so the process reads the same file.
   */
  clusterText?: string;
  /**
   * Files that live beside the cluster file, for such a host: the cluster secret and the
   * users file, written there (readable by the owner only) with the cluster file.
   */
  privateFiles?: ReadonlyArray<{ name: string; text: string }>;
  /** The process's own directory: its log, its stdout.log, and (a database's) data. */
  dir: string;
  logLevel: LogLevel;
  /** Passed on as --log-format when not the default, text. */
  logFormat?: LogFormat;
}

export interface Launcher {
  /** Starts the process detached, so that it outlives the command that started it. */
  start(spec: LaunchSpec): Promise<{ pid: number }>;
  /** True while `pid` is an occdb process that has not exited. */
  isAlive(pid: number): Promise<boolean>;
  /** Sends `signal`; a process that is already gone is not an error. */
  signal(pid: number, signal: NodeJS.Signals): Promise<void>;
  /** The last `lines` lines of a file on the host; none when the file does not exist. */
  readLogTail(file: string, lines: number): Promise<string[]>;
  /** `count` ports free on the host at `address` a moment ago (consecutive from `basePort` if given). */
  freePorts(count: number, address: string, basePort?: number): Promise<number[]>;
}

/** The occdb command: <repo>/bin/occdb.js, found from this file's place in dist/startup/. */
export const OCCDB_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/occdb.js');

export const STDOUT_LOG_NAME = 'stdout.log';

/** How often, and how far apart, isAlive looks again at a process caught in the middle of an exec. */
const EXEC_CHECKS_MAX = 50;
const EXEC_CHECK_PAUSE_MS = 10;

// Reading a tail never needs more than the end of the file.
const TAIL_BYTES_MAX = 64 * 1024;

export class LocalLauncher implements Launcher {
  /**
   * `commandPrefix` runs the process through another program that execs it in place (keeping
   * the pid), e.g. `ip netns exec <namespace>` to start it in a network namespace.
   */
  constructor(private readonly commandPrefix: readonly string[] = []) {}

  async start(spec: LaunchSpec): Promise<{ pid: number }> {
    fs.mkdirSync(spec.dir, { recursive: true });
    const stdoutFile = path.join(spec.dir, STDOUT_LOG_NAME);
    // Appended, not truncated: the output of an earlier run that crashed stays readable.
    fs.appendFileSync(stdoutFile, `==== ${new Date().toISOString()} starting ${spec.role.toUpperCase()}${spec.id}\n`);
    const output = fs.openSync(stdoutFile, 'a');
    try {
      const command = [
        ...this.commandPrefix, process.execPath, OCCDB_BIN, spec.role, String(spec.id), '--cluster', spec.clusterFile, '--log-level', spec.logLevel,
        ...(spec.logFormat === 'json' ? ['--log-format', 'json'] : []),
      ];
      const child = spawn(
        command[0]!,
        command.slice(1),
        { cwd: spec.dir, detached: true, stdio: ['ignore', output, output], env: { ...roleEnvironment(spec.role), ...process.env } },
      );
      const pid = await new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('spawn', () => resolve(child.pid!));
      });
      child.unref();
      return { pid };
    } catch (error) {
      throw new OccdbError('PROCESS_CONTROL_FAILED', `could not run ${[...this.commandPrefix, process.execPath, OCCDB_BIN].join(' ')}: ${(error as Error).message}`);
    } finally {
      fs.closeSync(output);
    }
  }

  async isAlive(pid: number): Promise<boolean> {
    try {
      process.kill(pid, 0);
    } catch {
      // ESRCH: gone. EPERM: the pid now belongs to another user, so it is not ours either.
      return false;
    }
    // A process that execs occdb in place (through a command prefix) shows an empty command
    // line for a moment while its exec is under way: ask again shortly, a bounded number of times.
    for (let attempt = 0; attempt < EXEC_CHECKS_MAX; attempt += 1) {
      const running = isRunningOccdbProcess(pid);
      if (running !== 'exec-under-way') return running;
      await delay(EXEC_CHECK_PAUSE_MS);
    }
    return false;
  }

  async signal(pid: number, signal: NodeJS.Signals): Promise<void> {
    // Never signal a pid that the system has since given to another program.
    if (!(await this.isAlive(pid))) return;
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  async readLogTail(file: string, lines: number): Promise<string[]> {
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(file, 'r');
    } catch {
      return [];
    }
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, TAIL_BYTES_MAX);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      const all = buffer.toString('utf8').split('\n');
      if (all.at(-1) === '') all.pop();
      // The first line may have been cut by the byte limit; drop it unless the whole file fit.
      if (length < size) all.shift();
      return all.slice(-lines);
    } finally {
      await handle.close();
    }
  }

  freePorts(count: number, address: string, basePort?: number): Promise<number[]> {
    return allocatePorts(count, address, basePort);
  }
}

/**
 * Where /proc exists (Linux), a pid that kill(pid, 0) accepts may still be a zombie (an
 * exited process whose parent is gone and that init has not reaped: common in containers)
 * or a pid reused by another program; neither is a running occdb process. An empty command
 * line (a process in the middle of an exec) is neither yes nor no yet.
 */
function isRunningOccdbProcess(pid: number): boolean | 'exec-under-way' {
  let stat: string;
  let commandLine: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    commandLine = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    // Either the process went away just now, or this system has no /proc and kill(pid, 0)
    // is all we have.
    return !fs.existsSync('/proc/self/stat');
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X') return false;
  if (commandLine === '') return 'exec-under-way';
  return commandLine.split('\0').some((argument) => path.basename(argument) === path.basename(OCCDB_BIN));
}

/** Loopback hosts run on this machine: `localhost` and 127.x.x.x. */
export function isLocalHost(host: string): boolean {
  if (host === 'localhost') return true;
  const match = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return match !== null && match.slice(1).every((part) => Number(part) <= 255);
}

export const localLauncher = new LocalLauncher();

/**
 * The launcher for a local host. Other hosts are reached by the ssh launcher, which needs
 * the command's ssh options and closes its connections at the end: see Launchers.
 */
export function launcherForHost(host: string): Launcher {
  if (isLocalHost(host)) return localLauncher;
  throw new OccdbError('USAGE', `host '${host}' is not local: its processes are run by the ssh launcher, which needs the command's ssh options (see Launchers)`);
}
