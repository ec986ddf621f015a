// Capture of a LAN segment into a classic pcap file (LINKTYPE_ETHERNET), written as frames pass (in
// batches at most 50 ms old, so a crash still leaves a readable file). Opens in Wireshark and tshark.

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

  #batch: Uint8Array[] = [];
  #batchBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `wallMs` is a Unix time in milliseconds. */
  write(frame: Uint8Array, wallMs: number): void {
    this.frames++;
    // One file write per frame costs a thread-pool wake-up each — on a 2-core host that competes with
    // QEMU for every TFTP block. Batch instead.
    const rec = pcapRecord(frame, wallMs);
    this.#batch.push(rec);
    this.#batchBytes += rec.length;
    if (this.#batchBytes >= 256 << 10) this.#flush();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => this.#flush(), 50);
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#batch.length === 0) return;
    const out = new Uint8Array(this.#batchBytes);
    let at = 0;
    for (const r of this.#batch) out.set(r, at), at += r.length;
    this.#batch = [];
    this.#batchBytes = 0;
    this.#out.write(out);
  }

  close(): Promise<void> {
    this.#flush();
    return new Promise((resolve) => this.#out.end(resolve));
  }
}
