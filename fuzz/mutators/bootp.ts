// Structure-aware mutations of BOOTP/DHCP messages: the fixed fields, the magic cookie, and the options as
// a list of code-length-value — inserted, dropped, repeated (RFC 3396 concatenation), given a length that
// lies, left without END, or cut off — with values a DHCP server decides on (message types, requested and
// server addresses in and out of the pool, vendor classes of U-Boot and udhcpc).

import type { Mutator } from "../area.ts";
import type { Rng } from "../prng.ts";
import { concat, interestingValue, putUint } from "./bytes.ts";
import { LAB } from "./packets.ts";
import { ipToBytes } from "../../harness/lan/packets/ipv4.ts";

const OPTIONS_AT = 240;
const MAGIC = [99, 130, 83, 99];
const enc = new TextEncoder();

interface Option {
  code: number;
  value: Uint8Array;
}

function readOptions(b: Uint8Array): { options: Option[]; ended: boolean } {
  const options: Option[] = [];
  let i = OPTIONS_AT;
  while (i < b.length) {
    const code = b[i]!;
    if (code === 0) {
      i++;
      continue;
    }
    if (code === 255) return { options, ended: true };
    const len = b[i + 1] ?? 0;
    options.push({ code, value: b.subarray(i + 2, Math.min(b.length, i + 2 + len)) });
    i += 2 + len;
  }
  return { options, ended: false };
}

function writeOptions(b: Uint8Array, options: Option[], end: boolean): Uint8Array {
  const head = b.length >= OPTIONS_AT ? b.subarray(0, OPTIONS_AT) : concat([b, new Uint8Array(OPTIONS_AT - b.length)]);
  const parts: Uint8Array[] = [head];
  for (const o of options) parts.push(Uint8Array.of(o.code, Math.min(255, o.value.length)), o.value.subarray(0, 255));
  if (end) parts.push(Uint8Array.of(255));
  const out = concat(parts);
  out.set(MAGIC, 236);
  return out;
}

const ip = (s: string) => ipToBytes(s);

function optionValue(rng: Rng): Option {
  const code = rng.pick([53, 53, 53, 50, 54, 60, 61, 55, 52, 12, 57, 51, 66, 67, 1, 3, 255, 0, 224]);
  switch (code) {
    case 53:
      return { code, value: Uint8Array.of(rng.pick([1, 2, 3, 4, 5, 6, 7, 8, 0, 9, 255])) };
    case 50:
    case 54:
      return { code, value: rng.chance(0.8) ? ip(rng.pick([LAB.serverIp, LAB.guestIp, "192.168.1.100", "192.168.1.110", "192.168.1.111", "0.0.0.0", "10.0.0.1"])) : rng.bytes(rng.pick([0, 3, 5])) };
    case 60:
      return { code, value: enc.encode(rng.pick(["U-Boot.armv8", "U-Boot.armv7", "udhcp 1.35.0", "PXEClient:Arch:00000", "", "U-Boot"])) };
    case 61:
      return { code, value: concat([Uint8Array.of(1), rng.bytes(6)]) };
    case 55:
      return { code, value: rng.bytes(rng.small(40)) };
    case 52:
      return { code, value: Uint8Array.of(rng.pick([1, 2, 3, 0, 4])) };
    case 57:
      return { code, value: Uint8Array.of(rng.pick([0, 2, 5]), rng.int(256)) };
    default:
      return { code, value: rng.bytes(rng.small(16)) };
  }
}

export const BOOTP_MUTATORS: Mutator[] = [
  {
    name: "bootp: fixed field",
    mutate(input, { rng }) {
      const b = input.length >= 236 ? input.slice() : concat([input, new Uint8Array(236 - input.length)]);
      const f = rng.pick([
        { at: 0, w: 1 }, { at: 1, w: 1 }, { at: 2, w: 1 }, { at: 3, w: 1 }, { at: 4, w: 4 }, { at: 8, w: 2 }, { at: 10, w: 2 },
        { at: 12, w: 4 }, { at: 16, w: 4 }, { at: 20, w: 4 }, { at: 24, w: 4 }, { at: 28, w: 4 }, { at: 32, w: 2 },
      ] as const);
      if (f.w === 4 && f.at >= 12 && f.at <= 24 && rng.chance(0.6)) b.set(ip(rng.pick([LAB.guestIp, LAB.serverIp, "0.0.0.0", "192.168.1.105"])), f.at);
      else putUint(b, f.at, f.w, interestingValue(rng, f.w, 0));
      return b;
    },
  },
  {
    name: "bootp: sname/file without NUL",
    mutate(input, { rng }) {
      if (input.length < 236) return input;
      const b = input.slice();
      b.fill(rng.pick([0x41, 0xff, 0x80]), rng.chance(0.5) ? 44 : 108, rng.chance(0.5) ? 108 : 236);
      return b;
    },
  },
  {
    name: "bootp: magic cookie",
    mutate(input, { rng }) {
      if (input.length < 240) return concat([input, new Uint8Array(Math.max(0, 236 - input.length)), Uint8Array.from(MAGIC)]);
      const b = input.slice();
      b[236 + rng.int(4)] = rng.int(256);
      return b;
    },
  },
  {
    name: "bootp: option list",
    mutate(input, { rng }) {
      const { options, ended } = readOptions(input);
      let end = ended;
      switch (rng.int(6)) {
        case 0:
          options.splice(rng.int(options.length + 1), 0, optionValue(rng));
          break;
        case 1:
          if (options.length) options.splice(rng.int(options.length), 1);
          break;
        case 2:
          if (options.length) {
            const o = options[rng.int(options.length)]!;
            options.splice(rng.int(options.length + 1), 0, { code: o.code, value: rng.chance(0.5) ? o.value : optionValue(rng).value });
          }
          break;
        case 3: {
          // One long option, past 255 bytes: RFC 3396 splits it into consecutive instances.
          const v = rng.bytes(256 + rng.small(600));
          for (let at = 0; at < v.length; at += 255) options.push({ code: rng.pick([55, 60, 43, 12]), value: v.subarray(at, at + 255) });
          break;
        }
        case 4:
          end = !end;
          break;
        default:
          if (options.length) options[rng.int(options.length)] = optionValue(rng);
      }
      return writeOptions(input, options, end);
    },
  },
  {
    name: "bootp: option length lies",
    mutate(input, { rng }) {
      const b = input.slice();
      const starts: number[] = [];
      for (let i = OPTIONS_AT; i + 1 < b.length;) {
        const code = b[i]!;
        if (code === 0) { i++; continue; }
        if (code === 255) break;
        starts.push(i);
        i += 2 + b[i + 1]!;
      }
      if (!starts.length) return input;
      const at = rng.pick(starts) + 1;
      b[at] = rng.pick([0, 1, 255, Math.max(0, b.length - at - 1), b.length - at, b[at]! + 1, Math.max(0, b[at]! - 1)]) & 0xff;
      return b;
    },
  },
  {
    name: "bootp: size",
    mutate(input, { rng }) {
      const n = rng.pick([235, 236, 239, 240, 241, 300, 548, 576, 1500, input.length - 1, input.length + 1]);
      return n <= input.length ? input.slice(0, Math.max(0, n)) : concat([input, new Uint8Array(n - input.length)]);
    },
  },
];
