// The U-Boot console driver (harness/console/uboot.ts) on console bytes: a real malta U-Boot 2023.01 session
// (prompt sync, setenv, a TFTP give-up, a truncated image's CRC failure, a good TFTP) and its virt-arm64
// twin with autoboot, mutated — markers lost or repeated, error lines moved, a second banner, torn lines —
// under the expect engine's bad patterns. The driver must end every step as a product failure, a timeout or
// the console ending, never with an exception of its own.

import type { Area } from "../area.ts";
import { dataFile } from "../captures.ts";
import { ConsoleFeed, script } from "../console-feed.ts";
import { BYTE_MUTATORS } from "../mutators/bytes.ts";
import { floodLine, trickle } from "../mutators/console.ts";
import { recordMutators } from "../mutators/records.ts";
import { textMutators } from "../mutators/text.ts";
import { decodeRecords, encodeRecords } from "../records.ts";
import { linuxBadPatterns } from "../../harness/console/bad-patterns.ts";
import { UBootConsole } from "../../harness/console/uboot.ts";
import { InfrastructureError } from "../../harness/errors/failures.ts";
import { Steps } from "../../harness/scenario/steps.ts";
import { getTarget } from "../../harness/targets/catalogue.ts";

export const UBOOT_WORDS = [
  "maltael # ", "=> ", "\nBL-127u1-SYNC\n", "\nBL-127u2-E0\n", "\nBL-127u7-E1\n", "BL-127u9-E0", "BL-127u10-E1", "BL-127u", "-E", "-SYNC",
  "Hit any key to stop autoboot:  2 ", "## Error: \"bootcmd\" not defined", "TFTP error: 'File not found' (1)", "Retry count exceeded; starting again",
  "Unknown command 'x' - try 'help'", "Wrong Image Format for bootm command", "Verifying Checksum ... Bad Data CRC", "Bad Linux ARM64 Image magic!",
  "Bytes transferred = 4831152 (49b7b0 hex)", "Bytes transferred = ", "File not found", "## Can't overwrite", "Usage:\n", "bootargs=console=ttyS0",
  "DRAM bank   = 0x00000000\n-> start    = 0x80000000\n", "relocaddr   = 0x8ff7a000\n", "\nU-Boot 2023.01+dfsg-2+deb12u3 (Jun 22 2026)\n",
  "Kernel panic - not syncing: VFS", "\x1b[6n", "\r\n", "\t", "trying to overwrite reserved memory",
];

export function ubootConsoleArea(): Area {
  // The recording ends after the good TFTP; the script's last steps get answers in U-Boot's words.
  const recorded = new TextDecoder("latin1").decode(dataFile("uboot-2023.01-malta-tftp-faults.console")) + [
    "maltael # printenv bootargs; echo BL-127u12-E$?", "## Error: \"bootargs\" not defined", "BL-127u12-E1",
    "maltael # bdinfo; echo BL-127u13-E$?", "boot_params = 0x80000000", "DRAM bank   = 0x00000000", "-> start    = 0x80000000", "-> size     = 0x10000000",
    "relocaddr   = 0x8ff7a000", "BL-127u13-E0",
    "maltael # setenv bootargs 'console=ttyS0,115200 panic=1 memsize=256M rd_start=0x84000000 rd_size=4096'; echo BL-127u14-E$?", "BL-127u14-E0",
    "maltael # bootm 0x82000000", "## Booting kernel from Legacy Image at 82000000 ...", "",
  ].join("\n");
  const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
  const lines = (s: string) => s.split(/(?<=\n)/).map(latin1);
  // Chunks of a few hundred bytes, as a socket delivers a console's output.
  const chunked = (s: string, n: number) => Array.from({ length: Math.ceil(s.length / n) }, (_, i) => latin1(s.slice(i * n, i * n + n)));
  const arm = recorded.replaceAll("maltael # ", "=> ").replace("Net:   eth0: pcnet#0\n", "Net:   eth0: virtio-net#32\nHit any key to stop autoboot:  2 \n");
  const seeds = [
    encodeRecords([Uint8Array.of(0), ...chunked(recorded, 251)]),
    encodeRecords([Uint8Array.of(1), ...chunked(arm, 331)]),
    encodeRecords([Uint8Array.of(0), ...lines(recorded)]),
    encodeRecords([Uint8Array.of(0), ...chunked(recorded, 97)]),
    encodeRecords([Uint8Array.of(0), ...lines(recorded.slice(0, recorded.indexOf("BL-127u7")) + "\nU-Boot 2023.01+dfsg-2+deb12u3 (Jun 22 2026 - 08:38:07 +0000)\n")]),
  ];
  const targets = [getTarget("malta-mipsel").firmware.uboot!, getTarget("virt-arm64").firmware.uboot!];
  // One timeline for every input: each Steps holds an AsyncLocalStorage, and Node keeps every one ever used
  // in a list that every new promise walks — a Steps per input slows each input down more than the last.
  const steps = new Steps();
  return {
    name: "uboot-console",
    corpus: () => seeds,
    mutators: [...recordMutators({ inner: [...textMutators(UBOOT_WORDS), ...textMutators(UBOOT_WORDS), ...BYTE_MUTATORS, floodLine], fixed: 1, maxRecords: 160 }), trickle(1)],
    dictionary: UBOOT_WORDS.map(latin1),
    maxBytes: 512 * 1024,
    expects: ["finished", "stopped at:U-Boot starts", "stopped at:U-Boot: tftpboot", "stopped at:U-Boot prompt answers"],
    async run(input) {
      const [ctl = new Uint8Array(0), ...chunks] = decodeRecords(input);
      const con = new ConsoleFeed(linuxBadPatterns({ bootloaderBanners: 1 }));
      steps.records.length = 0;
      const ub = new UBootConsole(con.asSerialConsole(), steps, targets[(ctl[0] ?? 0) & 1]!, { timeoutMs: 60_000 });
      const done = script([
        ["U-Boot starts", () => ub.takeOver()],
        ...["ipaddr 192.168.1.20", "serverip 192.168.1.10", "tftptimeout 1000", "tftptimeoutcountmax 3", "netretry no"].map((kv) =>
          [`U-Boot: setenv ${kv.split(" ")[0]}`, () => ub.setenv(kv.split(" ")[0]!, kv.split(" ")[1]!)] as [string, () => Promise<unknown>]),
        ["U-Boot: tftpboot that gives up", () => ub.run("tftpboot ${loadaddr} kernel")],
        ["U-Boot prompt answers", () => ub.sync()],
        ["U-Boot: tftpboot truncated.uimg", () => ub.tftp("kernel", "truncated.uimg")],
        ["expect failure: bootm", () => ub.expectOk("bootm 0x82000000")],
        ["U-Boot: tftpboot kernel", () => ub.tftp("kernel", "kernel")],
        ["U-Boot: printenv", () => ub.getenv("bootargs")],
        ["U-Boot: bdinfo", () => ub.bdinfo()],
        ["U-Boot: boot", () => ub.bootLoaded({ consoleDevice: "ttyS0,115200", ramdiskSize: 4096 })],
      ]);
      for (const c of chunks) {
        con.feed(c);
        await con.settle();
      }
      con.stream.fail(new InfrastructureError("fuzz: the console input ended"));
      return await done;
    },
  };
}
