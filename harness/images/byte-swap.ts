// Word-swapping, as QEMU's little-endian malta does to its flash (and objcopy --reverse-bytes=N does to a file).

/** Swaps the bytes of every `wordBytes`-wide word in the first `firstBytes` bytes, in place. */
export function swapWords(buf: Uint8Array, wordBytes: number, firstBytes: number): void {
  const end = Math.min(firstBytes, buf.length) - (Math.min(firstBytes, buf.length) % wordBytes);
  for (let i = 0; i < end; i += wordBytes) buf.subarray(i, i + wordBytes).reverse();
}
