// The TFTP server: a listening port, one TftpTransfer per request, each on its own ephemeral socket (its
// transfer ID) with one timer, both owned here and released when the transfer ends or the server closes.
// It runs on any DatagramNetwork — the lab LAN's host stack or real host UDP (`bootlab serve tftp`).
// Files come from generated entries (per request) and from a root folder no request can leave.

import { lstatSync, mkdirSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import type { DatagramNetwork, DatagramSocket, Endpoint } from "../../net/datagram.ts";
import { ScenarioError } from "../../errors/failures.ts";
import { decodePacket, encodeError, ERR, OP, type RequestPacket } from "./packets.ts";
import { checkTransferConfig, TftpTransfer, type TransferAction, type TransferConfig, type TransferLog, type TransferSource } from "./transfer.ts";

/** Files made per request: a table, or a function of the (confined, relative) name and the client. */
export type GeneratedFiles =
  | Map<string, Uint8Array>
  | Record<string, Uint8Array>
  | ((name: string, client: Endpoint) => Uint8Array | undefined | Promise<Uint8Array | undefined>);

export interface TftpServerOptions {
  network: DatagramNetwork;
  /** The port requests arrive on. Default 69. */
  port?: number;
  /** Serve files from this folder; requests cannot leave it (`..`, symlinks pointing out: error 2). */
  root?: string;
  /** Answered before the root: a boot script made for this client, a file a scenario built in memory… */
  files?: GeneratedFiles;
  /** Accept uploads (WRQ) into the root. Default false: uploads get error 2. */
  write?: boolean;
  /** Retransmit timing, blksize and windowsize caps, upload limit (see TransferConfig). */
  transfer?: Partial<TransferConfig>;
  /** Called with each finished transfer's log (also kept in `server.log`). */
  onTransfer?: (log: TransferLog) => void;
  /** Milliseconds on a monotonic clock; tests may replace it. */
  clock?: () => number;
  /** What one server (and one client of it) may take; see DEFAULT_TFTP_LIMITS for why each default. */
  limits?: Partial<TftpServerLimits>;
}

/**
 * What one TFTP server takes at most (transfers at once, sizes, log entries): past a bound a client gets a TFTP
 * error and the server goes on.
 */
export interface TftpServerLimits {
  /** Transfers at once; past it a request gets ERROR 0 "Server busy" from the listening port. */
  maxTransfers: number;
  /** Transfers at once from one IP address (whatever its ports); past it, the same ERROR. */
  maxTransfersPerClient: number;
  /** Uploads at once: each holds up to transfer.maxWriteBytes in memory until stored. */
  maxUploads: number;
  /** Entries kept in `requests` and in `log` each, oldest dropped first (counted in stats). */
  logLimit: number;
}

export const DEFAULT_TFTP_LIMITS: Readonly<TftpServerLimits> = {
  // A bench of boards netbooting at once, each fetching a kernel, a DTB and an initrd in turn.
  maxTransfers: 64,
  // U-Boot and the Linux tftp clients fetch one file at a time; a few in parallel is a script, more a flood.
  maxTransfersPerClient: 8,
  // Flash backups are the only uploads a lab sees, one per board being recovered.
  maxUploads: 4,
  // Far more than any scenario asserts on; `bootlab serve tftp` running for weeks stays in bounds.
  logLimit: 10_000,
};

/** One datagram that reached the listening port, whatever became of it. */
export interface TftpRequestRecord {
  /** On the server's clock (`clock`, default performance.now()). */
  atMs: number;
  /** Who sent it. */
  client: Endpoint;
  /** "RRQ", "WRQ", or "malformed" / "other" for what was not a request. */
  op: "RRQ" | "WRQ" | "malformed" | "other";
  /** The file name asked for. */
  file?: string;
  /** "started" a transfer, repeated one in progress ("duplicate"), or was answered with ERROR 4 / "ignored". */
  result: "started" | "duplicate" | "error" | "ignored";
  /** Why it was refused or ignored. */
  detail?: string;
}

/** Counters of what reached a TFTP server and was not a plain request. */
export interface TftpServerStats {
  /** Requests that repeated one already being served (the client's retransmit, or a duplicated datagram). */
  duplicateRequests: number;
  /** Undecodable requests to the listening port (answered with ERROR 4). */
  malformedRequests: number;
  /** Datagrams to the listening port that were not requests (ignored). */
  ignored: number;
  /** Datagrams to a transfer's port from another endpoint (answered with ERROR 5, RFC 1350). */
  strangers: number;
  /** Requests answered "Server busy" because a limit was reached. */
  busy: number;
  /** Entries dropped from `requests` and `log` because `logLimit` were kept. */
  droppedRequests: number;
  droppedLogs: number;
}

interface Active {
  /** Who sent it. */
  client: Endpoint;
  key: string;
  request: Uint8Array;
  socket?: DatagramSocket;
  /** False when the listening socket stands in (the ephemeral bind failed): never close it here. */
  ownSocket: boolean;
  transfer?: TftpTransfer;
  timer?: ReturnType<typeof setTimeout>;
  /** When the pending timer fires. */
  timerFiresAt: number;
  queue: TransferAction[];
  running: boolean;
  closed: boolean;
  /** Lets go of a file's bytes shared with other transfers of it. */
  releaseFile?: () => void;
}

/** One file's bytes, read once and shared by every transfer of it that overlaps. */
interface SharedFile {
  key: string;
  data: Promise<Uint8Array>;
  users: number;
}

/**
 * bootlab's TFTP server (`lan.tftp`, and `addTftpHost`'s): RFC 1350 with blksize, windowsize, tsize and timeout
 * options, uploads when allowed, and a log of every transfer.
 */
export class TftpServer {
  /** The listening port (69 on the lab LAN). */
  readonly port: number;
  /** Every finished transfer, in order of completion: what scenarios and tests assert on. */
  readonly log: TransferLog[] = [];
  /** Every datagram to the listening port: count a client's RRQs, retries included. */
  readonly requests: TftpRequestRecord[] = [];
  /** Counters of what was not a plain request, and of what the server's bounds turned away or dropped. */
  readonly stats: TftpServerStats = { duplicateRequests: 0, malformedRequests: 0, ignored: 0, strangers: 0, busy: 0, droppedRequests: 0, droppedLogs: 0 };
  readonly limits: Readonly<TftpServerLimits>;
  #shared = new Map<string, SharedFile>();
  #opts: TftpServerOptions;
  #listen: DatagramSocket;
  #root: string | undefined;
  #files: Map<string, Uint8Array> | ((name: string, client: Endpoint) => Uint8Array | undefined | Promise<Uint8Array | undefined>) | undefined;
  #active = new Set<Active>();
  #byClient = new Map<string, Active>();
  #starting = new Set<Promise<void>>();
  #closed = false;
  #clock: () => number;
  #uploads = 0;

  private constructor(opts: TftpServerOptions, listen: DatagramSocket, root: string | undefined) {
    this.#opts = opts;
    this.#listen = listen;
    this.port = listen.port;
    this.#root = root;
    this.#clock = opts.clock ?? (() => performance.now());
    this.limits = { ...DEFAULT_TFTP_LIMITS, ...opts.limits };
    const f = opts.files;
    if (typeof f === "function") this.#files = f;
    else if (f) {
      this.#files = new Map();
      for (const [name, data] of f instanceof Map ? f : Object.entries(f)) {
        const rel = confine(name);
        if (typeof rel !== "string") throw new ScenarioError(`TFTP generated file "${name}": ${rel.detail}`);
        this.#files.set(rel, data);
      }
    }
    listen.onMessage((data, from) => this.#onRequest(data, from));
  }

  /** Binds the listening port and starts answering. A missing root is a configuration error. */
  static async start(opts: TftpServerOptions): Promise<TftpServer> {
    const bad = checkTransferConfig(opts.transfer ?? {});
    if (bad.length) throw new ScenarioError(`TFTP server: ${bad.join("; ")}`);
    let root: string | undefined;
    if (opts.root !== undefined) {
      try {
        root = realpathSync(opts.root);
        if (!statSync(root).isDirectory()) throw new Error("not a folder");
      } catch (e) {
        throw new ScenarioError(`TFTP root "${opts.root}" is not a readable folder (${(e as Error).message})`, { expected: "an existing folder" });
      }
    }
    const listen = await opts.network.bind(opts.port ?? 69);
    try {
      return new TftpServer(opts, listen, root);
    } catch (e) {
      listen.close();
      throw e;
    }
  }

  /**
   * The next finished transfer of `file` after the first `after` of them in the log (undefined if none
   * finishes within `timeoutMs`). A client prints "done" when it has the last block; the server logs the
   * transfer when that last ACK reaches it, a moment later: read the log through this, not right away.
   */
  async finished(file: string, after: number, timeoutMs = 5000): Promise<TransferLog | undefined> {
    const nth = () => this.log.filter((t) => t.file === file)[after];
    const deadline = performance.now() + timeoutMs;
    while (!nth() && performance.now() < deadline && !this.#closed) await new Promise((r) => setTimeout(r, 10));
    return nth();
  }

  /** Transfers in progress (their logs so far). */
  active(): TransferLog[] {
    return [...this.#active].flatMap((a) => (a.transfer ? [a.transfer.log] : []));
  }

  /** Stops listening, ends every transfer (ERROR 0 to its client), clears every timer and socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listen.close();
    await Promise.allSettled([...this.#starting]);
    for (const a of [...this.#active]) {
      if (a.transfer) this.#run(a, a.transfer.abort(this.#clock(), "the server was closed", ERR.NOT_DEFINED, "Server shutting down"));
      this.#release(a);
    }
  }

  #record(r: TftpRequestRecord): void {
    if (this.requests.length >= this.limits.logLimit) {
      this.requests.shift();
      this.stats.droppedRequests++;
    }
    this.requests.push(r);
  }

  /** Files being sent right now (distinct files: transfers of one file share its bytes). */
  get filesHeld(): number {
    return this.#shared.size;
  }

  /** Why one more transfer for `client` would be too many, if it would. */
  #busy(client: Endpoint, op: "RRQ" | "WRQ"): string | undefined {
    const l = this.limits;
    if (this.#active.size >= l.maxTransfers) return `${this.#active.size} transfers in progress (limit ${l.maxTransfers})`;
    let mine = 0, uploads = 0;
    for (const a of this.#active) {
      if (a.client.address === client.address) mine++;
      if (a.transfer?.log.kind === "write" || a.request[1] === OP.WRQ) uploads++;
    }
    if (mine >= l.maxTransfersPerClient) return `${mine} transfers in progress for ${client.address} (limit ${l.maxTransfersPerClient} per client)`;
    if (op === "WRQ" && uploads >= l.maxUploads) return `${uploads} uploads in progress (limit ${l.maxUploads})`;
    return undefined;
  }

  #onRequest(data: Uint8Array, from: Endpoint): void {
    if (this.#closed) return;
    const p = decodePacket(data);
    const client = { address: from.address, port: from.port };
    const atMs = this.#clock();
    if (typeof p === "string") {
      const op = data.length >= 2 ? (data[0]! << 8) | data[1]! : -1;
      if (op === OP.RRQ || op === OP.WRQ) {
        this.stats.malformedRequests++;
        this.#record({ atMs, client, op: "malformed", result: "error", detail: p });
        this.#listen.send(from, encodeError(ERR.ILLEGAL_OPERATION, `Illegal TFTP operation: ${p}`));
      } else {
        this.stats.ignored++;
        this.#record({ atMs, client, op: "malformed", result: "ignored", detail: p });
      }
      return;
    }
    if (p.op !== "RRQ" && p.op !== "WRQ") {
      this.stats.ignored++;
      this.#record({ atMs, client, op: "other", result: "ignored", detail: `${p.op} sent to the listening port` });
      return;
    }
    const key = `${from.address}:${from.port}`;
    const same = this.#byClient.get(key);
    if (same && !same.closed && equalBytes(same.request, data)) {
      // Our answer is on its way or its own timer will repeat it; a second transfer would only compete.
      this.stats.duplicateRequests++;
      this.#record({ atMs, client, op: p.op, file: p.filename, result: "duplicate" });
      return;
    }
    const busy = this.#busy(client, p.op);
    if (busy) {
      // The server goes on; the client hears why (U-Boot prints the text) and may try again later.
      this.stats.busy++;
      this.#record({ atMs, client, op: p.op, file: p.filename, result: "error", detail: `busy: ${busy}` });
      this.#listen.send(from, encodeError(ERR.NOT_DEFINED, "Server busy, try again later"));
      return;
    }
    this.#record({ atMs, client, op: p.op, file: p.filename, result: "started" });
    const a: Active = {
      client, key, request: data.slice(), ownSocket: true, timerFiresAt: Infinity, queue: [], running: false, closed: false,
    };
    this.#active.add(a);
    this.#byClient.set(key, a);
    const started = this.#begin(a, p).finally(() => this.#starting.delete(started));
    this.#starting.add(started);
  }

  async #begin(a: Active, req: RequestPacket): Promise<void> {
    let source: TransferSource;
    try {
      a.socket = await this.#opts.network.bind(0);
      source = await this.#source(req, a.client, a);
    } catch (e) {
      // No transfer ID to answer from (or an unexpected failure): answer from the listening port.
      source = { refuse: { code: ERR.NOT_DEFINED, message: "Server error", detail: `could not start the transfer: ${(e as Error).message}` } };
      if (!a.socket) (a.socket = this.#listen), (a.ownSocket = false);
    }
    if (this.#closed) return this.#release(a);
    const t = new TftpTransfer({ request: req, client: a.client, source, config: this.#opts.transfer });
    a.transfer = t;
    if (a.ownSocket) {
      a.socket.onMessage((data, from) => {
        if (a.closed) return;
        if (from.address !== a.client.address || from.port !== a.client.port) {
          this.stats.strangers++;
          a.socket!.send(from, encodeError(ERR.UNKNOWN_TID));
          return;
        }
        this.#run(a, t.onPacket(data, this.#clock()));
      });
    }
    this.#run(a, t.start(this.#clock()));
  }

  /** Performs a transfer's actions in order; actions produced meanwhile (a synchronous network) queue up. */
  #run(a: Active, actions: TransferAction[]): void {
    a.queue.push(...actions);
    if (a.running) return;
    a.running = true;
    try {
      let act: TransferAction | undefined;
      while (!a.closed && (act = a.queue.shift()) !== undefined) {
        if ("send" in act) a.socket!.send(a.client, act.send);
        else if ("timerAt" in act) {
          // Every ACK moves the deadline later; rather than a new timer per packet, let the pending one fire
          // (the transfer answers an early call with its current deadline) and only re-arm for an earlier one.
          if (a.timer !== undefined && a.timerFiresAt <= act.timerAt) continue;
          if (a.timer !== undefined) clearTimeout(a.timer);
          a.timerFiresAt = act.timerAt;
          a.timer = setTimeout(() => {
            a.timer = undefined;
            a.timerFiresAt = Infinity;
            this.#run(a, a.transfer!.onTimer(this.#clock()));
          }, Math.max(0, act.timerAt - this.#clock()));
        } else if ("store" in act) {
          let failure: string | undefined;
          try {
            this.#store(a.transfer!.log.file, act.store);
          } catch (e) {
            failure = (e as Error).message;
          }
          a.queue.push(...a.transfer!.stored(this.#clock(), failure));
        } else if ("done" in act) {
          if (this.log.length >= this.limits.logLimit) {
            this.log.shift();
            this.stats.droppedLogs++;
          }
          this.log.push(act.done);
          try {
            this.#opts.onTransfer?.(act.done);
          } catch {
            // A log consumer's bug must not stop the transfer machinery.
          }
        } else if ("close" in act) this.#release(a);
      }
    } finally {
      a.running = false;
    }
  }

  #release(a: Active): void {
    if (a.closed) return;
    a.closed = true;
    a.queue = [];
    if (a.timer !== undefined) clearTimeout(a.timer);
    a.timer = undefined;
    if (a.ownSocket) a.socket?.close();
    a.releaseFile?.();
    a.releaseFile = undefined;
    this.#active.delete(a);
    if (this.#byClient.get(a.key) === a) this.#byClient.delete(a.key);
  }

  /** Where a request's bytes come from, or why it is refused. Never throws for a bad name. */
  async #source(req: RequestPacket, client: Endpoint, a: Active): Promise<TransferSource> {
    const rel = confine(req.filename);
    if (typeof rel !== "string") return { refuse: rel };
    if (req.op === "WRQ") {
      if (!this.#opts.write) return refuse(ERR.ACCESS_VIOLATION, "uploads are not enabled on this server");
      if (this.#root === undefined) return refuse(ERR.ACCESS_VIOLATION, "uploads need a root folder");
      const escape = writeTargetEscapes(this.#root, rel);
      return escape ? refuse(ERR.ACCESS_VIOLATION, escape) : { write: true };
    }
    const files = this.#files;
    if (files) {
      try {
        const data = typeof files === "function" ? await files(rel, client) : files.get(rel);
        if (data) return { read: data };
      } catch (e) {
        return { refuse: { code: ERR.NOT_DEFINED, message: "Server error", detail: `generating "${rel}" failed: ${(e as Error).message}` } };
      }
    }
    if (this.#root === undefined) return refuse(ERR.FILE_NOT_FOUND, `"${rel}" is not a generated file and there is no root folder`);
    const full = join(this.#root, rel);
    let real: string;
    try {
      real = await realpath(full);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") {
        // A dangling symlink pointing out of the root is still an escape attempt, not a missing file.
        return dangles(this.#root, full) ?? refuse(ERR.FILE_NOT_FOUND, `${full} does not exist`);
      }
      return refuse(ERR.ACCESS_VIOLATION, `${full}: ${code ?? (e as Error).message}`);
    }
    if (!inside(this.#root, real)) return refuse(ERR.ACCESS_VIOLATION, `${full} resolves to ${real}, outside the root ${this.#root}`);
    try {
      const st = await stat(real);
      if (!st.isFile()) return refuse(ERR.FILE_NOT_FOUND, `${full} is not a regular file`);
      return { read: await this.#share(real, `${real}\0${st.size}\0${st.mtimeMs}`, a) };
    } catch (e) {
      return refuse(ERR.ACCESS_VIOLATION, `cannot read ${full}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }

  /**
   * The file's bytes, read once for all transfers of it in progress: ten boards fetching one 64 MiB image
   * hold 64 MiB, not 640. Let go when the last of them ends (a Buffer is a Uint8Array: no copy either).
   */
  #share(real: string, key: string, a: Active): Promise<Uint8Array> {
    let f = this.#shared.get(real);
    if (!f || f.key !== key) {
      const fresh: SharedFile = { key, data: readFile(real), users: 0 };
      // A failed read is not kept for the next request.
      fresh.data.catch(() => this.#shared.get(real) === fresh && this.#shared.delete(real));
      f = fresh;
      this.#shared.set(real, f);
    }
    const file = f;
    file.users++;
    a.releaseFile = () => {
      if (--file.users === 0 && this.#shared.get(real) === file) this.#shared.delete(real);
    };
    return file.data;
  }

  /** Writes an upload atomically (temporary file, then rename), so a failed upload leaves no half file. */
  #store(file: string, data: Uint8Array): void {
    const rel = confine(file);
    if (typeof rel !== "string" || this.#root === undefined) throw new Error(`"${file}" cannot be stored`);
    const target = join(this.#root, rel);
    mkdirSync(dirname(target), { recursive: true });
    const parent = realpathSync(dirname(target));
    if (!inside(this.#root, parent)) throw new Error(`${dirname(target)} resolves outside the root`);
    const tmp = join(parent, `.${basename(target)}.upload-${process.pid}-${++this.#uploads}`);
    try {
      writeFileSync(tmp, data);
      renameSync(tmp, join(parent, basename(target)));
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }
}

export function startTftpServer(opts: TftpServerOptions): Promise<TftpServer> {
  return TftpServer.start(opts);
}

function refuse(code: number, detail: string): TransferSource {
  return { refuse: { code, detail } };
}

/**
 * A requested name as a path relative to the root, or a refusal. Leading slashes are dropped (an absolute
 * name is looked up under the root, as tftpd-hpa -s does); any ".." component is refused outright.
 */
export function confine(name: string): string | { code: number; detail: string } {
  const parts = name.split("/").filter((s) => s !== "" && s !== ".");
  if (parts.includes("..")) return { code: ERR.ACCESS_VIOLATION, detail: `"${name}" climbs out of the root with ".."` };
  if (parts.length === 0) return { code: ERR.FILE_NOT_FOUND, detail: `"${name}" names no file` };
  return parts.join("/");
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** For a missing path: if a symlink on the way points out of the root, that is an access violation. */
function dangles(root: string, full: string): TransferSource | undefined {
  for (let p = full; inside(root, p) && p !== root; p = dirname(p)) {
    let target: string;
    try {
      if (!lstatSync(p).isSymbolicLink()) continue;
      target = resolve(dirname(p), readlinkSync(p));
    } catch {
      continue;
    }
    if (!inside(root, target)) return refuse(ERR.ACCESS_VIOLATION, `${p} is a symlink to ${target}, outside the root ${root}`);
  }
  return undefined;
}

/** Why an upload to `rel` would land outside the root (through a symlinked folder or file), if it would. */
function writeTargetEscapes(root: string, rel: string): string | undefined {
  const target = join(root, rel);
  try {
    const st = lstatSync(target);
    if (st.isDirectory()) return `${target} is a folder`;
    if (st.isSymbolicLink()) return `${target} is a symlink; uploads do not follow symlinks`;
  } catch {
    // Does not exist yet: check the nearest existing folder above it.
  }
  for (let p = dirname(target); ; p = dirname(p)) {
    let real: string;
    try {
      real = realpathSync(p);
    } catch {
      if (p === root || p === dirname(p)) return `the root ${root} is gone`;
      continue;
    }
    return inside(root, real) ? undefined : `${p} resolves to ${real}, outside the root ${root}`;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
