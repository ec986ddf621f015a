// Structure-aware mutations of HTTP/1.x requests: the request line (methods, targets with %-escapes that
// decode and ones that do not, paths that climb out of a served folder, versions), header lines added,
// dropped or repeated (Host, Content-Length, Transfer-Encoding, Connection, Expect), and the body framing told
// truthfully or not (a Content-Length one off, chunk sizes that lie). Pipelined requests come from repeating.

import type { Mutator } from "../area.ts";
import type { Rng } from "../prng.ts";
import { concat } from "./bytes.ts";

// Latin-1 both ways, so that bytes above 0x7f go through a mutation unchanged.
const dec = new TextDecoder("latin1");
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

export const HTTP_WORDS = [
  "GET", "HEAD", "POST", "PUT", "OPTIONS", "CONNECT", "DELETE", "TRACE", "PRI", "get",
  "/boot.sh", "/big.bin", "/echo", "/throws", "/slow", "/data/", "/data/emmc-ev1.tsv", "/data/../dhcp/u-boot-2023.01-malta-mipsel-discover.bin",
  "/data/%2e%2e/%2e%2e/etc/passwd", "/%zz", "/%", "/%e0%80", "/%c3%a9", "/boot.sh?x=%zz", "*", "http://192.168.1.10/boot.sh", "//boot.sh",
  "/data/sdcard-dk2.tsv/", "/data/./emmc-ev1.tsv", "/data//emmc-ev1.tsv", "/\u00e9", "/data/%00", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1x", "HTTP/0.9",
];

const HEADERS = [
  "Host: 192.168.1.10", "Host:", "Content-Length: 0", "Content-Length: 5", "Content-Length: -1", "Content-Length: 99999999999999999999",
  "Content-Length: 3, 4", "Transfer-Encoding: chunked", "Transfer-Encoding: gzip, chunked", "Transfer-Encoding: identity", "Connection: close",
  "Connection: keep-alive", "Connection: upgrade", "Upgrade: websocket", "Expect: 100-continue", "Range: bytes=0-10", "User-Agent: Wget",
  "X-" + "a".repeat(100) + ": b", "Bad Header", ": empty name", "Host: a\rb",
];

function headLength(b: Uint8Array): number {
  const s = dec.decode(b);
  const i = s.indexOf("\r\n\r\n");
  return i < 0 ? b.length : i + 4;
}

function pickLine(rng: Rng, lines: string[]): number {
  return lines.length > 1 ? 1 + rng.int(lines.length - 1) : 0;
}

export const HTTP_MUTATORS: Mutator[] = [
  {
    name: "http: request line",
    mutate(input, { rng }) {
      const n = headLength(input);
      const lines = dec.decode(input.subarray(0, n)).split("\r\n");
      const parts = (lines[0] ?? "").split(" ");
      const at = rng.int(3);
      parts[at] = rng.pick(HTTP_WORDS);
      if (rng.chance(0.1)) parts.push(rng.pick(HTTP_WORDS));
      lines[0] = parts.join(rng.chance(0.95) ? " " : rng.pick(["  ", "\t"]));
      return concat([latin1(lines.join("\r\n")), input.subarray(n)]);
    },
  },
  {
    name: "http: header",
    mutate(input, { rng }) {
      const n = headLength(input);
      const head = dec.decode(input.subarray(0, n));
      const lines = head.replace(/\r\n\r\n$/, "").split("\r\n");
      const i = pickLine(rng, lines);
      switch (rng.int(3)) {
        case 0:
          lines.splice(Math.max(1, i), 0, rng.pick(HEADERS));
          break;
        case 1:
          if (lines.length > 1) lines.splice(i, 1);
          break;
        default:
          lines.splice(i, 0, lines[i] ?? rng.pick(HEADERS));
      }
      return concat([latin1(lines.join("\r\n") + "\r\n\r\n"), input.subarray(n)]);
    },
  },
  {
    name: "http: body framing",
    mutate(input, { rng }) {
      const n = headLength(input);
      const lines = dec.decode(input.subarray(0, n)).replace(/\r\n\r\n$/, "").split("\r\n").filter((l) => !/^(content-length|transfer-encoding):/i.test(l));
      const body = rng.pick(["", "hello", "x".repeat(300)]);
      if (rng.chance(0.5)) {
        const lie = rng.pick([0, 0, 0, 1, -1, 10]);
        lines.push(`Content-Length: ${body.length + lie}`);
        return latin1(`${lines.join("\r\n")}\r\n\r\n${body}`);
      }
      lines.push("Transfer-Encoding: chunked");
      const size = rng.pick([body.length.toString(16), (body.length + 1).toString(16), "zz", "-1", "ffffffffffffffff", `${body.length.toString(16)};ext=1`]);
      const tail = rng.pick(["0\r\n\r\n", "0\r\nX-Trailer: 1\r\n\r\n", "", "0\r\n"]);
      return latin1(`${lines.join("\r\n")}\r\n\r\n${size}\r\n${body}\r\n${tail}`);
    },
  },
  {
    name: "http: line ends",
    mutate(input, { rng }) {
      const s = dec.decode(input);
      const out = rng.chance(0.5) ? s.replace(/\r\n/g, "\n") : s.replace(/\r\n/, rng.pick(["\n", "\r", "\r\r\n", " \r\n"]));
      return latin1(out);
    },
  },
];
