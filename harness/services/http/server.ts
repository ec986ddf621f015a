// HTTP on the lab LAN: node:http serving static folders, in-memory files and scenario handlers, over the
// lab host's TCP connections (node:http accepts any Duplex as a connection, under Node and Deno alike).
// Every request is logged, so scenarios can assert "the board fetched boot.sh once".

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createReadStream, existsSync, realpathSync, statSync } from "node:fs";
import { resolve, sep } from "node:path";
import type { Duplex } from "node:stream";
import type { LabHost } from "../../lan/host.ts";

/** A route's handler: Node's request and response. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** One HTTP request the lab server answered (`lan.http.log`, lan-log.json `http`). */
export interface HttpLogEntry {
  /** Milliseconds since the server started, at the request. */
  atMs: number;
  /** The client's address. */
  client: string;
  /** GET, HEAD, … */
  method: string;
  /** The request path, as sent. */
  path: string;
  /** The status code answered. */
  status: number;
  /** Body bytes sent. */
  bytes: number;
  /** Time to the end of the response. */
  ms: number;
}

/**
 * What the lab's HTTP server takes at most (connections, request sizes, log entries, idle time): past a bound a
 * client gets an HTTP error and the server goes on.
 */
export interface HttpServerLimits {
  /**
   * Connections served at once, over every attached port. A board fetches a few files one at a time; 64
   * leaves room for many boards and a browser, and keeps one guest that opens connections and sits on them
   * from taking all. Past it a connection gets 503 and is closed.
   */
  maxConnections: number;
  /** Largest request body a client may declare (Content-Length); more gets 413. Uploads in a lab are images: 1 GiB. */
  maxBodyBytes: number;
  /** Largest request head (line and headers); more gets 431 (node:http's check). 16 KiB, node's default. */
  maxHeaderBytes: number;
  /** Entries kept in `log` (oldest dropped first, counted in `droppedLogEntries`). */
  logLimit: number;
  /** An idle keep-alive connection is closed after this long (node:http's keepAliveTimeout). */
  keepAliveMs: number;
  /** A connection that has sent no request this long after opening is closed: a slot is not a parking place. */
  idleMs: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpServerLimits> = {
  maxConnections: 64,
  maxBodyBytes: 1024 * 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  logLimit: 10_000,
  keepAliveMs: 5000,
  // A guest sends its request right after connecting; 30 s covers a TCG guest stalled under load.
  idleMs: 30_000,
};

/**
 * HTTP on the lab server, port 80 (`lan.http`): exact paths (`file`, `route`) and folders (`static`), with a log
 * of every request.
 */
export class LabHttpServer {
  /** Every request, in order. */
  readonly log: HttpLogEntry[] = [];
  /** The node:http server behind it (not listening on a host port: it serves the lab LAN's TCP). */
  readonly server: Server;
  readonly limits: Readonly<HttpServerLimits>;
  /** Log entries dropped because `logLimit` were kept; connections refused with 503. */
  readonly stats = { droppedLogEntries: 0, refusedConnections: 0 };
  #routes = new Map<string, HttpHandler>();
  #statics: { prefix: string; dir: string }[] = [];
  #clock: () => number;
  #connections = new Set<Duplex>();
  /** Connections that sent at least one request. */
  #requested = new WeakSet<object>();

  /** `clock`: the log's time in ms (default: since this server was made); a lab gives its run's axis. */
  constructor(limits: Partial<HttpServerLimits> = {}, clock?: () => number) {
    const t0 = performance.now();
    this.#clock = clock ?? (() => performance.now() - t0);
    this.limits = { ...DEFAULT_HTTP_LIMITS, ...limits };
    this.server = createServer({ maxHeaderSize: this.limits.maxHeaderBytes }, (req, res) => void this.#dispatch(req, res));
    this.server.keepAliveTimeout = this.limits.keepAliveMs;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#connections.size;
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
    return host.listenTcp(port, (conn) => this.accept(conn));
  }

  /** Serves one connection (a lab TCP connection or any Duplex), or answers 503 when at the limit. */
  accept(conn: Duplex): void {
    if (this.#connections.size >= this.limits.maxConnections) {
      this.stats.refusedConnections++;
      const text = `too many connections (${this.limits.maxConnections}); try again\n`;
      conn.on("error", () => {});
      conn.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\nConnection: close\r\nRetry-After: 1\r\n\r\n${text}`);
      // A client that never reads cannot hold the connection open either.
      const t = setTimeout(() => conn.destroy(), 2000);
      conn.once("close", () => clearTimeout(t));
      conn.resume();
      return;
    }
    this.#connections.add(conn);
    const idle = setTimeout(() => {
      if (!this.#requested.has(conn)) conn.destroy();
    }, this.limits.idleMs);
    conn.once("close", () => {
      clearTimeout(idle);
      this.#connections.delete(conn);
    });
    this.server.emit("connection", conn);
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#requested.add(req.socket);
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
      if (this.log.length >= this.limits.logLimit) {
        this.log.shift();
        this.stats.droppedLogEntries++;
      }
      this.log.push({
        atMs: Math.round(at), client: req.socket.remoteAddress ?? "?", method: req.method ?? "?", path: path ?? raw,
        status: res.statusCode, bytes, ms: Math.round(performance.now() - t),
      });
    });
    try {
      if (path === undefined) return this.#plain(res, 400, `bad %-escape in ${raw}\n`);
      const declared = Number(req.headers["content-length"] ?? 0);
      if (!(declared <= this.limits.maxBodyBytes)) {
        // The body is not read: close after the answer rather than drain a gigabyte.
        res.setHeader("Connection", "close");
        return this.#plain(res, 413, `a ${req.headers["content-length"]}-byte body is over the ${this.limits.maxBodyBytes}-byte limit\n`);
      }
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

  /** Stops serving (the lab does it). */
  close(): void {
    this.server.close();
  }
}

