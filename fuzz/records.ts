// Inputs that are sequences — frames on a wire, datagrams of a transfer, chunks of a TCP stream, events of a
// state machine — are stored as records: a 16-bit big-endian length, then that many bytes, repeated. Reading
// is total: a length running past the end takes what is left, so any bytes are some sequence of records.

import { concat } from "./mutators/bytes.ts";

export const MAX_RECORD = 0xffff;

export function encodeRecords(records: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const r of records) {
    const body = r.length > MAX_RECORD ? r.subarray(0, MAX_RECORD) : r;
    parts.push(Uint8Array.of(body.length >> 8, body.length & 0xff), body);
  }
  return concat(parts);
}

export function decodeRecords(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at + 2 <= b.length) {
    const n = (b[at]! << 8) | b[at + 1]!;
    out.push(b.subarray(at + 2, Math.min(b.length, at + 2 + n)));
    at += 2 + n;
  }
  return out;
}
