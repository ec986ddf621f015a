// CRC-32 as in IEEE 802.3, zlib, gzip and U-Boot's image headers (reflected polynomial 0xEDB88320).
// Table-driven, one byte at a time: fast enough for kernel-sized inputs without native code.

import { setImmediate } from "node:timers";

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/**
 * The CRC-32 of `data`, unsigned. `seed` is a previous result, so that
 * `crc32(b, crc32(a))` equals `crc32(a ++ b)` — the same contract as zlib's `crc32(crc, buf, len)`.
 */
export function crc32(data: Uint8Array, seed = 0): number {
  let c = (seed ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * crc32 over `data` a few MB at a time, letting the event loop run between pieces: a 64 MB image is ~0.5 s
 * of this loop, which in one piece would hold every other board's console and LAN for as long.
 */
export async function crc32Yielding(data: Uint8Array, piece = 4 << 20): Promise<number> {
  let c = 0;
  for (let at = 0; at < data.length; at += piece) {
    if (at > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    c = crc32(data.subarray(at, at + piece), c);
  }
  return data.length === 0 ? crc32(data) : c;
}
