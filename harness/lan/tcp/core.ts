// One TCP connection as a pure state machine: segments, application calls and the current time in; segments
// to send, events and the next timer deadline out. No streams, no timers, no sockets — the Duplex adapter
// (connection.ts) owns those — so every rule below is tested with plain segments and a fake clock: passive and
// active open, MSS and window scaling, retransmission with backoff and fast retransmit, a small congestion
// window, out-of-order reassembly within the receive buffer, a window that is the reader's free space, the
// persist probe against a zero window, RST acceptance by sequence number (RFC 5961), FIN and half-close.

import { ACK, FIN, PSH, RST, SYN, seqAdd, seqDiff, seqLt, type TcpSegment } from "../packets/tcp.ts";

export type TcpState =
  | "SYN_SENT" | "SYN_RCVD" | "ESTABLISHED" | "FIN_WAIT_1" | "FIN_WAIT_2" | "CLOSE_WAIT" | "CLOSING" | "LAST_ACK" | "TIME_WAIT" | "CLOSED";

export interface TcpConfig {
  /** Our MSS: a 1500-byte Ethernet MTU minus IPv4 and TCP headers. */
  mss: number;
  /**
   * Receive buffer: the most the peer may send beyond what the reader has taken. 2 MiB keeps one round
   * trip of the lab path busy (a 64 KiB cap halved HTTP throughput); with an unscaled peer the 16-bit field
   * caps it at 65535 anyway.
   */
  receiveBuffer: number;
  /** Window scale we offer (RFC 7323): receiveBuffer >> shift must fit 16 bits. */
  windowShift: number;
  /** First retransmission timeout, and where it returns after progress. A lab LAN's RTT is well under 1 ms. */
  initialRtoMs: number;
  /** Ceiling of the exponential backoff (also of the persist probe's interval). */
  maxRtoMs: number;
  /** Retransmissions in a row without progress before the connection is given up (ETIMEDOUT, RST). */
  maxRetries: number;
  /** How long TIME_WAIT re-acknowledges a repeated FIN; 2 MSL is pointless on a lab LAN. */
  timeWaitMs: number;
  /** Congestion window ceiling with window scaling on (without it, 64 KiB). */
  maxCwnd: number;
  /** At most one challenge ACK (RFC 5961) per this interval: an RST storm gets no storm back. */
  challengeAckIntervalMs: number;
}

export const DEFAULT_TCP_CONFIG: Readonly<TcpConfig> = {
  mss: 1460,
  receiveBuffer: 2 * 1024 * 1024,
  windowShift: 6,
  initialRtoMs: 200,
  maxRtoMs: 4000,
  maxRetries: 10,
  timeWaitMs: 1000,
  maxCwnd: 4 * 1024 * 1024,
  challengeAckIntervalMs: 100,
};

export type TcpEvent =
  /** The three-way handshake completed. */
  | { type: "established" }
  /** Bytes of the peer's stream, in order; they count against the window until `consumed`. */
  | { type: "data"; data: Uint8Array }
  /** The peer's FIN: its stream ended (we may still send: half-close). */
  | { type: "end" }
  /** The connection is finished with, cleanly: the host may forget it. Nothing follows. */
  | { type: "closed" }
  /** The connection died: reset by the peer, refused, or no answer. Nothing follows. */
  | { type: "error"; code: "ECONNRESET" | "ECONNREFUSED" | "ETIMEDOUT"; message: string };

/** What one call produced: segments to send now (in order), events, and when to call `onTimer` next. */
export interface TcpOutput {
  segments: TcpSegment[];
  events: TcpEvent[];
  /** On the caller's clock; undefined: no timer needed. An early `onTimer` call is harmless. */
  timerAt: number | undefined;
}

export interface TcpStats {
  segmentsSent: number;
  segmentsReceived: number;
  retransmits: number;
  outOfOrder: number;
  bytesIn: number;
  bytesOut: number;
  windowProbes: number;
  resetsIgnored: number;
  challengeAcks: number;
  /** Out-of-order bytes dropped because they did not fit the receive buffer. */
  oooDropped: number;
}

const UNSCALED_MAX = 65535;
const DEFAULT_PEER_MSS = 536; // RFC 9293 3.7.1

/** Bytes written by the application and not yet acknowledged, as the chunks it wrote (no concat per write). */
class SendQueue {
  #chunks: Uint8Array[] = [];
  #head = 0; // bytes of #chunks[0] already acknowledged
  length = 0;

  push(b: Uint8Array): void {
    if (!b.length) return;
    this.#chunks.push(b);
    this.length += b.length;
  }

  /** Up to n bytes from offset (one copy only when they span chunks). */
  slice(offset: number, n: number): Uint8Array {
    n = Math.min(n, this.length - offset);
    let at = offset + this.#head;
    for (let i = 0; i < this.#chunks.length; i++) {
      const c = this.#chunks[i]!;
      if (at >= c.length) {
        at -= c.length;
        continue;
      }
      if (at + n <= c.length) return c.subarray(at, at + n);
      const out = new Uint8Array(n);
      let done = 0;
      for (let j = i; done < n; j++) {
        const part = this.#chunks[j]!.subarray(j === i ? at : 0);
        const take = Math.min(part.length, n - done);
        out.set(part.subarray(0, take), done);
        done += take;
      }
      return out;
    }
    return new Uint8Array(0);
  }

  drop(n: number): void {
    n = Math.min(n, this.length);
    this.length -= n;
    n += this.#head;
    while (this.#chunks.length && n >= this.#chunks[0]!.length) n -= this.#chunks.shift()!.length;
    this.#head = n;
  }
}

export class TcpCore {
  readonly localPort: number;
  readonly remotePort: number;
  readonly config: Readonly<TcpConfig>;
  readonly stats: TcpStats = {
    segmentsSent: 0, segmentsReceived: 0, retransmits: 0, outOfOrder: 0, bytesIn: 0, bytesOut: 0, windowProbes: 0, resetsIgnored: 0,
    challengeAcks: 0, oooDropped: 0,
  };
  #state: TcpState = "CLOSED";
  #iss: number;
  #sndUna: number;
  #sndNxt: number;
  /** The highest sequence number sent so far: after a go-back, ACKs up to here are still valid. */
  #sndMax: number;
  #sndWnd = 0;
  #peerMss = DEFAULT_PEER_MSS;
  #cwnd: number;
  /** Both sides offered window scaling: the peer's shift, else undefined. */
  #peerShift: number | undefined;
  #scaled = false;
  #rcvNxt = 0;
  /** The right edge of the window we last advertised: it never moves left (RFC 9293 3.8.6.2.2). */
  #rcvEdge: number | undefined;
  /** Delivered as `data` events but not yet `consumed` by the reader. */
  #unread = 0;
  #send = new SendQueue();
  #finQueued = false;
  /** Sequence number of our FIN, once sent. */
  #finSeq: number | undefined;
  #finReceived = false;
  #ooo = new Map<number, Uint8Array>();
  #oooBytes = 0;
  #oooFin: number | undefined;
  #rto: number;
  #retries = 0;
  #dupAcks = 0;
  /** After a fast retransmit, the highest sequence sent then: ACKs short of it are partial (RFC 6582). */
  #recover: number | undefined;
  /** What the one timer is for, and when it fires. */
  #timer: { kind: "retransmit" | "persist" | "time-wait"; at: number } | undefined;
  #persistBackoff = 0;
  #lastChallengeAt = -Infinity;
  #out: TcpOutput = { segments: [], events: [], timerAt: undefined };

  constructor(o: { localPort: number; remotePort: number; iss: number; config?: Partial<TcpConfig> }) {
    this.localPort = o.localPort;
    this.remotePort = o.remotePort;
    this.config = { ...DEFAULT_TCP_CONFIG, ...o.config };
    this.#iss = o.iss >>> 0;
    this.#sndUna = this.#sndNxt = this.#sndMax = this.#iss;
    this.#cwnd = 10 * this.config.mss;
    this.#rto = this.config.initialRtoMs;
  }

  get state(): TcpState {
    return this.#state;
  }

  /** Bytes written and not yet acknowledged by the peer (the adapter's send-side backpressure). */
  get sendBuffered(): number {
    return this.#send.length;
  }

  /** Bytes delivered and not yet consumed by the reader. */
  get unread(): number {
    return this.#unread;
  }

  /** The receive window we would advertise now, in bytes: the reader's free space. */
  get receiveWindow(): number {
    return Math.max(0, this.#receiveCap() - this.#unread);
  }

  /** The receive buffer as the window field can express it. */
  #receiveCap(): number {
    return Math.min(this.config.receiveBuffer, this.#scaled ? UNSCALED_MAX * 2 ** this.config.windowShift : UNSCALED_MAX);
  }

  get timerAt(): number | undefined {
    return this.#timer?.at;
  }

  // ---- the application's side ----

  /** Active open: sends SYN. */
  connect(now: number): TcpOutput {
    this.#state = "SYN_SENT";
    this.#sndNxt = seqAdd(this.#iss, 1);
    this.#emitSyn(SYN);
    this.#armRetransmit(now);
    return this.#flush();
  }

  /** Passive open: answers a SYN with SYN-ACK. */
  accept(syn: TcpSegment, now: number): TcpOutput {
    this.stats.segmentsReceived++;
    this.#state = "SYN_RCVD";
    this.#rcvNxt = seqAdd(syn.seq, 1);
    this.#peerMss = syn.mss || DEFAULT_PEER_MSS;
    this.#sndWnd = syn.window;
    this.#peerShift = syn.wscale;
    this.#sndNxt = seqAdd(this.#iss, 1);
    this.#emitSyn(SYN | ACK);
    this.#scaled = this.#peerShift !== undefined;
    this.#armRetransmit(now);
    return this.#flush();
  }

  /** Queues bytes to send; they go out as the windows allow. Refused (false) once our FIN is queued or the connection is gone. */
  write(data: Uint8Array, now: number): TcpOutput & { accepted: boolean } {
    const open = !this.#finQueued && this.#state !== "CLOSED" && this.#state !== "TIME_WAIT";
    if (open) {
      this.#send.push(data);
      this.#pump(now);
    }
    return { ...this.#flush(), accepted: open };
  }

  /** The application has no more to send: FIN after the queued bytes (half-close; reading goes on). */
  end(now: number): TcpOutput {
    if (this.#state !== "CLOSED" && this.#state !== "TIME_WAIT") {
      this.#finQueued = true;
      this.#pump(now);
    }
    return this.#flush();
  }

  /** The reader took `n` delivered bytes: the window opens, and a peer held up by it is told (SWS-avoiding). */
  consumed(n: number, _now: number): TcpOutput {
    this.#unread = Math.max(0, this.#unread - Math.max(0, n));
    // RFC 1122 4.2.3.3: announce an opening only once it is worth a segment (or half the buffer), and only
    // when the peer may be held up by it: the window we last showed was under half the buffer. A reader
    // that keeps up costs no extra ACKs.
    const last = this.#lastAdvertised();
    const step = Math.min(this.config.mss, Math.floor(this.#receiveCap() / 2));
    if (this.#synchronized() && !this.#finReceived && last < this.#receiveCap() / 2 && this.#advertisable() - last >= step) this.#emitAck();
    return this.#flush();
  }

  /** Ends the connection at once (the owner destroyed it): RST to the peer unless already gone. */
  abort(_now: number): TcpOutput {
    if (this.#state !== "CLOSED") {
      if (this.#state !== "TIME_WAIT" && this.#state !== "SYN_SENT") this.#emit(RST | ACK, this.#sndNxt);
      this.#state = "CLOSED";
      this.#timer = undefined;
    }
    return this.#flush();
  }

  // ---- the clock ----

  onTimer(now: number): TcpOutput {
    const t = this.#timer;
    if (!t || now < t.at) return this.#flush();
    this.#timer = undefined;
    if (t.kind === "time-wait") {
      this.#finish();
      return this.#flush();
    }
    if (t.kind === "persist") {
      // A zero window: send one byte beyond it (RFC 9293 3.8.6.1). The peer answers with its window; a
      // lost window update can no longer stall the connection. Never given up on while the peer answers.
      // The probe is not counted in flight: the persist timer, not the retransmission one, repeats it.
      const off = seqDiff(this.#sndNxt, this.#sndUna);
      if (this.#sndWnd === 0 && off < this.#send.length) {
        this.stats.windowProbes++;
        this.#emit(ACK | PSH, this.#sndNxt, this.#send.slice(off, 1));
      }
      this.#pump(now);
      return this.#flush();
    }
    if (this.#synchronized() && this.#sndUna === this.#sndNxt) {
      this.#pump(now); // nothing in flight any more: nothing to repeat
      return this.#flush();
    }
    if (++this.#retries > this.config.maxRetries) {
      this.#emit(RST | ACK, this.#sndNxt);
      this.#die("ETIMEDOUT", `no answer after ${this.config.maxRetries} retransmissions`);
      return this.#flush();
    }
    this.stats.retransmits++;
    this.#recover = undefined;
    this.#rto = Math.min(this.#rto * 2, this.config.maxRtoMs);
    this.#cwnd = 2 * this.#peerMss;
    if (this.#state === "SYN_SENT") this.#emitSyn(SYN);
    else if (this.#state === "SYN_RCVD") this.#emitSyn(SYN | ACK);
    else {
      // Go back to the oldest unacknowledged byte and send again from there.
      this.#sndNxt = this.#sndUna;
      this.#pump(now);
    }
    this.#arm("retransmit", now + this.#rto);
    return this.#flush();
  }

  // ---- the peer's side ----

  /** Handles one segment from the peer (already matched to this connection by address and ports). */
  receive(seg: TcpSegment, now: number): TcpOutput {
    this.stats.segmentsReceived++;
    if (this.#state === "CLOSED") return this.#flush();
    if (seg.flags & RST) {
      this.#onRst(seg, now);
      return this.#flush();
    }
    if (this.#state === "SYN_SENT") {
      if ((seg.flags & (SYN | ACK)) === (SYN | ACK) && seg.ack === seqAdd(this.#iss, 1)) {
        this.#rcvNxt = seqAdd(seg.seq, 1);
        this.#peerMss = seg.mss || DEFAULT_PEER_MSS;
        this.#sndUna = seg.ack;
        this.#peerShift = seg.wscale;
        this.#scaled = seg.wscale !== undefined;
        // The window in a SYN is never scaled (RFC 7323 2.2).
        this.#sndWnd = seg.window;
        this.#established();
        this.#emitAck();
        this.#pump(now);
      }
      return this.#flush();
    }
    if (seg.flags & SYN) {
      // A retransmitted SYN (our SYN-ACK was lost) or SYN-ACK (our ACK was lost): answer again.
      if (this.#state === "SYN_RCVD") this.#emitSyn(SYN | ACK);
      else this.#challengeAck(now);
      return this.#flush();
    }
    if (!(seg.flags & ACK)) return this.#flush(); // RFC 9293: a segment without ACK is dropped
    this.#onAck(seg, now);
    if ((this.#state as TcpState) === "CLOSED") return this.#flush();
    this.#onData(seg, now);
    return this.#flush();
  }

  // ---- internals ----

  #synchronized(): boolean {
    return this.#state !== "CLOSED" && this.#state !== "SYN_SENT" && this.#state !== "SYN_RCVD";
  }

  /** The window we last advertised, in bytes from rcvNxt. */
  #lastAdvertised(): number {
    return this.#rcvEdge === undefined ? 0 : Math.max(0, seqDiff(this.#rcvEdge, this.#rcvNxt));
  }

  /** Where the peer may send up to: the furthest edge we advertised, or the current one. */
  #windowEnd(): number {
    const now = seqAdd(this.#rcvNxt, this.#advertisable());
    return this.#rcvEdge !== undefined && seqLt(now, this.#rcvEdge) ? this.#rcvEdge : now;
  }

  /** The window field's value in bytes, as the peer will read it. */
  #advertisable(): number {
    if (!this.#scaled) return this.receiveWindow;
    const shift = this.config.windowShift;
    return (this.receiveWindow >> shift) << shift;
  }

  #flush(): TcpOutput {
    const out = this.#out;
    out.timerAt = this.#timer?.at;
    this.#out = { segments: [], events: [], timerAt: undefined };
    return out;
  }

  #emit(flags: number, seq: number, payload: Uint8Array = new Uint8Array(0), synOptions = false): void {
    this.stats.segmentsSent++;
    const end = seqAdd(seq, payload.length + (flags & (SYN | FIN) ? 1 : 0));
    if (seqLt(this.#sndMax, end)) this.#sndMax = end;
    let window: number;
    if (flags & SYN) {
      window = Math.min(this.receiveWindow, UNSCALED_MAX); // never scaled in a SYN (RFC 7323)
      if (flags & ACK) this.#rcvEdge = seqAdd(this.#rcvNxt, window);
    } else if (!(flags & ACK)) window = 0;
    else {
      const bytes = this.#advertisable();
      window = this.#scaled ? bytes / 2 ** this.config.windowShift : bytes;
      const edge = seqAdd(this.#rcvNxt, bytes);
      if (this.#rcvEdge !== undefined && seqLt(edge, this.#rcvEdge)) {
        // The reader's free space shrank faster than the window was used: keep the old right edge, since
        // moving it left is forbidden. Out-of-order bytes up to it are still accepted (see #onData).
        const keep = seqDiff(this.#rcvEdge, this.#rcvNxt);
        window = Math.min(this.#scaled ? Math.ceil(keep / 2 ** this.config.windowShift) : keep, UNSCALED_MAX);
      } else this.#rcvEdge = edge;
    }
    this.#out.segments.push({
      srcPort: this.localPort, dstPort: this.remotePort, seq, ack: flags & ACK ? this.#rcvNxt : 0, flags, window,
      mss: synOptions ? this.config.mss : undefined,
      // Offered in our SYN, and in our SYN-ACK only when the peer offered it (RFC 7323 1.3).
      wscale: synOptions && (this.#state === "SYN_SENT" || this.#peerShift !== undefined) ? this.config.windowShift : undefined,
      payload,
    });
  }

  #emitSyn(flags: number): void {
    this.#emit(flags, this.#iss, undefined, true);
  }

  #emitAck(): void {
    this.#emit(ACK, this.#sndNxt);
  }

  #arm(kind: "retransmit" | "persist" | "time-wait", at: number): void {
    this.#timer = { kind, at };
  }

  #armRetransmit(now: number): void {
    this.#arm("retransmit", now + this.#rto);
  }

  /** RFC 5961 3.2: a reset counts only at exactly rcvNxt; one elsewhere in the window gets a challenge ACK. */
  #onRst(seg: TcpSegment, now: number): void {
    if (this.#state === "SYN_SENT") {
      // Only a reset that acknowledges our SYN answers it (RFC 9293 3.10.7.3): the port is closed.
      if (seg.flags & ACK && seg.ack === seqAdd(this.#iss, 1)) this.#die("ECONNREFUSED", "connection reset by peer (refused)");
      else this.stats.resetsIgnored++;
      return;
    }
    if (seg.seq === this.#rcvNxt) {
      if (this.#state === "TIME_WAIT") this.#finish();
      else this.#die("ECONNRESET", "connection reset by peer");
      return;
    }
    this.stats.resetsIgnored++;
    const off = seqDiff(seg.seq, this.#rcvNxt);
    if (off > 0 && off < Math.max(1, this.#advertisable())) this.#challengeAck(now);
  }

  #challengeAck(now: number): void {
    if (now - this.#lastChallengeAt < this.config.challengeAckIntervalMs) return;
    this.#lastChallengeAt = now;
    this.stats.challengeAcks++;
    this.#emitAck();
  }

  #established(): void {
    this.#state = "ESTABLISHED";
    this.#timer = undefined;
    this.#retries = 0;
    this.#rto = this.config.initialRtoMs;
    this.#out.events.push({ type: "established" });
  }

  #onAck(seg: TcpSegment, now: number): void {
    if (this.#state === "SYN_RCVD") {
      if (seg.ack !== seqAdd(this.#iss, 1)) return;
      this.#sndUna = seg.ack;
      this.#established();
    }
    if (seqLt(this.#sndMax, seg.ack)) return; // acknowledges something never sent
    if (seqLt(seg.ack, this.#sndUna)) return; // an old ACK, overtaken (reordering)
    // After a go-back the peer may acknowledge past sndNxt (it had the data): skip ahead.
    if (seqLt(this.#sndNxt, seg.ack)) this.#sndNxt = seg.ack;
    const advanced = seqDiff(seg.ack, this.#sndUna);
    const oldWnd = this.#sndWnd;
    this.#sndWnd = this.#scaled ? seg.window * 2 ** (this.#peerShift ?? 0) : seg.window;
    if (advanced > 0) {
      this.#send.drop(Math.min(advanced, this.#send.length));
      this.#sndUna = seg.ack;
      this.#dupAcks = 0;
      if (this.#recover !== undefined && seqLt(seg.ack, this.#recover)) {
        // NewReno: a partial ACK means the next segment of that window was lost too; resend it now
        // rather than wait a whole RTO for each hole of a burst.
        this.stats.retransmits++;
        const n = Math.min(this.#send.length, this.#peerMss);
        if (n > 0) this.#emit(ACK | PSH, this.#sndUna, this.#send.slice(0, n));
      } else this.#recover = undefined;
      this.#retries = 0;
      this.#persistBackoff = 0;
      this.#rto = this.config.initialRtoMs;
      this.#cwnd = Math.min(this.#cwnd + this.#peerMss, this.#scaled ? this.config.maxCwnd : 64 * 1024);
      if (this.#sndUna === this.#sndNxt) {
        if (this.#timer?.kind === "retransmit") this.#timer = undefined;
      } else this.#armRetransmit(now);
      const finAcked = this.#finSeq !== undefined && seg.ack === seqAdd(this.#finSeq, 1);
      if (finAcked) {
        if (this.#state === "FIN_WAIT_1") this.#state = "FIN_WAIT_2";
        else if (this.#state === "CLOSING") this.#timeWait(now);
        else if (this.#state === "LAST_ACK") {
          this.#finish();
          return;
        }
      }
    } else if (
      advanced === 0 && seg.payload.length === 0 && !(seg.flags & FIN) && (this.#sndWnd > 0 || oldWnd === 0) && seqLt(this.#sndUna, this.#sndNxt)
    ) {
      // A duplicate: no data, nothing new acknowledged. Its window may differ a little (a receiver's free space
      // moves with its reader; ours does too), so only a window that closed is not counted. Three say the
      // segment at sndUna was lost.
      if (++this.#dupAcks === 3 && this.#recover === undefined) {
        this.#recover = this.#sndMax;
        this.stats.retransmits++;
        this.#cwnd = Math.max(2 * this.#peerMss, Math.floor(this.#cwnd / 2));
        const n = Math.min(this.#send.length, this.#peerMss);
        if (n > 0) this.#emit(ACK | PSH, this.#sndUna, this.#send.slice(0, n));
      }
    }
    this.#pump(now);
  }

  /** Sends what the windows allow; arms the retransmission or persist timer as needed. */
  #pump(now: number): void {
    const s = this.#state;
    if (s !== "ESTABLISHED" && s !== "CLOSE_WAIT" && s !== "FIN_WAIT_1" && s !== "LAST_ACK" && s !== "CLOSING") return;
    const wnd = Math.min(this.#sndWnd, this.#cwnd);
    for (;;) {
      const inFlight = seqDiff(this.#sndNxt, this.#sndUna);
      const unsent = this.#send.length - inFlight;
      if (unsent <= 0) break;
      const n = Math.min(unsent, wnd - inFlight, this.#peerMss);
      if (n < 1) break;
      // Sender-side silly window avoidance (RFC 1122 4.2.3.4): a segment shorter than both a full one and
      // what is queued waits for the ACKs in flight to open the window further.
      if (n < Math.min(unsent, this.#peerMss) && inFlight > 0) break;
      this.#emit(ACK | PSH, this.#sndNxt, this.#send.slice(inFlight, n));
      this.stats.bytesOut += n;
      this.#sndNxt = seqAdd(this.#sndNxt, n);
    }
    const allSent = seqDiff(this.#sndNxt, this.#sndUna) >= this.#send.length;
    if (this.#finQueued && allSent && (this.#finSeq === undefined || this.#sndNxt === this.#finSeq)) {
      this.#finSeq = this.#sndNxt;
      this.#emit(FIN | ACK, this.#sndNxt);
      this.#sndNxt = seqAdd(this.#sndNxt, 1);
      if (this.#state === "ESTABLISHED") this.#state = "FIN_WAIT_1";
      else if (this.#state === "CLOSE_WAIT") this.#state = "LAST_ACK";
    }
    const inFlight = seqDiff(this.#sndNxt, this.#sndUna);
    if (inFlight > 0) {
      if (this.#timer?.kind !== "retransmit") this.#armRetransmit(now);
    } else if (this.#send.length > 0 && this.#sndWnd === 0) {
      // Data waits for a zero window to open: probe it, backing off, in case the update gets lost.
      if (this.#timer?.kind !== "persist" || this.#timer.at <= now) {
        const interval = Math.min(this.config.initialRtoMs * 2 ** this.#persistBackoff++, this.config.maxRtoMs);
        this.#arm("persist", now + interval);
      }
    } else if (this.#timer?.kind !== "time-wait") this.#timer = undefined;
  }

  #onData(seg: TcpSegment, now: number): void {
    const hasFin = (seg.flags & FIN) !== 0;
    if (seg.payload.length === 0 && !hasFin) return;
    if (this.#finReceived) {
      // Nothing follows the peer's FIN; a repeat of it means our ACK was lost.
      this.#emitAck();
      if (this.#state === "TIME_WAIT") this.#timeWait(now);
      return;
    }
    let seq = seg.seq;
    let data = seg.payload;
    // Trim what we already have.
    const behind = seqDiff(this.#rcvNxt, seq);
    if (behind > 0) {
      if (behind >= data.length + (hasFin ? 1 : 0)) {
        this.#emitAck(); // a duplicate: the peer missed our ACK
        return;
      }
      data = data.subarray(Math.min(behind, data.length));
      seq = this.#rcvNxt;
    }
    // Trim what lies beyond the window: the reader has no room for it.
    const room = Math.max(0, seqDiff(this.#windowEnd(), seq));
    let fin = hasFin;
    if (data.length > room) {
      data = data.subarray(0, room);
      fin = false;
    }
    if (seq !== this.#rcvNxt) {
      // Out of order: keep it (inside the receive buffer) and ask again for what is missing.
      this.stats.outOfOrder++;
      if (data.length && !this.#ooo.has(seq)) {
        if (this.#oooBytes + data.length <= this.receiveWindow) {
          this.#ooo.set(seq, data.slice());
          this.#oooBytes += data.length;
        } else this.stats.oooDropped += data.length;
      }
      if (fin) this.#oooFin = seqAdd(seq, data.length);
      this.#emitAck();
      return;
    }
    this.#deliver(data);
    for (;;) {
      const next = this.#ooo.get(this.#rcvNxt);
      if (next) {
        this.#ooo.delete(this.#rcvNxt);
        this.#oooBytes -= next.length;
        this.#deliver(next);
        continue;
      }
      // Drop stored segments now entirely behind rcvNxt; deliver the rest of one that straddles it.
      let progressed = false;
      for (const [s, d] of this.#ooo) {
        const lag = seqDiff(this.#rcvNxt, s);
        if (lag > 0) {
          this.#ooo.delete(s);
          this.#oooBytes -= d.length;
          if (lag < d.length) {
            this.#deliver(d.subarray(lag));
            progressed = true;
            break;
          }
        }
      }
      if (!progressed) break;
    }
    const finAt = fin ? seqAdd(seq, data.length) : this.#oooFin;
    if (finAt !== undefined && finAt === this.#rcvNxt) {
      this.#rcvNxt = seqAdd(this.#rcvNxt, 1);
      this.#oooFin = undefined;
      this.#finReceived = true;
      this.#ooo.clear();
      this.#oooBytes = 0;
      this.#out.events.push({ type: "end" });
      if (this.#state === "ESTABLISHED") this.#state = "CLOSE_WAIT";
      else if (this.#state === "FIN_WAIT_1") this.#state = "CLOSING";
      else if (this.#state === "FIN_WAIT_2") this.#timeWait(now);
    }
    this.#emitAck();
  }

  #deliver(data: Uint8Array): void {
    if (!data.length) return;
    this.#rcvNxt = seqAdd(this.#rcvNxt, data.length);
    this.#unread += data.length;
    this.stats.bytesIn += data.length;
    this.#out.events.push({ type: "data", data });
  }

  #timeWait(now: number): void {
    this.#state = "TIME_WAIT";
    this.#arm("time-wait", now + this.config.timeWaitMs);
  }

  #finish(): void {
    this.#state = "CLOSED";
    this.#timer = undefined;
    this.#out.events.push({ type: "closed" });
  }

  #die(code: "ECONNRESET" | "ECONNREFUSED" | "ETIMEDOUT", message: string): void {
    this.#state = "CLOSED";
    this.#timer = undefined;
    this.#out.events.push({ type: "error", code, message });
  }
}
