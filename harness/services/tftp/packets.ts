// TFTP packets: RFC 1350 (RRQ, WRQ, DATA, ACK, ERROR) and RFC 2347 (options, OACK). Pure and total:
// decoding returns an error string for anything truncated or malformed and never throws, so a fuzzer or a
// broken client can feed it anything. Encoding throws only on our own programming errors.

export const OP = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

/** RFC 1350 error codes, plus 8 from RFC 2347. */
export const ERR = {
  NOT_DEFINED: 0,
  FILE_NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_REFUSED: 8,
} as const;

/** The RFC's wording of each error; clients print it, so we send it unchanged and keep details in our log. */
export const ERROR_TEXT: Record<number, string> = {
  0: "Not defined",
  1: "File not found",
  2: "Access violation",
  3: "Disk full or allocation exceeded",
  4: "Illegal TFTP operation",
  5: "Unknown transfer ID",
  6: "File already exists",
  7: "No such user",
  8: "Option negotiation refused",
};

/** An option as sent: name lowercased (RFC 2347 names are case-insensitive), value as text. Order is kept. */
export interface TftpOption {
  name: string;
  value: string;
}

export interface RequestPacket {
  op: "RRQ" | "WRQ";
  filename: string;
  /** Lowercased: "octet", "netascii" or "mail" for a well-formed request; anything else is passed on. */
  mode: string;
  options: TftpOption[];
}

export interface DataPacket {
  op: "DATA";
  /** The 16-bit block number on the wire. */
  block: number;
  data: Uint8Array;
}

export interface AckPacket {
  op: "ACK";
  block: number;
}

export interface ErrorPacket {
  op: "ERROR";
  code: number;
  message: string;
}

export interface OackPacket {
  op: "OACK";
  options: TftpOption[];
}

export type TftpPacket = RequestPacket | DataPacket | AckPacket | ErrorPacket | OackPacket;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const enc = new TextEncoder();

/** NUL-terminated strings from `start` to the end of `b`; a string without its NUL is an error. */
function cstrings(b: Uint8Array, start: number, what: string): string[] | string {
  const out: string[] = [];
  let i = start;
  while (i < b.length) {
    const end = b.indexOf(0, i);
    if (end < 0) return `${what}: the last field (${b.length - i} bytes) has no terminating NUL`;
    try {
      out.push(utf8.decode(b.subarray(i, end)));
    } catch {
      return `${what}: field ${out.length + 1} is not valid UTF-8`;
    }
    i = end + 1;
  }
  return out;
}

function options(fields: string[], what: string): TftpOption[] | string {
  // Some clients pad the packet with NULs after the last option: empty trailing names carry nothing.
  let n = fields.length;
  while (n > 0 && fields[n - 1] === "") n--;
  if (n % 2 !== 0) return `${what}: option "${fields[n - 1]}" has no value`;
  const out: TftpOption[] = [];
  for (let i = 0; i < n; i += 2) {
    const name = fields[i]!.toLowerCase();
    if (name === "") return `${what}: option ${i / 2 + 1} has an empty name`;
    // RFC 2347 leaves duplicates undefined; the first one wins, as in tftpd-hpa.
    if (!out.some((o) => o.name === name)) out.push({ name, value: fields[i + 1]! });
  }
  return out;
}

/** Decodes one datagram. Returns the packet, or a sentence saying what is wrong with it. */
export function decodePacket(b: Uint8Array): TftpPacket | string {
  if (b.length < 2) return `TFTP: ${b.length} byte${b.length === 1 ? "" : "s"}, too short for an opcode`;
  const op = (b[0]! << 8) | b[1]!;
  switch (op) {
    case OP.RRQ:
    case OP.WRQ: {
      const name = op === OP.RRQ ? "RRQ" : "WRQ";
      const fields = cstrings(b, 2, name);
      if (typeof fields === "string") return fields;
      if (fields.length < 2) return `${name}: needs a file name and a mode, got ${fields.length} field${fields.length === 1 ? "" : "s"}`;
      const opts = options(fields.slice(2), name);
      if (typeof opts === "string") return opts;
      return { op: name, filename: fields[0]!, mode: fields[1]!.toLowerCase(), options: opts };
    }
    case OP.DATA:
      if (b.length < 4) return `DATA: ${b.length} bytes, too short for a block number`;
      return { op: "DATA", block: (b[2]! << 8) | b[3]!, data: b.subarray(4) };
    case OP.ACK:
      // Bytes after the block number carry nothing; tolerate them (some stacks pad short datagrams).
      if (b.length < 4) return `ACK: ${b.length} bytes, too short for a block number`;
      return { op: "ACK", block: (b[2]! << 8) | b[3]! };
    case OP.ERROR: {
      if (b.length < 4) return `ERROR: ${b.length} bytes, too short for an error code`;
      // A missing NUL after the message is tolerated: the packet ends the transfer anyway.
      const end = b.indexOf(0, 4);
      const text = new TextDecoder("utf-8").decode(b.subarray(4, end < 0 ? b.length : end));
      return { op: "ERROR", code: (b[2]! << 8) | b[3]!, message: text };
    }
    case OP.OACK: {
      const fields = cstrings(b, 2, "OACK");
      if (typeof fields === "string") return fields;
      const opts = options(fields, "OACK");
      if (typeof opts === "string") return opts;
      return { op: "OACK", options: opts };
    }
    default:
      return `TFTP: unknown opcode ${op}`;
  }
}

function u16(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`TFTP ${what} ${n} is not a 16-bit number`);
  return n;
}

function cstring(s: string, what: string): Uint8Array {
  const b = enc.encode(s);
  if (b.includes(0)) throw new RangeError(`TFTP ${what} ${JSON.stringify(s)} contains a NUL byte`);
  return b;
}

function join(op: number, parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(2 + parts.reduce((n, p) => n + p.length, 0));
  out[1] = op;
  let i = 2;
  for (const p of parts) {
    out.set(p, i);
    i += p.length;
  }
  return out;
}

function optionBytes(opts: TftpOption[]): Uint8Array[] {
  const NUL = new Uint8Array(1);
  return opts.flatMap((o) => [cstring(o.name, "option name"), NUL, cstring(o.value, `option ${o.name} value`), NUL]);
}

export function encodePacket(p: TftpPacket): Uint8Array {
  switch (p.op) {
    case "RRQ":
    case "WRQ": {
      const NUL = new Uint8Array(1);
      return join(p.op === "RRQ" ? OP.RRQ : OP.WRQ,
        [cstring(p.filename, "file name"), NUL, cstring(p.mode, "mode"), NUL, ...optionBytes(p.options)]);
    }
    case "DATA":
      return encodeData(p.block, p.data);
    case "ACK":
      return Uint8Array.of(0, OP.ACK, u16(p.block, "block") >> 8, p.block & 0xff);
    case "ERROR": {
      const out = join(OP.ERROR, [new Uint8Array(2), enc.encode(p.message.replaceAll("\0", " ")), new Uint8Array(1)]);
      out[2] = u16(p.code, "error code") >> 8;
      out[3] = p.code & 0xff;
      return out;
    }
    case "OACK":
      return join(OP.OACK, optionBytes(p.options));
  }
}

/** DATA without an intermediate object: the hot path of a transfer. */
export function encodeData(block: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  out[1] = OP.DATA;
  out[2] = u16(block, "block") >> 8;
  out[3] = block & 0xff;
  out.set(data, 4);
  return out;
}

/** An ERROR packet with the RFC's wording for `code` unless a message is given. */
export function encodeError(code: number, message = ERROR_TEXT[code] ?? "Not defined"): Uint8Array {
  return encodePacket({ op: "ERROR", code, message });
}

/** One line for logs and test failures: `RRQ "small.bin" octet tsize=0 blksize=512`. */
export function describePacket(p: TftpPacket | string): string {
  if (typeof p === "string") return `malformed (${p})`;
  const opts = (o: TftpOption[]) => o.map((x) => ` ${x.name}=${x.value}`).join("");
  switch (p.op) {
    case "RRQ":
    case "WRQ":
      return `${p.op} ${JSON.stringify(p.filename)} ${p.mode}${opts(p.options)}`;
    case "DATA":
      return `DATA ${p.block} (${p.data.length} bytes)`;
    case "ACK":
      return `ACK ${p.block}`;
    case "ERROR":
      return `ERROR ${p.code} ${JSON.stringify(p.message)}`;
    case "OACK":
      return `OACK${opts(p.options)}`;
  }
}
