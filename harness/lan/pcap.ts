// Capture of a LAN segment into a classic pcap file (LINKTYPE_ETHERNET), written as frames pass so a
// crash still leaves a readable file. Opens in Wireshark and tshark.

import { createWriteStream, type WriteStream } from "node:fs";

export function pcapHeader(snaplen = 65535): Uint8Array {
  const b = new Uint8Array(24);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0xa1b2c3d4, true); // microsecond timestamps, little-endian file
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, snaplen, true);
  v.setUint32(20, 1, true); // LINKTYPE_ETHERNET
  return b;
}

export function pcapRecord(frame: Uint8Array, timeMs: number): Uint8Array {
  const b = new Uint8Array(16 + frame.length);
  const v = new DataView(b.buffer);
  const us = Math.round(timeMs * 1000);
  v.setUint32(0, Math.floor(us / 1e6), true);
  v.setUint32(4, us % 1e6, true);
  v.setUint32(8, frame.length, true);
  v.setUint32(12, frame.length, true);
  b.set(frame, 16);
  return b;
}

export class PcapWriter {
  readonly path: string;
  #out: WriteStream;
  frames = 0;

  constructor(path: string) {
    this.path = path;
    this.#out = createWriteStream(path);
    this.#out.write(pcapHeader());
  }

  /** `wallMs` is a Unix time in milliseconds. */
  write(frame: Uint8Array, wallMs: number): void {
    this.frames++;
    this.#out.write(pcapRecord(frame, wallMs));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#out.end(resolve));
  }
}
