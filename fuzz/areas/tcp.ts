// The lab's TCP (harness/lan/packets/tcp.ts and the pure core harness/lan/tcp/core.ts): a guest's segments,
// decoded with their checksums and options, drive one TcpCore through passive or active open, data in order and
// out of it, window updates, duplicate ACKs, FIN and RST — with the application writing, ending, aborting and
// reading (or not: a closing window) in between, and its timers fired on a plain-number clock. What the
// connection sends must encode and decode, every byte it delivers must be a byte the guest sent at that place
// in the stream, nothing follows its end, and what it holds for the reader never exceeds its receive buffer.

import type { Area, Mutator } from "../area.ts";
import { BYTE_MUTATORS, concat, interestingValue, putUint } from "../mutators/bytes.ts";
import { LAB } from "../mutators/packets.ts";
import { recordMutators } from "../mutators/records.ts";
import { decodeRecords, encodeRecords } from "../records.ts";
import { checksum, ipToBytes, PROTO_TCP } from "../../harness/lan/packets/ipv4.ts";
import { ACK, decodeTcp, encodeTcp, FIN, PSH, RST, SYN, seqDiff, type TcpSegment } from "../../harness/lan/packets/tcp.ts";
import { TcpCore, type TcpOutput } from "../../harness/lan/tcp/core.ts";

const ISS = 1000;
const GUEST_PORT = 40000;
const OUR_PORT = 80;
/** Records shorter than a TCP header are the application's (or the clock's) turn. */
const APP = { WRITE: 0, END: 1, DESTROY: 2, TIMER: 3 } as const;

function pseudo(length: number): number {
  const s = ipToBytes(LAB.guestIp), d = ipToBytes(LAB.serverIp);
  return ((s[0]! << 8) | s[1]!) + ((s[2]! << 8) | s[3]!) + ((d[0]! << 8) | d[1]!) + ((d[2]! << 8) | d[3]!) + PROTO_TCP + length;
}

function reseal(b: Uint8Array): Uint8Array {
  if (b.length < 20) return b;
  b[16] = 0, b[17] = 0;
  const c = checksum(b, pseudo(b.length));
  b[16] = c >> 8, b[17] = c & 0xff;
  return b;
}

const segmentMutators: Mutator[] = [
  {
    name: "tcp: sequence numbers",
    mutate(input, { rng }) {
      if (input.length < 20) return input;
      const b = input.slice();
      const at = rng.chance(0.5) ? 4 : 8;
      const v = new DataView(b.buffer);
      const delta = rng.pick([1, -1, 2, 10, -10, 536, 1460, 65535, 65536, 0x7fffffff, -0x80000000, 2 ** 21]);
      v.setUint32(at, rng.chance(0.8) ? (v.getUint32(at) + delta) >>> 0 : interestingValue(rng, 4, 0));
      return rng.chance(0.85) ? reseal(b) : b;
    },
  },
  {
    name: "tcp: flags",
    mutate(input, { rng }) {
      if (input.length < 20) return input;
      const b = input.slice();
      b[13] = rng.pick([SYN, SYN | ACK, ACK, ACK | PSH, FIN | ACK, RST, RST | ACK, FIN, SYN | FIN, SYN | RST, 0, 0x3f, FIN | PSH | ACK]);
      return rng.chance(0.9) ? reseal(b) : b;
    },
  },
  {
    name: "tcp: window and header length",
    mutate(input, { rng }) {
      if (input.length < 20) return input;
      const b = input.slice();
      if (rng.chance(0.6)) putUint(b, 14, 2, rng.pick([0, 1, 536, 1460, 0x7fff, 0xffff]));
      else b[12] = (rng.pick([0, 4, 5, 6, 7, 15]) << 4) | (b[12]! & 15);
      return rng.chance(0.9) ? reseal(b) : b;
    },
  },
  {
    name: "tcp: options",
    mutate(input, { rng }) {
      if (input.length < 20) return input;
      const off = Math.max(20, Math.min(input.length, (input[12]! >> 4) * 4));
      const opts = rng.pick([
        [2, 4, 5, 0xb4], [2, 4, 0, 0], [2, 4, 0xff, 0xff], [1, 3, 3, 7], [1, 3, 3, 14], [1, 3, 3, 255], [4, 2, 1, 1], [8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1],
        [2, 0, 0, 0], [2, 1, 0, 0], [3, 40, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1], [254, 2, 1, 1],
      ]);
      const padded = concat([Uint8Array.from(opts), new Uint8Array((4 - (opts.length % 4)) % 4)]);
      const b = concat([input.subarray(0, 20), padded, input.subarray(off)]);
      b[12] = (Math.min(15, (20 + padded.length) / 4) << 4) | (b[12]! & 15);
      return rng.chance(0.9) ? reseal(b) : b;
    },
  },
  {
    name: "tcp: payload",
    mutate(input, { rng }) {
      if (input.length < 20) return input;
      const off = Math.max(20, Math.min(input.length, (input[12]! >> 4) * 4));
      const n = rng.pick([0, 1, 10, 536, 1460, 1461, 4000]);
      return reseal(concat([input.subarray(0, off), new Uint8Array(n).fill(0x41 + rng.int(26))]));
    },
  },
  {
    name: "tcp: checksum",
    mutate(input) {
      return reseal(input.slice());
    },
  },
];

const appMutator: Mutator = {
  name: "tcp: application's turn",
  mutate(_input, { rng }) {
    return Uint8Array.of(rng.pick([APP.WRITE, APP.WRITE, APP.END, APP.DESTROY, APP.TIMER, APP.TIMER, APP.TIMER]), rng.int(256));
  },
};

/** Whether `data`, delivered at stream offset `at`, is what some guest segment carried there. */
function sentThere(segments: { rel: number; payload: Uint8Array }[], at: number, data: Uint8Array): number {
  for (let i = 0; i < data.length; i++) {
    const k = at + i;
    if (!segments.some((s) => k >= s.rel && k < s.rel + s.payload.length && s.payload[k - s.rel] === data[i])) return k;
  }
  return -1;
}

export function tcpArea(): Area {
  const seg = (s: Partial<TcpSegment> & { seq: number; flags: number }) =>
    encodeTcp({ srcPort: GUEST_PORT, dstPort: OUR_PORT, ack: 0, window: 64240, payload: new Uint8Array(0), ...s }, LAB.guestIp, LAB.serverIp);
  const text = (s: string) => new TextEncoder().encode(s);
  const app = (kind: number, n = 0) => Uint8Array.of(kind, n);
  const passive = Uint8Array.of(0), active = Uint8Array.of(1);
  const get = text("GET /boot.sh HTTP/1.1\r\nHost: 192.168.1.10\r\n\r\n");
  const seeds = [
    encodeRecords([passive, seg({ seq: 5000, flags: SYN, mss: 1460, wscale: 7 }), seg({ seq: 5001, ack: ISS + 1, flags: ACK }),
      seg({ seq: 5001, ack: ISS + 1, flags: ACK | PSH, payload: get }), app(APP.WRITE, 2), seg({ seq: 5001 + get.length, ack: ISS + 1 + 129, flags: ACK }),
      seg({ seq: 5001 + get.length, ack: ISS + 1 + 129, flags: FIN | ACK }), app(APP.END), seg({ seq: 5002 + get.length, ack: ISS + 2 + 129, flags: ACK })]),
    encodeRecords([passive, seg({ seq: 5000, flags: SYN, mss: 536 }), seg({ seq: 5001, ack: ISS + 1, flags: ACK }),
      seg({ seq: 5011, ack: ISS + 1, flags: ACK, payload: text("0123456789") }), seg({ seq: 5001, ack: ISS + 1, flags: ACK, payload: text("abcdefghij") }),
      seg({ seq: 5005, ack: ISS + 1, flags: ACK, payload: text("efghij0123") }), seg({ seq: 5021, ack: ISS + 1, flags: FIN | ACK }), app(APP.TIMER, 1)]),
    encodeRecords([passive, seg({ seq: 5000, flags: SYN, mss: 1460 }), app(APP.TIMER), app(APP.TIMER), seg({ seq: 5000, flags: SYN, mss: 1460 }),
      seg({ seq: 5001, ack: ISS + 1, flags: ACK }), app(APP.WRITE, 40), seg({ seq: 5001, ack: ISS + 1 + 1460, flags: ACK, window: 1000 }),
      seg({ seq: 5001, ack: ISS + 1 + 1460, flags: ACK }), seg({ seq: 5001, ack: ISS + 1 + 1460, flags: ACK }), seg({ seq: 5001, ack: ISS + 1 + 1460, flags: ACK }),
      app(APP.TIMER), seg({ seq: 5001, ack: ISS + 1 + 2560, flags: ACK, window: 0 }), app(APP.TIMER), seg({ seq: 5001, flags: RST })]),
    encodeRecords([active, seg({ seq: 7000, ack: ISS + 1, flags: SYN | ACK, mss: 1460, wscale: 2 }), app(APP.WRITE, 255),
      seg({ seq: 7001, ack: ISS + 1 + 4000, flags: ACK, window: 100 }), app(APP.TIMER, 3), seg({ seq: 7001, ack: ISS + 1 + 8000, flags: ACK | PSH, payload: text("hello") }),
      app(APP.END), seg({ seq: 7006, ack: ISS + 1 + 64 * 255 + 1, flags: FIN | ACK }), app(APP.TIMER, 3)]),
    encodeRecords([active, app(APP.TIMER, 3), app(APP.TIMER, 3), app(APP.TIMER, 3), app(APP.TIMER, 3)]),
    encodeRecords([passive, seg({ seq: 5000, flags: SYN }), seg({ seq: 5001, ack: ISS + 1, flags: ACK }), app(APP.END),
      seg({ seq: 5001, ack: ISS + 1, flags: FIN | ACK }), seg({ seq: 5002, ack: ISS + 2, flags: ACK }), app(APP.TIMER), app(APP.DESTROY)]),
  ];
  return {
    name: "tcp",
    corpus: () => seeds,
    mutators: recordMutators({ inner: [...segmentMutators, ...segmentMutators, appMutator, ...BYTE_MUTATORS], fixed: 1, maxRecords: 48 }),
    maxBytes: 32 * 1024,
    expects: ["state:ESTABLISHED", "state:CLOSED", "state:SYN_RCVD", "state:CLOSE_WAIT", "state:FIN_WAIT", "state:TIME_WAIT", "malformed", "no connection"],
    run(input) {
      const [ctl = new Uint8Array(0), ...records] = decodeRecords(input);
      let now = 0;
      const sent: TcpSegment[] = [];
      const fromGuest: { rel: number; payload: Uint8Array }[] = [];
      let core: TcpCore | undefined;
      let irs: number | undefined;
      let delivered = 0;
      let malformed = 0;
      let gone = false;
      const take = (out: TcpOutput) => {
        sent.push(...out.segments);
        for (const e of out.events) {
          if (gone) throw new Error(`TCP: event ${e.type} after the connection was closed`);
          if (e.type === "data") {
            if (irs === undefined) throw new Error("TCP: data delivered before a SYN was seen");
            const bad = sentThere(fromGuest, delivered, e.data);
            if (bad >= 0) throw new Error(`TCP: delivered a byte at stream offset ${bad} that the guest never sent there`);
            delivered += e.data.length;
          } else if (e.type === "closed" || e.type === "error") gone = true;
        }
        if (core && core.unread > core.config.receiveBuffer) throw new Error(`TCP: ${core.unread} bytes unread, over the ${core.config.receiveBuffer}-byte receive buffer`);
        if (out.timerAt !== undefined && out.timerAt < now) throw new Error(`TCP: a timer deadline ${out.timerAt} in the past (now ${now})`);
      };
      const open = () => new TcpCore({ localPort: OUR_PORT, remotePort: GUEST_PORT, iss: ISS, config: { receiveBuffer: 64 * 1024 } });
      if ((ctl[0] ?? 0) & 1) take((core = open()).connect(now));
      for (const r of records) {
        now += 1;
        if (r.length < 20) {
          const kind = (r[0] ?? 0) % 4;
          if (!core) continue;
          if (kind === APP.WRITE) take(core.write(new Uint8Array(((r[1] ?? 0) + 1) * 64).fill(0x61), now));
          else if (kind === APP.END) take(core.end(now));
          else if (kind === APP.DESTROY) take(core.abort(now));
          else {
            for (let i = 0; i <= (r[1] ?? 0) % 4 && core.timerAt !== undefined; i++) take(core.onTimer((now = Math.max(now, core.timerAt))));
          }
          // The reader: takes everything on some turns, lags on others (a closing window).
          if ((r[1] ?? 0) & 0x80) take(core.consumed(core.unread, now));
          continue;
        }
        const s = decodeTcp(r, LAB.guestIp, LAB.serverIp);
        if (typeof s === "string") {
          malformed++;
          continue;
        }
        if (!core) {
          // A listener opens a connection for a SYN alone, as LabHost does.
          if ((s.flags & (SYN | ACK | RST)) !== SYN) continue;
          core = open();
          irs = s.seq;
          take(core.accept(s, now));
        } else {
          if (irs === undefined && core.state === "SYN_SENT" && (s.flags & (SYN | ACK)) === (SYN | ACK) && s.ack === ISS + 1) irs = s.seq;
          if (irs !== undefined && s.payload.length) fromGuest.push({ rel: seqDiff(s.seq, (irs + 1) >>> 0), payload: s.payload });
          take(core.receive(s, now));
        }
      }
      for (const s of sent) {
        if (s.window > 0xffff || !Number.isInteger(s.window) || !Number.isInteger(s.seq) || s.seq < 0 || s.seq > 0xffffffff || s.payload.length > 65535) {
          throw new Error(`TCP: sent a segment that cannot be on the wire (seq ${s.seq}, window ${s.window}, ${s.payload.length} bytes)`);
        }
        const back = decodeTcp(encodeTcp(s, LAB.serverIp, LAB.guestIp), LAB.serverIp, LAB.guestIp);
        if (typeof back === "string") throw new Error(`TCP: a segment we sent does not decode: ${back}`);
      }
      const state = core?.state;
      if (!state) return malformed ? "malformed:" : "no connection:";
      return `state:${state}`;
    },
  };
}
