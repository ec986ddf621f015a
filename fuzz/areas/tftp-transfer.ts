// One TFTP transfer as the pure state machine it is (harness/services/tftp/transfer.ts), reads and writes,
// driven by events in random orders on a fake clock: the client's datagrams, timers firing on time, early or
// late, the clock jumping, an upload stored or failing to store, an abort. What it must never do: throw,
// send a datagram that does not decode, ask for a timer in the past, finish twice, or act after closing.

import type { Area, Mutator } from "../area.ts";
import { hexCapture } from "../captures.ts";
import { BYTE_MUTATORS } from "../mutators/bytes.ts";
import { recordMutators } from "../mutators/records.ts";
import { TFTP_MUTATORS } from "../mutators/tftp.ts";
import { decodeRecords, encodeRecords } from "../records.ts";
import { decodePacket, encodePacket, ERR } from "../../harness/services/tftp/packets.ts";
import { TftpTransfer, toNetascii, type TransferAction, type TransferConfig, type TransferSource } from "../../harness/services/tftp/transfer.ts";

const EVENT = { PACKET: 0, TIMER: 1, CLOCK: 2, STORED: 3, STORE_FAILED: 4, ABORT: 5 } as const;
const CLIENT = { address: "192.168.1.20", port: 1234 };
const MAX_FILE = 256 * 1024;
/** Sent datagrams checked per input; a window of hundreds of blocks is legal, decoding each one is slow. */
const CHECKED_SENDS = 4000;

const choose = <T>(xs: readonly T[], b: number | undefined) => xs[(b ?? 0) % xs.length]!;

// Files are views of one pattern made once: building a file per input would cost more than the transfer.
const BINARY = Uint8Array.from({ length: MAX_FILE }, (_, i) => (i * 31 + (i >> 8)) & 0xff);
const TEXT = Uint8Array.from({ length: MAX_FILE }, (_, i) => (i % 7 === 3 ? (i % 14 === 3 ? 10 : 13) : 0x61 + (i % 26)));

/**
 * The control record: whether the request is refused, the file's size, the transfer's limits and timings. A
 * read serves a file and a write takes one, as the server pairs them (a mismatch is a caller's bug).
 */
function setup(c: Uint8Array, op: "RRQ" | "WRQ"): { source: TransferSource; file: Uint8Array; config: Partial<TransferConfig> } {
  const size = (((c[1] ?? 0) << 16) | ((c[2] ?? 0) << 8) | (c[3] ?? 0)) % (MAX_FILE + 1);
  const file = ((c[0] ?? 0) & 4 ? TEXT : BINARY).subarray(0, size);
  const source: TransferSource = (c[0] ?? 0) & 2 ? { refuse: { code: ERR.FILE_NOT_FOUND, detail: "fuzz: refused" } } : op === "WRQ" ? { write: true } : { read: file };
  const t = c[8] ?? 0;
  const config: Partial<TransferConfig> = {
    maxBlksize: choose([1468, 512, 8, 65464, 1428, 9], c[4]),
    maxWindowsize: choose([64, 1, 4, 16, 512], c[5]),
    maxRetries: choose([10, 0, 1, 3], c[6]),
    maxWriteBytes: choose([512 * 1024 * 1024, 0, 100, 4096], c[7]),
    initialRetransmitMs: choose([200, 1, 50], t),
    minReadRetransmitMs: choose([20, 1, 500], t >> 4),
    maxRetransmitMs: choose([3000, 1, 200], t >> 2),
    dallyMs: choose([3000, 0, 10], t >> 4),
  };
  return { source, file, config };
}

const eventMutators: Mutator[] = [
  {
    name: "transfer: event type",
    mutate(input, { rng }) {
      const b = input.length ? input.slice() : new Uint8Array(1);
      b[0] = rng.pick([0, 0, 0, 1, 1, 2, 3, 4, 5]);
      return b;
    },
  },
  {
    name: "transfer: client datagram",
    mutate(input, ctx) {
      if (input[0] !== EVENT.PACKET) return input;
      const changed = ctx.rng.pick([...TFTP_MUTATORS, ...TFTP_MUTATORS, ...BYTE_MUTATORS]).mutate(input.subarray(1), ctx);
      const out = new Uint8Array(changed.length + 1);
      out.set(changed, 1);
      return out;
    },
  },
];

function check(actions: TransferAction[], now: number, state: { done: number; closed: boolean; sends: number }): void {
  for (const a of actions) {
    if (state.closed) throw new Error(`TFTP transfer: acted after closing (${Object.keys(a)[0]})`);
    if ("send" in a) {
      if (++state.sends <= CHECKED_SENDS) {
        const p = decodePacket(a.send);
        if (typeof p === "string") throw new Error(`TFTP transfer: sent a datagram that does not decode: ${p}`);
      }
    } else if ("timerAt" in a) {
      if (!Number.isFinite(a.timerAt) || a.timerAt < now) throw new Error(`TFTP transfer: asked for a timer at ${a.timerAt}, now is ${now}`);
    } else if ("done" in a) {
      if (++state.done > 1) throw new Error("TFTP transfer: finished twice");
    } else if ("close" in a) state.closed = true;
  }
}

export function tftpTransferArea(): Area {
  const ack = (n: number) => encodePacket({ op: "ACK", block: n });
  const data = (n: number, len: number) => encodePacket({ op: "DATA", block: n, data: new Uint8Array(len).fill(n) });
  const ev = (type: number, body: Uint8Array | number[] = []) => Uint8Array.of(type, ...body);
  const control = (flags: number, size: number, rest: number[] = [0, 0, 0, 0, 0]) => Uint8Array.of(flags, size >> 16, (size >> 8) & 255, size & 255, ...rest);
  const seeds: Uint8Array[] = [];
  for (const name of ["exchange-curl-7.88.1-tftpd-hpa-5.2.hex", "exchange-tftp-hpa-5.2-tftpd-hpa-5.2.hex"]) {
    const [req, ...rest] = hexCapture(`tftp/${name}`).filter((c) => c.from === "c");
    seeds.push(encodeRecords([control(0, 3000), req!.bytes, ...rest.flatMap((c) => [ev(EVENT.PACKET, c.bytes), ev(EVENT.CLOCK, [0, 3])])]));
  }
  const rrq = (opts: [string, string][]) => encodePacket({ op: "RRQ", filename: "kernel", mode: "octet", options: opts.map(([name, value]) => ({ name, value })) });
  const wrq = (opts: [string, string][]) => encodePacket({ op: "WRQ", filename: "backup.bin", mode: "octet", options: opts.map(([name, value]) => ({ name, value })) });
  // A windowed read with a lost ACK, a timeout and the window sent again.
  seeds.push(encodeRecords([control(0, 5000, [1, 2, 0, 0, 0]), rrq([["blksize", "512"], ["windowsize", "4"], ["tsize", "0"]]),
    ev(EVENT.PACKET, ack(0)), ev(EVENT.PACKET, ack(2)), ev(EVENT.TIMER, [0]), ev(EVENT.PACKET, ack(4)), ev(EVENT.PACKET, ack(8)), ev(EVENT.PACKET, ack(10))]));
  // Give-up after retries; and a read in netascii.
  seeds.push(encodeRecords([control(0, 700, [0, 0, 2, 0, 0]), rrq([]), ev(EVENT.TIMER, [0]), ev(EVENT.TIMER, [1]), ev(EVENT.TIMER, [2]), ev(EVENT.TIMER, [0])]));
  seeds.push(encodeRecords([control(4, 900), encodePacket({ op: "RRQ", filename: "boot.txt", mode: "netascii", options: [] }), ev(EVENT.PACKET, ack(1)), ev(EVENT.PACKET, ack(2))]));
  // Uploads: OACK, DATA blocks, a repeated block, the last one short, stored (or not), then the dally.
  seeds.push(encodeRecords([control(0, 0), wrq([["blksize", "512"], ["tsize", "1100"]]), ev(EVENT.PACKET, data(1, 512)), ev(EVENT.PACKET, data(1, 512)),
    ev(EVENT.PACKET, data(2, 512)), ev(EVENT.PACKET, data(3, 76)), ev(EVENT.STORED), ev(EVENT.PACKET, data(3, 76)), ev(EVENT.TIMER, [0])]));
  seeds.push(encodeRecords([control(0, 0), wrq([]), ev(EVENT.PACKET, data(1, 512)), ev(EVENT.TIMER, [0]), ev(EVENT.PACKET, data(2, 3)), ev(EVENT.STORE_FAILED)]));
  seeds.push(encodeRecords([control(0, 0, [0, 0, 0, 2, 0]), wrq([["tsize", "999999"]]), ev(EVENT.PACKET, data(1, 10))]));
  seeds.push(encodeRecords([control(2, 0), rrq([]), ev(EVENT.PACKET, ack(1))]));
  seeds.push(encodeRecords([control(0, 3000), rrq([["blksize", "1024"]]), ev(EVENT.PACKET, encodePacket({ op: "ERROR", code: 0, message: "bye" }))]));
  seeds.push(encodeRecords([control(0, 3000), rrq([]), ev(EVENT.PACKET, ack(1)), ev(EVENT.ABORT), ev(EVENT.PACKET, ack(2))]));
  for (const f of ["rrq-atftp-0.8.0-options.hex", "rrq-curl-7.88.1-blksize-1428.hex", "wrq-curl-7.88.1.hex", "wrq-atftp-0.8.0.hex"]) {
    const write = f.startsWith("wrq");
    seeds.push(encodeRecords([control(0, 10000), hexCapture(`tftp/${f}`)[0]!.bytes, ev(EVENT.PACKET, write ? data(1, 512) : ack(0)), ev(EVENT.PACKET, write ? data(2, 5) : ack(1))]));
  }

  return {
    name: "tftp-transfer",
    corpus: () => seeds,
    mutators: recordMutators({ inner: [...eventMutators, ...eventMutators, ...BYTE_MUTATORS], fixed: 2, control: [...BYTE_MUTATORS, ...TFTP_MUTATORS], maxRecords: 64 }),
    maxBytes: 16 * 1024,
    expects: ["ok", "refused", "timeout", "client-error", "protocol-error", "aborted", "unfinished", "not a request"],
    run(input) {
      const [ctl = new Uint8Array(0), reqBytes = new Uint8Array(0), ...events] = decodeRecords(input);
      const req = decodePacket(reqBytes);
      if (typeof req === "string" || (req.op !== "RRQ" && req.op !== "WRQ")) return "not a request:";
      const { source, file, config } = setup(ctl, req.op);
      const t = new TftpTransfer({ request: req, client: CLIENT, source, config });
      const state = { done: 0, closed: false, sends: 0 };
      let now = 1000;
      let timerAt: number | undefined;
      let outcome: string | undefined;
      const apply = (actions: TransferAction[]) => {
        check(actions, now, state);
        for (const a of actions) {
          if ("timerAt" in a) timerAt = a.timerAt;
          if ("done" in a) {
            outcome = a.done.outcome;
            if (outcome === "ok" && a.done.kind === "read" && "read" in source) {
              const sent = req.mode === "netascii" ? toNetascii(file).length : file.length;
              if (a.done.bytes !== sent) throw new Error(`TFTP transfer: a read finished ok with ${a.done.bytes} of ${sent} bytes`);
            }
          }
        }
      };
      apply(t.start(now));
      for (const e of events) {
        const type = e[0] ?? 0;
        if (type === EVENT.TIMER) {
          if (timerAt === undefined) continue;
          // On time, a little early (a stale call), or late (a busy event loop).
          now = Math.max(now, timerAt + [0, -1, 1, 5000][(e[1] ?? 0) % 4]!);
          apply(t.onTimer(now));
        } else if (type === EVENT.CLOCK) now += ((e[1] ?? 0) << 8) | (e[2] ?? 0);
        else if (type === EVENT.STORED) apply(t.stored(now));
        else if (type === EVENT.STORE_FAILED) apply(t.stored(now, "fuzz: disk full"));
        else if (type === EVENT.ABORT) apply(t.abort(now, "fuzz: abort"));
        else apply(t.onPacket(e.subarray(1), now));
        if (state.closed) {
          // A closed transfer ignores everything.
          const late = [...t.onPacket(e.subarray(1), now), ...t.onTimer(now + 1e6), ...t.stored(now), ...t.abort(now, "again")];
          if (late.length) throw new Error(`TFTP transfer: ${late.length} actions after closing`);
        }
      }
      return `${outcome ?? "unfinished"}:${req.op}`;
    },
  };
}
