// One TFTP transfer as a pure state machine: datagrams and clock ticks in, actions out. No sockets and
// no timers inside — the driver (server.ts) owns those — so every rule below is tested with plain bytes
// and a fake clock: option negotiation (RFC 2347/2348/2349/7440), block-number rollover, retransmission
// only on timeout (never on a duplicate ACK: that is the Sorcerer's Apprentice bug), give-up, and a log.

import type { Endpoint } from "../../net/datagram.ts";
import {
  decodePacket, describePacket, encodeData, encodeError, encodePacket, ERR, ERROR_TEXT, type RequestPacket, type TftpOption,
} from "./packets.ts";

/** The TFTP server's limits and timing (`lab.lan({ tftp })`). */
export interface TransferConfig {
  /**
   * The largest blksize granted. 1468 fills a 1500-byte Ethernet MTU (minus IP, UDP and TFTP headers):
   * U-Boot does not reassemble IP fragments, so a larger DATA packet never reaches it.
   */
  maxBlksize: number;
  /** The largest windowsize granted (RFC 7440). 64 failed on virtio in our measurements; 4–16 work. */
  maxWindowsize: number;
  /**
   * The retransmit interval until the client's round trip is measured, and the floor of the adaptive one
   * for windowed reads and for uploads (a client that answers a repeated ACK by sending its DATA again, as
   * busybox does, would turn early retransmits into the Sorcerer's Apprentice).
   */
  initialRetransmitMs: number;
  /**
   * The floor of the adaptive interval for lock-step reads (windowsize 1), once the client's round trip is
   * measured. A block the client missed stalls the transfer this long: malta's pcnet under U-Boot misses
   * about one DATA frame in 200 (275 in a library run, each waiting out the 200 ms floor, ~55 s). A
   * retransmit that comes too early costs one duplicate DATA, which U-Boot ignores and Linux clients ACK
   * again (we ignore duplicate ACKs). Windowed reads keep initialRetransmitMs: U-Boot 2023.01 gave up a
   * windowsize-16 transfer ("Retry count exceeded") when whole windows came again early.
   */
  minReadRetransmitMs: number;
  /** Ceiling of the backoff (also capped by the client's `timeout` option). */
  maxRetransmitMs: number;
  /** Timeouts in a row without progress before the transfer gives up with an ERROR. */
  maxRetries: number;
  /** Largest upload accepted; more is refused with error 3. */
  maxWriteBytes: number;
  /** After the final ACK of an upload, how long a repeated last DATA is still answered (RFC 1350 "dally"). */
  dallyMs: number;
}

export const DEFAULT_TRANSFER_CONFIG: Readonly<TransferConfig> = {
  maxBlksize: 1468,
  maxWindowsize: 64,
  initialRetransmitMs: 200,
  minReadRetransmitMs: 20,
  maxRetransmitMs: 3000,
  maxRetries: 10,
  maxWriteBytes: 512 * 1024 * 1024,
  dallyMs: 3000,
};

/** What is wrong with a partial config, one sentence each (empty: nothing). */
export function checkTransferConfig(c: Partial<TransferConfig>): string[] {
  const bad: string[] = [];
  const whole = (k: keyof TransferConfig, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = c[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) bad.push(`${k} ${v} must be an integer from ${min} to ${max}`);
  };
  whole("maxBlksize", 8, 65464);
  whole("maxWindowsize", 1, 65535);
  whole("initialRetransmitMs", 1);
  whole("minReadRetransmitMs", 1);
  whole("maxRetransmitMs", 1);
  whole("maxRetries", 0);
  whole("maxWriteBytes", 0);
  whole("dallyMs", 0);
  return bad;
}

/** RFC 2348's limits on blksize. */
export const BLKSIZE_MIN = 8;
export const BLKSIZE_MAX = 65464;

/** How a TFTP transfer ended. */
export type TransferOutcome =
  /** Every byte delivered (read: the last block acknowledged; write: the last block received). */
  | "ok"
  /** We refused the request (missing file, access violation, bad mode, …) with an ERROR. */
  | "refused"
  /** The client ended the transfer with an ERROR packet. */
  | "client-error"
  /** Too many timeouts in a row: we gave up and sent an ERROR. */
  | "timeout"
  /** The client sent something that has no place in this transfer; we answered ERROR 4. */
  | "protocol-error"
  /** Stopped from our side: the server closed, or an upload could not be stored. */
  | "aborted";

/**
 * One TFTP transfer, start to end (`lan.tftp.log`, lan-log.json `tftp`): what was asked, what was negotiated, what
 * was delivered and how it ended.
 */
export interface TransferLog {
  /** read: the client downloaded (RRQ); write: it uploaded (WRQ). */
  kind: "read" | "write";
  /** The file name exactly as the client asked for it. */
  file: string;
  /** The client's address and port. */
  client: Endpoint;
  /** "octet" or "netascii". */
  mode: string;
  /** The options the client asked for, as sent. */
  requested: TftpOption[];
  /** The options we acknowledged in our OACK (empty: no OACK was sent). */
  oack: TftpOption[];
  /** What was in effect: blksize, windowsize, the client's timeout (s) and tsize if negotiated. */
  blksize: number;
  /** Blocks in flight before an ACK (RFC 7440; 1 without the option). */
  windowsize: number;
  /** The client's timeout option, in seconds, if it sent one. */
  timeoutS?: number;
  /** The transfer size option, if negotiated. */
  tsize?: number;
  /** Payload bytes delivered: acknowledged by the client (read) or received (write). */
  bytes: number;
  /** DATA blocks delivered (acknowledged or received), counting past rollover. */
  blocks: number;
  /** Packets we sent again because a timer expired (DATA for reads; ACK/OACK for writes). */
  retransmits: number;
  /** Timer expiries (one can resend a whole window). */
  timeouts: number;
  /** Duplicate ACKs ignored (read) or repeated DATA answered with its ACK again (write). */
  duplicates: number;
  /** Milliseconds since the server started, at the request. */
  startedAtMs: number;
  /** Request to end. */
  durationMs: number;
  /** How it ended: "ok" when every byte was delivered. */
  outcome: TransferOutcome;
  /** The ERROR that ended the transfer, and who sent it. */
  error?: { code: number; message: string; by: "server" | "client" };
  /** Why, in words: the path that escaped the root, the packet that was illegal, … */
  detail?: string;
}

/** What the driver must do, in order. At most one timer is pending: a `timerAt` replaces the previous one. */
export type TransferAction =
  | { send: Uint8Array }
  /** Call onTimer at this time (same clock as the `nowMs` arguments). */
  | { timerAt: number }
  /** An upload is complete: store these bytes, then call `stored()` — the final ACK waits for the outcome. */
  | { store: Uint8Array }
  /** The log is final. */
  | { done: TransferLog }
  /** Release the socket and the timer; nothing more will be asked of the driver. */
  | { close: true };

export type TransferSource =
  | { read: Uint8Array }
  | { write: true }
  /** Answer the request with an ERROR: `detail` goes to our log, the client sees `message` (or the RFC wording). */
  | { refuse: { code: number; message?: string; detail: string } };

export interface TransferInit {
  request: RequestPacket;
  client: Endpoint;
  source: TransferSource;
  config?: Partial<TransferConfig>;
}

/** The options we grant for a request, in the order the client sent them. */
export interface Negotiated {
  oack: TftpOption[];
  blksize: number;
  windowsize: number;
  timeoutS?: number;
  tsize?: number;
  /** A request we must refuse (e.g. an upload larger than allowed). */
  refuse?: { code: number; detail: string };
}

const DECIMAL = /^[0-9]{1,10}$/;

/**
 * RFC 2347 negotiation. Options we do not know, or whose values are out of range, are left out of the
 * OACK — the RFC lets a server ignore them — rather than failing the transfer. `size` is what a read
 * will send (for tsize).
 */
export function negotiate(req: RequestPacket, config: TransferConfig, size?: number): Negotiated {
  const n: Negotiated = { oack: [], blksize: 512, windowsize: 1 };
  for (const { name, value } of req.options) {
    const v = DECIMAL.test(value) ? Number(value) : NaN;
    if (name === "blksize" && v >= BLKSIZE_MIN) {
      n.blksize = Math.min(v, BLKSIZE_MAX, config.maxBlksize);
      n.oack.push({ name, value: String(n.blksize) });
    } else if (name === "windowsize" && req.op === "RRQ" && v >= 1 && v <= 65535) {
      // Uploads keep windowsize 1: the receiving side of RFC 7440 buys nothing for a lab.
      n.windowsize = Math.min(v, config.maxWindowsize);
      n.oack.push({ name, value: String(n.windowsize) });
    } else if (name === "timeout" && v >= 1 && v <= 255) {
      n.timeoutS = v;
      n.oack.push({ name, value: String(v) });
    } else if (name === "tsize") {
      if (req.op === "RRQ" && size !== undefined) {
        // The client sends 0 (atftp 0.8.0 sends the word "enable"); either way we answer with the size.
        n.tsize = size;
        n.oack.push({ name, value: String(size) });
      } else if (req.op === "WRQ" && Number.isFinite(v)) {
        n.tsize = v;
        n.oack.push({ name, value: value });
        if (v > config.maxWriteBytes) n.refuse = { code: ERR.DISK_FULL, detail: `upload of ${v} bytes exceeds the ${config.maxWriteBytes}-byte limit` };
      }
    }
  }
  return n;
}

/** RFC 1350 netascii: LF becomes CR LF, a bare CR becomes CR NUL. */
export function toNetascii(b: Uint8Array): Uint8Array {
  let extra = 0;
  for (const c of b) if (c === 10 || c === 13) extra++;
  if (extra === 0) return b;
  const out = new Uint8Array(b.length + extra);
  let j = 0;
  for (const c of b) {
    if (c === 10) (out[j++] = 13), (out[j++] = 10);
    else if (c === 13) (out[j++] = 13), (out[j++] = 0);
    else out[j++] = c;
  }
  return out;
}

/** The reverse of toNetascii, for uploads. */
export function fromNetascii(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  let j = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 13 && (b[i + 1] === 10 || b[i + 1] === 0)) {
      out[j++] = b[i + 1] === 10 ? 10 : 13;
      i++;
    } else out[j++] = c;
  }
  return out.subarray(0, j);
}

type Phase = "oack" | "data" | "storing" | "dally" | "closed";

export class TftpTransfer {
  readonly config: TransferConfig;
  #log: TransferLog;
  #source: TransferSource;
  #request: RequestPacket;
  #phase: Phase = "data";
  #oackBytes: Uint8Array | undefined;
  #maxRto: number;
  #rto: number;
  #deadline = 0;
  #retries = 0;
  #started = false;
  // RTT estimate (RFC 6298 style); one timed block at a time, discarded on retransmit (Karn's rule).
  #srtt: number | undefined;
  #rttvar = 0;
  #timedBlock = -1;
  #timedAt = 0;
  // Reads: the data as sent, how many blocks it makes, the highest block acknowledged and sent.
  #data: Uint8Array = new Uint8Array(0);
  #totalBlocks = 0;
  #acked = 0;
  #sent = 0;
  // Writes: the next block expected and what has arrived.
  #expected = 1;
  #chunks: Uint8Array[] = [];
  #lastAck: Uint8Array | undefined;

  constructor(init: TransferInit) {
    this.config = { ...DEFAULT_TRANSFER_CONFIG, ...init.config };
    this.#source = init.source;
    this.#request = init.request;
    this.#maxRto = this.config.maxRetransmitMs;
    this.#rto = this.config.initialRetransmitMs;
    this.#log = {
      kind: init.request.op === "RRQ" ? "read" : "write",
      file: init.request.filename,
      client: { address: init.client.address, port: init.client.port },
      mode: init.request.mode,
      requested: init.request.options.map((o) => ({ ...o })),
      oack: [],
      blksize: 512,
      windowsize: 1,
      bytes: 0,
      blocks: 0,
      retransmits: 0,
      timeouts: 0,
      duplicates: 0,
      startedAtMs: 0,
      durationMs: 0,
      outcome: "ok",
    };
  }

  /** A snapshot of the log so far (final once `done` was emitted). */
  get log(): TransferLog {
    return { ...this.#log, client: { ...this.#log.client }, requested: [...this.#log.requested], oack: [...this.#log.oack] };
  }

  get closed(): boolean {
    return this.#phase === "closed";
  }

  /** Answers the request: OACK, the first DATA window, ACK 0 for an upload, or an ERROR. */
  start(nowMs: number): TransferAction[] {
    if (this.#started) throw new Error(`TFTP transfer of "${this.#log.file}" for ${this.#client()} was started twice`);
    this.#started = true;
    this.#log.startedAtMs = nowMs;
    const src = this.#source;
    if ("refuse" in src) return this.#end(nowMs, "refused", src.refuse.code, src.refuse.detail, src.refuse.message);
    const mode = this.#request.mode;
    if (mode !== "octet" && mode !== "netascii") {
      return this.#end(nowMs, "refused", ERR.ILLEGAL_OPERATION, `transfer mode "${mode}" is not supported (octet and netascii are)`);
    }
    if ("read" in src) {
      this.#data = mode === "netascii" ? toNetascii(src.read) : src.read;
    }
    const n = negotiate(this.#request, this.config, "read" in src ? this.#data.length : undefined);
    if (n.refuse) return this.#end(nowMs, "refused", n.refuse.code, n.refuse.detail);
    Object.assign(this.#log, { oack: n.oack, blksize: n.blksize, windowsize: n.windowsize, timeoutS: n.timeoutS, tsize: n.tsize });
    if (n.timeoutS !== undefined) this.#maxRto = Math.max(this.config.initialRetransmitMs, Math.min(this.#maxRto, n.timeoutS * 1000));
    if ("read" in src) this.#totalBlocks = Math.floor(this.#data.length / n.blksize) + 1;
    if (n.oack.length > 0) {
      this.#phase = "oack";
      this.#oackBytes = encodePacket({ op: "OACK", options: n.oack });
      this.#timedBlock = 0;
      this.#timedAt = nowMs;
      return [{ send: this.#oackBytes }, ...this.#arm(nowMs)];
    }
    if ("read" in src) return this.#sendWindow(nowMs);
    this.#lastAck = ack(0);
    return [{ send: this.#lastAck }, ...this.#arm(nowMs)];
  }

  /** A datagram from the client's transfer ID (the driver answers strangers with ERROR 5 itself). */
  onPacket(bytes: Uint8Array, nowMs: number): TransferAction[] {
    if (!this.#started || this.#phase === "closed" || this.#phase === "storing") return [];
    const p = decodePacket(bytes);
    if (this.#phase === "dally") return typeof p !== "string" && p.op === "DATA" ? this.#onData(p.block, p.data, nowMs) : [];
    if (typeof p === "string") return this.#end(nowMs, "protocol-error", ERR.ILLEGAL_OPERATION, p);
    if (p.op === "ERROR") {
      this.#log.error = { code: p.code, message: p.message, by: "client" };
      return this.#finish(nowMs, "client-error", `the client sent ERROR ${p.code} "${p.message}"`);
    }
    if (this.#log.kind === "read") {
      if (p.op !== "ACK") return this.#end(nowMs, "protocol-error", ERR.ILLEGAL_OPERATION, `${describePacket(p)} during a read`);
      return this.#onAck(p.block, nowMs);
    }
    if (p.op !== "DATA") return this.#end(nowMs, "protocol-error", ERR.ILLEGAL_OPERATION, `${describePacket(p)} during a write`);
    return this.#onData(p.block, p.data, nowMs);
  }

  /** The timer asked for with `timerAt` expired (early or stale calls are harmless). */
  onTimer(nowMs: number): TransferAction[] {
    if (!this.#started || this.#phase === "closed" || this.#phase === "storing") return [];
    if (nowMs < this.#deadline) return [{ timerAt: this.#deadline }];
    if (this.#phase === "dally") return this.#close();
    this.#log.timeouts++;
    if (++this.#retries > this.config.maxRetries) {
      // A lost final ACK looks the same as a vanished client: say so, the client may well have everything.
      const what = this.#phase === "oack" ? "no answer to our OACK"
        : this.#log.kind === "write" ? `no DATA block ${this.#expected}`
        : `no ACK for block ${this.#acked + 1}${this.#acked + 1 === this.#totalBlocks ? " (the last one: the client may have it all and have left)" : ""}`;
      return this.#end(nowMs, "timeout", ERR.NOT_DEFINED,
        `${what} after ${this.config.maxRetries} retransmits`, `Timed out after ${this.config.maxRetries} retransmits`);
    }
    this.#rto = Math.min(this.#rto * 2, this.#maxRto);
    this.#timedBlock = -1;
    const out: TransferAction[] = [];
    if (this.#phase === "oack") out.push({ send: this.#oackBytes! });
    else if (this.#log.kind === "write") out.push({ send: this.#lastAck! });
    else for (let b = this.#acked + 1; b <= this.#sent; b++) out.push({ send: this.#block(b) });
    this.#log.retransmits += out.length;
    return [...out, ...this.#arm(nowMs)];
  }

  /** The outcome of a `store` action: the final ACK (then a dally), or ERROR 3 if it could not be stored. */
  stored(nowMs: number, failure?: string): TransferAction[] {
    if (this.#phase !== "storing") return [];
    if (failure !== undefined) {
      this.#phase = "data";
      return this.#end(nowMs, "aborted", ERR.DISK_FULL, `could not store the upload: ${failure}`);
    }
    const out: TransferAction[] = [{ send: this.#lastAck! }, ...this.#finishLog(nowMs, "ok")];
    this.#phase = "dally";
    this.#deadline = nowMs + this.config.dallyMs;
    return [...out, { timerAt: this.#deadline }];
  }

  /** Ends the transfer from our side with an ERROR (server shutting down, upload not storable). */
  abort(nowMs: number, detail: string, code: number = ERR.NOT_DEFINED, message?: string): TransferAction[] {
    if (this.#phase === "closed") return [];
    if (this.#phase === "dally") return this.#close();
    if (this.#phase === "storing") this.#phase = "data";
    if (!this.#started) this.#log.startedAtMs = nowMs;
    this.#started = true;
    return this.#end(nowMs, "aborted", code, detail, message);
  }

  #onAck(wire: number, nowMs: number): TransferAction[] {
    if (this.#phase === "oack") {
      if (wire !== 0) return []; // not an answer to the OACK; the OACK timer covers a lost ACK 0
      this.#phase = "data";
      this.#progress(0, nowMs);
      return this.#sendWindow(nowMs);
    }
    const delta = (wire - (this.#acked & 0xffff) + 0x10000) & 0xffff;
    if (delta === 0) {
      // A duplicate ACK: never resend on it, or every duplicate doubles the traffic (Sorcerer's Apprentice).
      this.#log.duplicates++;
      return [];
    }
    if (delta > this.#sent - this.#acked) return []; // an ACK for a block not sent yet: stale or bogus
    this.#acked += delta;
    this.#progress(this.#acked, nowMs);
    this.#log.blocks = this.#acked;
    this.#log.bytes = Math.min(this.#acked * this.#log.blksize, this.#data.length);
    if (this.#acked === this.#totalBlocks) return this.#finish(nowMs, "ok");
    // An ACK short of the last block sent is RFC 7440's "resend from here": the next window starts after it.
    return this.#sendWindow(nowMs);
  }

  #onData(wire: number, data: Uint8Array, nowMs: number): TransferAction[] {
    if (this.#phase === "oack") {
      // DATA 1 is the client's answer to our OACK (it stands for ACK 0).
      if (wire !== 1) return [];
      this.#phase = "data";
    }
    const delta = (wire - (this.#expected & 0xffff) + 0x10000) & 0xffff;
    if (delta === 0xffff && this.#lastAck) {
      // The previous block again: our ACK was lost. Answer it (once per copy received) so the sender moves on.
      this.#log.duplicates++;
      return [{ send: this.#lastAck }];
    }
    if (delta !== 0 || this.#phase === "dally") return [];
    if (data.length > this.#log.blksize) {
      return this.#end(nowMs, "protocol-error", ERR.ILLEGAL_OPERATION, `DATA ${wire} carries ${data.length} bytes, more than blksize ${this.#log.blksize}`);
    }
    if (this.#log.bytes + data.length > this.config.maxWriteBytes) {
      return this.#end(nowMs, "aborted", ERR.DISK_FULL, `upload exceeds the ${this.config.maxWriteBytes}-byte limit`);
    }
    this.#chunks.push(data.slice()); // copy: the transport may reuse its receive buffer
    this.#log.bytes += data.length;
    this.#log.blocks = this.#expected;
    this.#progress(this.#expected, nowMs);
    this.#lastAck = ack(wire);
    this.#expected++;
    if (data.length < this.#log.blksize) {
      let all = concat(this.#chunks, this.#log.bytes);
      if (this.#log.mode === "netascii") all = fromNetascii(all);
      this.#chunks = [];
      this.#phase = "storing";
      return [{ store: all }];
    }
    return [{ send: this.#lastAck }, ...this.#arm(nowMs)];
  }

  #sendWindow(nowMs: number): TransferAction[] {
    const out: TransferAction[] = [];
    const last = Math.min(this.#acked + this.#log.windowsize, this.#totalBlocks);
    for (let b = this.#acked + 1; b <= last; b++) {
      if (b <= this.#sent) this.#log.retransmits++;
      out.push({ send: this.#block(b) });
    }
    if (last > this.#sent) {
      this.#sent = last;
      if (this.#timedBlock < 0) (this.#timedBlock = last), (this.#timedAt = nowMs);
    }
    return [...out, ...this.#arm(nowMs)];
  }

  /** DATA for absolute block b (1-based); the wire number wraps to 0 after 65535, as tftp-hpa and curl expect. */
  #block(b: number): Uint8Array {
    const size = this.#log.blksize;
    const from = (b - 1) * size;
    return encodeData(b & 0xffff, this.#data.subarray(from, Math.min(from + size, this.#data.length)));
  }

  /** Progress resets the backoff and feeds the RTT estimate. */
  #progress(block: number, nowMs: number): void {
    this.#retries = 0;
    if (this.#timedBlock >= 0 && block >= this.#timedBlock) {
      const r = nowMs - this.#timedAt;
      if (this.#srtt === undefined) (this.#srtt = r), (this.#rttvar = r / 2);
      else {
        this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - r);
        this.#srtt = 0.875 * this.#srtt + 0.125 * r;
      }
      this.#timedBlock = -1;
    }
    // Twice the smoothed round trip at least: a steady slow peer (a TCG guest) has little variance to add.
    const est = this.#srtt === undefined ? 0 : Math.max(2 * this.#srtt, this.#srtt + 4 * this.#rttvar);
    const lockStepRead = this.#log.kind === "read" && this.#log.windowsize === 1;
    const floor = this.#srtt !== undefined && lockStepRead ? this.config.minReadRetransmitMs : this.config.initialRetransmitMs;
    this.#rto = Math.min(Math.max(est, floor), this.#maxRto);
  }

  #arm(nowMs: number): TransferAction[] {
    this.#deadline = nowMs + this.#rto;
    return [{ timerAt: this.#deadline }];
  }

  #client(): string {
    return `${this.#log.client.address}:${this.#log.client.port}`;
  }

  /** Sends an ERROR and ends: refusals, protocol errors, give-up, abort. */
  #end(nowMs: number, outcome: TransferOutcome, code: number, detail: string, message?: string): TransferAction[] {
    const text = message ?? ERROR_TEXT[code] ?? "Not defined";
    this.#log.error = { code, message: text, by: "server" };
    return [{ send: encodeError(code, text) }, ...this.#finish(nowMs, outcome, detail)];
  }

  #finish(nowMs: number, outcome: TransferOutcome, detail?: string): TransferAction[] {
    return [...this.#finishLog(nowMs, outcome, detail), ...this.#close()];
  }

  #finishLog(nowMs: number, outcome: TransferOutcome, detail?: string): TransferAction[] {
    this.#log.outcome = outcome;
    if (detail !== undefined) this.#log.detail = detail;
    this.#log.durationMs = nowMs - this.#log.startedAtMs;
    return [{ done: this.log }];
  }

  #close(): TransferAction[] {
    this.#phase = "closed";
    this.#data = new Uint8Array(0);
    return [{ close: true }];
  }
}

function ack(block: number): Uint8Array {
  return Uint8Array.of(0, 4, (block >> 8) & 0xff, block & 0xff);
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let i = 0;
  for (const c of chunks) out.set(c, i), (i += c.length);
  return out;
}

function mib(bytes: number, ms: number): string {
  return ms > 0 ? `${(bytes / 1048576 / (ms / 1000)).toFixed(1)} MiB/s` : "-";
}

/** One line per finished transfer, for `bootlab serve tftp` and test failure messages. */
export function describeTransfer(l: TransferLog): string {
  const who = `${l.client.address}:${l.client.port}`;
  const dir = l.kind === "read" ? `${JSON.stringify(l.file)} → ${who}` : `${JSON.stringify(l.file)} ← ${who}`;
  const opts = `blksize ${l.blksize}${l.windowsize > 1 ? ` windowsize ${l.windowsize}` : ""}${l.timeoutS ? ` timeout ${l.timeoutS}` : ""}${l.tsize !== undefined ? ` tsize ${l.tsize}` : ""}`;
  const figures = `${l.bytes} B in ${l.blocks} blocks, ${(l.durationMs / 1000).toFixed(2)} s, ${mib(l.bytes, l.durationMs)}, ` +
    `${l.retransmits} retransmit${l.retransmits === 1 ? "" : "s"}`;
  const end = l.outcome === "ok" ? "ok" :
    `${l.outcome}${l.error ? ` (ERROR ${l.error.code} "${l.error.message}" from ${l.error.by})` : ""}${l.detail ? `: ${l.detail}` : ""}`;
  // A refused request moved no data: its options and figures would only be noise.
  return l.outcome === "refused" ? `${l.kind.padEnd(5)} ${dir}  ${end}` : `${l.kind.padEnd(5)} ${dir}  ${opts}  ${figures}  ${end}`;
}
