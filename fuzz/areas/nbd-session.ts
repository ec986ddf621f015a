// The NBD server itself (harness/services/nbd/server.ts): a client's bytes — the captured handshakes and
// requests of qemu-img, qemu-io and qemu-nbd, mutated — over an in-memory connection to an NbdServer with a
// copy-on-write, a read-only and a read-write export. The session must end (never reject), and everything the
// server wrote must read back as a well-formed NBD stream, decoded the way a client would decode it.

import type { Area } from "../area.ts";
import { Duplex } from "node:stream";
import { setImmediate } from "node:timers";
import { hexCaptures } from "../captures.ts";
import { BYTE_MUTATORS, concat } from "../mutators/bytes.ts";
import { NBD_MUTATORS } from "../mutators/nbd.ts";
import { recordMutators } from "../mutators/records.ts";
import { decodeRecords, encodeRecords } from "../records.ts";
import { ClientStreamDecoder, CLIENT_FLAG, CMD, OPT, REP, ServerStreamDecoder } from "../../harness/services/nbd/protocol.ts";
import { NbdServer } from "../../harness/services/nbd/server.ts";

const turn = () => new Promise<void>((r) => setImmediate(r));
const TINY = new Uint8Array(1 << 20);

/** A connection whose far end is the fuzz input: it gives the input's chunks and keeps what the server writes. */
class Wire extends Duplex {
  readonly written: Uint8Array[] = [];
  readonly remoteAddress = "192.168.1.20";
  readonly remotePort = 40000;
  override _read(): void {}
  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.written.push(chunk);
    cb();
  }
  override _final(cb: (e?: Error | null) => void): void {
    cb();
  }
}

/**
 * Reads the server's output as a client would, walking the client's messages in step with it: each option is
 * answered by replies ending in ACK or an error (GO's ACK starts transmission), EXPORT_NAME by the export
 * reply, each request but DISC by a reply with its cookie, a successful READ's with its data.
 */
function checkServerOutput(clientBytes: Uint8Array, serverBytes: Uint8Array): void {
  const client = new ClientStreamDecoder({ maxOptionBytes: 1 << 30, maxPayloadBytes: 1 << 30 });
  client.push(clientBytes);
  const out = new ServerStreamDecoder({ maxOptionBytes: 1 << 30, maxPayloadBytes: 1 << 30 });
  out.push(serverBytes);
  const fromServer = () => {
    const m = out.next();
    if (typeof m === "string") throw new Error(`NBD server: its own output does not decode: ${m}`);
    return m;
  };
  const fromClient = () => {
    const m = client.next();
    return typeof m === "string" ? undefined : m;
  };
  walk: {
    if (fromServer()?.type !== "greeting") break walk;
    const flags = fromClient();
    if (flags?.type !== "client-flags") break walk;
    out.noZeroes = (flags.flags & CLIENT_FLAG.NO_ZEROES) !== 0;
    for (;;) {
      const o = fromClient();
      if (o?.type !== "option") break walk;
      if (o.option === OPT.EXPORT_NAME) {
        if (out.buffered === 0) break walk;
        out.phase = "export";
        if (fromServer()?.type !== "export") break walk;
        break;
      }
      let final: number | undefined;
      while (final === undefined) {
        const r = fromServer();
        if (r === undefined) break walk;
        if (r.type !== "option-reply" || r.option !== o.option) throw new Error(`NBD server: answered option ${o.option} with ${r.type} ${"option" in r ? r.option : ""}`);
        if (r.reply === REP.ACK || r.reply >= 0x80000000) final = r.reply;
      }
      if (o.option === OPT.ABORT) break walk;
      if (o.option === OPT.GO && final === REP.ACK) {
        out.phase = "transmission";
        break;
      }
    }
    client.phase = "transmission";
    for (;;) {
      const r = fromClient();
      if (r?.type !== "request" || r.command === CMD.DISC) break walk;
      out.expectRead(r.cookie, r.command === CMD.READ ? r.length : 0);
      const reply = fromServer();
      if (reply === undefined) break walk;
      if (reply.type !== "reply" || reply.cookie !== r.cookie) throw new Error("NBD server: a reply that does not answer the request before it");
    }
  }
  if (out.buffered) throw new Error(`NBD server: ${out.buffered} bytes of its output are no message a client expects (${out.pending() ?? "?"})`);
}

export function nbdSessionArea(): Area {
  const seeds = hexCaptures("nbd/").map((c) => encodeRecords([Uint8Array.of(0), ...c.chunks.filter((ch) => ch.from === "c").map((ch) => ch.bytes)]));
  return {
    name: "nbd-session",
    corpus: () => seeds,
    mutators: recordMutators({ inner: [...NBD_MUTATORS, ...NBD_MUTATORS, ...BYTE_MUTATORS], fixed: 1, maxRecords: 32 }),
    maxBytes: 64 * 1024,
    expects: ["disconnected", "aborted", "closed-by-client", "refused", "protocol-error"],
    async run(input) {
      const [, ...chunks] = decodeRecords(input);
      const server = new NbdServer({ lingerMs: 50, maxOptionBytes: 4096 });
      server.addBytes("tiny", TINY, { mode: "copy-on-write", description: "a tiny disk" });
      server.addBytes("ro", new Uint8Array(4096).fill(7), { mode: "read-only" });
      server.addBytes("rw", new Uint8Array(16384), { mode: "read-write" });
      const wire = new Wire();
      const session = server.serve(wire, { client: "fuzz" });
      for (const c of chunks) {
        wire.push(c);
        await turn();
      }
      wire.push(null);
      await session;
      const log = server.sessions[0]!;
      if (log.outcome === "server-error") throw new Error(`NBD server: ${log.detail}`);
      if (log.state !== "ended") throw new Error(`NBD server: the session resolved in state ${log.state}`);
      checkServerOutput(concat(chunks), concat(wire.written));
      await server.close();
      return `${log.outcome}:${log.via ?? "handshake"}`;
    },
  };
}
