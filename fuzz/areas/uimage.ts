// U-Boot legacy images (harness/images/uimage.ts): decodeUImage must never throw, and what it decodes must
// agree with itself — a header whose CRC it accepts re-encodes, through encodeUImage, to the same bytes.

import type { Area, Mutator } from "../area.ts";
import { crc32 } from "../../harness/images/crc32.ts";
import {
  decodeUImage, encodeUImage, scriptImage, UIMAGE_HEADER_SIZE, type UImage, type UImageArch, type UImageType,
} from "../../harness/images/uimage.ts";
import { interestingValue, putUint } from "../mutators/bytes.ts";

const FIELDS: { at: number; width: 1 | 4 }[] = [
  { at: 8, width: 4 }, { at: 12, width: 4 }, { at: 16, width: 4 }, { at: 20, width: 4 }, { at: 24, width: 4 },
  { at: 28, width: 1 }, { at: 29, width: 1 }, { at: 30, width: 1 }, { at: 31, width: 1 },
];

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Makes the CRCs right again for what the header now says (the data CRC over the bytes present). */
function reseal(b: Uint8Array, data = true): Uint8Array {
  if (b.length < UIMAGE_HEADER_SIZE) return b;
  const v = view(b);
  if (data) v.setUint32(24, crc32(b.subarray(UIMAGE_HEADER_SIZE, UIMAGE_HEADER_SIZE + v.getUint32(12))));
  v.setUint32(4, 0);
  v.setUint32(4, crc32(b.subarray(0, UIMAGE_HEADER_SIZE)));
  return b;
}

const mutators: Mutator[] = [
  {
    name: "uimage: header field",
    mutate(input, { rng }) {
      if (input.length < UIMAGE_HEADER_SIZE) return input;
      const b = input.slice();
      const f = rng.pick(FIELDS);
      putUint(b, f.at, f.width, interestingValue(rng, f.width, b.length - UIMAGE_HEADER_SIZE));
      return rng.chance(0.7) ? reseal(b, rng.chance(0.5)) : b;
    },
  },
  {
    name: "uimage: size against the data",
    mutate(input, { rng }) {
      if (input.length < UIMAGE_HEADER_SIZE) return input;
      const b = input.slice();
      const have = b.length - UIMAGE_HEADER_SIZE;
      view(b).setUint32(12, Math.max(0, have + rng.pick([0, 0, -1, 1, -4, 4, 4096, -have])) >>> 0);
      return rng.chance(0.8) ? reseal(b) : b;
    },
  },
  {
    name: "uimage: name",
    mutate(input, { rng }) {
      if (input.length < UIMAGE_HEADER_SIZE) return input;
      const b = input.slice();
      const name = rng.pick([
        new Uint8Array(32).fill(0x41), new TextEncoder().encode("Linux-6.1.0-50-4kc-malta-ééééééé").subarray(0, 32), rng.bytes(32), new Uint8Array(32),
      ]);
      b.set(name, 32);
      return rng.chance(0.8) ? reseal(b, false) : b;
    },
  },
  {
    name: "uimage: reseal",
    mutate(input) {
      return reseal(input.slice());
    },
  },
];

function representable(u: UImage, input: Uint8Array): boolean {
  const name = input.subarray(32, 64);
  const nameBytes = new TextEncoder().encode(u.name);
  const nameOk = nameBytes.length <= 32 && nameBytes.every((x, i) => x === name[i]) && name.subarray(nameBytes.length).every((x) => x === 0);
  return nameOk && u.osName !== undefined && u.archName !== undefined && u.typeName !== undefined && u.typeName !== "multi" && u.compName !== undefined;
}

export function uimageArea(): Area {
  const text = new TextEncoder();
  const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
  const kernel = (arch: UImageArch, type: Exclude<UImageType, "multi">, n: number) =>
    encodeUImage({ arch, type, load: 0x80100000, entry: 0x80100400, name: `Linux-6.1 ${arch}`, data: pattern(n), time: 1700000000 });
  const seeds = [
    kernel("mips", "kernel", 1024), kernel("arm", "kernel", 0), kernel("arm64", "ramdisk", 3000), kernel("mips", "firmware", 17),
    encodeUImage({ arch: "arm64", type: "kernel", compression: "gzip", load: 0x40080000, entry: 0x40080000, name: "x".repeat(40), data: pattern(600) }),
    scriptImage("setenv bootargs console=ttyS0 panic=1\ntftpboot ${kernel_addr_r} kernel\nbootm ${kernel_addr_r}\n", "boot script"),
    kernel("mips", "kernel", 2048).subarray(0, 1000),
    text.encode("not an image at all, but long enough to hold a 64-byte header of a uImage, nearly"),
  ];
  return {
    name: "uimage",
    corpus: () => seeds,
    mutators,
    maxBytes: 8192,
    expects: ["ok", "refused"],
    run(input) {
      const u = decodeUImage(input);
      if (typeof u === "string") return `refused:${u.split(":")[0]}`;
      if (u.data.length > u.size || u.truncated !== u.data.length < u.size) throw new Error(`uImage: ${u.data.length} data bytes for a size of ${u.size}, truncated=${u.truncated}`);
      if (!u.headerCrcOk) return "ok:header CRC wrong";
      if (!u.truncated && representable(u, input)) {
        const again = encodeUImage({
          arch: u.archName!, type: u.typeName as Exclude<UImageType, "multi">, os: u.osName, compression: u.compName,
          load: u.load, entry: u.entry, name: u.name, data: u.data, time: u.time,
        });
        // The header CRC covers the data CRC: equal headers need equal data CRCs, so compare up to it.
        const same = again.subarray(8, 24).every((x, i) => x === input[8 + i]) && again.subarray(28, 64).every((x, i) => x === input[28 + i]);
        if (!same) throw new Error("uImage: a header that decodes with a good CRC does not encode to the same bytes");
      }
      return u.truncated ? "ok:truncated" : u.dataCrcOk ? "ok:CRCs good" : "ok:data CRC wrong";
    },
  };
}
