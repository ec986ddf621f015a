// The few words of GDB's remote serial protocol bootlab needs to reach CPU state that QMP does not show:
// read and write the registers (`g`, `G`), then detach (QEMU runs the machine on again when its last
// debugger leaves). QEMU sends its replies plain (no run-length encoding), which is all this parser reads.
// The codec is pure and total (bytes in, packets out; malformed input is counted, never thrown), so it is
// fuzzed and tested on bytes a real QEMU sent; the client is a thin layer over one socket.
// Spec: "GDB Remote Serial Protocol", https://sourceware.org/gdb/onlinedocs/gdb/Remote-Protocol.html

import { connect, type Socket } from "node:net";
import { InfrastructureError } from "../errors/failures.ts";

/** `$data#cs`: the packet's framing, with its checksum (the sum of the data bytes modulo 256, two hex digits). */
export function encodePacket(data: string): string {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum = (sum + data.charCodeAt(i)) & 0xff;
  return `$${data}#${sum.toString(16).padStart(2, "0")}`;
}

/** Splits the stub's byte stream into packets; acknowledgements ('+', '-') between packets are skipped. */
export class GdbPacketParser {
  #buf = "";
  /** Packets whose checksum did not match, or that were too long to be a reply to bootlab. */
  malformed = 0;
  static readonly MAX_PACKET = 16384;

  push(bytes: Uint8Array): string[] {
    // Byte by byte (latin1): the protocol is ASCII, and a spread of a large read would overflow the stack.
    let text = "";
    for (let i = 0; i < bytes.length; i += 4096) text += String.fromCharCode(...bytes.subarray(i, i + 4096));
    this.#buf += text;
    const out: string[] = [];
    for (;;) {
      const start = this.#buf.indexOf("$");
      if (start < 0) {
        this.#buf = "";
        break;
      }
      const hash = this.#buf.indexOf("#", start);
      if (hash < 0 || this.#buf.length < hash + 3) {
        this.#buf = this.#buf.slice(start);
        if (this.#buf.length > GdbPacketParser.MAX_PACKET) {
          this.malformed++;
          this.#buf = "";
        }
        break;
      }
      const data = this.#buf.slice(start + 1, hash);
      const cs = this.#buf.slice(hash + 1, hash + 3);
      this.#buf = this.#buf.slice(hash + 3);
      if (encodePacket(data).slice(-2) === cs.toLowerCase()) out.push(data);
      else this.malformed++;
    }
    return out;
  }
}

/** Hex bytes as a register holds them (GDB sends registers in the target's byte order) to a number. */
export function registerFromHex(hex: string, order: "little" | "big"): number {
  if (!/^([0-9a-fA-F]{2}){4}$/.test(hex)) throw new InfrastructureError(`gdb stub: "${hex}" is not a 32-bit register value`);
  const bytes = hex.match(/../g)!.map((b) => parseInt(b, 16));
  if (order === "little") bytes.reverse();
  return bytes.reduce((v, b) => v * 256 + b, 0);
}

/** A 32-bit number as the hex bytes of a register in the target's byte order. */
export function registerToHex(value: number, order: "little" | "big"): string {
  const bytes = [24, 16, 8, 0].map((s) => ((value >>> s) & 0xff).toString(16).padStart(2, "0"));
  if (order === "little") bytes.reverse();
  return bytes.join("");
}

/** One debugger session with QEMU's gdbstub: commands in order, one reply each. */
export class GdbRemote {
  #socket: Socket;
  #parser = new GdbPacketParser();
  #replies: string[] = [];
  #waiter: (() => void) | undefined;
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("data", (b: Buffer) => {
      const packets = this.#parser.push(b);
      if (packets.length) socket.write("+".repeat(packets.length));
      this.#replies.push(...packets);
      this.#waiter?.();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#waiter?.();
    });
    socket.on("error", () => {});
  }

  static connect(path: string, timeoutMs = 5000): Promise<GdbRemote> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new InfrastructureError(`gdb stub at ${path} did not accept a connection within ${timeoutMs} ms`));
      }, timeoutMs);
      s.once("connect", () => {
        clearTimeout(timer);
        resolve(new GdbRemote(s));
      });
      s.once("error", (e) => {
        clearTimeout(timer);
        reject(new InfrastructureError(`gdb stub at ${path}: ${e.message}`));
      });
    });
  }

  /** Sends one command and returns the stub's reply; an `E..` reply is an error. */
  async command(data: string, timeoutMs = 5000): Promise<string> {
    this.#socket.write(encodePacket(data));
    const end = performance.now() + timeoutMs;
    while (!this.#replies.length) {
      if (this.#closed) throw new InfrastructureError(`gdb stub closed the connection before answering "${data}"`);
      const left = end - performance.now();
      if (left <= 0) throw new InfrastructureError(`gdb stub did not answer "${data}" within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
    const reply = this.#replies.shift()!;
    if (/^E[0-9a-fA-F]{2}$/.test(reply)) throw new InfrastructureError(`gdb stub refused "${data}": ${reply}`);
    return reply;
  }

  /**
   * All registers GDB's `g` packet holds, as hex in the target's byte order. (QEMU answers the single
   * register packets `p`/`P` only for a debugger that has read its XML target description first.)
   */
  async readRegisters(): Promise<string> {
    const r = await this.command("g");
    if (!/^[0-9a-fA-F]+$/.test(r) || r.length % 2) throw new InfrastructureError(`gdb stub: "g" answered "${r.slice(0, 40)}", not register bytes`);
    return r;
  }

  /** Writes all registers (`G`): QEMU stores each through the same path as the CPU's own register writes. */
  async writeRegisters(hex: string): Promise<void> {
    const r = await this.command(`G${hex}`);
    if (r !== "OK") throw new InfrastructureError(`gdb stub did not write the registers: "${r}"`);
  }

  /** Detaches (QEMU runs the machine again when its last debugger leaves) and closes the socket. */
  async detach(): Promise<void> {
    try {
      await this.command("D");
    } finally {
      this.#socket.destroy();
    }
  }
}
