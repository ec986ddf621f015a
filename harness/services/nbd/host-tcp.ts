// An NbdServer on a real host TCP port (node:net, under Node and Deno alike): for tests against QEMU's NBD
// client (qemu-img, qemu-io, qemu-nbd -L) and for real boards on a bench network. The lab's guests reach the
// same server through `NbdServer.attach(labHost)` instead.

import { createServer, type Socket } from "node:net";
import { InfrastructureError } from "../../errors/failures.ts";
import type { NbdServer } from "./server.ts";

export interface HostNbdListener {
  /** The bound port (the real one when 0 was asked for). */
  port: number;
  /** Stops listening, ends this listener's sessions (a hard disconnect) and waits for them. */
  close(): Promise<void>;
}

export function listenNbdOnHost(server: NbdServer, port: number, host = "127.0.0.1"): Promise<HostNbdListener> {
  const stop = new AbortController();
  const sessions = new Set<Promise<void>>();
  const listener = createServer((socket: Socket) => {
    // Nagle would hold the tail of each reply until the client's delayed ACK (the protocol asks for NODELAY).
    socket.setNoDelay(true);
    const s = server.serve(socket, { signal: stop.signal }).finally(() => sessions.delete(s));
    sessions.add(s);
  });
  return new Promise((resolvePromise, reject) => {
    const failed = (e: NodeJS.ErrnoException) => {
      listener.close();
      const hint = e.code === "EACCES" ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
        : e.code === "EADDRINUSE" ? " (another program has it: pick another port)"
        : e.code === "EADDRNOTAVAIL" ? " (no interface of this host has that address)" : "";
      reject(new InfrastructureError(`NBD: cannot listen on TCP ${host}:${port}: ${e.code ?? e.message}${hint}`));
    };
    listener.once("error", failed);
    listener.listen(port, host, () => {
      listener.off("error", failed);
      // Later listener errors (rare: EMFILE on accept) must not crash the process; the sessions carry on.
      listener.on("error", () => {});
      const address = listener.address();
      let closing: Promise<void> | undefined;
      resolvePromise({
        port: typeof address === "object" && address ? address.port : port,
        close: () => (closing ??= (async () => {
          const closed = new Promise<void>((r) => listener.close(() => r()));
          stop.abort();
          await Promise.all([...sessions]);
          await closed;
        })()),
      });
    });
  });
}
