// The lab's TCP core (harness/lan/tcp/core.ts) on a fake clock: two cores joined by a simulated wire that
// can lose, duplicate, delay and reorder segments, with a reader on each side that takes its bytes at once
// or not at all. No streams, no sockets, no real timers: every run is exact and repeatable.

import { test } from "node:test";
import assert from "node:assert/strict";
import { TcpCore, type TcpConfig, type TcpEvent, type TcpOutput } from "../../harness/lan/tcp/core.ts";
import { ACK, FIN, PSH, RST, SYN, seqAdd, type TcpSegment } from "../../harness/lan/packets/tcp.ts";
import { seededRandom } from "../../harness/lan/faults.ts";

type Side = "a" | "b";
type Fault = "pass" | "drop" | "dup" | { delayMs: number };
interface InFlight { at: number; to: Side; seg: TcpSegment; n: number }

/** Two cores and the wire between them; `a` opens, `b` answers the first SYN as a listener does. */
class Sim {
  now = 0;
  readonly a: TcpCore;
  readonly b: TcpCore;
  readonly latencyMs = 1;
  readonly events: Record<Side, TcpEvent[]> = { a: [], b: [] };
  readonly received: Record<Side, number[]> = { a: [], b: [] };
  /** Every segment put on the wire, by sender, before faults. */
  readonly sent: Record<Side, { at: number; seg: TcpSegment }[]> = { a: [], b: [] };
  /** Readers that take what arrives at once (a flowing stream); false: they let it pile up. */
  readonly reading: Record<Side, boolean> = { a: true, b: true };
  fault: (from: Side, seg: TcpSegment) => Fault = () => "pass";
  #wire: InFlight[] = [];
  #n = 0;
  #timer: Record<Side, number | undefined> = { a: undefined, b: undefined };

  constructor(config: Partial<TcpConfig> = {}, configB: Partial<TcpConfig> = config) {
    this.a = new TcpCore({ localPort: 40000, remotePort: 80, iss: 0xfffff000, config });
    this.b = new TcpCore({ localPort: 80, remotePort: 40000, iss: 7777, config: configB });
  }

  core(s: Side): TcpCore {
    return s === "a" ? this.a : this.b;
  }

  take(side: Side, out: TcpOutput): void {
    for (const seg of out.segments) {
      this.sent[side].push({ at: this.now, seg });
      const f = this.fault(side, seg);
      const to: Side = side === "a" ? "b" : "a";
      if (f === "drop") continue;
      const delay = typeof f === "object" ? f.delayMs : 0;
      this.#wire.push({ at: this.now + this.latencyMs + delay, to, seg, n: this.#n++ });
      if (f === "dup") this.#wire.push({ at: this.now + this.latencyMs + 1, to, seg, n: this.#n++ });
    }
    for (const e of out.events) {
      this.events[side].push(e);
      if (e.type === "data") this.received[side].push(...e.data);
    }
    this.#timer[side] = out.timerAt;
    if (this.reading[side] && this.core(side).unread > 0) this.take(side, this.core(side).consumed(this.core(side).unread, this.now));
  }

  /** The reader on `side` takes everything it holds. */
  read(side: Side): void {
    this.take(side, this.core(side).consumed(this.core(side).unread, this.now));
  }

  /** Moves the clock to the next delivery or timer and handles it; false when nothing is pending. */
  step(): boolean {
    const nextWire = this.#wire.reduce<InFlight | undefined>((m, w) => (!m || w.at < m.at || (w.at === m.at && w.n < m.n) ? w : m), undefined);
    const timers = (["a", "b"] as Side[]).filter((s) => this.#timer[s] !== undefined).map((s) => ({ s, at: this.#timer[s]! }));
    const nextTimer = timers.sort((x, y) => x.at - y.at)[0];
    if (!nextWire && !nextTimer) return false;
    if (nextWire && (!nextTimer || nextWire.at <= nextTimer.at)) {
      const i = this.#wire.indexOf(nextWire);
      const w = this.#wire.splice(i, 1)[0]!;
      this.now = Math.max(this.now, w.at);
      const c = this.core(w.to);
      if (w.to === "b" && c.state === "CLOSED" && !this.events.b.length && (w.seg.flags & (SYN | ACK | RST)) === SYN) this.take("b", c.accept(w.seg, this.now));
      else this.take(w.to, c.receive(w.seg, this.now));
    } else {
      this.now = Math.max(this.now, nextTimer!.at);
      this.#timer[nextTimer!.s] = undefined;
      this.take(nextTimer!.s, this.core(nextTimer!.s).onTimer(this.now));
    }
    return true;
  }

  run(until: () => boolean, limitMs = 600_000): void {
    while (!until()) {
      if (this.now > limitMs) assert.fail(`still not there at ${this.now} ms (a ${this.a.state}, b ${this.b.state})`);
      if (!this.step()) assert.fail(`nothing left to happen (a ${this.a.state}, b ${this.b.state})`);
    }
  }

  open(): void {
    this.take("a", this.a.connect(this.now));
    this.run(() => this.a.state === "ESTABLISHED" && this.b.state === "ESTABLISHED");
  }
}

function blob(n: number, seed: number): Uint8Array {
  const r = seededRandom(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

function same(got: number[], want: Uint8Array): void {
  assert.equal(got.length, want.length, "length");
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) assert.fail(`byte ${i} differs`);
}

test("tcp core: SYN, SYN-ACK, ACK with MSS and window scale both ways; the SYN's window is unscaled", () => {
  const sim = new Sim();
  sim.open();
  const syn = sim.sent.a[0]!.seg, synAck = sim.sent.b[0]!.seg;
  assert.equal(syn.flags, SYN);
  assert.equal(syn.seq, 0xfffff000);
  assert.deepEqual([syn.mss, syn.wscale, syn.window], [1460, 6, 65535]);
  assert.equal(synAck.flags, SYN | ACK);
  assert.equal(synAck.ack, 0xfffff001);
  assert.deepEqual([synAck.mss, synAck.wscale], [1460, 6]);
  // From here on the window field is scaled: 2 MiB >> 6.
  assert.equal(sim.sent.a[1]!.seg.window, (2 * 1024 * 1024) >> 6);
  assert.deepEqual(sim.events.a, [{ type: "established" }]);
  assert.deepEqual(sim.events.b, [{ type: "established" }]);
});

test("tcp core: a peer that offers no window scale gets none, and an unscaled window of at most 65535", () => {
  const b = new TcpCore({ localPort: 80, remotePort: 1, iss: 1 });
  const out = b.accept({ srcPort: 1, dstPort: 80, seq: 100, ack: 0, flags: SYN, window: 8192, mss: 1460, payload: new Uint8Array(0) }, 0);
  assert.equal(out.segments[0]!.wscale, undefined);
  const est = b.receive({ srcPort: 1, dstPort: 80, seq: 101, ack: 2, flags: ACK, window: 8192, payload: Uint8Array.of(1, 2, 3) }, 1);
  assert.equal(est.segments.at(-1)!.window, 65535 - 3);
});

test("tcp core: 1 MiB each way, byte-exact, over a wrapping sequence space", () => {
  const sim = new Sim();
  sim.open();
  const ab = blob(1 << 20, 1), ba = blob(1 << 20, 2);
  sim.take("a", sim.a.write(ab, sim.now));
  sim.take("b", sim.b.write(ba, sim.now));
  sim.run(() => sim.received.b.length === ab.length && sim.received.a.length === ba.length);
  same(sim.received.b, ab);
  same(sim.received.a, ba);
  assert.equal(sim.a.stats.retransmits, 0);
});

for (const [name, fault, seed] of [
  ["10 % loss", "drop", 3],
  ["10 % duplication", "dup", 4],
  ["10 % reordering (segments held back 5 ms)", "reorder", 5],
] as const) {
  test(`tcp core: a 256 KiB transfer survives ${name}, both directions`, () => {
    const sim = new Sim();
    sim.open();
    const r = seededRandom(seed);
    sim.fault = () => (r() < 0.1 ? (fault === "reorder" ? { delayMs: 5 } : fault) : "pass");
    const ab = blob(256 << 10, seed), ba = blob(256 << 10, seed + 100);
    sim.take("a", sim.a.write(ab, sim.now));
    sim.take("b", sim.b.write(ba, sim.now));
    sim.take("a", sim.a.end(sim.now));
    sim.take("b", sim.b.end(sim.now));
    sim.run(() => sim.a.state === "CLOSED" && sim.b.state === "CLOSED");
    same(sim.received.b, ab);
    same(sim.received.a, ba);
    assert.ok(sim.events.a.some((e) => e.type === "end") && sim.events.b.some((e) => e.type === "end"));
    if (fault === "drop") assert.ok(sim.a.stats.retransmits > 0 && sim.b.stats.retransmits > 0);
    if (fault !== "drop") assert.ok(sim.a.stats.outOfOrder + sim.b.stats.outOfOrder > 0 || fault === "dup");
  });
}

test("tcp core: loss, duplication and reordering at once, 1 MiB, and the bytes still arrive in order", () => {
  const sim = new Sim();
  sim.open();
  const r = seededRandom(11);
  sim.fault = () => {
    const x = r();
    return x < 0.05 ? "drop" : x < 0.08 ? "dup" : x < 0.12 ? { delayMs: 1 + Math.floor(r() * 8) } : "pass";
  };
  const ab = blob(1 << 20, 12);
  sim.take("a", sim.a.write(ab, sim.now));
  sim.run(() => sim.received.b.length === ab.length);
  same(sim.received.b, ab);
});

test("tcp core: an unanswered SYN is repeated with exponential backoff, then given up with ETIMEDOUT", () => {
  const a = new TcpCore({ localPort: 1, remotePort: 2, iss: 5, config: { initialRtoMs: 200, maxRtoMs: 4000, maxRetries: 5 } });
  let out = a.connect(0);
  const at: number[] = [];
  let events: TcpEvent[] = [];
  let sent = out.segments.length;
  while (out.timerAt !== undefined) {
    at.push(out.timerAt);
    // An early call changes nothing and keeps the deadline.
    assert.deepEqual(a.onTimer(out.timerAt - 1), { segments: [], events: [], timerAt: out.timerAt });
    out = a.onTimer(out.timerAt);
    sent += out.segments.filter((s) => s.flags === SYN).length;
    events = events.concat(out.events);
  }
  assert.deepEqual(at, [200, 600, 1400, 3000, 6200, 10200]);
  assert.equal(sent, 6);
  assert.deepEqual(events.map((e) => e.type === "error" && e.code), ["ETIMEDOUT"]);
  assert.equal(a.state, "CLOSED");
});

test("tcp core: a lost SYN-ACK: the client's repeated SYN is answered with the SYN-ACK again", () => {
  const sim = new Sim();
  let dropped = 0;
  sim.fault = (from, seg) => (from === "b" && seg.flags === (SYN | ACK) && dropped++ === 0 ? "drop" : "pass");
  sim.open();
  // The client's repeated SYN and the server's own timer both bring the SYN-ACK again.
  assert.ok(sim.sent.b.filter((s) => s.seg.flags === (SYN | ACK)).length >= 2);
  assert.equal(sim.sent.a.filter((s) => s.seg.flags === SYN).length, 2);
  assert.ok(sim.now < 400, `connected at ${sim.now} ms`);
});

test("tcp core: three duplicate ACKs resend the lost segment before the retransmission timer", () => {
  const sim = new Sim();
  sim.open();
  let first = true;
  sim.fault = (from, seg) => (from === "a" && seg.payload.length && first ? ((first = false), "drop") : "pass");
  const data = blob(20 * 1460, 7);
  const t0 = sim.now;
  sim.take("a", sim.a.write(data, sim.now));
  sim.run(() => sim.received.b.length === data.length);
  same(sim.received.b, data);
  assert.equal(sim.a.stats.retransmits, 1);
  assert.ok(sim.now - t0 < 200, `took ${sim.now - t0} ms: the timer, not the duplicate ACKs, repaired it`);
});

test("tcp core: two segments lost from one window: the partial ACK resends the second at once (NewReno), no RTO", () => {
  const sim = new Sim();
  sim.open();
  let nth = 0;
  sim.fault = (from, seg) => (from === "a" && seg.payload.length && (++nth === 2 || nth === 5) ? "drop" : "pass");
  const data = blob(30 * 1460, 17);
  const t0 = sim.now;
  sim.take("a", sim.a.write(data, sim.now));
  sim.run(() => sim.received.b.length === data.length);
  same(sim.received.b, data);
  assert.equal(sim.a.stats.retransmits, 2);
  assert.ok(sim.now - t0 < 200, `took ${sim.now - t0} ms: a timeout, not the ACKs, repaired it`);
});

test("tcp core: the advertised window is the reader's free space, and the sender never overruns it", () => {
  const buf = 32 * 1024;
  const sim = new Sim({ receiveBuffer: buf });
  sim.open();
  sim.reading.b = false;
  const data = blob(200 * 1024, 8);
  sim.take("a", sim.a.write(data, sim.now));
  sim.run(() => sim.b.unread === buf);
  // Nothing more arrives while the reader holds a full buffer, however long we wait.
  const t = sim.now;
  sim.run(() => sim.now > t + 30_000);
  assert.equal(sim.b.unread, buf);
  assert.equal(sim.received.b.length, buf);
  // Every window b advertised fit its free space (scaled by 64); the last one, with the buffer full, was zero.
  for (const { seg } of sim.sent.b.filter((s) => !(s.seg.flags & SYN))) assert.ok(seg.window * 64 <= buf);
  assert.equal(sim.sent.b.at(-1)!.seg.window, 0);
  sim.reading.b = true;
  sim.read("b");
  sim.run(() => sim.received.b.length === data.length);
  same(sim.received.b, data);
});

test("tcp core: zero window: the sender probes on a backing-off persist timer, and a lost window update cannot stall it", () => {
  const buf = 16 * 1024;
  const sim = new Sim({ receiveBuffer: buf });
  sim.open();
  sim.reading.b = false;
  const data = blob(64 * 1024, 9);
  sim.take("a", sim.a.write(data, sim.now));
  sim.run(() => sim.b.unread === buf);
  const t0 = sim.now;
  sim.run(() => sim.a.stats.windowProbes >= 5);
  const probes = sim.sent.a.filter((s) => s.at > t0 && s.seg.payload.length === 1);
  assert.equal(probes.length, 5);
  const gaps = probes.slice(1).map((p, i) => p.at - probes[i]!.at);
  for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i]! >= gaps[i - 1]!, `probe intervals back off: ${gaps}`);
  // Nothing is given up while the peer answers the probes.
  assert.equal(sim.a.state, "ESTABLISHED");
  // The reader takes its bytes; the window update that says so is lost. The next probe finds the window open.
  let lostUpdate = 0;
  sim.fault = (from, seg) => (from === "b" && seg.window > 0 && lostUpdate++ === 0 ? "drop" : "pass");
  sim.reading.b = true;
  sim.read("b");
  assert.equal(lostUpdate, 1, "the reader's window update went out (and was lost)");
  sim.run(() => sim.received.b.length === data.length);
  same(sim.received.b, data);
});

test("tcp core: a window update goes out only when the opening is worth a segment (no silly-window updates)", () => {
  const buf = 16 * 1024;
  const sim = new Sim({ receiveBuffer: buf });
  sim.open();
  sim.reading.b = false;
  sim.take("a", sim.a.write(blob(buf, 1), sim.now));
  sim.run(() => sim.b.unread === buf);
  const before = sim.sent.b.length;
  sim.take("b", sim.b.consumed(100, sim.now));
  assert.equal(sim.sent.b.length, before, "100 bytes of room is not worth announcing");
  sim.take("b", sim.b.consumed(1460, sim.now));
  assert.equal(sim.sent.b.length, before + 1);
  assert.equal(sim.sent.b.at(-1)!.seg.window, Math.floor(1560 / 64));
});

test("tcp core: an RST storm at wrong sequence numbers leaves the connection up; challenge ACKs are rate-limited", () => {
  const sim = new Sim();
  sim.open();
  const rcvNxt = sim.sent.a.at(-1)!.seg.ack;
  const r = seededRandom(13);
  let acks = 0;
  for (let i = 0; i < 1000; i++) {
    sim.now += 0.5;
    const seq = r() < 0.5 ? seqAdd(rcvNxt, 1 + Math.floor(r() * 60000)) : Math.floor(r() * 2 ** 32);
    if (seq === rcvNxt) continue;
    const out = sim.a.receive({ srcPort: 80, dstPort: 40000, seq, ack: 0, flags: RST | (r() < 0.5 ? ACK : 0), window: 0, payload: new Uint8Array(0) }, sim.now);
    acks += out.segments.length;
    assert.deepEqual(out.events, []);
  }
  assert.equal(sim.a.state, "ESTABLISHED");
  assert.ok(sim.a.stats.resetsIgnored >= 990);
  assert.ok(acks >= 1 && acks <= 500 / 100 + 1, `${acks} challenge ACKs in 500 ms`);
  // The data still flows.
  const data = blob(10_000, 14);
  sim.take("a", sim.a.write(data, sim.now));
  sim.run(() => sim.received.b.length === data.length);
  // A reset exactly at rcvNxt ends it.
  const out = sim.a.receive({ srcPort: 80, dstPort: 40000, seq: rcvNxt, ack: 0, flags: RST, window: 0, payload: new Uint8Array(0) }, sim.now);
  assert.deepEqual(out.events.map((e) => e.type === "error" && e.code), ["ECONNRESET"]);
  assert.equal(sim.a.state, "CLOSED");
  assert.deepEqual(sim.a.receive({ srcPort: 80, dstPort: 40000, seq: rcvNxt, ack: 0, flags: ACK, window: 9, payload: Uint8Array.of(1) }, sim.now), { segments: [], events: [], timerAt: undefined });
});

test("tcp core: connecting: only a reset that acknowledges our SYN refuses it", () => {
  const a = new TcpCore({ localPort: 1, remotePort: 2, iss: 100 });
  a.connect(0);
  const rst = (ack: number, flags = RST | ACK) => a.receive({ srcPort: 2, dstPort: 1, seq: 0, ack, flags, window: 0, payload: new Uint8Array(0) }, 1);
  assert.deepEqual(rst(55).events, []);
  assert.deepEqual(rst(101, RST).events, []);
  assert.equal(a.state, "SYN_SENT");
  assert.deepEqual(rst(101).events.map((e) => e.type === "error" && e.code), ["ECONNREFUSED"]);
});

test("tcp core: half-close: after our FIN the peer's data still arrives; its FIN then leads through TIME_WAIT to closed", () => {
  const sim = new Sim({ timeWaitMs: 1000 });
  sim.open();
  sim.take("a", sim.a.write(Uint8Array.of(1, 2, 3), sim.now));
  sim.take("a", sim.a.end(sim.now));
  sim.run(() => sim.a.state === "FIN_WAIT_2" && sim.b.state === "CLOSE_WAIT");
  assert.deepEqual(sim.received.b, [1, 2, 3]);
  assert.deepEqual(sim.events.b.map((e) => e.type), ["established", "data", "end"]);
  // a may not write any more; b still may, and a still reads.
  assert.equal(sim.a.write(Uint8Array.of(9), sim.now).accepted, false);
  const reply = blob(50_000, 15);
  sim.take("b", sim.b.write(reply, sim.now));
  sim.run(() => sim.received.a.length === reply.length);
  same(sim.received.a, reply);
  sim.take("b", sim.b.end(sim.now));
  sim.run(() => sim.a.state === "TIME_WAIT" && sim.b.state === "CLOSED");
  const tw = sim.now;
  sim.run(() => sim.a.state === "CLOSED");
  assert.ok(sim.now - tw >= 999 && sim.now - tw <= 1001, `TIME_WAIT lasted ${sim.now - tw} ms`);
  assert.deepEqual(sim.events.a.map((e) => e.type).filter((t) => t !== "data"), ["established", "end", "closed"]);
  assert.deepEqual(sim.events.b.map((e) => e.type).filter((t) => t !== "data"), ["established", "end", "closed"]);
});

test("tcp core: a lost FIN is sent again; a repeated FIN in TIME_WAIT is acknowledged again; data after a FIN is not delivered", () => {
  const sim = new Sim();
  sim.open();
  let finsDropped = 0;
  sim.fault = (from, seg) => (from === "a" && seg.flags & FIN && finsDropped++ < 2 ? "drop" : "pass");
  sim.take("a", sim.a.end(sim.now));
  sim.run(() => sim.b.state === "CLOSE_WAIT");
  assert.equal(sim.sent.a.filter((s) => s.seg.flags & FIN).length, 3);
  sim.fault = () => "pass";
  // b's side: data beyond its FIN-acknowledged point after a's FIN is ignored by b.
  const fin = sim.sent.a.at(-1)!.seg;
  const after = sim.b.receive({ ...fin, flags: ACK | PSH, seq: seqAdd(fin.seq, 1), payload: Uint8Array.of(7, 7) }, sim.now);
  assert.deepEqual(after.events, []);
  assert.equal(after.segments.length, 1);
  sim.take("b", sim.b.end(sim.now));
  sim.run(() => sim.a.state === "TIME_WAIT");
  // b's FIN again (as if a's last ACK were lost): a answers it and stays in TIME_WAIT.
  const bFin = sim.sent.b.filter((s) => s.seg.flags & FIN).at(-1)!.seg;
  const again = sim.a.receive(bFin, sim.now);
  assert.equal(again.segments.length, 1);
  assert.equal(again.segments[0]!.flags, ACK);
  assert.equal(sim.a.state, "TIME_WAIT");
});

test("tcp core: simultaneous close goes through CLOSING on both sides", () => {
  const sim = new Sim();
  sim.open();
  sim.take("a", sim.a.end(sim.now));
  sim.take("b", sim.b.end(sim.now));
  assert.equal(sim.a.state, "FIN_WAIT_1");
  assert.equal(sim.b.state, "FIN_WAIT_1");
  sim.step();
  assert.equal(sim.b.state, "CLOSING");
  sim.run(() => sim.a.state === "CLOSED" && sim.b.state === "CLOSED");
});

test("tcp core: abort sends one RST and goes quiet; the peer reports the reset", () => {
  const sim = new Sim();
  sim.open();
  sim.take("a", sim.a.write(blob(100_000, 16), sim.now));
  sim.step();
  sim.take("a", sim.a.abort(sim.now));
  assert.equal(sim.sent.a.at(-1)!.seg.flags, RST | ACK);
  assert.equal(sim.a.timerAt, undefined);
  sim.run(() => sim.b.state === "CLOSED");
  assert.ok(sim.events.b.some((e) => e.type === "error" && e.code === "ECONNRESET"));
});

test("tcp core: out-of-order segments are kept only within the receive buffer", () => {
  const b = new TcpCore({ localPort: 80, remotePort: 1, iss: 1, config: { receiveBuffer: 4096 } });
  b.accept({ srcPort: 1, dstPort: 80, seq: 0, ack: 0, flags: SYN, window: 8192, mss: 1000, payload: new Uint8Array(0) }, 0);
  b.receive({ srcPort: 1, dstPort: 80, seq: 1, ack: 2, flags: ACK, window: 8192, payload: new Uint8Array(0) }, 0);
  for (let seq = 1001; seq < 20_000; seq += 1000) {
    b.receive({ srcPort: 1, dstPort: 80, seq, ack: 2, flags: ACK, window: 8192, payload: new Uint8Array(1000).fill(seq & 255) }, 1);
  }
  // The hole is filled: what was kept (up to the window's edge) arrives, nothing beyond it.
  const out = b.receive({ srcPort: 1, dstPort: 80, seq: 1, ack: 2, flags: ACK, window: 8192, payload: new Uint8Array(1000) }, 2);
  const got = out.events.reduce((n, e) => n + (e.type === "data" ? e.data.length : 0), 0);
  assert.equal(got, 4096);
  assert.equal(b.unread, 4096);
  assert.equal(out.segments.at(-1)!.window, 0);
});
