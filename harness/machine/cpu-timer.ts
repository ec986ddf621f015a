// Re-arms a CPU compare timer that QEMU leaves out of a machine's saved state.
//
// QEMU 7.2's MIPS vmstate (target/mips/sysemu/machine.c) saves Count and Compare but not the QEMUTimer that
// raises the timer interrupt when Count reaches Compare, and its post_load does not re-arm it. A restored
// malta therefore sits in its idle loop until Count wraps round to Compare (2^32 ticks at 200 MHz: ~21 s),
// and no other interrupt helps: the kernel believes its next tick is already on its way.
// QEMU arms that timer whenever Count starts counting (cpu_mips_start_count), and Count stops and starts
// when software sets and clears Cause.DC. QEMU's gdbstub writes Cause through cpu_mips_store_cause, the
// same path as the guest's own mtc0, so bootlab sets DC and clears it again while the machine is paused:
// the virtual clock does not move in between, so Count keeps its value, and the timer is armed for the
// Compare the guest programmed.

import type { QmpClient } from "./qmp.ts";
import { GdbRemote, registerFromHex, registerToHex } from "./gdb-remote.ts";
import { InfrastructureError } from "../errors/failures.ts";

export interface TimerRearm {
  kind: "mips-cp0";
  byteOrder: "little" | "big";
}

/** GDB's MIPS register numbering: 36 is CP0 Cause; the 36 before it are 32-bit on a 32-bit MIPS. */
const MIPS_CAUSE = 36;
/** Cause.DC: "disable Count" (MIPS32 release 2). */
const CAUSE_DC = 1 << 27;

/** Where Cause sits in a `g` packet's hex: 36 registers of 4 bytes before it. */
const CAUSE_HEX = MIPS_CAUSE * 4 * 2;

/** CP0 Cause, read from the hex of a 32-bit MIPS `g` packet. */
export function mipsCause(regs: string, order: "little" | "big"): number {
  if (regs.length < CAUSE_HEX + 8) throw new InfrastructureError(`gdb stub: "g" held ${regs.length / 2} bytes, too few for CP0 Cause (register ${MIPS_CAUSE})`);
  return registerFromHex(regs.slice(CAUSE_HEX, CAUSE_HEX + 8), order);
}

/** The same `g` hex with CP0 Cause replaced. */
export function withMipsCause(regs: string, cause: number, order: "little" | "big"): string {
  return regs.slice(0, CAUSE_HEX) + registerToHex(cause, order) + regs.slice(CAUSE_HEX + 8);
}

/** Opens QEMU's gdbstub on `socketPath` for the moment, re-arms the timer, and closes it again. */
export async function rearmCpuTimer(qmp: QmpClient, socketPath: string, how: TimerRearm): Promise<void> {
  await qmp.execute("human-monitor-command", { "command-line": `gdbserver unix:${socketPath},server=on,wait=off` });
  try {
    const gdb = await GdbRemote.connect(socketPath);
    try {
      const regs = await gdb.readRegisters();
      const cause = mipsCause(regs, how.byteOrder);
      if (cause & CAUSE_DC) throw new InfrastructureError("the restored CPU has Count stopped (Cause.DC set): bootlab does not know when the guest will start it");
      // Every other register is written back with the value just read.
      await gdb.writeRegisters(withMipsCause(regs, (cause | CAUSE_DC) >>> 0, how.byteOrder));
      await gdb.writeRegisters(withMipsCause(regs, cause, how.byteOrder));
    } finally {
      await gdb.detach().catch(() => {});
    }
  } finally {
    await qmp.execute("human-monitor-command", { "command-line": "gdbserver none" }).catch(() => {});
  }
}
