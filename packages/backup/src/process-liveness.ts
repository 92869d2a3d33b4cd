import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who a lock's process is, precisely enough to tell later whether it still
 * runs: a pid alone is not enough, since pids are reused (after a reboot
 * almost certainly, and on a busy host soon enough).
 */
export interface ProcessIdentity {
  host: string;
  pid: number;
  /** The kernel's boot id (Linux), or null where there is none. */
  bootId: string | null;
  /** The process start time in clock ticks since boot (Linux `/proc/<pid>/stat`), or null. */
  startTicks: number | null;
}

function readBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** Field 22 of `/proc/<pid>/stat`; the command name before it may hold spaces and parentheses. */
export function readStartTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isSafeInteger(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

let own: ProcessIdentity | null = null;

/** This process. */
export function currentProcess(): ProcessIdentity {
  own ??= { host: hostname(), pid: process.pid, bootId: readBootId(), startTicks: readStartTicks(process.pid) };
  return own;
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a process on this host is certainly gone: the host rebooted since
 * (another boot id), no process has its pid, or the process with its pid
 * started at another time (the pid was reused). False for another host's
 * process: from here nothing can be known about it.
 */
export function isGoneFromThisHost(other: Partial<ProcessIdentity> & { pid: number }): boolean {
  const self = currentProcess();
  if (other.host !== self.host) return false;
  if (other.bootId && self.bootId && other.bootId !== self.bootId) return true;
  if (other.pid === self.pid)
    return other.startTicks != null && self.startTicks != null && other.startTicks !== self.startTicks;
  if (!pidRuns(other.pid)) return true;
  if (other.startTicks == null) return false;
  const ticks = readStartTicks(other.pid);
  return ticks !== null && ticks !== other.startTicks;
}
