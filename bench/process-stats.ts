// What the benchmarks read about a running process: its memory and CPU time from /proc, and the
// operator's V8 heap after a full GC from its own /metrics.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Peak and current resident memory of a process, in MB, from /proc. */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc. */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/** The V8 heap in use after a full GC, in MB: SIGUSR2 asks the operator (run with --expose-gc) for one, /metrics tells. */
export async function heapAfterGcMb(pid: number, port: number): Promise<number | undefined> {
  const read = async () =>
    Number(
      /^wso2_frontend_heap_used_after_full_gc_bytes (\S+)$/m.exec(
        await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
      )?.[1] ?? 0,
    );
  const before = await read();
  process.kill(pid, 'SIGUSR2');
  for (let tries = 0; tries < 100; tries++) {
    const after = await read();
    if (after !== before) return after / 2 ** 20;
    await sleep(100);
  }
  return undefined;
}
