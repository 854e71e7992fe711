/**
 * CPU time and memory of a process tree, read from Linux /proc, so the benchmark can say what the system under
 * test used (onecc is one or two Node processes; Kamailio is a main process and the children it forks).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. 100 on every Linux this runs on. */
const TICKS_PER_SECOND = 100;

function readStat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after "pid (comm) ": comm may hold spaces and parentheses, so split after the last ')'.
    return text.slice(text.lastIndexOf(')') + 2).trim().split(' ');
  } catch {
    return undefined;
  }
}

/** `roots` and every process descended from them that is alive now. */
export function processTree(roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const fields = readStat(pid);
    if (!fields) continue;
    const ppid = Number(fields[1]);
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const out: number[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (out.includes(pid)) continue;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** User + system CPU time of these processes so far, in milliseconds (10 ms resolution). */
export function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const fields = readStat(pid);
    // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after "pid (comm) ".
    if (fields) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

function statusField(pid: number, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Peak resident set (VmHWM) summed over these processes, MB. Right for processes that share little. */
export function peakRssMb(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + statusField(pid, 'VmHWM'), 0);
}

/**
 * Proportional set size summed over these processes, MB: each shared page is divided among the processes that
 * map it, so a forking server's shared memory pool is counted once, not once per child.
 */
export function pssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'));
      if (match) kb += Number(match[1]);
    } catch {
      // The process has gone.
    }
  }
  return kb / 1024;
}

/**
 * CPU time the whole machine has spent so far, in milliseconds, from /proc/stat: `busy` is all but idle and iowait
 * (steal included: time the hypervisor gave to another guest), `steal` and `softirq` on their own.
 */
export function machineCpuMs(): { busy: number; steal: number; softirq: number } {
  const fields = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const busy = fields.slice(0, 8).reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + v), 0);
  const ms = (ticks: number): number => (ticks * 1000) / TICKS_PER_SECOND;
  return { busy: ms(busy), steal: ms(fields[7] ?? 0), softirq: ms(fields[6] ?? 0) };
}

/**
 * Datagrams the kernel dropped for the UDP socket bound to 127.0.0.1:port so far (its receive buffer was full),
 * from the `drops` column of /proc/net/udp.
 */
export function udpDrops(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/udp', 'latin1').split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local) return Number(fields[12]);
  }
  return 0;
}
