// QEMU's stream/socket netdev framing: each Ethernet frame is preceded by its length as a 4-byte big-endian
// number. A read can hold several frames or part of one, so this splits a byte stream statefully.
// Pure and total: a length that cannot be an Ethernet frame is reported, never thrown.

export const MAX_FRAME = 65536;

export class FrameStream {
  #buf = new Uint8Array(0);
  malformed = 0;

  push(bytes: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.#buf.length + bytes.length);
    joined.set(this.#buf);
    joined.set(bytes, this.#buf.length);
    const frames: Uint8Array[] = [];
    let off = 0;
    while (joined.length - off >= 4) {
      const len = ((joined[off]! << 24) | (joined[off + 1]! << 16) | (joined[off + 2]! << 8) | joined[off + 3]!) >>> 0;
      if (len === 0 || len > MAX_FRAME) {
        // The stream is out of step; nothing after this point can be trusted.
        this.malformed++;
        off = joined.length;
        break;
      }
      if (joined.length - off - 4 < len) break;
      frames.push(joined.slice(off + 4, off + 4 + len));
      off += 4 + len;
    }
    this.#buf = joined.slice(off);
    return frames;
  }
}

export function frameForStream(frame: Uint8Array): Uint8Array {
  return framesForStream([frame]);
}

/** Several frames framed back to back, for one write. */
export function framesForStream(frames: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + 4 + f.length, 0));
  const v = new DataView(out.buffer);
  let at = 0;
  for (const f of frames) {
    v.setUint32(at, f.length);
    out.set(f, at + 4);
    at += 4 + f.length;
  }
  return out;
}
