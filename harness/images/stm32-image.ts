// The STM32MP1 boot ROM's image format: a 256-byte header (v1) in front of the first stage, as U-Boot's
// tools/stm32image.c writes it and the ROM checks it before running anything: the magic "STM\x32", the
// header version, the payload's length and a checksum that is the 32-bit sum of the payload's bytes. bootlab
// wraps U-Boot in it (u-boot.stm32) so a flash layout names the same kind of files as on the real board, and
// its boot-ROM model refuses what the real ROM would.

const HEADER_BYTES = 256;
const MAGIC = [0x53, 0x54, 0x4d, 0x32]; // "STM2" as written: be32 0x53544D32
/** header_version[4] with the major number at index 2 (VER_MAJOR_IDX in stm32image.c). */
const VERSION_V1 = [0x00, 0x00, 0x01, 0x00];
/** option_flags bit 0: no signature; ecdsa_algorithm 1 (P-256), as stm32image.c fills them unsigned. */
const OPTION_NO_SIGNATURE = 1;

export interface Stm32ImageInfo {
  payload: Uint8Array;
  loadAddress: number;
  entryPoint: number;
}

/** The 32-bit sum of the payload's bytes (what the ROM compares with the header's image_checksum). */
export function stm32Checksum(payload: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) sum = (sum + payload[i]!) >>> 0;
  return sum;
}

/** `payload` behind a v1 header, unsigned (the ROM of a non-secured part accepts it). */
export function wrapStm32Image(payload: Uint8Array, o: { loadAddress: number; entryPoint: number }): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.length);
  const v = new DataView(out.buffer);
  out.set(MAGIC, 0);
  v.setUint32(68, stm32Checksum(payload), true);
  out.set(VERSION_V1, 72);
  v.setUint32(76, payload.length, true);
  v.setUint32(80, o.entryPoint >>> 0, true);
  v.setUint32(88, o.loadAddress >>> 0, true);
  v.setUint32(100, OPTION_NO_SIGNATURE, true);
  v.setUint32(104, 1, true);
  out.set(payload, HEADER_BYTES);
  return out;
}

/**
 * Checks an image as the ROM does; the payload, or why the ROM would not run it. `bytes` may run past the
 * image (a partition read whole): only the header's length counts.
 */
export function checkStm32Image(bytes: Uint8Array): Stm32ImageInfo | string {
  if (bytes.length < HEADER_BYTES) return `${bytes.length} bytes, shorter than the ${HEADER_BYTES}-byte header`;
  if (!MAGIC.every((b, i) => bytes[i] === b)) {
    const seen = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    return bytes.subarray(0, 4).every((b) => b === 0) ? "no image (zeros where the header's magic belongs)" : `bad magic ${seen}, expected 53 54 4d 32 ("STM2")`;
  }
  if (bytes[74] !== 1) return `header version ${bytes[74]}.${bytes[73]}, expected 1.x`;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = v.getUint32(76, true);
  if (length === 0 || HEADER_BYTES + length > bytes.length) return `image length ${length} runs past the ${bytes.length - HEADER_BYTES} bytes after the header`;
  const payload = bytes.subarray(HEADER_BYTES, HEADER_BYTES + length);
  const want = v.getUint32(68, true);
  const got = stm32Checksum(payload);
  if (want !== got) return `checksum 0x${got.toString(16)} of the ${length}-byte payload, header says 0x${want.toString(16)}`;
  return { payload, loadAddress: v.getUint32(88, true), entryPoint: v.getUint32(80, true) };
}
