// The lab LAN segment: a learning switch in user space that QEMU NICs plug into through unix-socket
// stream netdevs. Sockets listen before QEMU starts (QEMU 7.2 never reconnects). Every frame passes
// through here, so taps (capture, counters, the lab's own host stack later) see them all.

import { createServer, type Server, type Socket } from "node:net";
import { rmSync } from "node:fs";
import { FrameStream, frameForStream } from "./frame-stream.ts";
import type { Owner } from "../lifecycle/owner.ts";

export interface FrameEvent {
  port: string;
  frame: Uint8Array;
  /** milliseconds since the segment started */
  at: number;
}

export type FrameTap = (e: FrameEvent) => void;

interface Port {
  name: string;
  socketPath: string;
  server: Server;
  conn?: Socket;
  linkUp: boolean;
}

export function macToString(b: Uint8Array, off = 0): string {
  return Array.from(b.subarray(off, off + 6), (x) => x.toString(16).padStart(2, "0")).join(":");
}

export class LanSegment {
  readonly name: string;
  #ports = new Map<string, Port>();
  #macTable = new Map<string, string>();
  #taps: FrameTap[] = [];
  #t0 = performance.now();
  readonly counters = { frames: 0, malformed: 0 };

  constructor(name: string, owner: Owner) {
    this.name = name;
    owner.adopt(`lan ${name}`, () => this.close());
  }

  onFrame(tap: FrameTap): void {
    this.#taps.push(tap);
  }

  /** Opens a port: listens on `socketPath` for one QEMU netdev connection. */
  async addPort(name: string, socketPath: string): Promise<void> {
    rmSync(socketPath, { force: true });
    const server = createServer();
    const port: Port = { name, socketPath, server, linkUp: true };
    server.on("connection", (conn: Socket) => {
      if (port.conn) {
        conn.destroy();
        return;
      }
      port.conn = conn;
      const fs = new FrameStream();
      conn.on("data", (b: Buffer) => {
        for (const f of fs.push(b)) this.#ingress(port, f);
        this.counters.malformed += fs.malformed;
        fs.malformed = 0;
      });
      conn.on("error", () => {});
      conn.on("close", () => {
        if (port.conn === conn) port.conn = undefined;
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
    this.#ports.set(name, port);
  }

  setLink(name: string, up: boolean): void {
    const p = this.#ports.get(name);
    if (p) p.linkUp = up;
  }

  #ingress(port: Port, frame: Uint8Array): void {
    if (!port.linkUp) return;
    if (frame.length < 14) {
      this.counters.malformed++;
      return;
    }
    this.counters.frames++;
    const event = { port: port.name, frame, at: performance.now() - this.#t0 };
    for (const t of this.#taps) t(event);
    const src = macToString(frame, 6);
    if (!(frame[6]! & 1)) this.#macTable.set(src, port.name);
    const dst = macToString(frame, 0);
    const out = frame[0]! & 1 ? undefined : this.#macTable.get(dst);
    for (const p of this.#ports.values()) {
      if (p === port || !p.linkUp || !p.conn) continue;
      if (out && p.name !== out) continue;
      p.conn.write(frameForStream(frame));
    }
  }

  async close(): Promise<void> {
    for (const p of this.#ports.values()) {
      p.conn?.destroy();
      await new Promise<void>((r) => p.server.close(() => r()));
      rmSync(p.socketPath, { force: true });
    }
    this.#ports.clear();
  }
}
