// QEMU's gdbstub as bootlab reads it (harness/machine/gdb-remote.ts, cpu-timer.ts): the bytes of a real QEMU
// 7.2 session in chunks that split packets anywhere, through GdbPacketParser; a reply that looks like a `g`
// packet is read for CP0 Cause and spliced the way a restore does. Every packet the parser passes must carry
// its own checksum; bad bytes are counted, never thrown, and a bad register dump is an InfrastructureError.

import type { Area } from "../area.ts";
import { dataFile } from "../captures.ts";
import { BYTE_MUTATORS } from "../mutators/bytes.ts";
import { recordMutators } from "../mutators/records.ts";
import { textMutators } from "../mutators/text.ts";
import { decodeRecords, encodeRecords } from "../records.ts";
import { encodePacket, GdbPacketParser } from "../../harness/machine/gdb-remote.ts";
import { mipsCause, withMipsCause } from "../../harness/machine/cpu-timer.ts";
import { InfrastructureError } from "../../harness/errors/failures.ts";

const WORDS = ["$", "#", "+", "-", "OK", "E14", "$#00", "$OK#9a", "}", "*", "0000c0bf"];

export function gdbRemoteArea(): Area {
  const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
  const replies = new TextDecoder().decode(dataFile("gdb/qemu-7.2-malta-reset-session.jsonl")).trim().split("\n")
    .map((l) => JSON.parse(l) as { dir: string; bytes: string }).filter((e) => e.dir === "in").map((e) => latin1(e.bytes));
  const whole = replies.reduce((a, b) => new Uint8Array([...a, ...b]), new Uint8Array(0));
  const seeds = [
    encodeRecords(replies),
    encodeRecords([whole.subarray(0, 3), whole.subarray(3, 200), whole.subarray(200)]),
    encodeRecords([latin1("+$OK#9a+$E14#aa")]),
  ];
  return {
    name: "gdb-remote",
    corpus: () => seeds,
    mutators: recordMutators({ inner: [...textMutators(WORDS), ...BYTE_MUTATORS], maxRecords: 16 }),
    maxBytes: 4096,
    expects: ["packets:registers", "packets:other", "none"],
    run(input) {
      const parser = new GdbPacketParser();
      const packets = decodeRecords(input).flatMap((c) => parser.push(c));
      for (const p of packets) {
        if (p.includes("#") || encodePacket(p).length !== p.length + 4) throw new Error("gdb: the parser passed a packet with its framing inside");
      }
      if (!packets.length) return `none:${parser.malformed ? "malformed" : "empty"}`;
      const regs = packets.find((p) => /^[0-9a-fA-F]+$/.test(p) && p.length % 2 === 0);
      if (!regs) return "packets:other";
      try {
        const cause = mipsCause(regs, "little");
        const spliced = withMipsCause(regs, (cause | (1 << 27)) >>> 0, "little");
        if (spliced.length !== regs.length || mipsCause(spliced, "little") !== ((cause | (1 << 27)) >>> 0)) throw new Error("gdb: the Cause splice moved other registers");
        return "packets:registers";
      } catch (e) {
        if (e instanceof InfrastructureError) return "packets:short";
        throw e;
      }
    },
  };
}
