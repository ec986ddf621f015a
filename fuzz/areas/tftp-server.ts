// The TFTP server (harness/services/tftp/server.ts) around its transfers: datagrams from three clients to the
// listening port and to the transfers' own ports — requests, repeated requests, strangers, ACKs and ERRORs —
// with retransmission timers fired on a fake clock, over an in-memory network, then closed. Everything it
// sends must decode; once closed, every socket it bound and every timer it armed must be released.

import type { Area, Mutator } from "../area.ts";
import { setImmediate } from "node:timers";
import { hexCapture } from "../captures.ts";
import { FakeTimers } from "../fake-timers.ts";
import { BYTE_MUTATORS } from "../mutators/bytes.ts";
import { afterPrefix, recordMutators } from "../mutators/records.ts";
import { TFTP_MUTATORS } from "../mutators/tftp.ts";
import { decodeRecords, encodeRecords } from "../records.ts";
import type { DatagramNetwork, DatagramSocket, Endpoint } from "../../harness/net/datagram.ts";
import { decodePacket, encodePacket } from "../../harness/services/tftp/packets.ts";
import { TftpServer } from "../../harness/services/tftp/server.ts";

const turn = () => new Promise<void>((r) => setImmediate(r));
const CLIENTS: Endpoint[] = [{ address: "192.168.1.20", port: 1234 }, { address: "192.168.1.20", port: 1235 }, { address: "192.168.1.21", port: 1234 }];
/** A record's first byte: bits 0-1 the client (3: no datagram, fire the next timer), bit 2 to a transfer's port, bits 3-4 which one. */
const TIMER = 3;
const FIRST_EPHEMERAL = 50000;

/** An in-memory UDP network: sockets by port, what the server sent, and which sockets are still open. */
class FakeNetwork implements DatagramNetwork {
  readonly sockets = new Map<number, { handler: (data: Uint8Array, from: Endpoint) => void; open: boolean }>();
  readonly sent: { from: number; to: Endpoint; data: Uint8Array }[] = [];
  #next = FIRST_EPHEMERAL;

  bind(port: number): Promise<DatagramSocket> {
    const p = port === 0 ? this.#next++ : port;
    if (this.sockets.get(p)?.open) return Promise.reject(Object.assign(new Error(`port ${p} in use`), { code: "EADDRINUSE" }));
    const s = { handler: (_d: Uint8Array, _f: Endpoint) => {}, open: true };
    this.sockets.set(p, s);
    const sent = this.sent;
    return Promise.resolve({
      port: p,
      send(to: Endpoint, data: Uint8Array) {
        if (!s.open) throw new Error(`TFTP server: sent on port ${p} after closing it`);
        sent.push({ from: p, to, data });
      },
      onMessage(h: (data: Uint8Array, from: Endpoint) => void) {
        s.handler = h;
      },
      close() {
        s.open = false;
      },
    });
  }

  deliver(port: number, data: Uint8Array, from: Endpoint): void {
    const s = this.sockets.get(port);
    if (s?.open) s.handler(data, from);
  }

  /** Open ephemeral ports, newest first. */
  transfers(): number[] {
    return [...this.sockets].filter(([p, s]) => p >= FIRST_EPHEMERAL && s.open).map(([p]) => p).reverse();
  }
}

const routeMutator: Mutator = {
  name: "tftp-server: who sends where",
  mutate(input, { rng }) {
    const b = input.length ? input.slice() : new Uint8Array(1);
    b[0] = rng.pick([0, 0, 4, 4, 1, 5, 2, 6, 3, 3, 12, 20]);
    return b;
  },
};

export function tftpServerArea(): Area {
  const kernel = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff);
  const to = (route: number, packet: Uint8Array) => Uint8Array.of(route, ...packet);
  const tick = () => Uint8Array.of(TIMER);
  const ack = (n: number) => encodePacket({ op: "ACK", block: n });
  const rrq = hexCapture("tftp/rrq-curl-7.88.1.hex")[0]!.bytes;
  const seeds = [
    encodeRecords([to(0, rrq), to(4, ack(0)), to(4, ack(1)), to(4, ack(2)), to(4, ack(3)), to(4, ack(4)), to(4, ack(5)), to(4, ack(6))]),
    encodeRecords([to(0, rrq), to(0, rrq), to(1, rrq), to(4, ack(0)), to(5, ack(0)), to(6, ack(0)), tick(), tick(), tick()]),
    encodeRecords([to(0, encodePacket({ op: "RRQ", filename: "boot.scr", mode: "octet", options: [{ name: "blksize", value: "8" }] })), to(4, ack(0)), to(4, ack(1)),
      to(4, encodePacket({ op: "ERROR", code: 0, message: "bye" }))]),
    encodeRecords([to(0, hexCapture("tftp/wrq-curl-7.88.1.hex")[0]!.bytes), to(0, hexCapture("tftp/rrq-tftp-hpa-5.2-traversal.hex")[0]!.bytes),
      to(0, encodePacket({ op: "RRQ", filename: "missing", mode: "octet", options: [] })), to(0, ack(1)), to(0, Uint8Array.of(0, 1, 0x61))]),
    encodeRecords([to(0, encodePacket({ op: "RRQ", filename: "kernel", mode: "netascii", options: [{ name: "windowsize", value: "4" }, { name: "tsize", value: "0" }] })),
      to(4, ack(0)), to(4, ack(2)), tick(), to(4, ack(4)), tick(), tick(), tick()]),
  ];
  return {
    name: "tftp-server",
    corpus: () => seeds,
    mutators: recordMutators({ inner: [routeMutator, ...afterPrefix(1, [...TFTP_MUTATORS, ...TFTP_MUTATORS, ...BYTE_MUTATORS])], maxRecords: 48 }),
    maxBytes: 16 * 1024,
    expects: ["transfer:ok", "transfer:refused", "transfer:timeout", "transfer:protocol-error", "transfer:client-error", "request:error"],
    async run(input) {
      const clock = new FakeTimers();
      const restore = clock.install();
      const net = new FakeNetwork();
      let server: TftpServer | undefined;
      try {
        server = await TftpServer.start({
          network: net, files: { kernel, "boot.scr": new TextEncoder().encode("bootm 0x82000000\n"), "dir/x": new Uint8Array(512) },
          transfer: { maxRetries: 2, dallyMs: 100 }, clock: () => clock.now,
        });
        for (const r of decodeRecords(input)) {
          const route = r[0] ?? 0;
          if ((route & 3) === TIMER) clock.fireNext();
          else {
            const ports = net.transfers();
            const port = route & 4 ? ports[(route >> 3) & 3] ?? server.port : server.port;
            net.deliver(port, r.subarray(1), CLIENTS[route & 3]!);
          }
          await turn();
        }
        await server.close();
        for (const s of net.sent) {
          const p = decodePacket(s.data);
          if (typeof p === "string") throw new Error(`TFTP server: sent a datagram that does not decode: ${p}`);
        }
        const open = [...net.sockets].filter(([, s]) => s.open).map(([p]) => p);
        if (open.length) throw new Error(`TFTP server: closed, and ports ${open.join(", ")} are still open`);
        if (clock.pending) throw new Error(`TFTP server: closed, and ${clock.pending} timers are still armed`);
        const last = server.log.at(-1);
        if (last) return `transfer:${last.outcome}`;
        const req = server.requests.at(-1);
        return req ? `request:${req.result}` : "ignored:";
      } finally {
        await server?.close();
        restore();
      }
    },
  };
}
