// The lab's HTTP server (harness/services/http/server.ts) as a guest's wget or curl reaches it: request
// bytes, in chunks, over an in-memory connection shaped like a lab TCP connection, through node:http's parser to
// in-memory files, handlers (one echoing the body, one throwing, one answering late) and a static folder.
// Every request must be answered or refused in HTTP, and nothing may escape as an unhandled rejection.

import type { Area } from "../area.ts";
import { STATUS_CODES } from "node:http";
import { Duplex } from "node:stream";
import { setImmediate } from "node:timers";
import { fileURLToPath } from "node:url";
import { DATA } from "../captures.ts";
import { BYTE_MUTATORS, concat } from "../mutators/bytes.ts";
import { HTTP_MUTATORS, HTTP_WORDS } from "../mutators/http.ts";
import { recordMutators } from "../mutators/records.ts";
import { textMutators } from "../mutators/text.ts";
import { decodeRecords, encodeRecords } from "../records.ts";
import { LabHttpServer } from "../../harness/services/http/server.ts";

const turn = () => new Promise<void>((r) => setImmediate(r));
/** Turns of the event loop an input may take to be answered (file reads go through the thread pool). */
const MAX_TURNS = 400;

/** The far end of a connection is the fuzz input; the socket-like details are the ones TcpConnection has. */
class Wire extends Duplex {
  readonly written: Uint8Array[] = [];
  readonly remoteAddress = "192.168.1.20";
  readonly remotePort = 40000;
  setNoDelay(): this { return this; }
  setKeepAlive(): this { return this; }
  setTimeout(): this { return this; }
  ref(): this { return this; }
  unref(): this { return this; }
  override _read(): void {}
  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.written.push(chunk);
    cb();
  }
  override _final(cb: (e?: Error | null) => void): void {
    cb();
  }
}

export function httpArea(): Area {
  const http = new LabHttpServer();
  http.file("/boot.sh", "#!/bin/sh\nmount /dev/sda1 /mnt && exec switch_root /mnt /sbin/init\n", "text/x-shellscript");
  http.file("/big.bin", new Uint8Array(100_000).fill(0x5a));
  http.route("/echo", async (req, res) => {
    const parts: Uint8Array[] = [];
    for await (const c of req) parts.push(c as Uint8Array);
    const body = concat(parts);
    res.writeHead(200, { "Content-Length": body.length });
    res.end(body);
  });
  http.route("/throws", () => {
    throw new Error("a scenario handler failed");
  });
  http.route("/slow", async (_req, res) => {
    await turn();
    res.end("late\n");
  });
  http.static("/data/", fileURLToPath(new URL("flash-layouts/", DATA)));
  let requests = 0, closed = 0;
  http.server.on("request", (_req, res) => {
    requests++;
    res.on("close", () => closed++);
  });

  const text = (s: string) => new TextEncoder().encode(s);
  const one = (s: string) => encodeRecords([text(s)]);
  const seeds = [
    one("GET /boot.sh HTTP/1.1\r\nHost: 192.168.1.10\r\nUser-Agent: Wget\r\nConnection: close\r\n\r\n"),
    one("GET /data/emmc-ev1.tsv HTTP/1.1\r\nHost: 192.168.1.10\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"),
    one("HEAD /data/sdcard-dk2.tsv HTTP/1.0\r\n\r\n"),
    one("GET /data/../dhcp/u-boot-2023.01-malta-mipsel-discover.bin HTTP/1.1\r\nHost: x\r\n\r\n"),
    one("GET /missing HTTP/1.1\r\nHost: x\r\n\r\nGET /boot.sh HTTP/1.1\r\nHost: x\r\n\r\n"),
    one("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"),
    one("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    one("GET /throws HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n"),
    one("GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-99\r\n\r\n"),
    one("GET /boot.sh?x=%41 HTTP/1.1\r\nHost: x\r\n\r\n"),
    encodeRecords([text("GET /boot"), text(".sh HTTP/1.1\r\nHo"), text("st: x\r\n\r\n")]),
  ];
  return {
    name: "http",
    corpus: () => seeds,
    mutators: recordMutators({ inner: [...HTTP_MUTATORS, ...HTTP_MUTATORS, ...textMutators(HTTP_WORDS), ...BYTE_MUTATORS], maxRecords: 16 }),
    dictionary: HTTP_WORDS.map(text),
    maxBytes: 16 * 1024,
    expects: ["status:OK", "status:Not Found", "status:Bad Request", "status:Forbidden", "status:Internal Server Error", "silent"],
    async run(input) {
      http.log.length = 0;
      requests = 0;
      closed = 0;
      const wire = new Wire();
      const gone = new Promise<void>((r) => wire.on("close", () => r()));
      http.server.emit("connection", wire);
      for (const c of decodeRecords(input)) {
        wire.push(c);
        await turn();
      }
      // The client waits for its answers before it closes its side, as wget and curl do.
      for (let i = 0; i < MAX_TURNS && closed < requests; i++) await turn();
      wire.push(null);
      let done = false;
      void gone.then(() => (done = true));
      for (let i = 0; i < MAX_TURNS && !done; i++) await turn();
      if (!done) wire.destroy();
      const out = new TextDecoder("latin1").decode(concat(wire.written));
      if (out && !/^HTTP\/1\.[01] \d{3} /.test(out)) throw new Error(`HTTP: the server answered with something that is not HTTP: ${JSON.stringify(out.slice(0, 40))}`);
      const statuses = [...out.matchAll(/^HTTP\/1\.[01] (\d{3}) /gm)].map((m) => m[1]);
      // Words, not numbers: outcome details have their digits folded.
      return statuses.length ? `status:${STATUS_CODES[statuses.at(-1)!] ?? "unknown"}` : "silent:";
    },
  };
}
