// The NBD protocol (https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md): the fixed newstyle
// handshake and the transmission phase with simple replies. Pure: bytes in, messages out, no sockets. Both
// directions are here — what a client sends (the server decodes it) and what a server sends (tests and
// client-side tools decode it). Decoding is incremental, since TCP may split a message anywhere, and total:
// garbage or a lying length is an error sentence, never an exception. Encoding throws only on our own
// programming errors (a value that does not fit its field).

// Magic numbers. 64-bit fields are bigint on the decoded side; encoders take number or bigint.
export const NBDMAGIC = 0x4e42444d41474943n; // "NBDMAGIC"
export const IHAVEOPT = 0x49484156454f5054n; // "IHAVEOPT"
/** The second magic of the oldstyle handshake (nbd < 2.9.17), which we neither speak nor accept. */
export const CLISERV_MAGIC = 0x00420281861253n;
export const OPTION_REPLY_MAGIC = 0x3e889045565a9n;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;
export const STRUCTURED_REPLY_MAGIC = 0x668e33ef;
export const EXTENDED_REQUEST_MAGIC = 0x21e41c71;

/** Handshake flags (server, 16 bits). */
export const HANDSHAKE_FLAG = { FIXED_NEWSTYLE: 1 << 0, NO_ZEROES: 1 << 1 } as const;
/** Client flags (32 bits), the answer to the handshake flags. */
export const CLIENT_FLAG = { FIXED_NEWSTYLE: 1 << 0, NO_ZEROES: 1 << 1 } as const;

/** Transmission flags (16 bits), sent with the export's size. */
export const TRANSMISSION_FLAG = {
  HAS_FLAGS: 1 << 0,
  READ_ONLY: 1 << 1,
  SEND_FLUSH: 1 << 2,
  SEND_FUA: 1 << 3,
  ROTATIONAL: 1 << 4,
  SEND_TRIM: 1 << 5,
  SEND_WRITE_ZEROES: 1 << 6,
  SEND_DF: 1 << 7,
  CAN_MULTI_CONN: 1 << 8,
  SEND_RESIZE: 1 << 9,
  SEND_CACHE: 1 << 10,
  SEND_FAST_ZERO: 1 << 11,
} as const;

export const OPT = {
  EXPORT_NAME: 1,
  ABORT: 2,
  LIST: 3,
  PEEK_EXPORT: 4,
  STARTTLS: 5,
  INFO: 6,
  GO: 7,
  STRUCTURED_REPLY: 8,
  LIST_META_CONTEXT: 9,
  SET_META_CONTEXT: 10,
  EXTENDED_HEADERS: 11,
} as const;

/** Option reply types; errors have bit 31 set. */
export const REP = {
  ACK: 1,
  SERVER: 2,
  INFO: 3,
  META_CONTEXT: 4,
  ERR_UNSUP: 0x80000001,
  ERR_POLICY: 0x80000002,
  ERR_INVALID: 0x80000003,
  ERR_PLATFORM: 0x80000004,
  ERR_TLS_REQD: 0x80000005,
  ERR_UNKNOWN: 0x80000006,
  ERR_SHUTDOWN: 0x80000007,
  ERR_BLOCK_SIZE_REQD: 0x80000008,
  ERR_TOO_BIG: 0x80000009,
  ERR_EXT_HEADER_REQD: 0x8000000a,
} as const;

/** Information types in NBD_REP_INFO replies and NBD_OPT_INFO/GO requests. */
export const INFO = { EXPORT: 0, NAME: 1, DESCRIPTION: 2, BLOCK_SIZE: 3 } as const;

export const CMD = {
  READ: 0,
  WRITE: 1,
  DISC: 2,
  FLUSH: 3,
  TRIM: 4,
  CACHE: 5,
  WRITE_ZEROES: 6,
  BLOCK_STATUS: 7,
  RESIZE: 8,
} as const;

export const CMD_FLAG = { FUA: 1 << 0, NO_HOLE: 1 << 1, DF: 1 << 2, REQ_ONE: 1 << 3, FAST_ZERO: 1 << 4, PAYLOAD_LEN: 1 << 5 } as const;

/** Error values of replies: the protocol's own list, numerically Linux errno values. */
export const NBD_ERR = {
  EPERM: 1,
  EIO: 5,
  ENOMEM: 12,
  EINVAL: 22,
  ENOSPC: 28,
  EOVERFLOW: 75,
  ENOTSUP: 95,
  ESHUTDOWN: 108,
} as const;

/** Longest string (export name, message) the protocol allows. */
export const MAX_STRING_BYTES = 4096;
/** The payload every server should accept and clients stay within unless told otherwise: 32 MiB. */
export const DEFAULT_MAX_PAYLOAD = 1 << 25;
/** Option data we accept: NBD_OPT_GO with a 4096-byte name is about 4 KiB; meta-context lists can be longer. */
export const DEFAULT_MAX_OPTION_BYTES = 64 * 1024;

function nameOf(table: Record<string, number>, n: number): string | undefined {
  for (const [k, v] of Object.entries(table)) if (v === n) return k;
  return undefined;
}

/** "GO", "STARTTLS", or "OPTION_99" for one we do not know. */
export const optionName = (n: number): string => nameOf(OPT, n) ?? `OPTION_${n}`;
export const replyName = (n: number): string => nameOf(REP, n) ?? `REPLY_0x${n.toString(16)}`;
export const commandName = (n: number): string => nameOf(CMD, n) ?? `COMMAND_${n}`;
export const errorName = (n: number): string => (n === 0 ? "OK" : nameOf(NBD_ERR, n) ?? `ERRNO_${n}`);

// ————— messages —————

/** What a client sends. */
export interface ClientFlagsMessage {
  type: "client-flags";
  flags: number;
}

export interface OptionMessage {
  type: "option";
  option: number;
  data: Uint8Array;
}

export interface RequestMessage {
  type: "request";
  /** Command flags (CMD_FLAG). */
  flags: number;
  command: number;
  /** Opaque to the server: echoed in the reply. */
  cookie: bigint;
  offset: bigint;
  length: number;
  /** NBD_CMD_WRITE's payload (length bytes); absent for every other command. */
  data?: Uint8Array;
}

export type ClientMessage = ClientFlagsMessage | OptionMessage | RequestMessage;

/** What a server sends. */
export interface GreetingMessage {
  type: "greeting";
  flags: number;
}

export interface OptionReplyMessage {
  type: "option-reply";
  option: number;
  reply: number;
  data: Uint8Array;
}

/** The answer to NBD_OPT_EXPORT_NAME (the 124 zero bytes, if any, are consumed and not kept). */
export interface ExportMessage {
  type: "export";
  size: bigint;
  flags: number;
}

export interface SimpleReplyMessage {
  type: "reply";
  error: number;
  cookie: bigint;
  /** A successful read's data, if the decoder was told to expect it (`expectRead`). */
  data?: Uint8Array;
}

export type ServerMessage = GreetingMessage | OptionReplyMessage | ExportMessage | SimpleReplyMessage;

// ————— bytes —————

const utf8 = new TextDecoder("utf-8", { fatal: true });
const enc = new TextEncoder();

const u16 = (b: Uint8Array, i: number): number => (b[i]! << 8) | b[i + 1]!;
const u32 = (b: Uint8Array, i: number): number => ((b[i]! << 24) >>> 0) + ((b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!);
const u64 = (b: Uint8Array, i: number): bigint => (BigInt(u32(b, i)) << 32n) | BigInt(u32(b, i + 4));

function put16(b: Uint8Array, i: number, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`NBD ${what} ${n} does not fit 16 bits`);
  b[i] = n >> 8;
  b[i + 1] = n & 0xff;
}

function put32(b: Uint8Array, i: number, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`NBD ${what} ${n} does not fit 32 bits`);
  b[i] = n >>> 24;
  b[i + 1] = (n >>> 16) & 0xff;
  b[i + 2] = (n >>> 8) & 0xff;
  b[i + 3] = n & 0xff;
}

function put64(b: Uint8Array, i: number, v: number | bigint, what: string): void {
  if (typeof v === "number" && !Number.isSafeInteger(v)) throw new RangeError(`NBD ${what} ${v} is not an exact integer`);
  const n = BigInt(v);
  if (n < 0n || n > 0xffffffffffffffffn) throw new RangeError(`NBD ${what} ${n} does not fit 64 bits`);
  put32(b, i, Number(n >> 32n), what);
  put32(b, i + 4, Number(n & 0xffffffffn), what);
}

function magicBytes(m: bigint): Uint8Array {
  const b = new Uint8Array(8);
  put64(b, 0, m, "magic");
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) {
    out.set(p, i);
    i += p.length;
  }
  return out;
}

function stringBytes(s: string, what: string): Uint8Array {
  const b = enc.encode(s);
  if (b.includes(0)) throw new RangeError(`NBD ${what} ${JSON.stringify(s)} contains a NUL`);
  if (b.length > MAX_STRING_BYTES) throw new RangeError(`NBD ${what} is ${b.length} bytes, over the protocol's ${MAX_STRING_BYTES}`);
  return b;
}

/** A protocol string: UTF-8, no NUL, at most 4096 bytes. Returns the text or what is wrong with it. */
function decodeString(b: Uint8Array, what: string): { text: string } | string {
  if (b.length > MAX_STRING_BYTES) return `${what} is ${b.length} bytes, over the protocol's ${MAX_STRING_BYTES}`;
  if (b.includes(0)) return `${what} contains a NUL byte`;
  try {
    return { text: utf8.decode(b) };
  } catch {
    return `${what} is not valid UTF-8`;
  }
}

// ————— encoding: server → client —————

/** NBDMAGIC, IHAVEOPT, handshake flags: the first 18 bytes a newstyle server sends. */
export function encodeGreeting(flags: number = HANDSHAKE_FLAG.FIXED_NEWSTYLE | HANDSHAKE_FLAG.NO_ZEROES): Uint8Array {
  const b = new Uint8Array(18);
  b.set(magicBytes(NBDMAGIC), 0);
  b.set(magicBytes(IHAVEOPT), 8);
  put16(b, 16, flags, "handshake flags");
  return b;
}

/** One reply to an option (fixed newstyle); error replies may carry a message (`encodeOptionError`). */
export function encodeOptionReply(option: number, reply: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const b = new Uint8Array(20 + data.length);
  b.set(magicBytes(OPTION_REPLY_MAGIC), 0);
  put32(b, 8, option, "option");
  put32(b, 12, reply, "reply type");
  put32(b, 16, data.length, "reply length");
  b.set(data, 20);
  return b;
}

/** An error reply with a message for people (qemu prints it after its own wording). */
export function encodeOptionError(option: number, reply: number, message: string): Uint8Array {
  const b = enc.encode(message.replaceAll("\0", " "));
  return encodeOptionReply(option, reply, b.length > MAX_STRING_BYTES ? b.subarray(0, MAX_STRING_BYTES) : b);
}

/** NBD_REP_SERVER's data: one export in an NBD_OPT_LIST answer, its description after the name. */
export function encodeServerEntry(name: string, description = ""): Uint8Array {
  const n = stringBytes(name, "export name");
  const d = stringBytes(description, "export description");
  const b = new Uint8Array(4 + n.length + d.length);
  put32(b, 0, n.length, "name length");
  b.set(n, 4);
  b.set(d, 4 + n.length);
  return b;
}

/** NBD_REP_INFO's data for NBD_INFO_EXPORT: size and transmission flags. */
export function encodeInfoExport(size: number | bigint, flags: number): Uint8Array {
  const b = new Uint8Array(12);
  put16(b, 0, INFO.EXPORT, "info type");
  put64(b, 2, size, "export size");
  put16(b, 10, flags, "transmission flags");
  return b;
}

export function encodeInfoName(name: string): Uint8Array {
  return concat([Uint8Array.of(0, INFO.NAME), stringBytes(name, "export name")]);
}

export function encodeInfoDescription(text: string): Uint8Array {
  return concat([Uint8Array.of(0, INFO.DESCRIPTION), stringBytes(text, "export description")]);
}

export function encodeInfoBlockSize(minimum: number, preferred: number, maximum: number): Uint8Array {
  const b = new Uint8Array(14);
  put16(b, 0, INFO.BLOCK_SIZE, "info type");
  put32(b, 2, minimum, "minimum block size");
  put32(b, 6, preferred, "preferred block size");
  put32(b, 10, maximum, "maximum payload");
  return b;
}

/** The answer to NBD_OPT_EXPORT_NAME: size, transmission flags, and 124 zeroes unless NO_ZEROES was agreed. */
export function encodeExportReply(size: number | bigint, flags: number, zeroes: boolean): Uint8Array {
  const b = new Uint8Array(10 + (zeroes ? 124 : 0));
  put64(b, 0, size, "export size");
  put16(b, 8, flags, "transmission flags");
  return b;
}

/** The 16-byte simple reply header; a successful read's data follows it. */
export function encodeSimpleReply(error: number, cookie: bigint, data?: Uint8Array): Uint8Array {
  const b = new Uint8Array(16 + (data?.length ?? 0));
  put32(b, 0, SIMPLE_REPLY_MAGIC, "magic");
  put32(b, 4, error, "error");
  put64(b, 8, cookie, "cookie");
  if (data) b.set(data, 16);
  return b;
}

// ————— encoding: client → server —————

export function encodeClientFlags(flags: number = CLIENT_FLAG.FIXED_NEWSTYLE | CLIENT_FLAG.NO_ZEROES): Uint8Array {
  const b = new Uint8Array(4);
  put32(b, 0, flags, "client flags");
  return b;
}

export function encodeOption(option: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const b = new Uint8Array(16 + data.length);
  b.set(magicBytes(IHAVEOPT), 0);
  put32(b, 8, option, "option");
  put32(b, 12, data.length, "option length");
  b.set(data, 16);
  return b;
}

/** The data of NBD_OPT_INFO and NBD_OPT_GO: export name and the information types wanted. */
export function encodeInfoRequest(name: string, requests: number[] = []): Uint8Array {
  const n = stringBytes(name, "export name");
  const b = new Uint8Array(4 + n.length + 2 + 2 * requests.length);
  put32(b, 0, n.length, "name length");
  b.set(n, 4);
  put16(b, 4 + n.length, requests.length, "information request count");
  requests.forEach((r, i) => put16(b, 6 + n.length + 2 * i, r, "information request"));
  return b;
}

export interface RequestHeader {
  flags?: number;
  command: number;
  cookie: bigint;
  offset: number | bigint;
  length: number;
}

/** A request header, followed by the payload for NBD_CMD_WRITE. */
export function encodeRequest(r: RequestHeader, data?: Uint8Array): Uint8Array {
  const b = new Uint8Array(28 + (data?.length ?? 0));
  put32(b, 0, REQUEST_MAGIC, "magic");
  put16(b, 4, r.flags ?? 0, "command flags");
  put16(b, 6, r.command, "command");
  put64(b, 8, r.cookie, "cookie");
  put64(b, 16, r.offset, "offset");
  put32(b, 24, r.length, "length");
  if (data) b.set(data, 28);
  return b;
}

// ————— decoding option data (pure, total) —————

export interface InfoRequest {
  name: string;
  /** The NBD_INFO_* types the client asked for, in order. */
  requests: number[];
}

/** NBD_OPT_INFO / NBD_OPT_GO data, or why it is malformed (the server answers NBD_REP_ERR_INVALID). */
export function decodeInfoRequest(data: Uint8Array): InfoRequest | string {
  if (data.length < 6) return `${data.length} bytes of data, too short for a name length and a request count`;
  const nameLength = u32(data, 0);
  if (nameLength > data.length - 6) return `the name length ${nameLength} runs past the ${data.length} bytes of option data`;
  const name = decodeString(data.subarray(4, 4 + nameLength), "the export name");
  if (typeof name === "string") return name;
  const count = u16(data, 4 + nameLength);
  const rest = data.length - 6 - nameLength;
  if (rest !== 2 * count) return `${count} information requests announced, ${rest} bytes of them sent (expected ${2 * count})`;
  const requests: number[] = [];
  for (let i = 0; i < count; i++) requests.push(u16(data, 6 + nameLength + 2 * i));
  return { name: name.text, requests };
}

/** NBD_OPT_EXPORT_NAME data: the whole option data is the name. */
export function decodeExportName(data: Uint8Array): { name: string } | string {
  const s = decodeString(data, "the export name");
  return typeof s === "string" ? s : { name: s.text };
}

/** NBD_REP_SERVER data: name and the rest as description. */
export function decodeServerEntry(data: Uint8Array): { name: string; description: string } | string {
  if (data.length < 4) return `NBD_REP_SERVER: ${data.length} bytes, too short for a name length`;
  const n = u32(data, 0);
  if (n > data.length - 4) return `NBD_REP_SERVER: the name length ${n} runs past the ${data.length - 4} bytes that follow it`;
  const name = decodeString(data.subarray(4, 4 + n), "the export name");
  if (typeof name === "string") return `NBD_REP_SERVER: ${name}`;
  const d = decodeString(data.subarray(4 + n), "the description");
  if (typeof d === "string") return `NBD_REP_SERVER: ${d}`;
  return { name: name.text, description: d.text };
}

export type InfoReply =
  | { info: "EXPORT"; size: bigint; flags: number }
  | { info: "NAME"; name: string }
  | { info: "DESCRIPTION"; description: string }
  | { info: "BLOCK_SIZE"; minimum: number; preferred: number; maximum: number }
  | { info: "unknown"; type: number; data: Uint8Array };

/** NBD_REP_INFO data. */
export function decodeInfoReply(data: Uint8Array): InfoReply | string {
  if (data.length < 2) return `NBD_REP_INFO: ${data.length} bytes, too short for an information type`;
  const type = u16(data, 0);
  switch (type) {
    case INFO.EXPORT:
      if (data.length !== 12) return `NBD_INFO_EXPORT: ${data.length} bytes, must be 12`;
      return { info: "EXPORT", size: u64(data, 2), flags: u16(data, 10) };
    case INFO.NAME:
    case INFO.DESCRIPTION: {
      const s = decodeString(data.subarray(2), type === INFO.NAME ? "NBD_INFO_NAME" : "NBD_INFO_DESCRIPTION");
      if (typeof s === "string") return s;
      return type === INFO.NAME ? { info: "NAME", name: s.text } : { info: "DESCRIPTION", description: s.text };
    }
    case INFO.BLOCK_SIZE:
      if (data.length !== 14) return `NBD_INFO_BLOCK_SIZE: ${data.length} bytes, must be 14`;
      return { info: "BLOCK_SIZE", minimum: u32(data, 2), preferred: u32(data, 6), maximum: u32(data, 10) };
    default:
      return { info: "unknown", type, data: data.subarray(2) };
  }
}

// ————— incremental decoding —————

/** Pushed chunks, read from the front; a read spanning chunks is copied once, otherwise nothing is. */
class ByteQueue {
  #chunks: Uint8Array[] = [];
  #head = 0;
  length = 0;

  push(b: Uint8Array): void {
    if (b.length === 0) return;
    this.#chunks.push(b);
    this.length += b.length;
  }

  /** The first n bytes (n ≤ length), without consuming them. */
  peek(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first && first.length - this.#head >= n) return first.subarray(this.#head, this.#head + n);
    const out = new Uint8Array(n);
    let filled = 0;
    let head = this.#head;
    for (const c of this.#chunks) {
      const part = c.subarray(head, head + (n - filled));
      out.set(part, filled);
      filled += part.length;
      head = 0;
      if (filled === n) break;
    }
    return out;
  }

  /** Consumes and returns the first n bytes (n ≤ length). */
  take(n: number): Uint8Array {
    const out = this.peek(n);
    this.skip(n);
    return out;
  }

  skip(n: number): void {
    this.length -= n;
    while (n > 0) {
      const c = this.#chunks[0]!;
      const left = c.length - this.#head;
      if (n < left) {
        this.#head += n;
        return;
      }
      n -= left;
      this.#chunks.shift();
      this.#head = 0;
    }
  }
}

export interface DecoderLimits {
  /** Largest option data accepted; a longer announced length is an error. Default 64 KiB. */
  maxOptionBytes?: number;
  /** Largest NBD_CMD_WRITE payload (or read reply) accepted. Default 32 MiB. */
  maxPayloadBytes?: number;
}

/** The first mismatching byte of a partly received magic number, so garbage fails at once. */
function magicMismatch(q: ByteQueue, magic: Uint8Array): number | undefined {
  const have = q.peek(Math.min(q.length, magic.length));
  for (let i = 0; i < have.length; i++) if (have[i] !== magic[i]) return i;
  return undefined;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const IHAVEOPT_BYTES = magicBytes(IHAVEOPT);
const NBDMAGIC_BYTES = magicBytes(NBDMAGIC);
const OPTION_REPLY_BYTES = magicBytes(OPTION_REPLY_MAGIC);
const REQUEST_BYTES = Uint8Array.of(0x25, 0x60, 0x95, 0x13);
const SIMPLE_REPLY_BYTES = Uint8Array.of(0x67, 0x44, 0x66, 0x98);

abstract class StreamDecoder<M> {
  protected q = new ByteQueue();
  protected readonly maxOptionBytes: number;
  protected readonly maxPayloadBytes: number;
  #error: string | undefined;
  #consumed = 0;

  constructor(limits: DecoderLimits = {}) {
    this.maxOptionBytes = limits.maxOptionBytes ?? DEFAULT_MAX_OPTION_BYTES;
    this.maxPayloadBytes = limits.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD;
  }

  /** Adds received bytes. The decoder keeps a reference to them: do not modify them afterwards. */
  push(bytes: Uint8Array): void {
    this.q.push(bytes);
  }

  /** Bytes received and not yet decoded. */
  get buffered(): number {
    return this.q.length;
  }

  /** The next message; undefined when more bytes are needed; a sentence when the stream is broken (sticky). */
  next(): M | string | undefined {
    if (this.#error !== undefined) return this.#error;
    const before = this.q.length;
    const m = this.decode();
    this.#consumed += before - this.q.length;
    if (typeof m === "string") this.#error = `at byte ${this.#consumed}: ${m}`;
    return typeof m === "string" ? this.#error : m;
  }

  /** What an unfinished message in the buffer is waiting for, when the stream ends; undefined if none. */
  pending(): string | undefined {
    if (this.#error !== undefined || this.q.length === 0) return undefined;
    return this.describePending();
  }

  protected abstract decode(): M | string | undefined;
  protected abstract describePending(): string;
}

export type ClientPhase = "client-flags" | "options" | "transmission";

/**
 * Decodes what a client sends, for a server. The phase moves from client flags to options by itself; the
 * server moves it to "transmission" when it has accepted NBD_OPT_EXPORT_NAME or answered NBD_OPT_GO with ACK.
 */
export class ClientStreamDecoder extends StreamDecoder<ClientMessage> {
  phase: ClientPhase = "client-flags";

  protected decode(): ClientMessage | string | undefined {
    const q = this.q;
    switch (this.phase) {
      case "client-flags": {
        if (q.length < 4) return undefined;
        this.phase = "options";
        return { type: "client-flags", flags: u32(q.take(4), 0) };
      }
      case "options": {
        const bad = magicMismatch(q, IHAVEOPT_BYTES);
        if (bad !== undefined) return `an option must start with "IHAVEOPT", got 0x${hex(q.peek(Math.min(q.length, 8)))}`;
        if (q.length < 16) return undefined;
        const h = q.peek(16);
        const option = u32(h, 8);
        const length = u32(h, 12);
        if (length > this.maxOptionBytes) {
          return `option ${optionName(option)} announces ${length} bytes of data, over the ${this.maxOptionBytes}-byte limit`;
        }
        if (q.length < 16 + length) return undefined;
        q.skip(16);
        return { type: "option", option, data: q.take(length) };
      }
      case "transmission": {
        if (magicMismatch(q, REQUEST_BYTES) !== undefined) {
          const m = q.length >= 4 ? u32(q.peek(4), 0) : undefined;
          if (m === EXTENDED_REQUEST_MAGIC) return "an extended-header request (0x21e41c71), which was never negotiated";
          return `a request must start with magic 0x25609513, got 0x${hex(q.peek(Math.min(q.length, 4)))}`;
        }
        if (q.length < 28) return undefined;
        const h = q.peek(28);
        const command = u16(h, 6);
        const length = u32(h, 24);
        const payload = command === CMD.WRITE ? length : 0;
        if (payload > this.maxPayloadBytes) return `WRITE announces ${length} bytes of payload, over the ${this.maxPayloadBytes}-byte limit`;
        if (q.length < 28 + payload) return undefined;
        q.skip(28);
        const r: RequestMessage = { type: "request", flags: u16(h, 4), command, cookie: u64(h, 8), offset: u64(h, 16), length };
        if (command === CMD.WRITE) r.data = q.take(payload);
        return r;
      }
    }
  }

  protected describePending(): string {
    const q = this.q;
    if (this.phase === "client-flags") return `${q.length} of the 4 bytes of client flags`;
    if (this.phase === "options") {
      if (q.length < 16) return `${q.length} of the 16 bytes of an option header`;
      const h = q.peek(16);
      return `${q.length - 16} of the ${u32(h, 12)} bytes of option ${optionName(u32(h, 8))}'s data`;
    }
    if (q.length < 28) return `${q.length} of the 28 bytes of a request header`;
    const h = q.peek(28);
    return `${q.length - 28} of the ${u32(h, 24)} bytes of a ${commandName(u16(h, 6))} payload`;
  }
}

export type ServerPhase = "greeting" | "option-replies" | "export" | "transmission";

/**
 * Decodes what a server sends, for a client (and for tests). The phase moves from the greeting to option
 * replies by itself; the client sets "export" after sending NBD_OPT_EXPORT_NAME (the export reply is
 * followed by "transmission" by itself) or "transmission" after an ACK to NBD_OPT_GO. A simple reply cannot
 * say whether data follows: tell the decoder with expectRead() for each read sent.
 */
export class ServerStreamDecoder extends StreamDecoder<ServerMessage> {
  phase: ServerPhase = "greeting";
  /** Whether NBD_FLAG_C_NO_ZEROES was agreed: the export reply then has no 124 zeroes. */
  noZeroes = false;
  #reads = new Map<bigint, number>();

  /** The reply with this cookie, when successful, carries `length` bytes of data. */
  expectRead(cookie: bigint, length: number): void {
    this.#reads.set(cookie, length);
  }

  protected decode(): ServerMessage | string | undefined {
    const q = this.q;
    switch (this.phase) {
      case "greeting": {
        if (magicMismatch(q, NBDMAGIC_BYTES) !== undefined) return `a greeting must start with "NBDMAGIC", got 0x${hex(q.peek(Math.min(q.length, 8)))}`;
        if (q.length < 16) return undefined;
        const second = u64(q.peek(16), 8);
        if (second === CLISERV_MAGIC) return "an oldstyle greeting (the server does not speak newstyle)";
        if (second !== IHAVEOPT) return `the greeting's second magic is 0x${second.toString(16)}, not "IHAVEOPT"`;
        if (q.length < 18) return undefined;
        const b = q.take(18);
        this.phase = "option-replies";
        return { type: "greeting", flags: u16(b, 16) };
      }
      case "option-replies": {
        if (magicMismatch(q, OPTION_REPLY_BYTES) !== undefined) return `an option reply must start with magic 0x3e889045565a9, got 0x${hex(q.peek(Math.min(q.length, 8)))}`;
        if (q.length < 20) return undefined;
        const h = q.peek(20);
        const length = u32(h, 16);
        if (length > this.maxOptionBytes) return `a reply to ${optionName(u32(h, 8))} announces ${length} bytes, over the ${this.maxOptionBytes}-byte limit`;
        if (q.length < 20 + length) return undefined;
        q.skip(20);
        return { type: "option-reply", option: u32(h, 8), reply: u32(h, 12), data: q.take(length) };
      }
      case "export": {
        const need = this.noZeroes ? 10 : 134;
        if (q.length < need) return undefined;
        const b = q.take(need);
        this.phase = "transmission";
        return { type: "export", size: u64(b, 0), flags: u16(b, 8) };
      }
      case "transmission": {
        if (magicMismatch(q, SIMPLE_REPLY_BYTES) !== undefined) {
          const m = q.length >= 4 ? u32(q.peek(4), 0) : undefined;
          if (m === STRUCTURED_REPLY_MAGIC) return "a structured reply chunk, but structured replies were never negotiated";
          return `a reply must start with magic 0x67446698, got 0x${hex(q.peek(Math.min(q.length, 4)))}`;
        }
        if (q.length < 16) return undefined;
        const h = q.peek(16);
        const error = u32(h, 4);
        const cookie = u64(h, 8);
        const length = error === 0 ? this.#reads.get(cookie) ?? 0 : 0;
        if (length > this.maxPayloadBytes) return `a read reply of ${length} bytes, over the ${this.maxPayloadBytes}-byte limit`;
        if (q.length < 16 + length) return undefined;
        q.skip(16);
        this.#reads.delete(cookie);
        const r: SimpleReplyMessage = { type: "reply", error, cookie };
        if (length > 0) r.data = q.take(length);
        return r;
      }
    }
  }

  protected describePending(): string {
    return `${this.q.length} bytes of an unfinished ${this.phase === "option-replies" ? "option reply" : this.phase} message`;
  }
}

// ————— for logs and test failures —————

/** One line: `option GO (18 bytes)`, `request READ offset 0 length 512 cookie 0x5631`. */
export function describeClientMessage(m: ClientMessage | string): string {
  if (typeof m === "string") return `malformed (${m})`;
  switch (m.type) {
    case "client-flags":
      return `client flags 0x${m.flags.toString(16)}`;
    case "option":
      return `option ${optionName(m.option)} (${m.data.length} bytes)`;
    case "request":
      return `request ${commandName(m.command)}${m.flags ? ` flags 0x${m.flags.toString(16)}` : ""} offset ${m.offset} length ${m.length} cookie 0x${m.cookie.toString(16)}`;
  }
}

export function describeServerMessage(m: ServerMessage | string): string {
  if (typeof m === "string") return `malformed (${m})`;
  switch (m.type) {
    case "greeting":
      return `greeting flags 0x${m.flags.toString(16)}`;
    case "option-reply":
      return `reply ${replyName(m.reply)} to ${optionName(m.option)} (${m.data.length} bytes)`;
    case "export":
      return `export size ${m.size} flags 0x${m.flags.toString(16)}`;
    case "reply":
      return `reply ${errorName(m.error)} cookie 0x${m.cookie.toString(16)}${m.data ? ` (${m.data.length} bytes)` : ""}`;
  }
}
