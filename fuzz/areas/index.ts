// Every fuzz area, by name, with what it drives: from the wire up (frames, the lab host, TCP, the UDP and TCP
// services), then images and layouts, then what the host reads from QEMU (QMP, consoles). Areas load in their
// own worker (dynamic imports), so the runner's thread never holds their state.

import type { AreaFactory } from "../area.ts";

interface Entry {
  drives: string;
  load: AreaFactory;
}

const REGISTRY: Record<string, Entry> = {
  switch: {
    drives: "FrameStream (QEMU stream-netdev framing) and LanSegment: MAC learning, fault rules with classify(), pcap records",
    load: async () => (await import("./switch.ts")).switchArea(),
  },
  "lan-host": {
    drives: "Ethernet/ARP/IPv4/ICMP/UDP/TCP decoders, reassembly and LabHost with DHCP and TFTP servers, on a guest's frames",
    load: async () => (await import("./lan-host.ts")).lanHostArea(),
  },
  tcp: {
    drives: "decodeTcp and the pure TcpCore (open, data, out of order, windows, FIN/RST, retransmission and persist timers on a number clock) with the application writing and reading in between",
    load: async () => (await import("./tcp.ts")).tcpArea(),
  },
  dhcp: { drives: "decodeBootp and DhcpServer.handle on sequences of client datagrams", load: async () => (await import("./dhcp.ts")).dhcpArea() },
  "tftp-packets": { drives: "decodePacket on both directions' datagrams, describePacket, encodePacket round trip", load: async () => (await import("./tftp-packets.ts")).tftpPacketsArea() },
  "tftp-transfer": { drives: "TftpTransfer (reads and writes) on random event orders with a fake clock", load: async () => (await import("./tftp-transfer.ts")).tftpTransferArea() },
  "tftp-server": {
    drives: "TftpServer on an in-memory network: requests, duplicates, strangers, transfers with timers on a fake clock, close",
    load: async () => (await import("./tftp-server.ts")).tftpServerArea(),
  },
  "nbd-protocol": {
    drives: "ClientStreamDecoder and ServerStreamDecoder in step on both directions of captured sessions, and the option data decoders",
    load: async () => (await import("./nbd-protocol.ts")).nbdProtocolArea(),
  },
  "nbd-session": {
    drives: "NbdServer.serve over an in-memory connection: handshake and requests on three exports; its output decoded as a client would",
    load: async () => (await import("./nbd-session.ts")).nbdSessionArea(),
  },
  http: {
    drives: "LabHttpServer through node:http on in-memory connections: files, handlers, a static folder",
    load: async () => (await import("./http.ts")).httpArea(),
  },
  uimage: { drives: "decodeUImage, checked against encodeUImage", load: async () => (await import("./uimage.ts")).uimageArea() },
  elf: { drives: "elfToBinary on ELF32/ELF64 of both byte orders with mutated headers and segments", load: async () => (await import("./elf.ts")).elfArea() },
  cpio: { drives: "writeCpio on entries made from bytes, read back by the kernel's newc rules", load: async () => (await import("./cpio.ts")).cpioArea() },
  "flash-layout-tsv": {
    drives: "parseFlashLayoutTsv, partitionsByDevice and checkFlashLayoutFits on STM32 flash.tsv text",
    load: async () => (await import("./flash-layouts.ts")).flashLayoutTsvArea(),
  },
  "flash-layout-json": {
    drives: "parseFlashLayout on the router layouts kept as JSON",
    load: async () => (await import("./flash-layouts.ts")).flashLayoutJsonArea(),
  },
  qmp: {
    drives: "QmpParser and QmpClient (greeting, capabilities, commands by id, events) on a QEMU 7.2 session's bytes",
    load: async () => (await import("./qmp.ts")).qmpArea(),
  },
  "gdb-remote": {
    drives: "GdbPacketParser on a QEMU 7.2 gdbstub session's bytes, and the CP0 Cause read and splice of a restore",
    load: async () => (await import("./gdb-remote.ts")).gdbRemoteArea(),
  },
  "uboot-console": {
    drives: "UBootConsole and the expect engine (markers, U-Boot's error lines, bad patterns) on U-Boot console bytes",
    load: async () => (await import("./uboot-console.ts")).ubootConsoleArea(),
  },
  "shell-console": {
    drives: "LinuxShell and the expect engine (framed commands, printk lines between markers, bad patterns) on console bytes",
    load: async () => (await import("./shell-console.ts")).shellConsoleArea(),
  },
};

export const AREAS: Record<string, AreaFactory> = Object.fromEntries(Object.entries(REGISTRY).map(([k, v]) => [k, v.load]));
export const AREA_NAMES = Object.keys(REGISTRY);

export function describeAreas(): string {
  const w = Math.max(...AREA_NAMES.map((n) => n.length));
  return AREA_NAMES.map((n) => `${n.padEnd(w)}  ${REGISTRY[n]!.drives}`).join("\n");
}
