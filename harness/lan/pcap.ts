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

/** One record (its 16-byte header and the frame) written into `out` at `at`; returns the bytes written. */
function putRecord(out: Uint8Array, view: DataView, at: number, frame: Uint8Array, timeMs: number): number {
  const us = Math.round(timeMs * 1000);
  view.setUint32(at, Math.floor(us / 1e6), true);
  view.setUint32(at + 4, us % 1e6, true);
  view.setUint32(at + 8, frame.length, true);
  view.setUint32(at + 12, frame.length, true);
  out.set(frame, at + 16);
  return 16 + frame.length;
}

export function pcapRecord(frame: Uint8Array, timeMs: number): Uint8Array {
  const b = new Uint8Array(16 + frame.length);
  putRecord(b, new DataView(b.buffer), 0, frame, timeMs);
  return b;
}

/** How much a batch holds before it is written; past it, room for one more record of any frame a LAN carries. */
const BATCH_BYTES = 256 << 10;
const LARGEST_FRAME = 128 << 10;

export class PcapWriter {
  readonly path: string;
  #out: WriteStream;
  frames = 0;

  constructor(path: string) {
    this.path = path;
    this.#out = createWriteStream(path);
    this.#out.write(pcapHeader());
  }

  // Records go straight into one batch buffer (no allocation per frame); a flush writes a copy of the
  // used part, since the stream keeps what it is given until the write is done.
  #batch = new Uint8Array(BATCH_BYTES + 16 + LARGEST_FRAME);
  #view = new DataView(this.#batch.buffer);
  #batchBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `wallMs` is a Unix time in milliseconds. */
  write(frame: Uint8Array, wallMs: number): void {
    this.frames++;
    // One file write per frame costs a thread-pool wake-up each — on a 2-core host that competes with
    // QEMU for every TFTP block. Batch instead.
    if (frame.length > LARGEST_FRAME) {
      this.#flush();
      this.#out.write(pcapRecord(frame, wallMs));
      return;
    }
    this.#batchBytes += putRecord(this.#batch, this.#view, this.#batchBytes, frame, wallMs);
    if (this.#batchBytes >= BATCH_BYTES) this.#flush();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => this.#flush(), 50);
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#batchBytes === 0) return;
    this.#out.write(this.#batch.slice(0, this.#batchBytes));
    this.#batchBytes = 0;
  }

  close(): Promise<void> {
    this.#flush();
    return new Promise((resolve) => this.#out.end(resolve));
  }
}
