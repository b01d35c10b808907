/**
 * CPU time of the process's main thread, for the timing scripts.
 */
import { readFileSync } from 'node:fs';

/** Linux's USER_HZ, which /proc reports CPU times in (100 on every common build). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU ms (user + system) the main thread has used so far, from Linux's
 * /proc (the main thread's id is the process id); null elsewhere. That
 * thread runs every kernel's one-thread part, so on a quiet machine its
 * time bounds a step's wall time from below, and under load it reads
 * through where wall time does not. Ticks of 10 ms: time many calls.
 */
export function mainThreadCpuMs(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5), counted here from the state field (3).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}
