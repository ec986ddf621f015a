// Both directions of the NBD protocol (harness/services/nbd/protocol.ts) on captured exchanges (qemu-img,
// qemu-io and qemu-nbd against bootlab's server and qemu-nbd): the client's bytes through ClientStreamDecoder
// with the phase moved as a server moves it, the server's bytes through ServerStreamDecoder with the phase and
// expected reads set as a client sets them, and the option data decoders on what they carry. Chunks split
// messages anywhere. Errors must be sticky; descriptions must exist.

import type { Area } from "../area.ts";
import { hexCaptures } from "../captures.ts";
import { BYTE_MUTATORS } from "../mutators/bytes.ts";
import { NBD_MUTATORS } from "../mutators/nbd.ts";
import { afterPrefix, recordMutators } from "../mutators/records.ts";
import { decodeRecords, encodeRecords } from "../records.ts";
import {
  ClientStreamDecoder, CLIENT_FLAG, CMD, decodeExportName, decodeInfoReply, decodeInfoRequest, decodeServerEntry, describeClientMessage,
  describeServerMessage, OPT, REP, ServerStreamDecoder,
} from "../../harness/services/nbd/protocol.ts";

const choose = <T>(xs: readonly T[], b: number | undefined) => xs[(b ?? 0) % xs.length]!;

export function nbdProtocolArea(): Area {
  const seeds = hexCaptures("nbd/").map((c) =>
    encodeRecords([Uint8Array.of(0, 0), ...c.chunks.map((ch) => Uint8Array.of(ch.from === "c" ? 0 : 1, ...ch.bytes))]));
  return {
    name: "nbd-protocol",
    corpus: () => seeds,
    mutators: recordMutators({ inner: afterPrefix(1, [...NBD_MUTATORS, ...NBD_MUTATORS, ...BYTE_MUTATORS]), fixed: 1, maxRecords: 48 }),
    maxBytes: 64 * 1024,
    expects: ["client:request", "client:option", "server:reply", "server:option-reply", "client:error", "server:error"],
    run(input) {
      const [ctl = new Uint8Array(0), ...chunks] = decodeRecords(input);
      // Small limits now and then, to reach "over the limit" with small inputs.
      const limits = { maxOptionBytes: choose([65536, 16, 0], ctl[0]), maxPayloadBytes: choose([1 << 25, 512, 0], ctl[1]) };
      const client = new ClientStreamDecoder(limits);
      const server = new ServerStreamDecoder(limits);
      let lastClientOption: number | undefined;
      let last = "none:";
      const drainClient = () => {
        for (;;) {
          const m = client.next();
          if (m === undefined) return;
          if (!describeClientMessage(m)) throw new Error("NBD: a client message describes as nothing");
          if (typeof m === "string") {
            if (client.next() !== m) throw new Error("NBD: a client stream error did not stick");
            last = "client:error";
            return;
          }
          last = `client:${m.type}`;
          if (m.type === "client-flags") server.noZeroes = (m.flags & CLIENT_FLAG.NO_ZEROES) !== 0;
          else if (m.type === "option") {
            lastClientOption = m.option;
            if (m.option === OPT.GO || m.option === OPT.INFO) decodeInfoRequest(m.data);
            if (m.option === OPT.EXPORT_NAME) {
              decodeExportName(m.data);
              // The server accepts (or hangs up); its answer is the export reply, so the client expects one.
              client.phase = "transmission";
              server.phase = "export";
            }
          } else if (m.type === "request" && m.command === CMD.READ) server.expectRead(m.cookie, m.length);
        }
      };
      const drainServer = () => {
        for (;;) {
          const m = server.next();
          if (m === undefined) return;
          if (!describeServerMessage(m)) throw new Error("NBD: a server message describes as nothing");
          if (typeof m === "string") {
            if (server.next() !== m) throw new Error("NBD: a server stream error did not stick");
            last = "server:error";
            return;
          }
          last = `server:${m.type}`;
          if (m.type === "option-reply") {
            if (m.reply === REP.SERVER) decodeServerEntry(m.data);
            if (m.reply === REP.INFO) decodeInfoReply(m.data);
            if (m.reply === REP.ACK && m.option === OPT.GO && lastClientOption === OPT.GO) {
              server.phase = "transmission";
              client.phase = "transmission";
            }
          }
        }
      };
      for (const c of chunks) {
        if ((c[0] ?? 0) & 1) (server.push(c.subarray(1)), drainServer());
        else (client.push(c.subarray(1)), drainClient());
        if (client.buffered < 0 || server.buffered < 0) throw new Error("NBD: a decoder holds a negative number of bytes");
      }
      client.pending();
      server.pending();
      return last;
    },
  };
}
