// Running the cluster commands (startup, status, verify, stop, start) from tests, and making
// sure no process of a test's cluster outlives the test.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readClusterFile } from '../../cluster/cluster-file.js';
import { LocalLauncher } from '../../startup/launcher.js';
import { REPO_ROOT, capturedOutput, killProcess, spawnOccdb, waitForExit } from './processes.js';

/** Long enough for a whole cluster to start on a slow, shared machine. */
export const COMMAND_TIMEOUT_MS = 90_000;

export const STARTUP_SCRIPT = path.join(REPO_ROOT, 'startup', 'STARTUP');

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

// Liveness as the launcher sees it: kill(pid, 0), and on Linux not a zombie (the processes
// are detached, and where init does not reap orphans they stay zombies after exiting).
const launcher = new LocalLauncher();

export function isRunning(pid: number): Promise<boolean> {
  return launcher.isAlive(pid);
}

/** Runs `occdb ...args` (with `env`, if given) to the end (killed after COMMAND_TIMEOUT_MS) and returns its exit code and output. */
export async function runOccdb(args: string[], env?: NodeJS.ProcessEnv): Promise<CommandResult> {
  const child = spawnOccdb(args, env ? { env } : {});
  try {
    const exit = await waitForExit(child, COMMAND_TIMEOUT_MS);
    const output = capturedOutput(child);
    if (!exit) throw new Error(`occdb ${args.join(' ')} did not finish within ${COMMAND_TIMEOUT_MS} ms; stderr: ${output.stderr}`);
    return { code: exit.code, ...output };
  } finally {
    await killProcess(child, 'SIGKILL');
  }
}

/** Output kept per stream of a script run: its tail is what a failure message needs. */
const SCRIPT_OUTPUT_CHARS_MAX = 64 * 1024;

/** Runs the classic STARTUP script (this repository's, unless `script` names another) with `args`, and `env` if given. */
export async function runStartupScript(args: string[], options: { script?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  const child = spawn(options.script ?? STARTUP_SCRIPT, args, { cwd: os.tmpdir(), ...(options.env ? { env: options.env } : {}), stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout = (output.stdout + chunk.toString('utf8')).slice(-SCRIPT_OUTPUT_CHARS_MAX)));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr = (output.stderr + chunk.toString('utf8')).slice(-SCRIPT_OUTPUT_CHARS_MAX)));
  try {
    const exit = await waitForExit(child, COMMAND_TIMEOUT_MS);
    if (!exit) throw new Error(`STARTUP ${args.join(' ')} did not finish within ${COMMAND_TIMEOUT_MS} ms; stderr: ${output.stderr}`);
    return { code: exit.code, ...output };
  } finally {
    await killProcess(child, 'SIGKILL');
  }
}

export function temporaryDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `occdb-${prefix}-`));
}

/** The pids the cluster file in `dir` records (none if there is no readable file). */
export function recordedPids(dir: string): number[] {
  try {
    const cluster = readClusterFile(path.join(dir, 'cluster.json'));
    return [...cluster.middlewares, ...cluster.databases].flatMap((entry) => (entry.pid === undefined ? [] : [entry.pid]));
  } catch {
    return [];
  }
}

/**
 * Running occdb processes whose command line names `dir` (they were given its cluster file),
 * recorded or not: a failed startup must leave none. Needs /proc; elsewhere, none are found.
 */
export async function processesUsing(dir: string): Promise<number[]> {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const name of entries) {
    let commandLine: string;
    try {
      commandLine = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8');
    } catch {
      continue; // It exited while we looked.
    }
    if (commandLine.includes(`${dir}${path.sep}`) && (await isRunning(Number(name)))) found.push(Number(name));
  }
  return found;
}

/** SIGKILLs every process of the cluster in `dir`, recorded in its cluster file or found by its command line. */
export async function killClusterProcesses(dir: string): Promise<void> {
  const pids = new Set([...recordedPids(dir), ...(await processesUsing(dir))]);
  for (const pid of pids) {
    if (await isRunning(pid)) await launcher.signal(pid, 'SIGKILL');
  }
}

const clusterDirs: string[] = [];

/** A fresh `<temporary>/cluster` directory, remembered so removeClusterDirs() cleans it up. */
export function clusterDir(prefix: string): string {
  const dir = temporaryDir(prefix);
  clusterDirs.push(dir);
  return path.join(dir, 'cluster');
}

/** Kills every process recorded under the directories clusterDir() gave out, and removes them. */
export async function removeClusterDirs(): Promise<void> {
  for (const dir of clusterDirs.splice(0)) {
    await killClusterProcesses(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
