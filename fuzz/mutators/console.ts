// Console floods: a line repeated hundreds or thousands of times in one chunk, as `md` dumps, a kernel's log
// at boot or a guest stuck in a loop print them while a driver waits for its marker; and chunks trickling in a
// few bytes at a time, as a serial line delivers them.

import type { Mutator } from "../area.ts";
import { decodeRecords, encodeRecords } from "../records.ts";
import { concat } from "./bytes.ts";

/** A flood stays within this, whatever line it repeats (a chunk without line ends is one long "line"). */
const MAX_FLOOD = 256 * 1024;
const MAX_LINE = 256;

export const floodLine: Mutator = {
  name: "console: flood",
  mutate(input, { rng }) {
    const lines = new TextDecoder("latin1").decode(input).split(/(?<=\n)/);
    const line = (lines.length && rng.chance(0.7) ? rng.pick(lines) : "80000000: 00000000 11111111 22222222 33333333    ................\n").slice(-MAX_LINE);
    const bytes = Uint8Array.from(line, (c) => c.charCodeAt(0) & 0xff);
    const times = Math.min(rng.range(100, 4000), Math.floor(MAX_FLOOD / Math.max(1, bytes.length)));
    return concat([input, ...Array.from({ length: times }, () => bytes)]);
  },
};

/** Pieces a trickled chunk may become: a slow serial line hands the socket a few bytes at a time. */
const MAX_PIECES = 4096;

/** One chunk (not the first `fixed` records) delivered in pieces of 1 to 128 bytes. */
export function trickle(fixed: number): Mutator {
  return {
    name: "console: trickle",
    mutate(input, { rng }) {
      const rs = decodeRecords(input);
      if (rs.length <= fixed) return input;
      const i = fixed + rng.int(rs.length - fixed);
      const r = rs[i]!;
      const pieces: Uint8Array[] = [];
      let at = 0;
      while (at < r.length && pieces.length < MAX_PIECES - 1) {
        const n = 1 + rng.small(127);
        pieces.push(r.subarray(at, at + n));
        at += n;
      }
      if (at < r.length) pieces.push(r.subarray(at));
      rs.splice(i, 1, ...pieces);
      return encodeRecords(rs);
    },
  };
}
