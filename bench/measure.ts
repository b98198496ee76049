// What a run measures besides the clients' own counts: CPU time per process role, read from
// /proc/<pid>/stat before and after the measured window, and the middlewares' message
// counters. Also the description of the machine that goes with every result.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import type { Status } from '../protocol/schemas.js';

export const PROCESS_ROLES = ['middleware', 'database', 'client'] as const;
export type ProcessRole = (typeof PROCESS_ROLES)[number];

/** Linux's usual USER_HZ, used when `getconf CLK_TCK` cannot be asked. */
export const CLOCK_TICKS_PER_SECOND_ASSUMED = 100;

export interface ClockTicks {
  perSecond: number;
  /** True when getconf could not be run and the usual value was assumed. */
  assumed: boolean;
}

/** The kernel's clock ticks per second (the unit of utime and stime), asked once. */
export function clockTicks(): ClockTicks {
  try {
    const perSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5_000 }).trim());
    if (Number.isInteger(perSecond) && perSecond > 0) return { perSecond, assumed: false };
  } catch {
    // No getconf: fall through to the usual value.
  }
  return { perSecond: CLOCK_TICKS_PER_SECOND_ASSUMED, assumed: true };
}

/**
 * utime + stime, in clock ticks, from the text of /proc/<pid>/stat. The command name (field
 * 2) is in parentheses and may itself hold spaces or parentheses, so fields are counted from
 * the last ')'. Null when the text is not a stat line.
 */
export function parseProcStatTicks(text: string): number | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  // After ')' come field 3 (state) onwards; utime and stime are fields 14 and 15.
  const fields = text.slice(close + 2).trim().split(/\s+/);
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return utime + stime;
}

/** CPU ticks used so far by `pid`, or null if it is gone or this system has no /proc. */
export function readCpuTicks(pid: number): number | null {
  try {
    return parseProcStatTicks(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

export type PidsByRole = Record<ProcessRole, readonly number[]>;
/** Ticks per pid at one moment; a pid that could not be read is absent. */
export type CpuSnapshot = Map<number, number>;

export function snapshotCpu(pids: PidsByRole): CpuSnapshot {
  const snapshot: CpuSnapshot = new Map();
  for (const role of PROCESS_ROLES) {
    for (const pid of pids[role]) {
      const ticks = readCpuTicks(pid);
      if (ticks !== null) snapshot.set(pid, ticks);
    }
  }
  return snapshot;
}

export type CpuPercentByRole = Record<ProcessRole, number | null>;

/**
 * CPU% per role over `wallMs`: the role's processes' CPU seconds over wall seconds, times
 * 100, summed over the role's processes (so 3 busy middlewares can show 300%; a machine
 * with 2 cores has 200% in all). Null for a role with a process missing from either
 * snapshot: a partial sum would understate it.
 */
export function cpuPercentByRole(pids: PidsByRole, before: CpuSnapshot, after: CpuSnapshot, wallMs: number, ticks: ClockTicks): CpuPercentByRole {
  const result = {} as CpuPercentByRole;
  for (const role of PROCESS_ROLES) {
    let used = 0;
    let complete = pids[role].length > 0;
    for (const pid of pids[role]) {
      const start = before.get(pid);
      const end = after.get(pid);
      if (start === undefined || end === undefined) complete = false;
      else used += end - start;
    }
    result[role] = complete && wallMs > 0 ? (used / ticks.perSecond / (wallMs / 1000)) * 100 : null;
  }
  return result;
}

/** The `messagesSent` counter of a middleware's status, where the middleware reports one. */
export function messagesSentOf(status: Status): number | null {
  const value = (status as Status & { messagesSent?: unknown }).messagesSent;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryMiB: number;
  platform: string;
  kernel: string;
  nodeVersion: string;
  date: string;
  clockTicks: ClockTicks;
}

export function machineInfo(ticks: ClockTicks): MachineInfo {
  return {
    cpuModel: cpuModel(),
    cores: os.availableParallelism(),
    memoryMiB: Math.round(os.totalmem() / 1024 / 1024),
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    nodeVersion: process.version,
    date: new Date().toISOString(),
    clockTicks: ticks,
  };
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) return match[1]!.trim();
  } catch {
    // No /proc/cpuinfo: ask node instead.
  }
  return os.cpus()[0]?.model ?? 'unknown';
}
