// Structure-aware mutations of NBD messages, recognised by their magic numbers: option headers (the option,
// a length that tells the truth or lies, NBD_OPT_GO/INFO data with its own name length and request count),
// requests (command, flags, 64-bit offsets around the export's end and 2^63, lengths around the payload
// limit, a WRITE payload that does or does not match), client flags, and on the server's side option replies,
// simple replies and the greeting.

import type { Mutator } from "../area.ts";
import type { Rng } from "../prng.ts";
import { concat, putUint } from "./bytes.ts";

const IHAVEOPT = [0x49, 0x48, 0x41, 0x56, 0x45, 0x4f, 0x50, 0x54];
const REPLY_MAGIC = [0x00, 0x03, 0xe8, 0x89, 0x04, 0x55, 0x65, 0xa9];
const REQUEST = [0x25, 0x60, 0x95, 0x13];
const SIMPLE = [0x67, 0x44, 0x66, 0x98];
const NBDMAGIC = [0x4e, 0x42, 0x44, 0x4d, 0x41, 0x47, 0x49, 0x43];
const CLISERV = [0x00, 0x00, 0x42, 0x02, 0x81, 0x86, 0x12, 0x53];

const startsWith = (b: Uint8Array, m: number[]) => b.length >= m.length && m.every((x, i) => b[i] === x);
const u32 = (b: Uint8Array, at: number) => (((b[at] ?? 0) << 24) >>> 0) + (((b[at + 1] ?? 0) << 16) | ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0));
const enc = new TextEncoder();

/** Export names a server of the areas knows, and ones it does not or cannot. */
export const EXPORT_NAMES = ["tiny", "ro", "rw", "", "nonexistent", "TINY", "tiny\u0000", "ééé"];

function put64(b: Uint8Array, at: number, v: bigint): void {
  for (let i = 0; i < 8; i++) b[at + i] = Number((v >> BigInt(8 * (7 - i))) & 0xffn);
}

function infoRequest(rng: Rng): Uint8Array {
  const name = rng.chance(0.9) ? enc.encode(rng.pick(EXPORT_NAMES)) : rng.chance(0.5) ? new Uint8Array(4097).fill(0x61) : Uint8Array.of(0xff, 0xfe);
  const requests = Array.from({ length: rng.small(5) }, () => rng.pick([0, 1, 2, 3, 3, 0xffff, 4]));
  const b = new Uint8Array(4 + name.length + 2 + 2 * requests.length);
  putUint(b, 0, 4, rng.chance(0.85) ? name.length : rng.pick([0, name.length + 1, name.length - 1, 0xffffffff]) >>> 0);
  b.set(name, 4);
  putUint(b, 4 + name.length, 2, rng.chance(0.85) ? requests.length : rng.pick([0, requests.length + 1, 0xffff]));
  requests.forEach((r, i) => putUint(b, 6 + name.length + 2 * i, 2, r));
  return b;
}

function option(input: Uint8Array, rng: Rng): Uint8Array {
  let data = input.subarray(16);
  let code = u32(input, 8);
  switch (rng.int(4)) {
    case 0:
      code = rng.pick([1, 2, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11, 0, 12, 0xffffffff]);
      break;
    case 1:
      if (rng.chance(0.5)) code = rng.pick([6, 7]);
      data = infoRequest(rng);
      break;
    case 2:
      code = 1;
      data = rng.chance(0.8) ? enc.encode(rng.pick(EXPORT_NAMES)) : new Uint8Array(4097).fill(0x62);
      break;
    default:
      break;
  }
  const b = concat([Uint8Array.from(IHAVEOPT), new Uint8Array(8), data]);
  putUint(b, 8, 4, code);
  const truth = data.length;
  putUint(b, 12, 4, rng.chance(0.85) ? truth : rng.pick([0, truth + 1, truth - 1, 65536, 65537, 0xffffffff]) >>> 0);
  return b;
}

function request(input: Uint8Array, rng: Rng): Uint8Array {
  const b = input.length >= 28 ? input.slice(0, 28) : concat([input, new Uint8Array(28 - input.length)]);
  b.set(REQUEST, 0);
  let payload = input.subarray(28);
  switch (rng.int(5)) {
    case 0:
      putUint(b, 4, 2, rng.pick([0, 0, 1, 2, 4, 8, 0x20, 0xffff]));
      break;
    case 1:
      putUint(b, 6, 2, rng.pick([0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xffff]));
      break;
    case 2:
      put64(b, 16, rng.pick([0n, 512n, 4095n, 4096n, 16383n, 16384n, 65535n, 1048575n, 1048576n, 1048577n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n]));
      break;
    case 3: {
      const n = rng.pick([0, 1, 512, 4096, 65536, 1 << 20, (1 << 20) + 1, 1 << 25, (1 << 25) + 1, 0xffffffff]);
      putUint(b, 24, 4, n);
      // A WRITE's payload follows the header: usually as long as it says (bounded), sometimes not.
      if (((b[6]! << 8) | b[7]!) === 1 && rng.chance(0.8) && n <= 65536) payload = new Uint8Array(n).fill(0xab);
      break;
    }
    default:
      put64(b, 8, BigInt(rng.u32()));
  }
  return concat([b, payload]);
}

function optionReply(input: Uint8Array, rng: Rng): Uint8Array {
  const b = input.length >= 20 ? input.slice() : concat([input, new Uint8Array(20 - input.length)]);
  b.set(REPLY_MAGIC, 0);
  const data = b.subarray(20);
  switch (rng.int(3)) {
    case 0:
      putUint(b, 12, 4, rng.pick([1, 2, 3, 4, 0x80000001, 0x80000003, 0x80000006, 0x8000000a, 5]));
      break;
    case 1:
      putUint(b, 16, 4, rng.pick([0, data.length + 1, Math.max(0, data.length - 1), 65537, 0xffffffff]) >>> 0);
      break;
    default:
      putUint(b, 8, 4, rng.pick([1, 3, 6, 7, 8, 2]));
  }
  return b;
}

export const NBD_MUTATORS: Mutator[] = [
  {
    name: "nbd: message fields",
    mutate(input, { rng }) {
      if (startsWith(input, IHAVEOPT)) return option(input, rng);
      if (startsWith(input, REQUEST)) return request(input, rng);
      if (startsWith(input, REPLY_MAGIC)) return optionReply(input, rng);
      if (startsWith(input, SIMPLE) && input.length >= 16) {
        const b = input.slice();
        putUint(b, 4, 4, rng.pick([0, 0, 1, 5, 22, 28, 0xffffffff]));
        return b;
      }
      if (startsWith(input, NBDMAGIC) && input.length >= 18) {
        const b = input.slice();
        if (rng.chance(0.3)) b.set(CLISERV, 8);
        else putUint(b, 16, 2, rng.pick([0, 1, 2, 3, 0xffff]));
        return b;
      }
      if (input.length === 4) return Uint8Array.of(0, 0, 0, rng.pick([0, 1, 2, 3, 4, 0x80]));
      return input;
    },
  },
  {
    name: "nbd: another message",
    mutate(input, { rng }) {
      const which = rng.int(3);
      if (which === 0) return option(Uint8Array.from([...IHAVEOPT, 0, 0, 0, 7, 0, 0, 0, 0]), rng);
      if (which === 1) return request(Uint8Array.from(REQUEST), rng);
      return Uint8Array.of(0, 0, 0, rng.pick([1, 3, 2]));
    },
  },
];
