// `bootlab console TARGET`: a board for developing a boot flow by hand — powered on with the lab's services
// running (DHCP, TFTP from a folder, HTTP), the terminal attached to its serial port (cli/interactive.ts),
// everything stopped when the session ends. Like a scenario run, it leaves its console log, lan.pcap and
// repro.sh in out/console/TARGET/.

import { resolve } from "node:path";
import { existsSync, statSync } from "node:fs";
import { parseArgs } from "./args.ts";
import { ScenarioError } from "../errors/failures.ts";
import { getTarget } from "../targets/catalogue.ts";
import { Fixtures } from "../fixtures/fixtures.ts";
import { runExitCode, runOne } from "../scenario/runner.ts";
import type { ValidScenario } from "../scenario/define.ts";
import { attachTerminal } from "./interactive.ts";

export const CONSOLE_USAGE = `  bootlab console TARGET [--uboot] [--snapshot] [--flash IMG] [--usb IMG] [--tftp DIR] [--http DIR] [--out DIR]
                                  a board on the lab LAN with your terminal on its serial port (Linux
                                  shell by default; U-Boot, or the board's own flash; --snapshot: from
                                  the snapshot cache, saved the first time); Ctrl-] for the bench
                                  prompt: usb plug/unplug, cable down/up, fault, reset, quit
`;

export async function cmdConsole(argv: string[]): Promise<number> {
  const a = parseArgs(argv, { uboot: "switch", snapshot: "switch", flash: "value", usb: "value", tftp: "value", http: "value", out: "value" });
  if (a.positional.length !== 1) throw new ScenarioError("bootlab console: name one target", { expected: CONSOLE_USAGE.trim() });
  const target = getTarget(a.positional[0]!);
  const file = (flag: string, kind: "file" | "folder") => {
    const v = a.flags[flag];
    if (typeof v !== "string") return undefined;
    const p = resolve(v);
    if (!existsSync(p) || statSync(p).isDirectory() !== (kind === "folder")) throw new ScenarioError(`bootlab console: --${flag} ${v} is not a ${kind}`);
    return p;
  };
  const flash = file("flash", "file");
  const usb = file("usb", "file");
  const tftpRoot = file("tftp", "folder");
  const httpRoot = file("http", "folder");
  if (flash && a.flags.uboot) throw new ScenarioError("bootlab console: --flash and --uboot both say what the board runs", { expected: "one of them" });
  if (flash && !target.machine.flash) throw new ScenarioError(`bootlab console: ${target.name} has no flash of its own`);
  // The same machine every time (the board's drivers loaded at the shell, or U-Boot's prompt taken over):
  // restored in a moment once saved (a target whose data says it cannot be restored boots cold, saying so).
  const snapshot = a.flags.snapshot ? (a.flags.uboot ? "uboot" as const : "shell" as const) : undefined;
  if (snapshot && (flash || usb)) throw new ScenarioError("bootlab console: --snapshot with --flash or --usb", { expected: "plug sticks from the bench prompt instead (usb plug IMAGE); a flash is not saved with a snapshot" });
  const s: ValidScenario = {
    file: "bootlab console", id: "console",
    header: { name: `console on ${target.name}`, targets: [target.name], timeouts: { scenarioSeconds: 24 * 3600, bootSeconds: 120, stepSeconds: 120 } },
    targets: [target],
    body: async ({ lab, fixtures }) => {
      const lan = await lab.lan(tftpRoot ? { tftpRoot } : {});
      if (httpRoot) lan.http.static("/", httpRoot);
      const linux = !flash && !a.flags.uboot;
      // The board's drivers and the usual file systems, loaded before the terminal is handed over.
      const modules = [...target.machine.nic.linuxModules, ...(target.machine.disk?.linuxModules ?? []), ...(target.machine.usb?.linuxModules ?? []), "vfat", "nls_cp437", "nls_ascii", "nls_iso8859_1", "ext4"];
      const board = await lab.boot(target, {
        ...(flash ? { flash: [{ path: flash }] } : a.flags.uboot ? { firmware: await fixtures.uboot() } : {
          kernel: await fixtures.kernel(),
          initrd: await fixtures.initramfs({ modules }),
        }),
        ...(target.machine.usb ? { usb: usb ? [{ path: usb }] : [] } : {}),
        ...(snapshot === "shell" ? { snapshot: { at: "shell", name: "console", prepare: async (b) => void await (await b.shell()).expectOk(`modprobe -a ${[...new Set(modules)].join(" ")}; mkdir -p /mnt`) } } : snapshot ? { snapshot } : {}),
      });
      if (linux && !snapshot) await (await board.shell()).expectOk(`modprobe -a ${[...new Set(modules)].join(" ")}; mkdir -p /mnt`, { step: "load the board's drivers" });
      // The board's own bad-pattern watch (panics, resets) is for scenarios; by hand, a reset is a person's choice.
      await board.allowing(["kernel-panic", "oops", "bug", "kernel-reset", "bootloader-reset"], () => attachTerminal(board, lan, { input: process.stdin, output: process.stdout }));
      process.stdout.write("\r\n[bootlab] detached; the board is switched off\r\n");
    },
  };
  const r = await runOne(s, target.name, new Fixtures(), resolve(a.flags.out as string | undefined ?? "out"), { snapshots: !!snapshot });
  if (r.status !== "passed") process.stderr.write(r.failure?.report() + "\n");
  return runExitCode([r]);
}
