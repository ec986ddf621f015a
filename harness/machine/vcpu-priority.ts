// QEMU's vCPU threads run at a lower priority (nice 10) than everything else: the lab (bootlab's own
// process) and QEMU's main loop, which carries every frame, console byte and QMP reply between them.
//
// Why: a TCG vCPU whose guest busy-polls — U-Boot's network loop always does — holds a core at 100 %. On a
// 2-core host a lock-step TFTP block needs the lab and QEMU's main loop to run at once when a frame arrives;
// at equal priority a woken thread can wait behind a spinning vCPU for a scheduler slice: beside another
// netbooting board, U-Boot's lock-step transfer of a 30 MB kernel took 28 s instead of 6 s. At nice 10 the
// waking thread takes the core from the spinner at once (scenarios/netboot at --jobs 2: 27 % less time
// summed over its pairs); when nothing else wants the core, the vCPU runs as fast as before.
// Raising a thread's nice value needs no privilege; it is per thread on Linux (setpriority on a thread id).

import { setPriority } from "node:os";
import type { QmpClient } from "./qmp.ts";

export const VCPU_NICE = 10;

/** Lowers the priority of each vCPU thread QEMU reports; a thread that has gone is not an error. */
export async function lowerVcpuPriority(qmp: QmpClient): Promise<number[]> {
  const cpus = await qmp.execute<{ "thread-id"?: number }[]>("query-cpus-fast");
  const threads = cpus.map((c) => c["thread-id"]).filter((t): t is number => typeof t === "number" && t > 0);
  for (const tid of threads) {
    try {
      setPriority(tid, VCPU_NICE);
    } catch {
      // The thread ended (QEMU is quitting): nothing to lower.
    }
  }
  return threads;
}
