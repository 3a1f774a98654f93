/**
 * Where a run's time goes, for `--log-level debug`: named marks with the wall time since the process
 * started (`performance.now()`, whose origin is the runtime's start) and the main thread's CPU time
 * (Linux: /proc/thread-self/schedstat, in ns; other threads — TLS seeding, V8's compiler — are not in
 * it). Off unless `startTiming()` ran: `mark()` is then one boolean test, so normal runs pay nothing.
 * bench/README.md reads these marks to say where each millisecond of the everyday commands goes.
 */
import { hostPlatform, threadCpuMs as cpuMs } from "./platform.ts";

let on = false;
const marks: { name: string; wall: number; cpu?: number }[] = [];

const threadCpuMs = () => cpuMs(hostPlatform());

/** Turn the marks on (main.ts, when the command line asks for debug logs). */
export function startTiming(): void {
  if (on) return;
  on = true;
  mark("runtime and main.ts loaded");
}

export function timingOn(): boolean {
  return on;
}

/** Record that `name` just finished (the first time only: a fan-out's hundred requests make one mark). */
export function mark(name: string): void {
  if (on && !marks.some((m) => m.name === name)) {
    marks.push({ name, wall: performance.now(), cpu: threadCpuMs() });
  }
}

/** The marks as lines: wall time since start, the step's wall and main-thread CPU, its name. */
export function timingLines(): string[] {
  const lines: string[] = [];
  let prev = { wall: 0, cpu: 0 as number | undefined };
  for (const m of marks) {
    const cpu = m.cpu !== undefined && prev.cpu !== undefined ? (m.cpu - prev.cpu).toFixed(1) : "?";
    lines.push(
      `${m.wall.toFixed(1).padStart(7)} ms  +${(m.wall - prev.wall).toFixed(1).padStart(6)} ms wall ${
        cpu.padStart(6)
      } ms cpu  ${m.name}`,
    );
    prev = { wall: m.wall, cpu: m.cpu };
  }
  return lines;
}
