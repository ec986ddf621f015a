// A reader of cpio "newc" archives, as the kernel's initramfs unpacker reads them (init/initramfs.c): the
// oracle for the cpio area, since bootlab only writes them. Returns the records, or what is wrong.

export interface CpioRecord {
  ino: number;
  mode: number;
  nlink: number;
  mtime: number;
  rdevMajor: number;
  rdevMinor: number;
  name: string;
  data: Uint8Array;
}

const FIELDS = 13;
const HEADER = 6 + 8 * FIELDS;

export function readCpio(b: Uint8Array): CpioRecord[] | string {
  const text = new TextDecoder("latin1");
  const out: CpioRecord[] = [];
  let at = 0;
  for (;;) {
    if (at + HEADER > b.length) return `record ${out.length} at byte ${at}: no room for a header`;
    const head = text.decode(b.subarray(at, at + HEADER));
    if (!head.startsWith("070701")) return `record ${out.length} at byte ${at}: magic ${JSON.stringify(head.slice(0, 6))}`;
    const f: number[] = [];
    for (let i = 0; i < FIELDS; i++) {
      const h = head.slice(6 + 8 * i, 14 + 8 * i);
      if (!/^[0-9a-f]{8}$/.test(h)) return `record ${out.length}: field ${i} is ${JSON.stringify(h)}, not 8 lowercase hex digits`;
      f.push(parseInt(h, 16));
    }
    const [ino, mode, , , nlink, mtime, filesize, , , rdevMajor, rdevMinor, namesize, check] = f as [number, number, number, number, number, number, number, number, number, number, number, number, number];
    if (check !== 0) return `record ${out.length}: check field ${check}, expected 0 in newc`;
    const nameAt = at + HEADER;
    if (namesize === 0 || nameAt + namesize > b.length) return `record ${out.length}: name of ${namesize} bytes runs past the end`;
    if (b[nameAt + namesize - 1] !== 0) return `record ${out.length}: name not NUL-terminated`;
    // ignoreBOM: a name may start with U+FEFF, and the decoder would otherwise drop it.
    const name = new TextDecoder("utf-8", { ignoreBOM: true }).decode(b.subarray(nameAt, nameAt + namesize - 1));
    const dataAt = nameAt + namesize + ((4 - ((HEADER + namesize) % 4)) % 4);
    if (dataAt + filesize > b.length) return `record ${out.length} (${name}): ${filesize} bytes of data run past the end`;
    out.push({ ino, mode, nlink, mtime, rdevMajor, rdevMinor, name, data: b.subarray(dataAt, dataAt + filesize) });
    at = dataAt + filesize + ((4 - ((dataAt + filesize) % 4)) % 4);
    if (name === "TRAILER!!!") {
      if (at !== b.length) return `${b.length - at} bytes after the trailer`;
      return out;
    }
  }
}
