// The Linux shell driver (harness/console/linux-shell.ts) on console bytes: a Debian malta kernel's boot log
// (the real one, up to its panic), then busybox's echo of the driver's framed commands and their output with
// printk lines and terminal queries between the markers and inside one, mutated. Steps may end as product
// failures, time-outs or the console ending; never with an exception of the driver's own.

import type { Area } from "../area.ts";
import { dataFile } from "../captures.ts";
import { ConsoleFeed, script } from "../console-feed.ts";
import { BYTE_MUTATORS } from "../mutators/bytes.ts";
import { floodLine, trickle } from "../mutators/console.ts";
import { recordMutators } from "../mutators/records.ts";
import { textMutators } from "../mutators/text.ts";
import { decodeRecords, encodeRecords } from "../records.ts";
import { linuxBadPatterns } from "../../harness/console/bad-patterns.ts";
import { LinuxShell } from "../../harness/console/linux-shell.ts";
import { InfrastructureError } from "../../harness/errors/failures.ts";
import { Steps } from "../../harness/scenario/steps.ts";

const SHELL_WORDS = [
  "~ # ", "/ # ", "> ", "\x1eBL-127s1-SYNC\x1e", "\x1eBL-127c2-B\x1e\n", "\x1eBL-127c2-E:0\x1e", "\x1eBL-127c4-E:1\x1e", "\x1e", "BL-127c", ":%d",
  "[   12.345678] random: crng init done\n", "[    0.000000] Linux version 6.1.0-50-4kc-malta\n", "Kernel panic - not syncing: VFS: Unable to mount root fs",
  "[   3.1] BUG: kernel NULL pointer dereference", "Oops[#1]:", "Internal error: Oops: 96000004", "CPU 0 Unable to handle kernel paging request",
  "\x1b[6n", "\x1b[1;32m", "\x1b[", "\r\n", "Please press Enter to activate this console.", "U-Boot 2023.01 (Jan 01 2023)",
];

/** What busybox echoes and prints for the driver's framed command `id` (the driver's own framing, as sent). */
function framed(id: string, cmd: string, out: string, status: number): string {
  const echo = `~ # printf '\\036BL-127${id}-B\\036\\n'; {\n> ${cmd}\n> }; printf '\\036BL-127${id}-E:%d\\036\\n' $?\n`;
  return `${echo}\x1eBL-127${id}-B\x1e\n${out}\x1eBL-127${id}-E:${status}\x1e\n`;
}

export function shellConsoleArea(): Area {
  const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
  const boot = new TextDecoder("latin1").decode(dataFile("malta-no-initramfs-panic.console"));
  const beforePanic = boot.slice(0, boot.indexOf("Kernel panic")).split("\n").slice(0, -1).join("\n") + "\n";
  const session = beforePanic + "Please press Enter to activate this console.\n\n~ # \n~ # printf '\\036BL-127s1-SYNC\\036\\n'\n\x1eBL-127s1-SYNC\x1e\n" +
    framed("c2", "uname -m", "mips\n", 0) +
    framed("c3", "cat /proc/cmdline", "console=ttyS0 pa[   14.102030] pcnet32 0000:00:0b.0 eth0: link up\nnic=1 rdinit=/init\n", 0) +
    // As CI once saw: a printk line between the begin marker and its newline.
    framed("c4", "false", "", 1).replace("c4-B\x1e\n", "c4-B\x1e[    2.065988] nbd0: detected capacity change from 0 to 32768\n\n") +
    framed("c5", "dmesg | tail -2", "[    1.000000] Oops: unaligned access\n\x1b[6nok\n", 0) +
    framed("c6", "ls /nonexistent", "ls: /nonexistent: No such file or directory\n", 1) +
    "~ # \n~ # printf '\\036BL-127s7-SYNC\\036\\n'\n\x1eBL-127s7-SYNC\x1e\n~ # ";
  // Chunks of a few hundred bytes, as a socket delivers a console's output, and once line by line.
  const chunked = (s: string, n: number) => Array.from({ length: Math.ceil(s.length / n) }, (_, i) => latin1(s.slice(i * n, i * n + n)));
  const seeds = [
    encodeRecords(chunked(session, 257)),
    encodeRecords(chunked(session, 61)),
    encodeRecords(session.split(/(?<=\n)/).map(latin1)),
    encodeRecords(chunked(boot, 509)),
  ];
  const steps = new Steps();
  return {
    name: "shell-console",
    corpus: () => seeds,
    mutators: [...recordMutators({ inner: [...textMutators(SHELL_WORDS), ...textMutators(SHELL_WORDS), ...BYTE_MUTATORS, floodLine], maxRecords: 200 }), trickle(0)],
    dictionary: SHELL_WORDS.map(latin1),
    maxBytes: 512 * 1024,
    expects: ["finished", "stopped at:shell answers", "stopped at:run: uname -m"],
    async run(input) {
      steps.records.length = 0;
      const con = new ConsoleFeed(linuxBadPatterns());
      const sh = new LinuxShell(con.asSerialConsole(), steps, 60_000);
      const done = script([
        ["shell answers", () => sh.sync()],
        ["run: uname -m", () => sh.run("uname -m")],
        ["run: cat /proc/cmdline", () => sh.expectOk("cat /proc/cmdline")],
        ["run: false", () => sh.run("false")],
        ["run: dmesg", () => sh.expectOk("dmesg | tail -2", { allow: ["oops"] })],
        ["expect failure: ls", () => sh.expectOk("ls /nonexistent")],
        ["shell answers again", () => sh.sync()],
      ]);
      for (const c of decodeRecords(input)) {
        con.feed(c);
        await con.settle();
      }
      con.stream.fail(new InfrastructureError("fuzz: the console input ended"));
      return await done;
    },
  };
}
