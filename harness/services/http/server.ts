// HTTP on the lab LAN: node:http serving static folders, in-memory files and scenario handlers, over the
// lab host's TCP connections (node:http accepts any Duplex as a connection, under Node and Deno alike).
// Every request is logged, so scenarios can assert "the board fetched boot.sh once".

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createReadStream, existsSync, realpathSync, statSync } from "node:fs";
import { resolve, sep } from "node:path";
import type { LabHost } from "../../lan/host.ts";

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HttpLogEntry {
  atMs: number;
  client: string;
  method: string;
  path: string;
  status: number;
  bytes: number;
  ms: number;
}

export class LabHttpServer {
  readonly log: HttpLogEntry[] = [];
  readonly server: Server;
  #routes = new Map<string, HttpHandler>();
  #statics: { prefix: string; dir: string }[] = [];
  #clock: () => number;

  /** `clock`: the log's time in ms (default: since this server was made); a lab gives its run's axis. */
  constructor(clock?: () => number) {
    const t0 = performance.now();
    this.#clock = clock ?? (() => performance.now() - t0);
    this.server = createServer((req, res) => void this.#dispatch(req, res));
  }

  /** Serves a handler at an exact path. */
  route(path: string, handler: HttpHandler): void {
    this.#routes.set(path, handler);
  }

  /** Serves bytes (or text) at an exact path. */
  file(path: string, body: Uint8Array | string, contentType = "application/octet-stream"): void {
    const bytes = typeof body === "string" ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    this.route(path, (_req, res) => {
      res.writeHead(200, { "Content-Type": contentType, "Content-Length": bytes.length });
      res.end(bytes);
    });
  }

  /** Serves a folder under a URL prefix; paths cannot leave it (also not through symlinks). */
  static(prefix: string, dir: string): void {
    this.#statics.push({ prefix: prefix.endsWith("/") ? prefix : prefix + "/", dir: realpathSync(dir) });
  }

  /** Listens on a lab host's TCP port. */
  attach(host: LabHost, port = 80): () => void {
    return host.listenTcp(port, (conn) => this.server.emit("connection", conn));
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t = performance.now();
    const at = this.#clock();
    const raw = (req.url ?? "/").split("?")[0]!;
    // A guest's "%zz" must be its 400, not a URIError that escapes this un-awaited promise and ends the run.
    let path: string | undefined;
    try {
      path = decodeURIComponent(raw);
    } catch {
      path = undefined;
    }
    let bytes = 0;
    const size = (chunk: unknown) => (!chunk || typeof chunk === "function" ? 0 : typeof chunk === "string" ? Buffer.byteLength(chunk) : (chunk as Uint8Array).length);
    const write = res.write.bind(res);
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      bytes += size(chunk);
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof res.write;
    // A body given to end() (route handlers answer with res.end(bytes)) counts too — once: a runtime whose
    // end() goes through write() has counted it already.
    const end = res.end.bind(res);
    res.end = ((chunk: unknown, ...rest: unknown[]) => {
      const before = bytes;
      const r = (end as (...a: unknown[]) => ServerResponse)(chunk, ...rest);
      if (bytes === before) bytes += size(chunk);
      return r;
    }) as typeof res.end;
    res.on("finish", () => {
      this.log.push({
        atMs: Math.round(at), client: req.socket.remoteAddress ?? "?", method: req.method ?? "?", path: path ?? raw,
        status: res.statusCode, bytes, ms: Math.round(performance.now() - t),
      });
    });
    try {
      if (path === undefined) return this.#plain(res, 400, `bad %-escape in ${raw}\n`);
      const handler = this.#routes.get(path);
      if (handler) return await handler(req, res);
      for (const s of this.#statics) {
        if (!path.startsWith(s.prefix)) continue;
        const file = resolve(s.dir, "." + sep + path.slice(s.prefix.length));
        const real = existsSync(file) ? realpathSync(file) : undefined;
        if (!real || !statSync(real).isFile()) break;
        if (real !== s.dir && !real.startsWith(s.dir + sep)) return this.#plain(res, 403, "outside the served folder\n");
        res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": statSync(real).size });
        if (req.method === "HEAD") return void res.end();
        createReadStream(real).pipe(res);
        return;
      }
      this.#plain(res, 404, `no ${path} here\n`);
    } catch (e) {
      if (!res.headersSent) this.#plain(res, 500, `handler failed: ${(e as Error).message}\n`);
      else res.destroy();
    }
  }

  #plain(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { "Content-Type": "text/plain", "Content-Length": Buffer.byteLength(text) });
    res.end(text);
  }

  close(): void {
    this.server.close();
  }
}

