// A person at a booted board: the terminal is the board's serial port (raw mode, every key goes to the
// board), and an escape key (Ctrl-]) opens a one-line prompt for what a person at a bench does with their
// hands — plug or pull a USB stick, pull or plug the cable, add a fault, reset, power off — then returns
// to the console. The session ends on `quit` (the board is switched off) or when the board's QEMU exits.
// The commands are parsed apart from the terminal (parseBenchCommand), so they are unit-tested.

import type { Board } from "../lab/board.ts";
import type { LabLan } from "../lab/lan.ts";
import type { FaultRule } from "../lan/faults.ts";

export const ESCAPE_KEY = 0x1d; // Ctrl-]

export type BenchCommand =
  | { kind: "help" }
  | { kind: "usb-plug"; image: string }
  | { kind: "usb-unplug"; id?: string }
  | { kind: "cable"; up: boolean }
  | { kind: "fault"; rule: FaultRule }
  | { kind: "faults-clear" }
  | { kind: "reset" }
  | { kind: "quit" };

export const BENCH_HELP = [
  "usb plug IMAGE       plug a USB stick (a raw image; a throw-away overlay takes the writes)",
  "usb unplug [ID]      pull a stick (the last one plugged by default)",
  "cable down|up        pull or plug the board's network cable",
  "fault drop|duplicate|corrupt PROTOCOL [first N]",
  "                     a fault on the lab LAN for frames of a protocol (tftp, dhcp, http, arp, icmp, tcp, udp)",
  "faults clear         remove every fault",
  "reset                press the reset button (QMP system_reset)",
  "quit                 switch the board off and leave (also: exit, detach)",
  "(empty line)         back to the console",
].join("\n");

const PROTOCOLS: Record<string, { protocol?: FaultRule["match"]["protocol"]; port?: number }> = {
  tftp: { port: 69 }, dhcp: { port: 67 }, http: { port: 80 }, nbd: { port: 10809 },
  arp: { protocol: "arp" }, icmp: { protocol: "icmp" }, tcp: { protocol: "tcp" }, udp: { protocol: "udp" },
};

/** One prompt line, or why it is not a command (undefined: an empty line, back to the console). */
export function parseBenchCommand(line: string, nth = 1): BenchCommand | string | undefined {
  const w = line.trim().split(/\s+/).filter(Boolean);
  if (w.length === 0) return undefined;
  const [a, b, c] = w;
  if (a === "help" || a === "?") return { kind: "help" };
  if (a === "quit" || a === "exit" || a === "detach") return { kind: "quit" };
  if (a === "reset") return { kind: "reset" };
  if (a === "usb" && b === "plug" && c) return { kind: "usb-plug", image: c };
  if (a === "usb" && b === "unplug") return { kind: "usb-unplug", ...(c ? { id: c } : {}) };
  if (a === "cable" && (b === "down" || b === "up")) return { kind: "cable", up: b === "up" };
  if (a === "faults" && b === "clear") return { kind: "faults-clear" };
  if (a === "fault" && (b === "drop" || b === "duplicate" || b === "corrupt") && c) {
    const match = PROTOCOLS[c];
    if (!match) return `no protocol "${c}": one of ${Object.keys(PROTOCOLS).join(", ")}`;
    const first = w[3] === "first" ? Number(w[4]) : undefined;
    if (w[3] !== undefined && !(first !== undefined && Number.isInteger(first) && first > 0)) return `"${w.slice(3).join(" ")}": expected "first N" with N ≥ 1`;
    return { kind: "fault", rule: { name: `console-${nth}`, match, action: b, ...(first ? { first } : {}) } };
  }
  return `not a command: "${line.trim()}" (help lists them)`;
}

export interface SessionIo {
  input: NodeJS.ReadableStream & { setRawMode?: (raw: boolean) => unknown; isTTY?: boolean };
  output: NodeJS.WritableStream;
}

/**
 * Runs the session until `quit` or the board's QEMU exits. The terminal is restored whatever happens; the
 * board is left to its owner (the lab stops it).
 */
export async function attachTerminal(board: Board, lan: LabLan | undefined, io: SessionIo): Promise<"quit" | "exited"> {
  const { input, output } = io;
  const say = (text: string): void => {
    output.write(`\r\n[bootlab] ${text.replace(/\n/g, "\r\n[bootlab] ")}\r\n`);
  };
  const raw = !!input.isTTY && typeof input.setRawMode === "function";
  if (raw) input.setRawMode!(true);
  const untap = board.console.tap((b) => output.write(b));
  let prompt: string | undefined; // the line being typed at the bench prompt, when it is open
  let plugged: string[] = [];
  let faults = 0;
  let busy = Promise.resolve();
  let finish!: (how: "quit" | "exited") => void;
  const done = new Promise<"quit" | "exited">((r) => (finish = r));
  void board.machine.exited.then(() => finish("exited"));

  const run = async (cmd: BenchCommand) => {
    switch (cmd.kind) {
      case "help": return say(BENCH_HELP);
      case "quit": return finish("quit");
      case "reset": await board.machine.command("system_reset"); return say("reset");
      case "cable": await board.setLink(cmd.up); return say(cmd.up ? "cable plugged in" : "cable pulled");
      case "usb-plug": plugged.push(await board.plugUsb(cmd.image)); return say(`USB stick ${plugged.at(-1)} plugged in (${cmd.image})`);
      case "usb-unplug": {
        const id = cmd.id ?? plugged.at(-1);
        if (!id) return say("no stick plugged in");
        await board.unplugUsb(id);
        plugged = plugged.filter((p) => p !== id);
        return say(`USB stick ${id} pulled`);
      }
      case "fault":
        if (!lan) return say("this board is not on the lab LAN");
        lan.faults.add(cmd.rule);
        return say(`fault ${cmd.rule.name}: ${cmd.rule.action} ${JSON.stringify(cmd.rule.match)}${cmd.rule.first ? `, first ${cmd.rule.first}` : ""}`);
      case "faults-clear":
        lan?.faults.clear();
        return say("faults cleared");
    }
  };

  const onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : new Uint8Array(chunk);
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (prompt === undefined) {
        if (b === ESCAPE_KEY) {
          prompt = "";
          output.write("\r\nbootlab> ");
          continue;
        }
        // Runs of ordinary keys go through in one write, as typed.
        let j = i;
        while (j < bytes.length && bytes[j] !== ESCAPE_KEY) j++;
        board.console.sendBytes(bytes.subarray(i, j));
        i = j - 1;
        continue;
      }
      if (b === 0x0d || b === 0x0a) {
        const line = prompt;
        prompt = undefined;
        const cmd = parseBenchCommand(line, ++faults);
        if (cmd === undefined) {
          output.write("\r\n");
          continue;
        }
        if (typeof cmd === "string") {
          say(cmd);
          continue;
        }
        busy = busy.then(() => run(cmd)).catch((e: unknown) => say(`${cmd.kind} failed: ${(e as Error).message}`));
      } else if (b === 0x7f || b === 0x08) {
        if (prompt.length) {
          prompt = prompt.slice(0, -1);
          output.write("\b \b");
        }
      } else if (b === 0x03 || b === ESCAPE_KEY) {
        prompt = undefined; // Ctrl-C or the escape key again: back to the console
        output.write("\r\n");
      } else if (b >= 0x20) {
        prompt += String.fromCharCode(b);
        output.write(String.fromCharCode(b));
      }
    }
  };
  input.on("data", onData);
  input.resume();
  say(`attached to ${board.name}'s console — Ctrl-] for the bench prompt (help, usb, cable, fault, reset, quit)`);
  const todo = board.handOverConsole();
  if (todo) say(todo);
  // A fresh prompt from whatever is on the port (a shell, U-Boot), so the person sees where they are.
  board.console.sendBytes(new Uint8Array([0x0d]));
  try {
    return await done;
  } finally {
    input.off("data", onData);
    input.pause();
    untap();
    if (raw) input.setRawMode!(false);
    await busy;
  }
}
