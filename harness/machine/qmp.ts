// A small QMP client: QEMU's JSON machine protocol over a unix socket. It speaks the handshake (greeting,
// qmp_capabilities), matches replies to commands by id, and hands out asynchronous events.
// The parser is separate and pure, so it is tested on bytes captured from a real QEMU.

import type { Socket } from "node:net";
import { InfrastructureError } from "../errors/failures.ts";

export type QmpMessage =
  | { QMP: { version: { qemu: { major: number; minor: number; micro: number }; package: string }; capabilities: string[] } }
  | { return: unknown; id?: string }
  | { error: { class: string; desc: string }; id?: string }
  | { event: string; data?: Record<string, unknown>; timestamp: { seconds: number; microseconds: number } };

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null;

/** Whether a JSON object has the shape of its kind: QmpClient reads these fields without looking first. */
function wellFormed(v: Record<string, unknown>): boolean {
  if ("QMP" in v) {
    const version = isObject(v.QMP) && isObject(v.QMP.version) ? v.QMP.version.qemu : undefined;
    return isObject(version) && ["major", "minor", "micro"].every((k) => typeof version[k] === "number");
  }
  if ("error" in v) return isObject(v.error) && typeof v.error.class === "string" && typeof v.error.desc === "string";
  if ("event" in v) return typeof v.event === "string";
  return "return" in v;
}

/** Splits a byte stream into QMP messages (one JSON object per line). Malformed lines are reported, not thrown. */
export class QmpParser {
  #partial = "";
  #decoder = new TextDecoder();

  push(bytes: Uint8Array): { messages: QmpMessage[]; malformed: string[] } {
    const lines = (this.#partial + this.#decoder.decode(bytes, { stream: true })).split("\n");
    this.#partial = lines.pop()!;
    const messages: QmpMessage[] = [];
    const malformed: string[] = [];
    for (const l of lines) {
      const line = l.trim();
      if (!line) continue;
      try {
        const v = JSON.parse(line) as unknown;
        if (isObject(v) && wellFormed(v)) {
          messages.push(v as QmpMessage);
        } else malformed.push(line);
      } catch {
        malformed.push(line);
      }
    }
    return { messages, malformed };
  }
}

export class QmpError extends InfrastructureError {}

export class QmpClient {
  readonly version: string;
  #socket: Socket;
  #nextId = 1;
  #waiting = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void; what: string }>();
  #listeners: ((event: string, data: Record<string, unknown>) => void)[] = [];
  #closed: string | undefined;

  private constructor(socket: Socket, version: string) {
    this.#socket = socket;
    this.version = version;
  }

  /** Reads the greeting from a freshly connected socket and enters command mode. */
  static connect(socket: Socket, timeoutMs = 10_000): Promise<QmpClient> {
    return new Promise((resolve, reject) => {
      const parser = new QmpParser();
      let client: QmpClient | undefined;
      const timer = setTimeout(() => reject(new QmpError(`no QMP greeting within ${timeoutMs} ms`)), timeoutMs);
      socket.on("data", (b: Buffer) => {
        const { messages } = parser.push(b);
        for (const m of messages) {
          if (!client) {
            if (!("QMP" in m)) continue;
            const v = m.QMP.version.qemu;
            client = new QmpClient(socket, `${v.major}.${v.minor}.${v.micro}`);
            clearTimeout(timer);
            client.execute("qmp_capabilities").then(() => resolve(client!), reject);
          } else client.#dispatch(m);
        }
      });
      const gone = (why: string) => {
        clearTimeout(timer);
        if (client) client.#fail(why);
        else reject(new QmpError(`QMP socket ${why} before the greeting`));
      };
      socket.on("close", () => gone("closed"));
      socket.on("error", (e: Error) => gone(`error: ${e.message}`));
    });
  }

  #dispatch(m: QmpMessage): void {
    if ("event" in m) {
      for (const l of this.#listeners) l(m.event, m.data ?? {});
      return;
    }
    if (!("id" in m) || m.id === undefined) return;
    const w = this.#waiting.get(m.id);
    if (!w) return;
    this.#waiting.delete(m.id);
    if ("error" in m) w.reject(new QmpError(`QMP ${w.what} failed: ${m.error.class}: ${m.error.desc}`));
    else w.resolve(m.return);
  }

  #fail(why: string): void {
    this.#closed = why;
    for (const w of this.#waiting.values()) w.reject(new QmpError(`QMP ${w.what}: connection ${why}`));
    this.#waiting.clear();
  }

  onEvent(listener: (event: string, data: Record<string, unknown>) => void): void {
    this.#listeners.push(listener);
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
    if (this.#closed) return Promise.reject(new QmpError(`QMP ${command}: connection ${this.#closed}`));
    const id = `bl${this.#nextId++}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new QmpError(`QMP ${command}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, {
        what: command,
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.#socket.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + "\n");
    });
  }

  /** {running, status} as QEMU reports it ("running", "paused", "prelaunch", "shutdown", ...). */
  status(): Promise<{ running: boolean; status: string }> {
    return this.execute("query-status");
  }

  close(): void {
    this.#socket.destroy();
  }
}
