// The NBD server: named exports (an image file, read-only, read-write or copy-on-write; or bytes in memory)
// served to one client per connection over any node:stream Duplex — a lab TCP connection (`attach`) or a
// host socket (`listenNbdOnHost`). Fixed newstyle handshake and simple replies only: what Linux's nbd driver,
// nbd-client and QEMU need. Bad input never throws: the session logs why and closes the connection.
// Every session and request is logged, so scenarios can assert "the board read its root from the image".

import { statSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { resolve } from "node:path";
import type { Duplex } from "node:stream";
import { ScenarioError } from "../../errors/failures.ts";
import {
  ClientStreamDecoder,
  CLIENT_FLAG,
  CMD,
  CMD_FLAG,
  commandName,
  DEFAULT_MAX_OPTION_BYTES,
  DEFAULT_MAX_PAYLOAD,
  decodeExportName,
  decodeInfoRequest,
  encodeExportReply,
  encodeGreeting,
  encodeInfoBlockSize,
  encodeInfoDescription,
  encodeInfoExport,
  encodeInfoName,
  encodeOptionError,
  encodeOptionReply,
  encodeServerEntry,
  encodeSimpleReply,
  errorName,
  HANDSHAKE_FLAG,
  INFO,
  MAX_STRING_BYTES,
  NBD_ERR,
  OPT,
  optionName,
  replyName,
  type ClientMessage,
  type OptionMessage,
  type RequestMessage,
  TRANSMISSION_FLAG,
  REP,
} from "./protocol.ts";

/** "copy-on-write": writes go to an in-memory overlay shared by the export's sessions; the source never changes. */
export type NbdWriteMode = "read-only" | "read-write" | "copy-on-write";

/** How an export serves writes, and what it says about itself. */
export interface NbdExportOptions {
  /** Default "read-only". "read-write" on a Uint8Array changes that array. */
  mode?: NbdWriteMode;
  /** Shown by NBD_OPT_LIST and NBD_INFO_DESCRIPTION (`qemu-nbd -L`). */
  description?: string;
}

/** A registered export, for scenarios: what a client would read now, and the copy-on-write overlay. */
export interface NbdExport {
  /** The export name a client asks for. */
  readonly name: string;
  /** Its size in bytes. */
  readonly size: number;
  /** How writes are handled. */
  readonly mode: NbdWriteMode;
  /** The image file, absolute; undefined for an in-memory export. */
  readonly file: string | undefined;
  /** Its description, if given. */
  readonly description: string | undefined;
  /** Copy-on-write: bytes held by the overlay (whole 4 KiB blocks). */
  overlayBytes(): number;
  /** Copy-on-write: forgets every write, so the export reads as its source again. */
  discardOverlay(): void;
  /** The export's content as a client reads it now (overlay applied). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** One option of a handshake and our answer to it. */
export interface NbdOptionRecord {
  option: string;
  /** The export named by EXPORT_NAME, INFO or GO. */
  export?: string;
  /** The reply type that ended our answer ("ACK", "ERR_UNSUP", …), or "EXPORT" / "DISCONNECT" for EXPORT_NAME. */
  reply: string;
  detail?: string;
}

/** A request answered with an error. */
export interface NbdErrorRecord {
  atMs: number;
  command: string;
  /** A number, not the wire's bigint, so logs stay JSON (exact up to 2^53, which any real offset is). */
  offset: number;
  length: number;
  /** "EINVAL", "EPERM", … */
  error: string;
  detail: string;
}

/** How an NBD session ended. */
export type NbdSessionOutcome =
  /** The client sent NBD_CMD_DISC. */
  | "disconnected"
  /** The client sent NBD_OPT_ABORT. */
  | "aborted"
  /** The client closed the connection without either (also mid-message: see detail). */
  | "closed-by-client"
  /** NBD_OPT_EXPORT_NAME named no export (or it could not be opened): the protocol's only answer is to hang up. */
  | "refused"
  /** The client broke the protocol (bad magic, unknown client flags, a length over the limits). */
  | "protocol-error"
  /** server.close() or the listener's signal ended it. */
  | "server-closed"
  /** A bug of ours; the detail says what threw. */
  | "server-error";

/** One NBD client connection, handshake to end (`lan.nbd.sessions`, lan-log.json `nbd`). */
export interface NbdSessionLog {
  /** Sessions are numbered from 1 in the order they connected. */
  id: number;
  /** "address:port" of the client, as its connection says. */
  client: string;
  /** Milliseconds since the server started, at the connection. */
  startedAtMs: number;
  /** At the end, when it ended. */
  endedAtMs?: number;
  /** "handshake" until an export is chosen, then "transmission", then "ended". */
  state: "handshake" | "transmission" | "ended";
  /** The client's handshake flags. */
  clientFlags?: number;
  /** Every handshake option and our answer. */
  options: NbdOptionRecord[];
  /** The export in use after the handshake. */
  export?: string;
  /** How the client entered transmission. */
  via?: "EXPORT_NAME" | "GO";
  /** Read requests served. */
  reads: number;
  /** Bytes read. */
  readBytes: number;
  /** Write requests served. */
  writes: number;
  /** Bytes written. */
  writeBytes: number;
  /** Flush requests. */
  flushes: number;
  /** Trim requests. */
  trims: number;
  /** Every request answered with an error. */
  errors: NbdErrorRecord[];
  /** How it ended. */
  outcome?: NbdSessionOutcome;
  /** Why it ended, in a sentence. */
  detail?: string;
}

/** One transmission request, whatever its answer. */
export interface NbdRequestRecord {
  atMs: number;
  session: number;
  export: string;
  command: string;
  flags: number;
  offset: number;
  length: number;
  /** "OK" or the error name. */
  result: string;
  ms: number;
}

export interface NbdServerOptions {
  /** Largest READ or WRITE accepted (and advertised in NBD_INFO_BLOCK_SIZE). Default 32 MiB. */
  maxPayloadBytes?: number;
  /** Largest option data accepted during the handshake. Default 64 KiB. */
  maxOptionBytes?: number;
  /** Requests kept in `requests`; later ones are only counted in `droppedRequests`. Default 100 000. */
  requestLogLimit?: number;
  /**
   * Sessions served at once (lab LAN and host ports together). A board attaches one or two devices; 32
   * leaves room for a bench of boards and keeps one client that opens connections without end from taking
   * the process's memory and descriptors. Past it a connection is closed before the greeting (NBD has no
   * busy reply; clients report the server hung up). Default 32.
   */
  maxSessions?: number;
  /** Session logs kept in `sessions` (the oldest finished ones dropped first). Default 10 000. */
  sessionLogLimit?: number;
  /** How long a closing connection may take to finish its FIN exchange before it is destroyed. Default 2000 ms. */
  lingerMs?: number;
  /** Called with each session's log when it ends (also kept in `sessions`). */
  onSession?: (log: NbdSessionLog) => void;
  /** Milliseconds on a monotonic clock; tests may replace it. */
  clock?: () => number;
}

/** What `attach` needs of a lab host: its TCP listener. */
export interface TcpListenerHost {
  listenTcp(port: number, onConnection: (conn: Duplex) => void): () => void;
}

export interface ServeOptions {
  /** How the log names the client; default the connection's remoteAddress:remotePort. */
  client?: string;
  /** Aborting it ends the session like server.close() does. */
  signal?: AbortSignal;
}

/** The NBD port IANA assigned. */
export const NBD_PORT = 10809;
/** Granularity of the copy-on-write overlay; the preferred block size we advertise. */
const BLOCK = 4096;

/** A session's view of an export's bytes. */
interface Store {
  read(offset: number, length: number): Promise<Uint8Array>;
  write(offset: number, data: Uint8Array): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

class ExportEntry implements NbdExport {
  readonly name: string;
  readonly size: number;
  readonly mode: NbdWriteMode;
  readonly file: string | undefined;
  readonly description: string | undefined;
  #data: Uint8Array | undefined;
  #overlay = new Map<number, Uint8Array>();

  constructor(name: string, size: number, source: { file: string } | { data: Uint8Array }, opts: NbdExportOptions) {
    this.name = name;
    this.size = size;
    this.mode = opts.mode ?? "read-only";
    this.description = opts.description;
    this.file = "file" in source ? source.file : undefined;
    this.#data = "data" in source ? source.data : undefined;
  }

  get readOnly(): boolean {
    return this.mode === "read-only";
  }

  overlayBytes(): number {
    return this.#overlay.size * BLOCK;
  }

  discardOverlay(): void {
    this.#overlay.clear();
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`export "${this.name}": ${length} bytes at ${offset} are not inside its ${this.size} bytes`);
    }
    const s = await this.open();
    try {
      return await s.read(offset, length);
    } finally {
      await s.close();
    }
  }

  /** A store for one session: its own file handle (closed with the session), the export's shared overlay. */
  async open(): Promise<Store> {
    const fh = this.file === undefined ? undefined : await open(this.file, this.mode === "read-write" ? "r+" : "r");
    const data = this.#data;
    const size = this.size;
    // Always a fresh buffer: the overlay is applied in place, and a reply must not change under the socket.
    const base = fh ? (o: number, l: number) => readFull(fh, o, l) : async (o: number, l: number) => data!.slice(o, o + l);
    const overlay = this.mode === "copy-on-write" ? this.#overlay : undefined;
    return {
      read: async (o, l) => {
        const b = await base(o, l);
        if (overlay && overlay.size) applyOverlay(overlay, b, o);
        return b;
      },
      write: async (o, d) => {
        if (this.mode === "read-only") throw new Error(`export "${this.name}" is read-only`);
        if (overlay) await writeOverlay(overlay, base, o, d, size);
        else if (fh) await writeFull(fh, o, d);
        else data!.set(d, o);
      },
      flush: async () => {
        if (fh && this.mode === "read-write") await fh.datasync();
      },
      close: async () => {
        await fh?.close();
      },
    };
  }
}

/** `length` bytes at `offset`; past the file's end (it shrank since it was registered) reads as zeroes. */
async function readFull(fh: FileHandle, offset: number, length: number): Promise<Uint8Array> {
  const b = new Uint8Array(length);
  for (let pos = 0; pos < length;) {
    const { bytesRead } = await fh.read(b, pos, length - pos, offset + pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
  }
  return b;
}

async function writeFull(fh: FileHandle, offset: number, data: Uint8Array): Promise<void> {
  for (let pos = 0; pos < data.length;) {
    const { bytesWritten } = await fh.write(data, pos, data.length - pos, offset + pos);
    pos += bytesWritten;
  }
}

function applyOverlay(overlay: Map<number, Uint8Array>, b: Uint8Array, offset: number): void {
  if (b.length === 0) return;
  const first = Math.floor(offset / BLOCK);
  const last = Math.floor((offset + b.length - 1) / BLOCK);
  const patch = (i: number, blk: Uint8Array) => {
    const start = Math.max(i * BLOCK, offset);
    const end = Math.min((i + 1) * BLOCK, offset + b.length);
    if (start < end) b.set(blk.subarray(start - i * BLOCK, end - i * BLOCK), start - offset);
  };
  // Walk whichever is shorter: the blocks of the read, or the overlay.
  if (last - first + 1 <= overlay.size) {
    for (let i = first; i <= last; i++) {
      const blk = overlay.get(i);
      if (blk) patch(i, blk);
    }
  } else for (const [i, blk] of overlay) if (i >= first && i <= last) patch(i, blk);
}

async function writeOverlay(
  overlay: Map<number, Uint8Array>, base: (o: number, l: number) => Promise<Uint8Array>, offset: number, data: Uint8Array, size: number,
): Promise<void> {
  for (let pos = 0; pos < data.length;) {
    const abs = offset + pos;
    const i = Math.floor(abs / BLOCK);
    const at = abs - i * BLOCK;
    const n = Math.min(BLOCK - at, data.length - pos);
    let blk = overlay.get(i);
    if (!blk) {
      if (n === BLOCK) blk = new Uint8Array(BLOCK);
      else {
        const fromBase = await base(i * BLOCK, Math.min(BLOCK, size - i * BLOCK));
        // Another session may have written this block while we read the base: its block wins.
        blk = overlay.get(i);
        if (!blk) {
          blk = new Uint8Array(BLOCK);
          blk.set(fromBase);
        }
      }
      overlay.set(i, blk);
    }
    blk.set(data.subarray(pos, pos + n), at);
    pos += n;
  }
}

/**
 * bootlab's NBD server (`lan.nbd`, port 10809 on the lab server; `listenNbdOnHost` for a host port): exports from
 * files or bytes, read-only, read-write or copy-on-write, and a log of every session and request.
 */
export class NbdServer {
  /** Every session, in order of arrival; a live session's counters move as it runs. */
  readonly sessions: NbdSessionLog[] = [];
  /** Every transmission request, up to `requestLogLimit`. */
  readonly requests: NbdRequestRecord[] = [];
  droppedRequests = 0;
  /** Connections closed at once because `maxSessions` were being served; finished session logs dropped. */
  readonly stats = { refusedSessions: 0, droppedSessionLogs: 0 };
  readonly maxSessions: number;
  readonly sessionLogLimit: number;
  #exports = new Map<string, ExportEntry>();
  #live = new Set<Session>();
  #closed = false;
  #nextId = 1;
  readonly #opts: SessionHost["options"] & Pick<NbdServerOptions, "onSession">;
  /** What sessions see of the server. */
  readonly #host: SessionHost;

  constructor(opts: NbdServerOptions = {}) {
    this.#opts = {
      maxPayloadBytes: opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD,
      maxOptionBytes: opts.maxOptionBytes ?? DEFAULT_MAX_OPTION_BYTES,
      requestLogLimit: opts.requestLogLimit ?? 100_000,
      maxSessions: opts.maxSessions ?? 32,
      sessionLogLimit: opts.sessionLogLimit ?? 10_000,
      lingerMs: opts.lingerMs ?? 2000,
      clock: opts.clock ?? (() => performance.now()),
      onSession: opts.onSession,
    };
    this.maxSessions = this.#opts.maxSessions;
    this.sessionLogLimit = this.#opts.sessionLogLimit;
    this.#host = {
      options: this.#opts,
      lookup: (name) => this.#exports.get(name),
      exportNames: () => [...this.#exports.keys()],
      record: (r) => {
        if (this.requests.length < this.#opts.requestLogLimit) this.requests.push(r);
        else this.droppedRequests++;
      },
    };
    const max = this.#opts.maxPayloadBytes;
    if (!Number.isInteger(max) || max < BLOCK || max > 0xffffffff) {
      throw new ScenarioError(`NBD server: maxPayloadBytes ${max} is out of range`, { expected: `an integer from ${BLOCK} to 4294967295` });
    }
  }

  /** Exports an image file (a raw disk image: the client sees its bytes). The file must exist now. */
  addFile(name: string, path: string, opts: NbdExportOptions = {}): NbdExport {
    this.#checkName(name, opts);
    const file = resolve(path);
    let size: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new Error("not a regular file");
      size = st.size;
    } catch (e) {
      throw new ScenarioError(`NBD export "${name}": cannot use ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        { expected: "an existing image file" });
    }
    const e = new ExportEntry(name, size, { file }, opts);
    this.#exports.set(name, e);
    return e;
  }

  /** Exports bytes in memory; "read-write" writes into this very array. */
  addBytes(name: string, data: Uint8Array, opts: NbdExportOptions = {}): NbdExport {
    this.#checkName(name, opts);
    const e = new ExportEntry(name, data.length, { data }, opts);
    this.#exports.set(name, e);
    return e;
  }

  /** A registered export by name. */
  export(name: string): NbdExport | undefined {
    return this.#exports.get(name);
  }

  /** Sessions still running. */
  active(): NbdSessionLog[] {
    return [...this.#live].map((s) => s.log);
  }

  /**
   * Serves one client on `conn` until it disconnects, breaks the protocol, or the server closes. Resolves
   * when the connection is closed; never rejects. The session's log is in `sessions` from the start.
   */
  serve(conn: Duplex, opts: ServeOptions = {}): Promise<void> {
    if (this.#live.size >= this.maxSessions) {
      this.stats.refusedSessions++;
      conn.on("error", () => {});
      return new Promise((resolvePromise) => {
        conn.once("close", () => resolvePromise());
        conn.destroy();
      });
    }
    const s = new Session(this.#host, this.#nextId++, conn, opts);
    if (this.sessions.length >= this.sessionLogLimit) {
      // Drop the oldest finished session's log; live ones are still being written.
      const i = this.sessions.findIndex((l) => l.outcome !== undefined);
      if (i >= 0) {
        this.sessions.splice(i, 1);
        this.stats.droppedSessionLogs++;
      }
    }
    this.sessions.push(s.log);
    this.#live.add(s);
    if (this.#closed) s.stop("the server was already closed");
    return s.run().finally(() => {
      this.#live.delete(s);
      try {
        this.#opts.onSession?.(s.log);
      } catch {
        // A log consumer's bug must not break the server.
      }
    });
  }

  /** Listens on a lab host's TCP port (default 10809, NBD's own). Returns the function that stops listening. */
  attach(host: TcpListenerHost, port = NBD_PORT): () => void {
    return host.listenTcp(port, (conn) => void this.serve(conn));
  }

  /** Ends every session at once (a hard disconnect) and waits for their connections to close. */
  async close(): Promise<void> {
    this.#closed = true;
    const live = [...this.#live];
    for (const s of live) s.stop("the server was closed");
    await Promise.all(live.map((s) => s.done));
  }

  #checkName(name: string, opts: NbdExportOptions): void {
    const bytes = new TextEncoder().encode(name);
    if (bytes.includes(0) || bytes.length > MAX_STRING_BYTES) {
      throw new ScenarioError(`NBD export name ${JSON.stringify(name.slice(0, 40))} is not a protocol string`, { expected: "UTF-8, no NUL, at most 4096 bytes" });
    }
    if (this.#exports.has(name)) throw new ScenarioError(`NBD export "${name}" is already registered`);
    if (opts.mode !== undefined && !["read-only", "read-write", "copy-on-write"].includes(opts.mode)) {
      throw new ScenarioError(`NBD export "${name}": mode "${String(opts.mode)}"`, { expected: '"read-only", "read-write" or "copy-on-write"' });
    }
    if (opts.description !== undefined && new TextEncoder().encode(opts.description).length > MAX_STRING_BYTES) {
      throw new ScenarioError(`NBD export "${name}": the description is over ${MAX_STRING_BYTES} bytes`);
    }
  }
}

interface SessionHost {
  options: Required<Omit<NbdServerOptions, "onSession">>;
  lookup(name: string): ExportEntry | undefined;
  exportNames(): string[];
  record(r: NbdRequestRecord): void;
}

/** One client connection: the handshake, then requests one at a time, replies in order. */
class Session {
  readonly log: NbdSessionLog;
  done: Promise<void> = Promise.resolve();
  #server: SessionHost;
  #conn: Duplex;
  #decoder: ClientStreamDecoder;
  #signal: AbortSignal | undefined;
  #wake: (() => void) | undefined;
  /** Why no more bytes will come, once that is so. */
  #inputEnded: string | undefined;
  #stopped: string | undefined;
  #finished = false;
  #noZeroes = false;
  #export: ExportEntry | undefined;
  #store: Store | undefined;
  /** Above this many buffered bytes the connection is paused; always more than one whole message. */
  #highWater: number;

  constructor(server: SessionHost, id: number, conn: Duplex, opts: ServeOptions) {
    this.#server = server;
    this.#conn = conn;
    this.#signal = opts.signal;
    const o = server.options;
    this.#decoder = new ClientStreamDecoder({ maxOptionBytes: o.maxOptionBytes, maxPayloadBytes: o.maxPayloadBytes });
    this.#highWater = o.maxPayloadBytes + 1024 * 1024;
    const peer = conn as Partial<{ remoteAddress: string; remotePort: number }>;
    const client = opts.client ?? (peer.remoteAddress !== undefined ? `${peer.remoteAddress}:${peer.remotePort ?? "?"}` : "?");
    this.log = {
      id, client, startedAtMs: o.clock(), state: "handshake", options: [],
      reads: 0, readBytes: 0, writes: 0, writeBytes: 0, flushes: 0, trims: 0, errors: [],
    };
  }

  /** Ends the session now: the connection is destroyed, whatever was in flight. */
  stop(reason: string): void {
    if (this.#stopped !== undefined) return;
    this.#stopped = reason;
    this.#end("server-closed", reason);
    if (!this.#conn.destroyed) this.#conn.destroy();
    this.#poke();
  }

  run(): Promise<void> {
    this.done = this.#run();
    return this.done;
  }

  async #run(): Promise<void> {
    const conn = this.#conn;
    const onData = (chunk: unknown) => {
      if (this.#finished) return;
      this.#decoder.push(chunk instanceof Uint8Array ? chunk : Buffer.from(String(chunk), "latin1"));
      if (this.#decoder.buffered > this.#highWater) conn.pause();
      this.#poke();
    };
    const onEnd = () => this.#noMoreInput("the client closed the connection");
    const onClose = () => this.#noMoreInput("the connection closed");
    // Kept after the session too: a late error on a Duplex without a listener would crash the process.
    const onError = (e: Error) => this.#noMoreInput(`the connection failed (${e.message})`);
    const onAbort = () => this.stop("the listener was closed");
    conn.on("data", onData);
    conn.on("end", onEnd);
    conn.on("close", onClose);
    conn.on("error", onError);
    this.#signal?.addEventListener("abort", onAbort, { once: true });
    if (this.#signal?.aborted) onAbort();
    if (conn.destroyed) this.#noMoreInput("the connection was already closed");
    try {
      if (await this.#handshake()) await this.#transmission();
    } catch (e) {
      this.#end("server-error", `internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    } finally {
      this.#finished = true;
      try {
        await this.#store?.close();
      } catch {
        // The session is over; a failing close of a read handle changes nothing for the client.
      }
      await this.#hangUp();
      this.#signal?.removeEventListener("abort", onAbort);
      conn.off("data", onData);
      conn.off("end", onEnd);
      conn.off("close", onClose);
      this.log.state = "ended";
      this.log.endedAtMs = this.#server.options.clock();
    }
  }

  #poke(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #noMoreInput(why: string): void {
    this.#inputEnded ??= why;
    this.#poke();
  }

  /** The first reason wins: a hang-up after a protocol error is not a second story. */
  #end(outcome: NbdSessionOutcome, detail: string): void {
    if (this.log.outcome !== undefined) return;
    this.log.outcome = outcome;
    this.log.detail = detail;
  }

  /** The next message, or undefined when the session is over (its outcome recorded). */
  async #next(): Promise<ClientMessage | undefined> {
    for (;;) {
      if (this.#stopped !== undefined) return undefined;
      const m = this.#decoder.next();
      if (typeof m === "string") {
        this.#end("protocol-error", m);
        return undefined;
      }
      if (m !== undefined) return m;
      if (this.#inputEnded !== undefined) {
        const partial = this.#decoder.pending();
        this.#end("closed-by-client", partial ? `${this.#inputEnded} in the middle of a message (${partial} arrived)` : this.#inputEnded);
        return undefined;
      }
      if (this.#conn.isPaused()) this.#conn.resume();
      await new Promise<void>((r) => (this.#wake = r));
    }
  }

  /** Writes, waiting for the connection to drain; false when it is gone. */
  async #send(b: Uint8Array): Promise<boolean> {
    const conn = this.#conn;
    if (conn.destroyed || conn.writableEnded) return false;
    if (conn.write(b)) return true;
    await new Promise<void>((r) => {
      const done = () => {
        conn.off("drain", done);
        conn.off("close", done);
        r();
      };
      conn.on("drain", done);
      conn.on("close", done);
    });
    return !conn.destroyed;
  }

  /** Ends our side and waits for the connection to close; after lingerMs it is destroyed. */
  async #hangUp(): Promise<void> {
    const conn = this.#conn;
    if (conn.destroyed) return;
    await new Promise<void>((r) => {
      const timer = setTimeout(() => {
        conn.off("close", closed);
        conn.destroy();
        r();
      }, this.#server.options.lingerMs);
      const closed = () => {
        clearTimeout(timer);
        r();
      };
      conn.once("close", closed);
      conn.resume(); // let the client's FIN arrive even if we had paused reading
      conn.end();
    });
  }

  #option(o: OptionMessage, reply: number | "EXPORT" | "DISCONNECT", name?: string, detail?: string): void {
    const r: NbdOptionRecord = { option: optionName(o.option), reply: typeof reply === "number" ? replyName(reply) : reply };
    if (name !== undefined) r.export = name;
    if (detail !== undefined) r.detail = detail;
    this.log.options.push(r);
  }

  async #refuseOption(o: OptionMessage, reply: number, message: string, name?: string): Promise<void> {
    this.#option(o, reply, name, message);
    await this.#send(encodeOptionError(o.option, reply, message));
  }

  #flags(e: ExportEntry): number {
    const F = TRANSMISSION_FLAG;
    return e.readOnly ? F.HAS_FLAGS | F.READ_ONLY | F.SEND_FLUSH : F.HAS_FLAGS | F.SEND_FLUSH | F.SEND_FUA | F.SEND_TRIM;
  }

  #unknownExport(name: string): string {
    const names = this.#server.exportNames().map((n) => JSON.stringify(n));
    return `no export named ${JSON.stringify(name)}; this server has ${names.length ? names.join(", ") : "none"}`;
  }

  /** Opens the export for this session; the reason it cannot be, if so. */
  async #openExport(e: ExportEntry): Promise<string | undefined> {
    try {
      this.#store = await e.open();
      this.#export = e;
      return undefined;
    } catch (err) {
      return `export ${JSON.stringify(e.name)}: cannot open ${e.file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    }
  }

  #enterTransmission(e: ExportEntry, via: "EXPORT_NAME" | "GO"): void {
    this.#decoder.phase = "transmission";
    this.log.state = "transmission";
    this.log.export = e.name;
    this.log.via = via;
  }

  /** Greeting, client flags, options. True when an export was chosen and transmission begins. */
  async #handshake(): Promise<boolean> {
    await this.#send(encodeGreeting(HANDSHAKE_FLAG.FIXED_NEWSTYLE | HANDSHAKE_FLAG.NO_ZEROES));
    const first = await this.#next();
    if (first?.type !== "client-flags") return false;
    this.log.clientFlags = first.flags;
    const unknown = first.flags & ~(CLIENT_FLAG.FIXED_NEWSTYLE | CLIENT_FLAG.NO_ZEROES);
    if (unknown !== 0) {
      // The protocol says to drop a client whose flags we do not understand.
      this.#end("protocol-error", `client flags 0x${first.flags.toString(16)} set bits this server does not know (0x${unknown.toString(16)})`);
      return false;
    }
    this.#noZeroes = (first.flags & CLIENT_FLAG.NO_ZEROES) !== 0;

    for (;;) {
      const m = await this.#next();
      if (m?.type !== "option") return false;
      switch (m.option) {
        case OPT.EXPORT_NAME: {
          const n = decodeExportName(m.data);
          const name = typeof n === "string" ? undefined : n.name;
          const e = name === undefined ? undefined : this.#server.lookup(name);
          // NBD_OPT_EXPORT_NAME cannot be answered with an error: hanging up is the only refusal.
          const why = typeof n === "string" ? `NBD_OPT_EXPORT_NAME: ${n}` : !e ? this.#unknownExport(n.name) : await this.#openExport(e);
          if (why !== undefined || !e) {
            this.#option(m, "DISCONNECT", name, why);
            this.#end("refused", why ?? "no export");
            return false;
          }
          this.#option(m, "EXPORT", e.name);
          await this.#send(encodeExportReply(e.size, this.#flags(e), !this.#noZeroes));
          this.#enterTransmission(e, "EXPORT_NAME");
          return true;
        }
        case OPT.INFO:
        case OPT.GO: {
          const req = decodeInfoRequest(m.data);
          if (typeof req === "string") {
            await this.#refuseOption(m, REP.ERR_INVALID, `NBD_OPT_${optionName(m.option)}: ${req}`);
            break;
          }
          const e = this.#server.lookup(req.name);
          if (!e) {
            await this.#refuseOption(m, REP.ERR_UNKNOWN, this.#unknownExport(req.name), req.name);
            break;
          }
          if (m.option === OPT.GO) {
            const why = await this.#openExport(e);
            if (why !== undefined) {
              await this.#refuseOption(m, REP.ERR_UNKNOWN, why, req.name);
              break;
            }
          }
          const infos = [encodeInfoExport(e.size, this.#flags(e))];
          for (const r of new Set(req.requests)) {
            if (r === INFO.NAME) infos.push(encodeInfoName(e.name));
            else if (r === INFO.DESCRIPTION && e.description !== undefined) infos.push(encodeInfoDescription(e.description));
            else if (r === INFO.BLOCK_SIZE) infos.push(encodeInfoBlockSize(1, BLOCK, this.#server.options.maxPayloadBytes));
          }
          for (const i of infos) await this.#send(encodeOptionReply(m.option, REP.INFO, i));
          await this.#send(encodeOptionReply(m.option, REP.ACK));
          this.#option(m, REP.ACK, e.name);
          if (m.option === OPT.GO) {
            this.#enterTransmission(e, "GO");
            return true;
          }
          break;
        }
        case OPT.LIST: {
          if (m.data.length) {
            await this.#refuseOption(m, REP.ERR_INVALID, `NBD_OPT_LIST carries no data, got ${m.data.length} bytes`);
            break;
          }
          for (const name of this.#server.exportNames()) {
            await this.#send(encodeOptionReply(OPT.LIST, REP.SERVER, encodeServerEntry(name, this.#server.lookup(name)!.description)));
          }
          await this.#send(encodeOptionReply(OPT.LIST, REP.ACK));
          this.#option(m, REP.ACK);
          break;
        }
        case OPT.ABORT:
          this.#option(m, REP.ACK);
          await this.#send(encodeOptionReply(OPT.ABORT, REP.ACK));
          this.#end("aborted", "the client sent NBD_OPT_ABORT");
          return false;
        default:
          // TLS, structured replies, metadata contexts, extended headers: the client falls back without them.
          await this.#refuseOption(m, REP.ERR_UNSUP, `bootlab's NBD server does not support NBD_OPT_${optionName(m.option)}`);
      }
    }
  }

  async #transmission(): Promise<void> {
    for (;;) {
      const m = await this.#next();
      if (m?.type !== "request") return;
      if (m.command === CMD.DISC) {
        this.#record(m, 0, 0);
        this.#end("disconnected", "the client sent NBD_CMD_DISC");
        return;
      }
      await this.#request(m);
    }
  }

  async #request(r: RequestMessage): Promise<void> {
    const clock = this.#server.options.clock;
    const t0 = clock();
    const e = this.#export!;
    const store = this.#store!;
    const name = commandName(r.command);
    const end = r.offset + BigInt(r.length);
    const size = BigInt(e.size);
    const where = `${r.length} bytes at offset ${r.offset}`;
    let error = 0;
    let detail = "";
    let data: Uint8Array | undefined;
    const fail = (code: number, why: string) => {
      error = code;
      detail = why;
    };
    const io = async (what: string, f: () => Promise<void>) => {
      try {
        await f();
      } catch (x) {
        fail(NBD_ERR.EIO, `${what} ${e.file ?? "memory"} failed: ${(x as NodeJS.ErrnoException).code ?? (x as Error).message}`);
      }
    };
    // FUA is accepted on every command (clients are known to set it where it means nothing).
    const badFlags = r.flags & ~CMD_FLAG.FUA;
    if (badFlags) fail(NBD_ERR.EINVAL, `${name} with command flags 0x${r.flags.toString(16)}, which this server does not support`);
    else {
      switch (r.command) {
        case CMD.READ:
          if (r.length > this.#server.options.maxPayloadBytes) fail(NBD_ERR.EINVAL, `READ of ${r.length} bytes is over the ${this.#server.options.maxPayloadBytes}-byte payload limit`);
          else if (end > size) fail(NBD_ERR.EINVAL, `READ of ${where} ends past the end of export "${e.name}" (${e.size} bytes)`);
          else await io("reading", async () => void (data = await store.read(Number(r.offset), r.length)));
          if (!error) {
            this.log.reads++;
            this.log.readBytes += r.length;
          }
          break;
        case CMD.WRITE:
          if (e.readOnly) fail(NBD_ERR.EPERM, `WRITE of ${where}: export "${e.name}" is read-only`);
          else if (end > size) fail(NBD_ERR.ENOSPC, `WRITE of ${where} ends past the end of export "${e.name}" (${e.size} bytes)`);
          else {
            await io("writing", () => store.write(Number(r.offset), r.data!));
            if (!error && r.flags & CMD_FLAG.FUA) await io("flushing", () => store.flush());
          }
          if (!error) {
            this.log.writes++;
            this.log.writeBytes += r.length;
          }
          break;
        case CMD.FLUSH:
          await io("flushing", () => store.flush());
          if (!error) this.log.flushes++;
          break;
        case CMD.TRIM:
          // A hint; the export's bytes stay as they are, which the protocol allows.
          if (e.readOnly) fail(NBD_ERR.EPERM, `TRIM of ${where}: export "${e.name}" is read-only`);
          else if (end > size) fail(NBD_ERR.EINVAL, `TRIM of ${where} ends past the end of export "${e.name}" (${e.size} bytes)`);
          else this.log.trims++;
          break;
        default:
          fail(NBD_ERR.EINVAL, `${name} is not supported by this server (it was not advertised)`);
      }
    }
    if (error) this.log.errors.push({ atMs: clock(), command: name, offset: Number(r.offset), length: r.length, error: errorName(error), detail });
    this.#record(r, error, clock() - t0);
    await this.#send(encodeSimpleReply(error, r.cookie, error ? undefined : data));
  }

  #record(r: RequestMessage, error: number, ms: number): void {
    this.#server.record({
      atMs: this.#server.options.clock(), session: this.log.id, export: this.#export?.name ?? "", command: commandName(r.command),
      flags: r.flags, offset: Number(r.offset), length: r.length, result: errorName(error), ms: Math.round(ms * 1000) / 1000,
    });
  }
}

/** One line for logs and test failures: `#3 127.0.0.1:41234 "root" via GO: 120 reads (16777216 bytes), … ; disconnected`. */
export function describeSession(s: NbdSessionLog): string {
  const what = s.export === undefined ? "no export" : `${JSON.stringify(s.export)} via ${s.via}`;
  const counts = `${s.reads} reads (${s.readBytes} bytes), ${s.writes} writes (${s.writeBytes} bytes), ${s.flushes} flushes, ${s.trims} trims, ${s.errors.length} errors`;
  const took = s.endedAtMs === undefined ? "running" : `${Math.round(s.endedAtMs - s.startedAtMs)} ms`;
  return `#${s.id} ${s.client} ${what}: ${counts}; ${s.outcome ?? s.state}${s.detail ? ` (${s.detail})` : ""}, ${took}`;
}
