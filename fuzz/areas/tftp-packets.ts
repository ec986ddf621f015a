// TFTP datagrams in both directions (harness/services/tftp/packets.ts): what curl, tftp-hpa and atftp send,
// and what tftpd-hpa answers (OACK, DATA, ERROR). decodePacket must never throw; what it decodes must
// describe itself and survive encodePacket → decodePacket unchanged.

import type { Area } from "../area.ts";
import { hexCaptures } from "../captures.ts";
import { TFTP_MUTATORS } from "../mutators/tftp.ts";
import { decodePacket, describePacket, encodePacket, type TftpPacket } from "../../harness/services/tftp/packets.ts";

function same(a: TftpPacket, b: TftpPacket): boolean {
  if (a.op === "DATA" && b.op === "DATA") return a.block === b.block && a.data.length === b.data.length && a.data.every((x, i) => x === b.data[i]);
  return JSON.stringify(a) === JSON.stringify(b);
}

export function tftpPacketsArea(): Area {
  const seeds = hexCaptures("tftp/").flatMap((c) => c.chunks.map((ch) => ch.bytes));
  return {
    name: "tftp-packets",
    corpus: () => seeds,
    mutators: [...TFTP_MUTATORS, ...TFTP_MUTATORS],
    dictionary: ["blksize", "tsize", "timeout", "windowsize", "octet", "netascii"].map((w) => new TextEncoder().encode(`${w}\0`)),
    maxBytes: 4096,
    expects: ["ok:RRQ", "ok:WRQ", "ok:DATA", "ok:ACK", "ok:ERROR", "ok:OACK", "refused"],
    run(input) {
      const p = decodePacket(input);
      if (typeof p === "string") return `refused:${p.split(":")[0]}`;
      if (!describePacket(p)) throw new Error("TFTP: a decoded packet describes as nothing");
      // An empty last value is ambiguous on the wire ("x\0\0" reads as padding after an option without a
      // value, on purpose: clients pad), so only packets without one must come back the same.
      if ("options" in p && p.options.some((o) => o.value === "")) return `ok:${p.op}`;
      const again = decodePacket(encodePacket(p));
      if (typeof again === "string" || !same(p, again)) throw new Error(`TFTP: ${describePacket(p)} does not survive encode → decode (${describePacket(again)})`);
      return `ok:${p.op}`;
    },
  };
}
