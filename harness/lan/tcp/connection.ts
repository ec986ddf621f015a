// A lab TCP connection as a node:stream Duplex, so HTTP, NBD and ssh2 code use it like a socket. The protocol
// is core.ts; this adapter only moves bytes between the core and the stream, owns the one real timer, and
// tells the core how much of what it delivered the reader has taken — that free space is the window the peer
// sees, so a slow reader slows the sender instead of growing our memory.

import { Duplex } from "node:stream";
import type { TcpSegment } from "../packets/tcp.ts";
import { TcpCore, type TcpConfig, type TcpOutput, type TcpState } from "./core.ts";

export type { TcpState } from "./core.ts";

/** What a connection needs from its host: a way to send a segment to the peer. */
export interface TcpWire {
  send(seg: TcpSegment): void;
  /** Called once the connection is finished with, so the host forgets it. */
  forget(): void;
}

/** Writes are held (the writer waits) while this much is queued and unacknowledged. */
const SEND_HIGH_WATER = 256 * 1024;

export class TcpConnection extends Duplex {
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly core: TcpCore;
  #wire: TcpWire;
  #clock: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerFiresAt = Infinity;
  #queue: TcpOutput[] = [];
  #running = false;
  #gone = false;
  #pendingWrite: (() => void) | undefined;
  #idleMs = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #lastActivity = 0;
  #onEstablished: ((err?: Error) => void) | undefined;

  constructor(o: {
    wire: TcpWire; localPort: number; remoteAddress: string; remotePort: number; iss: number; onEstablished?: (err?: Error) => void;
    config?: Partial<TcpConfig>; clock?: () => number;
  }) {
    super({ allowHalfOpen: true, readableHighWaterMark: 64 * 1024 });
    this.#wire = o.wire;
    this.localPort = o.localPort;
    this.remoteAddress = o.remoteAddress;
    this.remotePort = o.remotePort;
    this.#clock = o.clock ?? (() => performance.now());
    this.core = new TcpCore({ localPort: o.localPort, remotePort: o.remotePort, iss: o.iss, config: o.config });
    this.#onEstablished = o.onEstablished;
    this.#lastActivity = this.#clock();
  }

  get state(): TcpState {
    return this.core.state;
  }

  get stats(): TcpCore["stats"] {
    return this.core.stats;
  }

  // Socket-like details that HTTP and ssh2 code look for.
  setNoDelay(): this { return this; }
  setKeepAlive(): this { return this; }
  ref(): this { return this; }
  unref(): this { return this; }

  /**
   * As net.Socket's: 'timeout' after `ms` without a segment either way (0: never). node:http closes idle
   * keep-alive connections this way; without it an idle guest would hold a connection slot for ever.
   */
  setTimeout(ms: number, cb?: () => void): this {
    if (cb) this.once("timeout", cb);
    this.#idleMs = ms > 0 ? ms : 0;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    if (this.#idleMs && !this.#gone) this.#armIdle(this.#idleMs);
    return this;
  }

  #armIdle(ms: number): void {
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#gone || !this.#idleMs) return;
      const quiet = this.#clock() - this.#lastActivity;
      if (quiet >= this.#idleMs) {
        this.emit("timeout");
        if (!this.#gone && !this.destroyed) this.#armIdle(this.#idleMs);
      } else this.#armIdle(this.#idleMs - quiet);
    }, ms);
  }

  /** Active open: sends SYN. */
  connect(): void {
    this.#run(this.core.connect(this.#clock()));
  }

  /** Passive open: answers a SYN with SYN-ACK. */
  accept(syn: TcpSegment): void {
    this.#run(this.core.accept(syn, this.#clock()));
  }

  /** Handles one segment from the peer. */
  receive(seg: TcpSegment): void {
    this.#lastActivity = this.#clock();
    this.#run(this.core.receive(seg, this.#clock()));
  }

  /** Carries out the core's output in order; output produced meanwhile (a synchronous wire, a reader) queues up. */
  #run(out: TcpOutput): void {
    this.#queue.push(out);
    if (this.#running) return;
    this.#running = true;
    try {
      for (;;) {
        const o = this.#queue.shift();
        if (!o) {
          // The reader may have taken bytes (a window to reopen) and the peer acknowledged some (a writer to let go).
          this.#syncReader();
          this.#releaseWriter();
          if (this.#queue.length) continue;
          break;
        }
        for (const seg of o.segments) this.#wire.send(seg);
        for (const e of o.events) {
          if (e.type === "established") {
            const cb = this.#onEstablished;
            this.#onEstablished = undefined;
            cb?.();
          } else if (e.type === "data") this.push(Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength));
          else if (e.type === "end") this.push(null);
          else if (e.type === "closed") {
            this.#forget();
            // Done both ways; a reader still holding bytes gets them, then the stream closes.
            if (this.readableLength === 0) this.destroy();
            else this.once("end", () => this.destroy());
          }
          else {
            this.#forget();
            const err = Object.assign(new Error(`TCP ${this.remoteAddress}:${this.remotePort}: ${e.message}`), { code: e.code });
            const cb = this.#onEstablished;
            this.#onEstablished = undefined;
            cb?.(err);
            // Only an owner that listens gets the error; a stray reset must never crash the lab.
            if (!this.destroyed) this.destroy(this.listenerCount("error") > 0 ? err : undefined);
          }
        }
        if (!this.#gone) this.#arm(o.timerAt);
      }
    } finally {
      this.#running = false;
    }
  }

  /** One timer, re-armed only for an earlier deadline: a later one is answered by the core when it fires early. */
  #arm(at: number | undefined): void {
    if (at === undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerFiresAt = Infinity;
      return;
    }
    if (this.#timer !== undefined && this.#timerFiresAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerFiresAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerFiresAt = Infinity;
      this.#run(this.core.onTimer(this.#clock()));
    }, Math.max(0, at - this.#clock()));
  }

  /** Bytes the core delivered that are no longer in our readable buffer were taken by the reader. */
  #syncReader(): void {
    const taken = this.core.unread - this.readableLength;
    if (taken > 0) this.#queue.push(this.core.consumed(taken, this.#clock()));
  }

  #releaseWriter(): void {
    if (this.#pendingWrite && this.core.sendBuffered < SEND_HIGH_WATER) {
      const cb = this.#pendingWrite;
      this.#pendingWrite = undefined;
      cb();
    }
  }

  #forget(): void {
    if (this.#gone) return;
    this.#gone = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#wire.forget();
  }

  override read(size?: number): any {
    const chunk = super.read(size);
    // What the reader took opens the window (and may owe the peer a window update).
    if (!this.#running && this.core.unread > this.readableLength) this.#run({ segments: [], events: [], timerAt: this.core.timerAt });
    return chunk;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#lastActivity = this.#clock();
    const out = this.core.write(chunk, this.#clock());
    if (!out.accepted) {
      cb(Object.assign(new Error("TCP connection is closed"), { code: "EPIPE" }));
      return;
    }
    this.#pendingWrite = () => cb();
    this.#run(out);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#run(this.core.end(this.#clock()));
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Destroyed by its owner before a clean close: tell the peer (abort sends RST unless already gone).
    const out = this.core.abort(this.#clock());
    for (const seg of out.segments) this.#wire.send(seg);
    this.#forget();
    // A write still waiting for room is dropped with the stream (as net.Socket's is).
    this.#pendingWrite = undefined;
    cb(err);
  }
}
