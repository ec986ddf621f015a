// The lab HTTP server's log counts the body bytes it sent, whichever way the body went out: res.end(bytes)
// from a route (lan.http.file), a static file piped through res.write, an error page.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { LabHttpServer } from "../../harness/services/http/server.ts";
import { tempDir } from "../helpers.ts";

test("http: the log's byte count is the body sent — route, static file, 404", async () => {
  const d = tempDir();
  const http = new LabHttpServer();
  try {
    http.file("/blob", new Uint8Array(300_000).fill(7));
    writeFileSync(join(d.path, "static.bin"), new Uint8Array(123_456).fill(1));
    http.static("/files", d.path);
    await new Promise<void>((r) => http.server.listen(0, "127.0.0.1", r));
    const port = (http.server.address() as AddressInfo).port;
    for (const path of ["/blob", "/files/static.bin", "/nothing"]) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      await res.arrayBuffer();
    }
    // The log entry is pushed on the response's "finish", after the client has its last byte.
    for (let i = 0; i < 50 && http.log.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    // In order of path: a piped file's "finish" can come after a later request's.
    assert.deepEqual(http.log.map((l) => [l.path, l.status, l.bytes]).sort(), [
      ["/blob", 200, 300_000], ["/files/static.bin", 200, 123_456], ["/nothing", 404, Buffer.byteLength("no /nothing here\n")],
    ]);
  } finally {
    await new Promise((r) => http.server.close(r));
    d.remove();
  }
});
