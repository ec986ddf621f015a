// TCP for the lab's own hosts: enough to serve HTTP downloads of tens of MB, NBD and SSH to a guest's
// Linux TCP, with loss and reordering on the wire. Passive and active open, MSS, retransmission with
// backoff and fast retransmit, a small congestion window, out-of-order reassembly, FIN and RST. Each
// connection is a node:stream Duplex, so HTTP, NBD and ssh2 code use it like a socket.

import { Duplex } from "node:stream";
import { ACK, FIN, PSH, RST, SYN, seqAdd, seqDiff, seqLe, seqLt, type TcpSegment } from "./packets/tcp.ts";

export type TcpState =
  | "SYN_SENT" | "SYN_RCVD" | "ESTABLISHED" | "FIN_WAIT_1" | "FIN_WAIT_2" | "CLOSE_WAIT" | "CLOSING" | "LAST_ACK" | "TIME_WAIT" | "CLOSED";

/** What a connection needs from its host: a way to send a segment to the peer. */
export interface TcpWire {
  send(seg: TcpSegment): void;
  /** Called once the connection is finished with, so the host forgets it. */
  forget(): void;
}

const OUR_MSS = 1460;
const OUR_WINDOW = 65535;
// With window scaling (when the peer offers it too) windows grow past 64 KiB: one RTT of the lab path
// holds far more than that, and a 64 KiB cap halves throughput.
const OUR_SHIFT = 6; // SCALED_WINDOW >> OUR_SHIFT must fit the 16-bit window field
const SCALED_WINDOW = 2 * 1024 * 1024;
const MAX_CWND_SCALED = 4 * 1024 * 1024;
const INITIAL_RTO_MS = 200;
const MAX_RTO_MS = 4000;
const MAX_RETRIES = 10;
const SEND_HIGH_WATER = 256 * 1024;

export class TcpConnection extends Duplex {
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  state: TcpState;
  readonly stats = { segmentsSent: 0, segmentsReceived: 0, retransmits: 0, outOfOrder: 0, bytesIn: 0, bytesOut: 0 };
  #wire: TcpWire;
  #iss: number;
  #sndUna: number;
  #sndNxt: number;
  /** The highest sequence number sent so far: after a go-back, ACKs up to here are still valid. */
  #sndMax: number;
  #sndWnd = 0;
  #peerMss = 536;
  #cwnd = 10 * OUR_MSS;
  /** Shifts once both sides offered window scaling; undefined while unscaled. */
  #peerShift: number | undefined;
  #scaled = false;
  #rcvNxt = 0;
  /** Bytes from sndUna on: acked-not-yet, sent-not-acked, not-yet-sent. */
  #buf: Buffer = Buffer.alloc(0);
  #finQueued = false;
  #finSent = false;
  /** Sequence number of our FIN, once sent. */
  #finSeq: number | undefined;
  #ooo = new Map<number, Uint8Array>();
  #oooFin: number | undefined;
  #rto = INITIAL_RTO_MS;
  #retries = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #dupAcks = 0;
  #pendingWrite: (() => void) | undefined;
  #onEstablished: ((err?: Error) => void) | undefined;
  #closedTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(o: { wire: TcpWire; localPort: number; remoteAddress: string; remotePort: number; iss: number; onEstablished?: (err?: Error) => void }) {
    super({ allowHalfOpen: true });
    this.#wire = o.wire;
    this.localPort = o.localPort;
    this.remoteAddress = o.remoteAddress;
    this.remotePort = o.remotePort;
    this.#iss = o.iss >>> 0;
    this.#sndUna = this.#iss;
    this.#sndNxt = this.#iss;
    this.#sndMax = this.#iss;
    this.state = "CLOSED";
    this.#onEstablished = o.onEstablished;
  }

  // Socket-like details that HTTP and ssh2 code look for.
  setNoDelay(): this { return this; }
  setKeepAlive(): this { return this; }
  setTimeout(): this { return this; }
  ref(): this { return this; }
  unref(): this { return this; }

  #emit(flags: number, seq: number, payload: Uint8Array = new Uint8Array(0), mss?: number): void {
    this.stats.segmentsSent++;
    const end = seqAdd(seq, payload.length + (flags & (SYN | FIN) ? 1 : 0));
    if (seqLt(this.#sndMax, end)) this.#sndMax = end;
    this.#wire.send({
      srcPort: this.localPort, dstPort: this.remotePort, seq, ack: flags & ACK ? this.#rcvNxt : 0, flags,
      // SYNs carry the unscaled window (RFC 7323); later segments the scaled one.
      window: flags & SYN || !this.#scaled ? OUR_WINDOW : SCALED_WINDOW >> OUR_SHIFT,
      mss,
      wscale: flags & SYN && mss !== undefined && (this.state === "SYN_SENT" || this.#peerShift !== undefined) ? OUR_SHIFT : undefined,
      payload,
    });
  }

  /** Active open: sends SYN. */
  connect(): void {
    this.state = "SYN_SENT";
    this.#sndNxt = seqAdd(this.#iss, 1);
    this.#emit(SYN, this.#iss, undefined, OUR_MSS);
    this.#arm();
  }

  /** Passive open: answers a SYN with SYN-ACK. */
  accept(syn: TcpSegment): void {
    this.state = "SYN_RCVD";
    this.#rcvNxt = seqAdd(syn.seq, 1);
    this.#peerMss = syn.mss ?? 536;
    this.#sndWnd = syn.window;
    this.#peerShift = syn.wscale;
    this.#sndNxt = seqAdd(this.#iss, 1);
    this.#emit(SYN | ACK, this.#iss, undefined, OUR_MSS);
    this.#scaled = this.#peerShift !== undefined;
    this.#arm();
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#onTimeout(), this.#rto);
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #onTimeout(): void {
    if (++this.#retries > MAX_RETRIES) {
      this.#abort(Object.assign(new Error(`TCP ${this.remoteAddress}:${this.remotePort}: no answer after ${MAX_RETRIES} retransmissions`), { code: "ETIMEDOUT" }), true);
      return;
    }
    this.stats.retransmits++;
    this.#rto = Math.min(this.#rto * 2, MAX_RTO_MS);
    this.#cwnd = 2 * this.#peerMss;
    if (this.state === "SYN_SENT") this.#emit(SYN, this.#iss, undefined, OUR_MSS);
    else if (this.state === "SYN_RCVD") this.#emit(SYN | ACK, this.#iss, undefined, OUR_MSS);
    else {
      // Go back to the oldest unacknowledged byte and send again from there.
      this.#sndNxt = this.#sndUna;
      this.#finSent = false;
      this.#pump();
    }
    this.#arm();
  }

  /** Sends what the windows allow. */
  #pump(): void {
    if (this.state !== "ESTABLISHED" && this.state !== "CLOSE_WAIT" && this.state !== "FIN_WAIT_1" && this.state !== "LAST_ACK" && this.state !== "CLOSING") return;
    const wnd = Math.max(Math.min(this.#sndWnd, this.#cwnd), this.#sndWnd === 0 ? 0 : 1);
    for (;;) {
      const offset = seqDiff(this.#sndNxt, this.#sndUna);
      const inFlight = offset;
      const unsent = this.#buf.length - offset;
      if (unsent <= 0) break;
      const room = wnd - inFlight;
      if (room <= 0) break;
      const n = Math.floor(Math.min(unsent, room, this.#peerMss));
      if (n < 1) break;
      const chunk = this.#buf.subarray(offset, offset + n);
      this.#emit(ACK | PSH, this.#sndNxt, chunk);
      this.stats.bytesOut += n;
      this.#sndNxt = seqAdd(this.#sndNxt, n);
    }
    if (this.#finQueued && !this.#finSent && seqDiff(this.#sndNxt, this.#sndUna) === this.#buf.length) {
      this.#emit(FIN | ACK, this.#sndNxt);
      this.#finSeq ??= this.#sndNxt;
      this.#sndNxt = seqAdd(this.#sndNxt, 1);
      this.#finSent = true;
      if (this.state === "ESTABLISHED") this.state = "FIN_WAIT_1";
      else if (this.state === "CLOSE_WAIT") this.state = "LAST_ACK";
    }
    if (seqLt(this.#sndUna, this.#sndNxt) && !this.#timer) this.#arm();
  }

  /** Handles one segment from the peer. */
  receive(seg: TcpSegment): void {
    this.stats.segmentsReceived++;
    if (seg.flags & RST) {
      this.#abort(Object.assign(new Error(`TCP ${this.remoteAddress}:${this.remotePort}: connection reset by peer`), { code: "ECONNRESET" }), false);
      return;
    }
    if (this.state === "SYN_SENT") {
      if ((seg.flags & (SYN | ACK)) === (SYN | ACK) && seg.ack === seqAdd(this.#iss, 1)) {
        this.#rcvNxt = seqAdd(seg.seq, 1);
        this.#peerMss = seg.mss ?? 536;
        this.#sndUna = seg.ack;
        this.#sndWnd = seg.window;
        this.#peerShift = seg.wscale;
        this.#scaled = seg.wscale !== undefined;
        this.#established();
        this.#emit(ACK, this.#sndNxt);
        this.#pump();
      }
      return;
    }
    if (seg.flags & SYN) {
      // A retransmitted SYN (our SYN-ACK was lost) or SYN-ACK (our ACK was lost): answer again.
      if (this.state === "SYN_RCVD") this.#emit(SYN | ACK, this.#iss, undefined, OUR_MSS);
      else this.#emit(ACK, this.#sndNxt);
      return;
    }
    if (seg.flags & ACK) this.#onAck(seg);
    if (this.state === "CLOSED") return;
    this.#onData(seg);
  }

  #established(): void {
    this.state = "ESTABLISHED";
    this.#disarm();
    this.#retries = 0;
    this.#rto = INITIAL_RTO_MS;
    const cb = this.#onEstablished;
    this.#onEstablished = undefined;
    cb?.();
  }

  #onAck(seg: TcpSegment): void {
    if (this.state === "SYN_RCVD") {
      if (seg.ack !== seqAdd(this.#iss, 1)) return;
      this.#sndUna = seg.ack;
      this.#established();
    }
    if (seqLt(this.#sndMax, seg.ack)) return; // acks something never sent
    // After a go-back the peer may acknowledge past sndNxt (it had the data): skip ahead.
    if (seqLt(this.#sndNxt, seg.ack)) this.#sndNxt = seg.ack;
    const advanced = seqDiff(seg.ack, this.#sndUna);
    this.#sndWnd = this.#scaled ? seg.window << this.#peerShift! : seg.window;
    if (advanced > 0) {
      const dataAcked = Math.min(advanced, this.#buf.length);
      this.#buf = this.#buf.subarray(dataAcked);
      this.#sndUna = seg.ack;
      this.#dupAcks = 0;
      this.#retries = 0;
      this.#rto = INITIAL_RTO_MS;
      this.#cwnd = Math.min(this.#cwnd + this.#peerMss, this.#scaled ? MAX_CWND_SCALED : 64 * 1024);
      if (this.#sndUna === this.#sndNxt) this.#disarm();
      else this.#arm();
      if (this.#pendingWrite && this.#buf.length < SEND_HIGH_WATER) {
        const cb = this.#pendingWrite;
        this.#pendingWrite = undefined;
        cb();
      }
      const finAcked = this.#finSeq !== undefined && seg.ack === seqAdd(this.#finSeq, 1);
      if (finAcked) this.#finSent = true;
      if (finAcked) {
        if (this.state === "FIN_WAIT_1") this.state = "FIN_WAIT_2";
        else if (this.state === "CLOSING") this.#timeWait();
        else if (this.state === "LAST_ACK") this.#finish();
      }
    } else if (advanced === 0 && seg.payload.length === 0 && seqLt(this.#sndUna, this.#sndNxt) && !(seg.flags & FIN)) {
      if (++this.#dupAcks === 3) {
        // Fast retransmit: three duplicate ACKs say the segment at sndUna was lost.
        this.stats.retransmits++;
        this.#cwnd = Math.max(2 * this.#peerMss, Math.floor(this.#cwnd / 2));
        const n = Math.min(this.#buf.length, this.#peerMss);
        if (n > 0) this.#emit(ACK | PSH, this.#sndUna, this.#buf.subarray(0, n));
      }
    }
    this.#pump();
  }

  #onData(seg: TcpSegment): void {
    const hasFin = (seg.flags & FIN) !== 0;
    if (seg.payload.length === 0 && !hasFin) return;
    let seq = seg.seq;
    let data = seg.payload;
    // Trim what we already have.
    const behind = seqDiff(this.#rcvNxt, seq);
    if (behind > 0) {
      if (behind >= data.length + (hasFin ? 1 : 0)) {
        this.#emit(ACK, this.#sndNxt); // a duplicate: the peer missed our ACK
        return;
      }
      data = data.subarray(Math.min(behind, data.length));
      seq = this.#rcvNxt;
    }
    if (seq !== this.#rcvNxt) {
      // Out of order: keep it (inside our window) and ask again for what is missing.
      if (seqDiff(seq, this.#rcvNxt) < (this.#scaled ? SCALED_WINDOW : OUR_WINDOW)) {
        this.stats.outOfOrder++;
        if (data.length) this.#ooo.set(seq, data.slice());
        if (hasFin) this.#oooFin = seqAdd(seq, data.length);
      }
      this.#emit(ACK, this.#sndNxt);
      return;
    }
    this.#deliver(data);
    let fin = hasFin ? seqAdd(seq, data.length) : this.#oooFin;
    for (;;) {
      const next = this.#ooo.get(this.#rcvNxt);
      if (next) {
        this.#ooo.delete(this.#rcvNxt);
        this.#deliver(next);
        continue;
      }
      // Drop stored segments now entirely behind rcvNxt; trim one that straddles it.
      let progressed = false;
      for (const [s, d] of this.#ooo) {
        const lag = seqDiff(this.#rcvNxt, s);
        if (lag > 0) {
          this.#ooo.delete(s);
          if (lag < d.length) {
            this.#deliver(d.subarray(lag));
            progressed = true;
            break;
          }
        }
      }
      if (!progressed) break;
    }
    if (fin !== undefined && fin === this.#rcvNxt) {
      this.#rcvNxt = seqAdd(this.#rcvNxt, 1);
      this.#oooFin = undefined;
      fin = undefined;
      this.push(null);
      if (this.state === "ESTABLISHED") this.state = "CLOSE_WAIT";
      else if (this.state === "FIN_WAIT_1") this.state = "CLOSING";
      else if (this.state === "FIN_WAIT_2") this.#timeWait();
    }
    this.#emit(ACK, this.#sndNxt);
  }

  #deliver(data: Uint8Array): void {
    if (!data.length) return;
    this.#rcvNxt = seqAdd(this.#rcvNxt, data.length);
    this.stats.bytesIn += data.length;
    this.push(Buffer.from(data));
  }

  #timeWait(): void {
    this.state = "TIME_WAIT";
    this.#disarm();
    // Stay a moment to re-acknowledge a retransmitted FIN, then go (2 MSL is pointless on a lab LAN).
    clearTimeout(this.#closedTimer);
    this.#closedTimer = setTimeout(() => this.#finish(), 1000);
  }

  #finish(): void {
    this.state = "CLOSED";
    this.#disarm();
    clearTimeout(this.#closedTimer);
    this.#wire.forget();
    if (!this.destroyed) this.destroy();
  }

  #abort(err: Error, sendRst: boolean): void {
    if (this.state === "CLOSED") return;
    if (sendRst) this.#emit(RST | ACK, this.#sndNxt);
    this.state = "CLOSED";
    this.#disarm();
    clearTimeout(this.#closedTimer);
    this.#wire.forget();
    const cb = this.#onEstablished;
    this.#onEstablished = undefined;
    cb?.(err);
    // Only an owner that listens gets the error; a stray reset must never crash the lab.
    if (!this.destroyed) this.destroy(this.listenerCount("error") > 0 ? err : undefined);
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.state === "CLOSED") {
      cb(Object.assign(new Error("TCP connection is closed"), { code: "EPIPE" }));
      return;
    }
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : Buffer.from(chunk);
    this.#pump();
    if (this.#buf.length < SEND_HIGH_WATER) cb();
    else this.#pendingWrite = () => cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#finQueued = true;
    this.#pump();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.state !== "CLOSED" && this.state !== "TIME_WAIT") {
      // Destroyed by its owner before a clean close: tell the peer.
      this.#emit(RST | ACK, this.#sndNxt);
      this.state = "CLOSED";
      this.#wire.forget();
    }
    this.#disarm();
    clearTimeout(this.#closedTimer);
    cb(err);
  }
}
