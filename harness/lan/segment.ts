// The lab LAN segment: a learning switch in user space. QEMU NICs plug in through unix-socket stream
// netdevs (the socket listens before QEMU starts: QEMU 7.2 never reconnects); the lab's own hosts plug in
// as in-process ports. Every frame passes through here, so taps (capture, logs) see them all.

import { createServer, type Server, type Socket } from "node:net";
import { rmSync } from "node:fs";
import { FrameStream, framesForStream } from "./frame-stream.ts";
import { bytesToMac } from "./packets/ethernet.ts";
import type { Owner } from "../lifecycle/owner.ts";
import { FaultEngine } from "./faults.ts";
import { ScenarioError } from "../errors/failures.ts";
import { callSite } from "../errors/stack.ts";

/** One frame entering the switch. */
export interface FrameEvent {
  /** The port the frame came in on. */
  port: string;
  /** The Ethernet frame's bytes. */
  frame: Uint8Array;
  /** Milliseconds on the segment's clock (since it started; in a lab, since the run began). */
  at: number;
  /** Unix time in milliseconds (for captures). */
  wallMs: number;
}

export type FrameTap = (e: FrameEvent) => void;

/** What one port of the switch has carried: frames the device sent in, and frames the switch gave it. */
export interface PortCounters {
  /** Frames that came in on this port (before faults and link state). */
  framesIn: number;
  /** Frames the switch delivered to this port. */
  framesOut: number;
}

interface Port {
  name: string;
  linkUp: boolean;
  counters: PortCounters;
  /** Whether something is plugged in at the far end (a QEMU connected; in-process hosts always are). */
  connected(): boolean;
  deliver(frame: Uint8Array): void;
  close(): Promise<void>;
}

/** What an in-process host gets when it plugs in: a way to send frames. */
export interface PortHandle {
  send(frame: Uint8Array): void;
}

/**
 * The lab LAN's learning switch (`lan.segment`): one port per board NIC and lab host, link state, a tap for every
 * frame, and the fault engine.
 */
export class LanSegment {
  /** The segment's name ("lan0"). */
  readonly name: string;
  #ports = new Map<string, Port>();
  #macTable = new Map<string, string>();
  #taps: FrameTap[] = [];
  #t0 = performance.now();
  #wall0 = Date.now();
  /** What the switch has counted since it started. */
  readonly counters = {
    /** Frames switched (after faults). */
    frames: 0,
    /** Frames too short to be Ethernet, or a QEMU stream out of step. */
    malformed: 0,
    /** Frames dropped on a port whose link is down. */
    droppedLinkDown: 0,
    /** MAC table entries forgotten to make room (least recently seen first). */
    macsEvicted: 0,
    /** Duplicate-MAC reports past the first 100 (counted, not listed). */
    duplicateMacsDropped: 0,
    /** Writes to QEMU sockets (frames made in one turn leave in one write). */
    socketWrites: 0,
  };
  /**
   * MAC table entries kept (least recently seen forgotten first, to be flooded and learnt again, as a full
   * switch does). A lab segment has a few boards and lab hosts; 1024 is what a small switch holds, and a guest
   * sending from random source MACs must not grow the table without end.
   */
  readonly maxMacs: number;
  /**
   * Source MACs seen on two ports that were both plugged in: two devices claiming one address (a cloned
   * factory block, a copied VM). Once per MAC and pair of ports, like a switch's "MAC flapping" log.
   */
  readonly duplicateMacs: { mac: string; ports: [string, string]; at: number }[] = [];
  /** Its fault rules (also `lan.faults`). */
  readonly faults: FaultEngine;
  #timers = new Set<ReturnType<typeof setTimeout>>();

  #clock: () => number;

  /** `clock`: the time frames and firings are logged at, in ms (default: since the segment was made). */
  constructor(name: string, owner: Owner, seed = 1, clock?: () => number, opts: { maxMacs?: number } = {}) {
    this.name = name;
    this.#clock = clock ?? (() => performance.now() - this.#t0);
    this.maxMacs = opts.maxMacs ?? 1024;
    this.faults = new FaultEngine(seed);
    owner.adopt(`lan ${name}`, () => this.close());
  }

  /** Calls `tap` with every frame entering the switch (after faults). */
  onFrame(tap: FrameTap): void {
    this.#taps.push(tap);
  }

  #checkName(name: string): void {
    if (this.#ports.has(name)) throw new ScenarioError(`${this.name}: a port named "${name}" exists already`, { at: callSite(), expected: "one name per switch port" });
  }

  /** Opens a port for a QEMU NIC: listens on `socketPath` for one stream-netdev connection. */
  async addSocketPort(name: string, socketPath: string): Promise<void> {
    this.#checkName(name);
    rmSync(socketPath, { force: true });
    const server: Server = createServer();
    let conn: Socket | undefined;
    // Frames for QEMU leave in one write per turn of the event loop: every socket write wakes QEMU's main
    // loop on the other core, which on a 2-core VM costs ~40 µs (profiled: writeBuffer was 0.9 s of a
    // 23,000-block netboot). A TFTP window of 16 blocks made in one turn is then one write, not 16.
    const pending: Uint8Array[] = [];
    const flush = () => {
      const frames = pending.splice(0);
      if (!conn || !frames.length) return;
      this.counters.socketWrites++;
      conn.write(framesForStream(frames));
    };
    const port: Port = {
      name,
      linkUp: true,
      counters: { framesIn: 0, framesOut: 0 },
      connected: () => conn !== undefined,
      deliver: (frame) => {
        if (!conn) return;
        if (pending.push(frame) === 1) queueMicrotask(flush);
      },
      close: async () => {
        pending.length = 0;
        conn?.destroy();
        await new Promise<void>((r) => server.close(() => r()));
        rmSync(socketPath, { force: true });
      },
    };
    server.on("connection", (c: Socket) => {
      if (conn) {
        c.destroy();
        return;
      }
      conn = c;
      const fs = new FrameStream();
      c.on("data", (b: Buffer) => {
        for (const f of fs.push(b)) this.#ingress(port, f);
        this.counters.malformed += fs.malformed;
        fs.malformed = 0;
      });
      c.on("error", () => {});
      c.on("close", () => {
        if (conn === c) conn = undefined;
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
    this.#ports.set(name, port);
  }

  /** Whether a port of this name is plugged in. */
  hasPort(name: string): boolean {
    return this.#ports.has(name);
  }

  /**
   * A copy of what a port has carried so far, or undefined for a port that does not exist. Two readings
   * around an exchange tell where its frames were lost: never sent by the device, or sent to it.
   */
  portCounters(name: string): PortCounters | undefined {
    const p = this.#ports.get(name);
    return p && { ...p.counters };
  }

  /** Plugs in an in-process host; frames for it are delivered asynchronously, like a wire would. */
  addHostPort(name: string, receive: (frame: Uint8Array) => void): PortHandle {
    this.#checkName(name);
    const port: Port = {
      name,
      linkUp: true,
      counters: { framesIn: 0, framesOut: 0 },
      connected: () => true,
      deliver: (frame) => queueMicrotask(() => receive(frame)),
      close: async () => {},
    };
    this.#ports.set(name, port);
    return { send: (frame) => this.#ingress(port, frame) };
  }

  /** Pulls or plugs the cable of a port: frames from and to it are dropped while it is down. */
  setLink(name: string, up: boolean): void {
    const p = this.#ports.get(name);
    if (!p) throw new ScenarioError(`${this.name}: no port "${name}"`, { at: callSite(), expected: `one of the switch's ports: ${[...this.#ports.keys()].join(", ") || "(none)"}` });
    p.linkUp = up;
  }

  /** Pulls the cable of a port for `ms`, then plugs it back in. */
  linkDownFor(name: string, ms: number): void {
    this.setLink(name, false);
    const t = setTimeout(() => {
      this.#timers.delete(t);
      this.setLink(name, true);
    }, ms);
    this.#timers.add(t);
  }

  #ingress(port: Port, frame: Uint8Array): void {
    port.counters.framesIn++;
    if (!port.linkUp) {
      this.counters.droppedLinkDown++;
      return;
    }
    if (frame.length < 14) {
      this.counters.malformed++;
      return;
    }
    for (const d of this.faults.decide(frame, port.name, this.#clock())) {
      if (d.delayMs <= 0) this.#forward(port, d.frame);
      else {
        const t = setTimeout(() => {
          this.#timers.delete(t);
          this.#forward(port, d.frame);
        }, d.delayMs);
        this.#timers.add(t);
      }
    }
  }

  /** Switches a frame (after faults): taps see what really went across. */
  #forward(port: Port, frame: Uint8Array): void {
    this.counters.frames++;
    const now = this.#clock();
    const event: FrameEvent = { port: port.name, frame, at: now, wallMs: this.#wall0 + performance.now() - this.#t0 };
    for (const t of this.#taps) t(event);
    if (!(frame[6]! & 1)) this.#learn(bytesToMac(frame, 6), port, now);
    const out = frame[0]! & 1 ? undefined : this.#macTable.get(bytesToMac(frame, 0));
    for (const p of this.#ports.values()) {
      if (p === port || !p.linkUp) continue;
      if (out && p.name !== out) continue;
      p.counters.framesOut++;
      p.deliver(frame);
    }
  }

  /** MAC addresses the switch knows now (at most maxMacs). */
  get macTableSize(): number {
    return this.#macTable.size;
  }

  #learn(mac: string, port: Port, now: number): void {
    const before = this.#macTable.get(mac);
    // Delete first so the Map's order is least recently seen first: that one goes when the table is full.
    this.#macTable.delete(mac);
    if (before === undefined && this.#macTable.size >= this.maxMacs) {
      this.#macTable.delete(this.#macTable.keys().next().value!);
      this.counters.macsEvicted++;
    }
    this.#macTable.set(mac, port.name);
    if (before === undefined || before === port.name) return;
    // A MAC that moved from a port whose device is gone (a board powered off) is a move, not a duplicate.
    if (!this.#ports.get(before)?.connected()) return;
    const pair = [before, port.name].sort() as [string, string];
    if (this.duplicateMacs.some((d) => d.mac === mac && d.ports[0] === pair[0] && d.ports[1] === pair[1])) return;
    // A real duplicate is one or two entries; a flood of moving MACs is reported by count past 100.
    if (this.duplicateMacs.length >= 100) this.counters.duplicateMacsDropped++;
    else this.duplicateMacs.push({ mac, ports: pair, at: now });
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const p of this.#ports.values()) await p.close();
    this.#ports.clear();
  }
}
