/**
 * Linux's /proc, read for what selfopt asks of other processes: whose child a process is, whether
 * it is a zombie, when it started (to tell a reused pid), and its command line. Every reader
 * gives null for a process that is gone, or where there is no /proc.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  /** Field 4: the parent's pid. */
  ppid: number;
  /** Field 3: R, S, D, Z (a zombie: exited, not yet reaped), X (dead)... */
  state: string;
  /** Field 22: the start time in clock ticks since boot (with the pid, names one process). */
  start: string;
}

/** Fields of /proc/<pid>/stat, or null. */
export function procStat(pid: number): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields.length > 19 ? { state: fields[0]!, ppid: Number(fields[1]), start: fields[19]! } : null;
  } catch {
    return null;
  }
}

/** The arguments of /proc/<pid>/cmdline (empty for a zombie), or null. */
export function procArgv(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  } catch {
    return null;
  }
}

/** The pids of every process /proc lists now (empty without /proc). */
export function procPids(): number[] {
  try {
    return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return [];
  }
}
