// DatagramNetwork over the host's real UDP (node:dgram udp4, which works under Node and Deno alike), bound
// to one address — 127.0.0.1 unless told otherwise — so `bootlab serve` and the tests can put our services
// next to real clients and servers (curl, atftp, tftpd-hpa) without touching any other interface.

import { createSocket, type Socket } from "node:dgram";
import { isIPv4 } from "node:net";
import type { DatagramNetwork, DatagramSocket, Endpoint } from "./datagram.ts";
import { InfrastructureError, ScenarioError } from "../errors/failures.ts";

export interface HostUdpOptions {
  /** The local IPv4 address every socket binds to. Default 127.0.0.1. */
  host?: string;
  /** Errors after binding (a send that failed, …): UDP is lossy anyway, so they are reported, not thrown. */
  onError?: (error: Error, port: number) => void;
  /** Allow sending to broadcast addresses (SO_BROADCAST), as a DHCP server must. */
  broadcast?: boolean;
}

export class HostUdpNetwork implements DatagramNetwork {
  readonly host: string;
  #onError: ((error: Error, port: number) => void) | undefined;
  #broadcast: boolean;

  constructor(opts: HostUdpOptions = {}) {
    this.host = opts.host ?? "127.0.0.1";
    if (!isIPv4(this.host)) throw new ScenarioError(`host UDP: "${this.host}" is not an IPv4 address`, { expected: "a dotted IPv4 address such as 127.0.0.1" });
    this.#onError = opts.onError;
    this.#broadcast = opts.broadcast ?? false;
  }

  bind(port: number): Promise<DatagramSocket> {
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      return Promise.reject(new ScenarioError(`host UDP: port ${port} is not a port number`, { expected: "an integer from 0 to 65535" }));
    }
    const s = createSocket({ type: "udp4" });
    return new Promise((resolvePromise, reject) => {
      const failed = (e: NodeJS.ErrnoException) => {
        s.close();
        const hint = e.code === "EACCES" ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE; pick a port ≥ 1024)"
          : e.code === "EADDRINUSE" ? " (another program has it: pick another port)"
          : e.code === "EADDRNOTAVAIL" ? " (no interface of this host has that address)" : "";
        reject(new InfrastructureError(`cannot bind UDP ${this.host}:${port}: ${e.code ?? e.message}${hint}`));
      };
      s.once("error", failed);
      s.bind({ port, address: this.host, exclusive: true }, () => {
        s.off("error", failed);
        if (this.#broadcast) s.setBroadcast(true);
        resolvePromise(new HostUdpSocket(s, s.address().port, this.#onError));
      });
    });
  }
}

class HostUdpSocket implements DatagramSocket {
  readonly port: number;
  #s: Socket;
  #handler: (data: Uint8Array, from: Endpoint) => void = () => {};
  #closed = false;
  #pending = 0;
  #onError: ((error: Error, port: number) => void) | undefined;

  constructor(s: Socket, port: number, onError: ((error: Error, port: number) => void) | undefined) {
    this.#s = s;
    this.port = port;
    this.#onError = onError;
    s.on("message", (msg: Uint8Array, rinfo: { address: string; port: number }) => {
      if (!this.#closed) this.#handler(msg, { address: rinfo.address, port: rinfo.port });
    });
    // Without a listener an 'error' event would end the process.
    s.on("error", (e: Error) => this.#onError?.(e, this.port));
  }

  send(to: Endpoint, data: Uint8Array): void {
    if (this.#closed) return;
    this.#pending++;
    this.#s.send(data, to.port, to.address, (e) => {
      if (e) this.#onError?.(e, this.port);
      if (--this.#pending === 0 && this.#closed) this.#s.close();
    });
  }

  onMessage(handler: (data: Uint8Array, from: Endpoint) => void): void {
    this.#handler = handler;
  }

  /** Stops receiving at once; the socket itself closes once queued sends are out (a final ERROR, say). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pending === 0) this.#s.close();
  }
}

export function hostUdpNetwork(opts: HostUdpOptions = {}): HostUdpNetwork {
  return new HostUdpNetwork(opts);
}
