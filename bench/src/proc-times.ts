import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { clkTck } from '@rtmp/testing';

/** CPU seconds a process has used so far, split into user and system time (/proc/PID/stat, Linux). */
export interface CpuTimes {
  user: number;
  system: number;
}

/** utime and stime of `pid`, in seconds. */
export function cpuTimes(pid: number): CpuTimes {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces and parentheses: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, i.e. 12 and 13 after the name.
  return { user: Number(fields[11]) / clkTck(), system: Number(fields[12]) / clkTck() };
}

/** Bytes of every file under `dir` (recursively; 0 when it does not exist). */
export function bytesUnder(dir: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const file = path.join(dir, entry);
    const stat = statSync(file);
    total += stat.isDirectory() ? bytesUnder(file) : stat.size;
  }
  return total;
}

/** Removes what `dir` holds and keeps `dir` itself (the recordings of a run, once measured). */
export function emptyDir(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) rmSync(path.join(dir, entry), { recursive: true, force: true });
}
